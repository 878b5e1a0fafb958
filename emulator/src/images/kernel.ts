/**
 * The guest kernel: resolved from Debian's `linux-image-amd64` meta package, downloaded once
 * with `apt-get download` into a download cache (never installed on the host), verified
 * against the SHA256 in apt's signed package lists, and unpacked selectively. The bzImage is
 * kept as is; the uncompressed ELF `vmlinux` (PVH entry, boots about twice as fast under TCG)
 * is recovered from the bzImage's XZ payload.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CommandError, extractDebMembers, run, xzDecompressFrom } from './exec.js';
import { ImageError, KernelPackageError } from './errors.js';

export const KERNEL_META_PACKAGE = 'linux-image-amd64';

/** `fd 37 7a 58 5a 00`: the start of every XZ stream. */
export const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Offsets of every XZ stream header in `buf`, in increasing order. */
export function findXzOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  let i = buf.indexOf(XZ_MAGIC);
  while (i !== -1) {
    out.push(i);
    i = buf.indexOf(XZ_MAGIC, i + 1);
  }
  return out;
}

/**
 * Where the compressed kernel starts according to the x86 boot protocol header (2.08+):
 * (setup_sects + 1) * 512 + payload_offset. Undefined for anything that isn't a bzImage.
 */
export function bzImagePayloadOffset(buf: Buffer): number | undefined {
  if (buf.length < 0x250 || buf.toString('ascii', 0x202, 0x206) !== 'HdrS') return undefined;
  const version = buf.readUInt16LE(0x206);
  if (version < 0x208) return undefined;
  const setupSects = buf[0x1f1] || 4;
  const off = (setupSects + 1) * 512 + buf.readUInt32LE(0x248);
  return off < buf.length ? off : undefined;
}

/** Candidate XZ stream offsets: the header's payload offset first (if it holds XZ), then every magic found by scanning. */
export function vmlinuxCandidateOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  const hdr = bzImagePayloadOffset(buf);
  if (hdr !== undefined && buf.subarray(hdr, hdr + XZ_MAGIC.length).equals(XZ_MAGIC)) out.push(hdr);
  for (const o of findXzOffsets(buf)) if (!out.includes(o)) out.push(o);
  return out;
}

async function startsWith(file: string, magic: Buffer): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(magic.length);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return bytesRead === b.length && b.equals(magic);
  } finally {
    await fh.close();
  }
}

