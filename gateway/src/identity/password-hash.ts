// Password hashing with scrypt; the parameters travel inside the hash string so they can be raised later.

import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost parameters: N (CPU/memory cost, a power of two), r (block size), p (parallelism). */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * Today's parameters. N=2^15, r=8, p=1 is the OWASP password-storage minimum for scrypt and
 * costs 32 MiB and about 50–100 ms per hash on the 2-core machines we run on: slow enough to
 * make offline guessing expensive, fast enough for interactive logins.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/** Salt length in bytes: 128 bits make precomputed tables useless. */
const SALT_BYTES = 16;
/** Derived key length in bytes (256 bits). */
const KEY_BYTES = 32;

/**
 * Bounds applied when parsing a stored hash, so an edited database row cannot make one login
 * allocate gigabytes or spin for minutes. 128·N·r is the memory scrypt needs.
 */
const MAX_MEMORY_BYTES = 1024 * 1024 * 1024;
const LIMITS = { minLogN: 10, maxLogN: 22, maxR: 64, maxP: 16, minSalt: 8, maxSalt: 64, minKey: 16, maxKey: 128 };

/**
 * Passwords longer than this are refused by the identity store; scrypt would accept them, but a
 * megabyte-long "password" on the login route is a cheap way to burn CPU.
 */
export const MAX_PASSWORD_LENGTH = 1024;

/** A parsed `scrypt$N=…,r=…,p=…$SALT$HASH` string (salt and hash base64url without padding). */
export interface ParsedPasswordHash {
  readonly algorithm: 'scrypt';
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

export class PasswordHashFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordHashFormatError';
  }
}

/**
 * Computes and checks password hashes. The identity store takes one so that tests can count
 * calls (the store must hash exactly once whether or not a user exists).
 */
export interface PasswordHasher {
  /** A new hash string with a fresh salt and the hasher's current parameters. */
  hash(password: string): Promise<string>;
  /** Whether `password` matches `encoded`, compared in constant time. A malformed `encoded` is `false`. */
  verify(password: string, encoded: string): Promise<boolean>;
  /** Whether `encoded` was made with other parameters than the current ones (or cannot be parsed). */
  needsRehash(encoded: string): boolean;
}

/** The default PasswordHasher: scrypt from node:crypto, run on libuv's thread pool. */
export class ScryptPasswordHasher implements PasswordHasher {
  constructor(readonly params: ScryptParams = DEFAULT_SCRYPT_PARAMS) {
    checkParams(params);
  }

  hash(password: string): Promise<string> {
    return hashPassword(password, this.params);
  }

  verify(password: string, encoded: string): Promise<boolean> {
    return verifyPasswordHash(password, encoded);
  }

  needsRehash(encoded: string): boolean {
    return needsRehash(encoded, this.params);
  }
}

/** Hashes `password` with a fresh random salt: `scrypt$N=32768,r=8,p=1$<salt>$<hash>`. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, KEY_BYTES, params);
  return formatPasswordHash({ algorithm: 'scrypt', params, salt, hash });
}

/** Checks `password` against a stored hash in constant time; false for a mismatch or a malformed hash. */
export async function verifyPasswordHash(password: string, encoded: string): Promise<boolean> {
  let parsed: ParsedPasswordHash;
  try {
    parsed = parsePasswordHash(encoded);
  } catch {
    // A corrupt or foreign hash cannot match any password; the account simply cannot log in.
    return false;
  }
  const candidate = await derive(password, parsed.salt, parsed.hash.length, parsed.params);
  return candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash);
}

/** True if `encoded` should be recomputed with `params` (other algorithm, parameters, or lengths). */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  try {
    const parsed = parsePasswordHash(encoded);
    return (
      parsed.params.N !== params.N ||
      parsed.params.r !== params.r ||
      parsed.params.p !== params.p ||
      parsed.salt.length !== SALT_BYTES ||
      parsed.hash.length !== KEY_BYTES
    );
  } catch {
    // Unparseable: anything is better than what is stored.
    return true;
  }
}

export function formatPasswordHash(h: ParsedPasswordHash): string {
  const { N, r, p } = h.params;
  return `scrypt$N=${N},r=${r},p=${p}$${h.salt.toString('base64url')}$${h.hash.toString('base64url')}`;
}

/** Parses a stored hash; throws PasswordHashFormatError if it is malformed or its parameters are out of bounds. */
export function parsePasswordHash(encoded: string): ParsedPasswordHash {
  const parts = encoded.split('$');
  if (parts.length !== 4) throw new PasswordHashFormatError('expected 4 "$"-separated fields');
  const [algorithm, paramText, saltText, hashText] = parts as [string, string, string, string];
  if (algorithm !== 'scrypt') throw new PasswordHashFormatError(`unknown algorithm "${algorithm}"`);
  const fields = new Map<string, number>();
  for (const kv of paramText.split(',')) {
    const m = /^([Nrp])=([1-9][0-9]{0,9})$/.exec(kv);
    if (!m || fields.has(m[1]!)) throw new PasswordHashFormatError(`bad parameter "${kv}"`);
    fields.set(m[1]!, Number(m[2]));
  }
  const N = fields.get('N');
  const r = fields.get('r');
  const p = fields.get('p');
  if (N === undefined || r === undefined || p === undefined) throw new PasswordHashFormatError('missing N, r or p');
  const params = { N, r, p };
  checkParams(params);
  const salt = decodeBase64url(saltText, 'salt');
  const hash = decodeBase64url(hashText, 'hash');
  if (salt.length < LIMITS.minSalt || salt.length > LIMITS.maxSalt) throw new PasswordHashFormatError('salt length out of bounds');
  if (hash.length < LIMITS.minKey || hash.length > LIMITS.maxKey) throw new PasswordHashFormatError('hash length out of bounds');
  return { algorithm: 'scrypt', params, salt, hash };
}

function checkParams({ N, r, p }: ScryptParams): void {
  const logN = Math.log2(N);
  if (!Number.isInteger(logN) || logN < LIMITS.minLogN || logN > LIMITS.maxLogN) {
    throw new PasswordHashFormatError(`N=${N} must be a power of two between 2^${LIMITS.minLogN} and 2^${LIMITS.maxLogN}`);
  }
  if (!Number.isInteger(r) || r < 1 || r > LIMITS.maxR) throw new PasswordHashFormatError(`r=${r} out of bounds`);
  if (!Number.isInteger(p) || p < 1 || p > LIMITS.maxP) throw new PasswordHashFormatError(`p=${p} out of bounds`);
  if (128 * N * r > MAX_MEMORY_BYTES) throw new PasswordHashFormatError('parameters need more than 1 GiB');
}

function decodeBase64url(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new PasswordHashFormatError(`${what} is not base64url`);
  return Buffer.from(text, 'base64url');
}

function derive(password: string, salt: Buffer, keyLength: number, { N, r, p }: ScryptParams): Promise<Buffer> {
  // NFKC as NIST SP 800-63B asks, so the same password typed on another keyboard or OS still matches.
  const normalized = password.normalize('NFKC');
  // Node refuses N·r above its 32 MiB default maxmem; allow twice what these parameters need.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise((resolve, reject) => {
    scryptCallback(normalized, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
