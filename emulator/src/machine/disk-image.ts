// Disk images for `--image PATH`: format detection and a copy-on-write overlay per instance (qemu-img).

import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { InvalidSpecError, MissingBinaryError } from '../errors.js';

const execFileP = promisify(execFile);

export type DiskFormat = 'qcow2' | 'raw' | 'vpc';
const SUPPORTED: readonly string[] = ['qcow2', 'raw', 'vpc'];

async function qemuImg(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('qemu-img', args, { maxBuffer: 1 << 20 });
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingBinaryError('qemu-img', 'qemu-utils');
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new InvalidSpecError(`qemu-img ${args[0]} failed: ${stderr || (err as Error).message}`);
  }
}

/** The format QEMU detects for `path` (`vpc` is Azure's VHD). Rejects formats we do not support. */
export async function detectDiskFormat(path: string): Promise<DiskFormat> {
  try {
    await access(path);
  } catch {
    throw new InvalidSpecError(`disk image ${path} does not exist or cannot be read`);
  }
  const info = JSON.parse(await qemuImg(['info', '--output=json', path])) as { format?: string };
  const format = info.format ?? 'raw';
  if (!SUPPORTED.includes(format)) {
    throw new InvalidSpecError(`disk image ${path} is ${format}; supported formats are qcow2, raw and VHD (vpc). Convert it with \`qemu-img convert -O qcow2\``);
  }
  return format as DiskFormat;
}

/**
 * Makes `overlay` a qcow2 copy-on-write layer over `base`, unless one already exists (an instance
 * keeps its disk across runs; pass `fresh` to start it over, as a scale-set reimage would).
 */
export async function ensureOverlay(base: string, baseFormat: DiskFormat, overlay: string, fresh = false): Promise<void> {
  if (!fresh) {
    try {
      await access(overlay);
      return;
    } catch {
      // No overlay yet: create it below.
    }
  }
  await qemuImg(['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', base, overlay]);
}

/** The backing file recorded in an overlay (for tests and diagnostics). */
export async function backingFileOf(overlay: string): Promise<string | undefined> {
  // -U (force share): the overlay may be open in a running QEMU, which holds a write lock on it.
  const info = JSON.parse(await qemuImg(['info', '-U', '--output=json', overlay])) as { 'backing-filename'?: string };
  return info['backing-filename'];
}