/** Decompresses the bzImage's XZ payload into `outFile` and checks that it is an ELF image. */
export async function extractVmlinux(bzImage: string, outFile: string, signal?: AbortSignal): Promise<void> {
  const buf = await readFile(bzImage);
  const candidates = vmlinuxCandidateOffsets(buf);
  if (candidates.length === 0) {
    throw new KernelPackageError(`${basename(bzImage)} holds no XZ-compressed kernel (is it a bzImage built with CONFIG_KERNEL_XZ?)`);
  }
  const errors: string[] = [];
  for (const off of candidates) {
    signal?.throwIfAborted();
    try {
      await xzDecompressFrom(bzImage, off, outFile, signal);
      if (await startsWith(outFile, ELF_MAGIC)) return;
      errors.push(`@${off}: not ELF`);
    } catch (e) {
      if (e instanceof ImageError || signal?.aborted) throw e;
      errors.push(`@${off}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  await rm(outFile, { force: true });
  throw new KernelPackageError(`could not recover an ELF vmlinux from ${basename(bzImage)} (${errors.join('; ')})`);
}

// ---------------------------------------------------------------------------------------------
// Resolving and downloading the package

export interface KernelPackage {
  /** e.g. linux-image-6.1.0-56-amd64 */
  name: string;
  /** Debian version, e.g. 6.1.192-2 */
  version: string;
  /** The .deb's file name (basename of apt's Filename field) */
  fileName: string;
  /** SHA256 of the .deb from apt's signed lists */
  sha256: string;
  size: number;
}

/** Parses one `apt-cache show` stanza into fields (continuation lines are dropped). */
export function parseAptStanza(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') {
      if (m.size > 0) break; // first stanza only
      continue;
    }
    const mm = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (mm && mm[1] && !line.startsWith(' ')) m.set(mm[1], mm[2] ?? '');
  }
  return m;
}

/** The versioned kernel package a meta package depends on (`linux-image-6.1.0-56-amd64`). */
export function kernelPackageFromDepends(depends: string): string | undefined {
  for (const alt of depends.split(/[,|]/)) {
    const name = alt.trim().split(/\s+/)[0] ?? '';
    if (/^linux-image-\d[\w.+-]*$/.test(name) && !name.endsWith('-dbg') && !name.endsWith('-unsigned')) return name;
  }
  return undefined;
}

/** Kernel release (`uname -r`) from the package name: linux-image-6.1.0-56-amd64 → 6.1.0-56-amd64. */
export function kernelReleaseFromPackage(name: string): string {
  return name.replace(/^linux-image-/, '');
}

const APT_LISTS_MISSING =
  `apt knows no package ${KERNEL_META_PACKAGE}: its package lists are missing or stale. ` +
  'Run `apt-get update` (as root) and try again.';

async function aptShow(pkg: string, signal?: AbortSignal): Promise<Map<string, string>> {
  let out: string;
  try {
    out = (await run('apt-cache', ['show', '--no-all-versions', pkg], { signal, env: { ...process.env, LC_ALL: 'C' } })).stdout.toString('utf8');
  } catch (e) {
    if (e instanceof CommandError) throw new KernelPackageError(APT_LISTS_MISSING, { cause: e });
    throw e;
  }
  const st = parseAptStanza(out);
  if (!st.get('Package')) throw new KernelPackageError(APT_LISTS_MISSING);
  return st;
}

/** A cheap fingerprint of apt's state: the answer of apt-cache only changes when this does. */
async function aptStateFingerprint(): Promise<string> {
  const h = createHash('sha256');
  const listsDir = '/var/lib/apt/lists';
  try {
    for (const name of (await readdir(listsDir)).sort()) {
      if (!/_(Packages|InRelease|Release)/.test(name)) continue;
      const s = await stat(join(listsDir, name));
      h.update(`${name}\0${s.size}\0${s.mtimeMs}\n`);
    }
  } catch {
    h.update('no-lists\n');
  }
  for (const f of ['/var/lib/dpkg/status', '/etc/apt/sources.list', '/etc/apt/sources.list.d', '/etc/apt/preferences.d']) {
    try {
      const s = await stat(f);
      h.update(`${f}\0${s.size}\0${s.mtimeMs}\n`);
    } catch {
      h.update(`${f}\0-\n`);
    }
  }
  return h.digest('hex');
}

const RESOLUTION_FILE = 'kernel-package.json';

/**
 * Asks apt which kernel `linux-image-amd64` currently means. apt-cache takes about a second
 * per call on hosts without apt's binary cache, so the answer is remembered in the download
 * cache and reused while apt's lists are unchanged.
 */
export async function resolveKernelPackage(downloadDir: string, signal?: AbortSignal): Promise<{ pkg: KernelPackage; fromCache: boolean }> {
  const fingerprint = await aptStateFingerprint();
  const cacheFile = join(downloadDir, RESOLUTION_FILE);
  let previous: { fingerprint: string; pkg: KernelPackage } | undefined;
  try {
    previous = JSON.parse(await readFile(cacheFile, 'utf8')) as { fingerprint: string; pkg: KernelPackage };
    if (previous.fingerprint === fingerprint && previous.pkg?.sha256) return { pkg: previous.pkg, fromCache: true };
  } catch {
    previous = undefined;
  }
  let pkg: KernelPackage;
  try {
    const meta = await aptShow(KERNEL_META_PACKAGE, signal);
    const name = kernelPackageFromDepends(meta.get('Depends') ?? '');
    if (!name) throw new KernelPackageError(`${KERNEL_META_PACKAGE} depends on no linux-image package (Depends: ${meta.get('Depends') ?? 'none'})`);
    const st = await aptShow(name, signal);
    const sha256 = (st.get('SHA256') ?? '').toLowerCase();
    const fileName = basename(st.get('Filename') ?? '');
    const version = st.get('Version') ?? '';
    if (!/^[0-9a-f]{64}$/.test(sha256) || !fileName.endsWith('.deb') || !version) {
      throw new KernelPackageError(`apt's record of ${name} has no usable Filename/SHA256/Version: run \`apt-get update\``);
    }
    pkg = { name, version, fileName, sha256, size: Number(st.get('Size') ?? 0) };
  } catch (e) {
    // Offline with stale/missing lists but a kernel already downloaded: keep using it.
    if (e instanceof KernelPackageError && previous?.pkg) {
      try {
        await stat(join(downloadDir, previous.pkg.fileName));
        return { pkg: previous.pkg, fromCache: true };
      } catch {
        /* fall through */
      }
    }
    throw e;
  }
  await mkdir(downloadDir, { recursive: true });
  await writeAtomic(cacheFile, JSON.stringify({ fingerprint, pkg }, null, 2) + '\n');
  return { pkg, fromCache: false };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function writeAtomic(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, file);
}

interface VerifiedStamp {
  sha256: string;
  size: number;
  mtimeMs: number;
}

/** True if `deb` is known (stamp) or proven (hash) to have the expected SHA256. */
async function debIsValid(deb: string, expected: string): Promise<boolean> {
  let s;
  try {
    s = await stat(deb);
  } catch {
    return false;
  }
  const stampFile = `${deb}.verified.json`;
  try {
    const stamp = JSON.parse(await readFile(stampFile, 'utf8')) as VerifiedStamp;
    if (stamp.sha256 === expected && stamp.size === s.size && stamp.mtimeMs === s.mtimeMs) return true;
  } catch {
    /* no stamp: hash it */
  }
  if ((await sha256File(deb)) !== expected) return false;
  await writeAtomic(stampFile, JSON.stringify({ sha256: expected, size: s.size, mtimeMs: s.mtimeMs } satisfies VerifiedStamp) + '\n');
  return true;
}

/**
 * Makes sure the kernel .deb is in the download cache, downloading it with
 * `apt-get download` when it isn't (or is damaged). Returns its path.
 */
export async function ensureKernelDeb(
  downloadDir: string,
  pkg: KernelPackage,
  opts: { signal?: AbortSignal; onDownload?: () => void } = {},
): Promise<{ path: string; downloaded: boolean }> {
  await mkdir(downloadDir, { recursive: true });
  const target = join(downloadDir, pkg.fileName);
  if (await debIsValid(target, pkg.sha256)) return { path: target, downloaded: false };
  await rm(target, { force: true });
  opts.onDownload?.();
  const partial = join(downloadDir, `.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(partial, { recursive: true });
  try {
    try {
      await run('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: partial, signal: opts.signal, env: { ...process.env, LC_ALL: 'C' } });
    } catch (e) {
      if (e instanceof CommandError) {
        throw new KernelPackageError(
          `apt-get download ${pkg.name}=${pkg.version} failed (${e.message}). If apt cannot find the file, run \`apt-get update\` and try again.`,
          { cause: e },
        );
      }
      throw e;
    }
    const debs = (await readdir(partial)).filter((n) => n.endsWith('.deb'));
    const got = debs[0];
    if (debs.length !== 1 || !got) throw new KernelPackageError(`apt-get download left ${debs.length} .deb files for ${pkg.name}`);
    const path = join(partial, got);
    const sha = await sha256File(path);
    if (sha !== pkg.sha256) {
      throw new KernelPackageError(`downloaded ${got} has SHA256 ${sha}, but apt's lists say ${pkg.sha256}: run \`apt-get update\` and try again`);
    }
    try {
      await run('dpkg-deb', ['--info', path], { signal: opts.signal });
    } catch (e) {
      if (e instanceof CommandError) throw new KernelPackageError(`downloaded ${got} is not a valid Debian package: ${e.message}`, { cause: e });
      throw e;
    }
    await rename(path, target);
    const s = await stat(target);
    await writeAtomic(`${target}.verified.json`, JSON.stringify({ sha256: sha, size: s.size, mtimeMs: s.mtimeMs } satisfies VerifiedStamp) + '\n');
    return { path: target, downloaded: true };
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Unpacking

