/**
 * Builds, caches and resolves the Linux guest image behind `ttygate-emu image build linux`.
 *
 * Layout: IMAGES/linux/<hash>/{vmlinux, bzImage, base.cpio.gz, initrd.img, image.json,
 * credentials.json} and IMAGES/linux/latest → <hash>. The kernel .deb is cached in
 * IMAGES/downloads/ (or $TTYGATE_DEB_CACHE, or the `downloadDir` option).
 *
 * The hash covers the inputs of the base image only (kernel .deb SHA256, busybox SHA256, the
 * generated guest files, the recipe version), never the credentials: a rebuild with the same
 * inputs is instant and at most rewrites the small credentials layer of initrd.img.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeCpio } from './cpio.js';
import {
  buildCredentialsLayer,
  DEFAULT_GUEST_USER,
  generatePassword,
  layerMatches,
  readCredentialsFile,
  validatePassword,
  validateUser,
  writeCredentialsFile,
  type Credentials,
} from './credentials.js';
import { ImageCorruptError, ImageError, ImageNotBuiltError, MissingToolError } from './errors.js';
import { requireTools, run } from './exec.js';
import { baseArchiveEntries, generatedGuestFiles } from './guest.js';
import { ensureKernelDeb, extractVmlinux, GUEST_MODULES, resolveKernelPackage, unpackKernel } from './kernel.js';

/** Bump when the builder changes what it produces in a way the hashed inputs don't show. */
export const RECIPE_VERSION = 1;
export const DEFAULT_CMDLINE = 'console=tty0 console=ttyS0,115200n8';
export const BUSYBOX_PATH = '/bin/busybox';
const IMAGE_JSON = 'image.json';
const FILES = {
  vmlinux: 'vmlinux',
  bzImage: 'bzImage',
  base: 'base.cpio.gz',
  initrd: 'initrd.img',
  credentials: 'credentials.json',
} as const;

export interface LinuxImage {
  kind: 'linux';
  /** absolute image directory */
  dir: string;
  /** content hash of the base inputs (first 16 hex chars of a SHA256) */
  hash: string;
  /** `uname -r` of the guest kernel, e.g. 6.1.0-56-amd64 */
  kernelVersion: string;
  /** uncompressed ELF kernel from the bzImage's XZ payload (PVH entry; fast boot, no VGA text console) */
  vmlinux: string;
  /** the package's vmlinuz (slower boot, VGA text console) */
  bzImage: string;
  /** base archive + credentials archive, for -initrd */
  initrd: string;
  /** recommended kernel command line */
  cmdline: string;
  user: string;
  /** JSON {user, password}, mode 0600 */
  credentialsFile: string;
  /** ISO time the base image was built */
  builtAt: string;
}

export interface BuildProgress {
  step: string;
  detail?: string;
}

export interface BuildLinuxImageOptions {
  imagesDir: string;
  user?: string;
  password?: string;
  onProgress?: (p: BuildProgress) => void;
  signal?: AbortSignal;
  /** Where kernel .debs are cached. Default: $TTYGATE_DEB_CACHE, else IMAGES/downloads. */
  downloadDir?: string;
}

export interface BuildLinuxImageResult {
  image: LinuxImage;
  /** true when the base image already existed (only the credentials layer may have been rewritten) */
  cached: boolean;
  /** set only when this call generated a new password (print it once) */
  generatedPassword?: string;
}

/** What image.json holds (paths relative to the image directory). */
interface ImageManifest {
  format: 1;
  kind: 'linux';
  hash: string;
  recipe: number;
  kernelPackage: { name: string; version: string; sha256: string };
  kernelVersion: string;
  busyboxSha256: string;
  files: typeof FILES;
  cmdline: string;
  user: string;
  builtAt: string;
  credentialsUpdatedAt: string;
}

