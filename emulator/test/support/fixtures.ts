// Test fixtures: the built Linux image and temp state dirs. Tests that need QEMU or the image skip
// with a reason when they are missing (make test builds them first, so CI never skips).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultImagesDir, readCredentials, resolveImage, type LinuxImage } from '../../src/images/index.js';

export function hasQemu(): boolean {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface GuestFixture {
  image: LinuxImage;
  user: string;
  password: string;
}

/** The most recently built linux image, or a reason to skip. */
export async function linuxImage(): Promise<GuestFixture | { skip: string }> {
  if (!hasQemu()) return { skip: 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86; make test installs it)' };
  try {
    const image = await resolveImage(defaultImagesDir(), 'linux');
    const { user, password } = await readCredentials(image);
    return { image, user, password };
  } catch (err) {
    return { skip: `no linux guest image (${(err as Error).message}); make test builds it` };
  }
}

/** A short temp dir (Unix socket paths must stay under 108 bytes). */
export function tempStateDir(prefix = 'emu'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `tg-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