/** Modules the guest loads with insmod, relative to /lib/modules/RELEASE/. Optional ones may be missing or built in. */
export const GUEST_MODULES: ReadonlyArray<{ path: string; required: boolean }> = [
  { path: 'kernel/drivers/acpi/button.ko', required: true }, // ACPI power button → input event
  { path: 'kernel/drivers/input/evdev.ko', required: true }, // /dev/input/event* for busybox acpid
  { path: 'kernel/drivers/misc/pvpanic/pvpanic.ko', required: false }, // pvpanic core (a module in Debian's 6.1)
  { path: 'kernel/drivers/misc/pvpanic/pvpanic-mmio.ko', required: false }, // QEMU's ISA `-device pvpanic` (ACPI QEMU0001)
  { path: 'kernel/drivers/misc/pvpanic/pvpanic-pci.ko', required: false }, // `-device pvpanic-pci`
];

export interface UnpackedKernel {
  release: string;
  vmlinuz: string;
  /** module path relative to /lib/modules/RELEASE → uncompressed .ko contents */
  modules: Map<string, Buffer>;
}

/** Unpacks the vmlinuz and the guest's modules from the .deb into `dir`. */
export async function unpackKernel(deb: string, dir: string, signal?: AbortSignal): Promise<UnpackedKernel> {
  const patterns = ['./boot/vmlinuz-*', ...GUEST_MODULES.map((m) => `./lib/modules/*/${m.path}*`)];
  await mkdir(dir, { recursive: true });
  try {
    await extractDebMembers(deb, dir, patterns, signal);
  } catch (e) {
    // GNU tar exits 2 when a pattern matched nothing (an optional module): the rest was extracted.
    const onlyNotFound =
      e instanceof CommandError &&
      e.command === 'tar' &&
      e.stderr.split('\n').every((l) => l.trim() === '' || /Not found in archive|Exiting with failure status/.test(l));
    if (!onlyNotFound) {
      if (e instanceof ImageError || signal?.aborted) throw e;
      throw new KernelPackageError(`could not unpack ${basename(deb)}: ${(e as Error).message}`, { cause: e });
    }
  }
  let bootFiles: string[] = [];
  try {
    bootFiles = (await readdir(join(dir, 'boot'))).filter((n) => n.startsWith('vmlinuz-'));
  } catch {
    /* none */
  }
  const vmlinuzName = bootFiles[0];
  if (bootFiles.length !== 1 || !vmlinuzName) throw new KernelPackageError(`${basename(deb)} holds ${bootFiles.length} boot/vmlinuz-* files, expected 1`);
  const release = vmlinuzName.slice('vmlinuz-'.length);
  const modules = new Map<string, Buffer>();
  const modRoot = join(dir, 'lib', 'modules', release);
  for (const m of GUEST_MODULES) {
    const found = await readModule(join(modRoot, m.path), signal);
    if (found) modules.set(m.path, found);
    else if (m.required) throw new KernelPackageError(`${basename(deb)} has no ${m.path} for ${release}`);
  }
  return { release, vmlinuz: join(dir, 'boot', vmlinuzName), modules };
}

async function readModule(base: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  for (const [suffix, tool] of [['', undefined], ['.xz', 'xz'], ['.zst', 'zstd']] as const) {
    const file = base + suffix;
    try {
      await stat(file);
    } catch {
      continue;
    }
    if (!tool) return readFile(file);
    return (await run(tool, ['-dc', file], { signal })).stdout;
  }
  return undefined;
}