/** $TTYGATE_IMAGES, else ${XDG_CACHE_HOME:-$HOME/.cache}/ttygate/images. */
export function defaultImagesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TTYGATE_IMAGES) return resolvePath(env.TTYGATE_IMAGES);
  const xdg = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(xdg, 'ttygate', 'images');
}

/** The kernel .deb cache for an images directory. */
export function defaultDownloadDir(imagesDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.TTYGATE_DEB_CACHE ? resolvePath(env.TTYGATE_DEB_CACHE) : join(resolvePath(imagesDir), 'downloads');
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(file: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data, { mode });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Checks that /bin/busybox is a static x86-64 ELF (the dynamic one from `busybox` can't run in the initramfs). */
export function checkStaticX8664Elf(buf: Buffer): string | undefined {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) return 'is not an ELF executable';
  if (buf[4] !== 2 || buf[5] !== 1) return 'is not a 64-bit little-endian ELF';
  if (buf.readUInt16LE(0x12) !== 62) return 'is not an x86-64 binary';
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) return 'has a truncated program header table';
    if (buf.readUInt32LE(off) === 3 /* PT_INTERP */) return 'is dynamically linked';
  }
  return undefined;
}

async function readBusybox(signal?: AbortSignal): Promise<{ binary: Buffer; applets: string[] }> {
  let binary: Buffer;
  try {
    binary = await readFile(BUSYBOX_PATH);
  } catch {
    throw new MissingToolError('busybox', 'busybox-static', `${BUSYBOX_PATH} does not exist`);
  }
  const problem = checkStaticX8664Elf(binary);
  if (problem) throw new MissingToolError('busybox (static, x86-64)', 'busybox-static', `${BUSYBOX_PATH} ${problem}`);
  const list = (await run(BUSYBOX_PATH, ['--list-full'], { signal })).stdout.toString('utf8');
  const applets = list
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
  if (!applets.includes('sbin/init') || !applets.some((a) => a.endsWith('/sh'))) {
    throw new MissingToolError('busybox (with init and sh)', 'busybox-static', `${BUSYBOX_PATH} lacks the init or sh applet`);
  }
  return { binary, applets };
}

/** The image hash: SHA256 over everything the base image is made of, first 16 hex chars. */
export function imageHash(o: {
  kernelDebSha256: string;
  busyboxSha256: string;
  applets: readonly string[];
  files: ReadonlyMap<string, { mode: number; data: string }>;
}): string {
  const doc = {
    recipe: RECIPE_VERSION,
    kernelDeb: o.kernelDebSha256,
    busybox: o.busyboxSha256,
    applets: [...o.applets].sort(),
    modules: GUEST_MODULES.map((m) => m.path),
    files: [...o.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, f]) => [p, f.mode, sha256(f.data)]),
    cmdline: DEFAULT_CMDLINE,
  };
  return sha256(JSON.stringify(doc)).slice(0, 16);
}

function linuxRoot(imagesDir: string): string {
  return join(resolvePath(imagesDir), 'linux');
}

function toImage(dir: string, m: ImageManifest): LinuxImage {
  return {
    kind: 'linux',
    dir,
    hash: m.hash,
    kernelVersion: m.kernelVersion,
    vmlinux: join(dir, m.files.vmlinux),
    bzImage: join(dir, m.files.bzImage),
    initrd: join(dir, m.files.initrd),
    cmdline: m.cmdline,
    user: m.user,
    credentialsFile: join(dir, m.files.credentials),
    builtAt: m.builtAt,
  };
}

async function readManifest(dir: string): Promise<ImageManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, IMAGE_JSON), 'utf8');
  } catch {
    return undefined;
  }
  let m: ImageManifest;
  try {
    m = JSON.parse(text) as ImageManifest;
  } catch {
    return undefined;
  }
  if (m?.format !== 1 || m.kind !== 'linux' || typeof m.hash !== 'string' || !m.files) return undefined;
  return m;
}

