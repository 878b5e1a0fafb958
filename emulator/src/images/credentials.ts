/**
 * The guest's credentials: a second, small initramfs layer (/etc/passwd, /etc/group,
 * /etc/shadow, /home/USER) appended to the base archive, and credentials.json (mode 0600)
 * beside the image. The base archive never holds a password, so the image hash doesn't
 * depend on it and changing the password rewrites only this layer.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { readCpio, writeCpio, type CpioEntry } from './cpio.js';
import { CommandError, run } from './exec.js';
import { ImageCorruptError, ImageError, InvalidCredentialsError } from './errors.js';

export const DEFAULT_GUEST_USER = 'operator';
export const GUEST_UID = 1000;
export const GUEST_GID = 1000;
/** Days since 1970 for shadow's "last changed" field (fixed: busybox login does no ageing). */
const SHADOW_LASTCHG = 19723;
const RESERVED_USERS = new Set(['root', 'daemon', 'bin', 'sys', 'nobody', 'tty']);

export interface Credentials {
  user: string;
  password: string;
}

export function validateUser(user: string): void {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
    throw new InvalidCredentialsError(
      `invalid user name ${JSON.stringify(user)}: use 1-32 lower-case letters, digits, '_' or '-', starting with a letter or '_'`,
    );
  }
  if (RESERVED_USERS.has(user)) throw new InvalidCredentialsError(`user name ${JSON.stringify(user)} is reserved in the guest`);
}

export function validatePassword(password: string): void {
  if (password.length === 0) throw new InvalidCredentialsError('the password is empty');
  if (/[\r\n\0]/.test(password)) throw new InvalidCredentialsError('the password contains a line break or NUL, which a serial login cannot type');
  if (Buffer.byteLength(password, 'utf8') > 256) throw new InvalidCredentialsError('the password is longer than 256 bytes');
}

/** A random URL-safe password: 15 random bytes → 20 base64url characters (120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** SHA-512 crypt hash (`$6$…`) from `openssl passwd -6 -stdin`; the password travels on stdin only. */
export async function hashPassword(password: string, opts: { salt?: string } = {}): Promise<string> {
  validatePassword(password);
  const args = ['passwd', '-6'];
  if (opts.salt !== undefined) args.push('-salt', opts.salt);
  args.push('-stdin');
  let out: string;
  try {
    out = (await run('openssl', args, { input: password + '\n' })).stdout.toString('utf8').trim();
  } catch (e) {
    if (e instanceof CommandError) throw new ImageError('EMU_ERR_PASSWORD_HASH', `openssl could not hash the password: ${e.message}`);
    throw e;
  }
  if (!/^\$6\$[^$\s]+\$[./0-9A-Za-z]{86}$/.test(out)) throw new ImageError('EMU_ERR_PASSWORD_HASH', 'openssl passwd -6 returned no SHA-512 crypt hash');
  return out;
}

/** True if `password` matches a `$6$salt$…` hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = /^\$6\$([^$]+)\$/.exec(hash);
  if (!m?.[1] || m[1].startsWith('rounds=')) return false;
  try {
    return (await hashPassword(password, { salt: m[1] })) === hash;
  } catch (e) {
    if (e instanceof InvalidCredentialsError) return false;
    throw e;
  }
}

export function renderPasswd(user: string): string {
  return `root:x:0:0:root:/root:/bin/sh\n${user}:x:${GUEST_UID}:${GUEST_GID}:${user}:/home/${user}:/bin/sh\n`;
}

export function renderGroup(user: string): string {
  return `root:x:0:\ntty:x:5:\n${user}:x:${GUEST_GID}:\n`;
}

/** root is locked (`!`); the user gets the given `$6$` hash. */
export function renderShadow(user: string, passwordHash: string): string {
  return `root:!:${SHADOW_LASTCHG}:0:99999:7:::\n${user}:${passwordHash}:${SHADOW_LASTCHG}:0:99999:7:::\n`;
}

export function credentialsArchiveEntries(user: string, passwordHash: string): CpioEntry[] {
  return [
    { path: 'etc/passwd', type: 'file', mode: 0o644, data: renderPasswd(user) },
    { path: 'etc/group', type: 'file', mode: 0o644, data: renderGroup(user) },
    { path: 'etc/shadow', type: 'file', mode: 0o600, data: renderShadow(user, passwordHash) },
    { path: `home/${user}`, type: 'dir', mode: 0o700, uid: GUEST_UID, gid: GUEST_GID },
  ];
}

/** The gzip-compressed credentials layer for `user` (hashes the password with a fresh salt). */
export async function buildCredentialsLayer(c: Credentials): Promise<Buffer> {
  validateUser(c.user);
  const hash = await hashPassword(c.password);
  return gzipSync(writeCpio(credentialsArchiveEntries(c.user, hash)), { level: 9 });
}

/** Does the credentials layer (gzip'd cpio) let `c.user` log in with `c.password`? */
export async function layerMatches(layer: Buffer, c: Credentials): Promise<boolean> {
  let members;
  try {
    members = readCpio(gunzipSync(layer));
  } catch {
    return false;
  }
  const shadow = members.find((m) => m.path === 'etc/shadow')?.data.toString('utf8');
  const passwd = members.find((m) => m.path === 'etc/passwd')?.data.toString('utf8');
  if (!shadow || !passwd) return false;
  if (passwd !== renderPasswd(c.user)) return false;
  const line = shadow.split('\n').find((l) => l.startsWith(`${c.user}:`));
  const hash = line?.split(':')[1];
  if (!hash) return false;
  return verifyPassword(c.password, hash);
}

export async function writeCredentialsFile(file: string, c: Credentials): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, JSON.stringify({ user: c.user, password: c.password }, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600); // in case the umask or an existing file interfered
  await rename(tmp, file);
}

/** Reads credentials.json; undefined if it doesn't exist. */
export async function readCredentialsFile(file: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ImageCorruptError(`${file} is not valid JSON: rebuild with \`ttygate-emu image build linux\``);
  }
  const o = parsed as Partial<Credentials>;
  if (typeof o?.user !== 'string' || typeof o.password !== 'string') {
    throw new ImageCorruptError(`${file} lacks user/password: rebuild with \`ttygate-emu image build linux\``);
  }
  return { user: o.user, password: o.password };
}