/** A complete image in `dir`, or undefined (missing or damaged). */
async function loadImage(dir: string): Promise<{ image: LinuxImage; manifest: ImageManifest } | undefined> {
  const manifest = await readManifest(dir);
  if (!manifest) return undefined;
  for (const f of [manifest.files.vmlinux, manifest.files.bzImage, manifest.files.base, manifest.files.initrd]) {
    if (!(await exists(join(dir, f)))) return undefined;
  }
  return { image: toImage(dir, manifest), manifest };
}

async function pointLatest(root: string, hash: string): Promise<void> {
  const tmp = join(root, `.latest-${process.pid}-${randomBytes(4).toString('hex')}`);
  await symlink(hash, tmp);
  try {
    await rename(tmp, join(root, 'latest'));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function readLatest(root: string): Promise<string | undefined> {
  const p = join(root, 'latest');
  let target: string;
  try {
    target = await readlink(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') {
      // a pointer file (filesystems without symlinks)
      target = (await readFile(p, 'utf8')).trim();
    } else return undefined;
  }
  return isAbsolute(target) ? target : join(root, target);
}

/** Removes build directories left behind by crashed builds (older than six hours). */
async function cleanStaleBuilds(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  const cutoff = Date.now() - 6 * 3600 * 1000;
  for (const n of names) {
    if (!n.startsWith('.build-')) continue;
    try {
      if ((await stat(join(root, n))).mtimeMs < cutoff) await rm(join(root, n), { recursive: true, force: true });
    } catch {
      /* another process got there first */
    }
  }
}

/** Chooses the credentials: an explicit password, else the stored one for the same user, else a new one. */
async function chooseCredentials(
  user: string,
  password: string | undefined,
  stores: readonly string[],
): Promise<{ creds: Credentials; generated: boolean }> {
  if (password !== undefined) return { creds: { user, password }, generated: false };
  for (const file of stores) {
    const c = await readCredentialsFile(file).catch(() => undefined);
    if (c && c.user === user) {
      try {
        validatePassword(c.password);
        return { creds: c, generated: false };
      } catch {
        /* unusable: generate */
      }
    }
  }
  return { creds: { user, password: generatePassword() }, generated: true };
}

/**
 * Makes sure dir/initrd.img = base.cpio.gz + a credentials layer for `creds`, and that
 * dir/credentials.json holds them. Returns true if anything was rewritten.
 */
async function ensureCredentialsLayer(dir: string, creds: Credentials): Promise<boolean> {
  const credFile = join(dir, FILES.credentials);
  const initrdFile = join(dir, FILES.initrd);
  const stored = await readCredentialsFile(credFile).catch(() => undefined);
  const base = await readFile(join(dir, FILES.base));
  let current: Buffer | undefined;
  try {
    current = await readFile(initrdFile);
  } catch {
    current = undefined;
  }
  const upToDate =
    stored?.user === creds.user &&
    stored.password === creds.password &&
    current !== undefined &&
    current.length > base.length &&
    current.subarray(0, base.length).equals(base) &&
    (await layerMatches(current.subarray(base.length), creds));
  if (upToDate) return false;
  const layer = await buildCredentialsLayer(creds);
  // credentials.json first: a crash between the two writes never loses the password the user
  // was told; the next build sees the mismatch and rewrites the layer.
  await writeCredentialsFile(credFile, creds);
  await writeAtomic(initrdFile, Buffer.concat([base, layer]), 0o600);
  return true;
}

export async function buildLinuxImage(opts: BuildLinuxImageOptions): Promise<BuildLinuxImageResult> {
  const { signal } = opts;
  const progress = (step: string, detail?: string): void => opts.onProgress?.(detail === undefined ? { step } : { step, detail });
  const user = opts.user ?? DEFAULT_GUEST_USER;
  validateUser(user);
  if (opts.password !== undefined) validatePassword(opts.password);
  const imagesDir = resolvePath(opts.imagesDir);
  const root = linuxRoot(imagesDir);
  const downloadDir = opts.downloadDir ? resolvePath(opts.downloadDir) : defaultDownloadDir(imagesDir);
  await mkdir(root, { recursive: true });
  await cleanStaleBuilds(root);

  // 1. Which kernel, and is its .deb here?
  progress('resolve', 'linux-image-amd64');
  signal?.throwIfAborted();
  const { pkg } = await resolveKernelPackage(downloadDir, signal);
  progress('resolve', `${pkg.name} ${pkg.version}`);
  const deb = await ensureKernelDeb(downloadDir, pkg, { signal, onDownload: () => progress('download', `${pkg.name} ${pkg.version}`) });
  if (!deb.downloaded) progress('download', `${pkg.name} (cached)`);

  // 2. busybox and the generated files → the hash.
  signal?.throwIfAborted();
  progress('busybox', BUSYBOX_PATH);
  const busybox = await readBusybox(signal);
  const busyboxSha256 = sha256(busybox.binary);
  const files = generatedGuestFiles({ modules: GUEST_MODULES.map((m) => m.path) });
  const hash = imageHash({ kernelDebSha256: pkg.sha256, busyboxSha256, applets: busybox.applets, files });
  const dir = join(root, hash);
  const latestDir = await readLatest(root);

  let loaded = await loadImage(dir);
  const cached = loaded !== undefined;
  let generatedPassword: string | undefined;
  if (loaded) {
    progress('cached', hash);
  } else {
    await requireTools(['dpkg-deb', 'tar', 'xz', 'openssl']);
    const tmp = join(root, `.build-${hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp, { mode: 0o700 });
    try {
      progress('extract', pkg.fileName);
      const kernel = await unpackKernel(deb.path, join(tmp, 'unpack'), signal);
      await copyFile(kernel.vmlinuz, join(tmp, FILES.bzImage));
      progress('vmlinux', `decompressing the XZ payload of vmlinuz-${kernel.release}`);
      await extractVmlinux(join(tmp, FILES.bzImage), join(tmp, FILES.vmlinux), signal);
      signal?.throwIfAborted();
      progress('initramfs', `busybox ${busybox.applets.length} applets, ${kernel.modules.size} modules`);
      const entries = baseArchiveEntries({ busybox: busybox.binary, applets: busybox.applets, release: kernel.release, modules: kernel.modules, files });
      await writeFile(join(tmp, FILES.base), gzipSync(writeCpio(entries), { level: 9 }), { mode: 0o644 });
      await rm(join(tmp, 'unpack'), { recursive: true, force: true });

      const chosen = await chooseCredentials(user, opts.password, latestDir ? [join(latestDir, FILES.credentials)] : []);
      if (chosen.generated) generatedPassword = chosen.creds.password;
      progress('credentials', user);
      await ensureCredentialsLayer(tmp, chosen.creds);
      const now = new Date().toISOString();
      const manifest: ImageManifest = {
        format: 1,
        kind: 'linux',
        hash,
        recipe: RECIPE_VERSION,
        kernelPackage: { name: pkg.name, version: pkg.version, sha256: pkg.sha256 },
        kernelVersion: kernel.release,
        busyboxSha256,
        files: FILES,
        cmdline: DEFAULT_CMDLINE,
        user,
        builtAt: now,
        credentialsUpdatedAt: now,
      };
      await writeFile(join(tmp, IMAGE_JSON), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o644 });
      signal?.throwIfAborted();
      progress('install', dir);
      try {
        await rename(tmp, dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        // A concurrent build finished first, or a damaged image is in the way.
        if (!(await loadImage(dir))) {
          await rm(dir, { recursive: true, force: true });
          await rename(tmp, dir);
        }
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    loaded = await loadImage(dir);
    if (!loaded) throw new ImageCorruptError(`the image in ${dir} is incomplete after building it`);
  }

  // 3. The credentials layer (for a cached image, or one a concurrent build installed).
  {
    const chosen = await chooseCredentials(user, opts.password, [
      join(dir, FILES.credentials),
      ...(latestDir && latestDir !== dir ? [join(latestDir, FILES.credentials)] : []),
    ]);
    if (chosen.generated) generatedPassword = chosen.creds.password;
    if (cached) progress('credentials', user);
    const changed = await ensureCredentialsLayer(dir, chosen.creds);
    if (changed || loaded.manifest.user !== user) {
      const manifest: ImageManifest = { ...loaded.manifest, user, credentialsUpdatedAt: new Date().toISOString() };
      await writeAtomic(join(dir, IMAGE_JSON), JSON.stringify(manifest, null, 2) + '\n', 0o644);
      loaded = { image: toImage(dir, manifest), manifest };
    }
  }

  await pointLatest(root, hash);
  progress('done', dir);
  const result: BuildLinuxImageResult = { image: loaded.image, cached };
  if (generatedPassword !== undefined) result.generatedPassword = generatedPassword;
  return result;
}

/**
 * Finds a built image. `linux` (or `linux:latest`) → the most recently built Linux image;
 * `linux:<hash or prefix>` → that one.
 */
export async function resolveImage(imagesDir: string, name: string): Promise<LinuxImage> {
  const root = linuxRoot(imagesDir);
  const m = /^linux(?:[:/](latest|[0-9a-f]{4,64}))?$/.exec(name);
  if (!m) {
    throw new ImageError('EMU_ERR_IMAGE_UNKNOWN', `unknown image ${JSON.stringify(name)}: the built-in image is "linux" (build it with \`ttygate-emu image build linux\`)`);
  }
  const which = m[1] ?? 'latest';
  let dir: string | undefined;
  if (which === 'latest') {
    dir = await readLatest(root);
  } else {
    const names = await readdir(root).catch(() => [] as string[]);
    const hits = names.filter((n) => /^[0-9a-f]{16}$/.test(n) && n.startsWith(which));
    if (hits.length > 1) throw new ImageError('EMU_ERR_IMAGE_AMBIGUOUS', `image ${name} matches ${hits.length} images: give more of the hash`);
    dir = hits[0] ? join(root, hits[0]) : undefined;
  }
  if (!dir) {
    throw new ImageNotBuiltError(
      which === 'latest'
        ? `no Linux guest image in ${root}: run \`ttygate-emu image build linux\` first`
        : `no Linux guest image ${which} in ${root}: run \`ttygate-emu image build linux\``,
    );
  }
  const loaded = await loadImage(dir);
  if (!loaded) throw new ImageNotBuiltError(`the Linux guest image in ${dir} is missing or incomplete: run \`ttygate-emu image build linux\``);
  return loaded.image;
}

/** Every complete Linux image in `imagesDir`, newest first; `latest` marks the one `linux` resolves to. */
export async function listImages(imagesDir: string): Promise<Array<LinuxImage & { latest: boolean }>> {
  const root = linuxRoot(imagesDir);
  const names = await readdir(root).catch(() => [] as string[]);
  const latest = await readLatest(root);
  const out: Array<LinuxImage & { latest: boolean }> = [];
  for (const n of names) {
    if (!/^[0-9a-f]{16}$/.test(n)) continue;
    const loaded = await loadImage(join(root, n));
    if (loaded) out.push({ ...loaded.image, latest: latest !== undefined && resolvePath(latest) === loaded.image.dir });
  }
  return out.sort((a, b) => (a.builtAt < b.builtAt ? 1 : a.builtAt > b.builtAt ? -1 : 0));
}

/** The guest user's login, from the image's credentials.json. */
export async function readCredentials(image: LinuxImage): Promise<{ user: string; password: string }> {
  const c = await readCredentialsFile(image.credentialsFile);
  if (!c) throw new ImageNotBuiltError(`${image.credentialsFile} is missing: run \`ttygate-emu image build linux\` to recreate it`);
  return c;
}
