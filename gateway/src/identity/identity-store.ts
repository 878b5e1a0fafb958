// IdentityStore: local users, API tokens and role assignments in the gateway database.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/database.js';
import { MAX_PASSWORD_LENGTH, ScryptPasswordHasher, type PasswordHasher } from './password-hash.js';
import { isRole, parseScope, type Role, type RoleAssignment } from './roles.js';

export type IdentityErrorCode =
  | 'InvalidUserName'
  | 'InvalidPassword'
  | 'UserExists'
  | 'UserNotFound'
  | 'UserDisabled'
  | 'InvalidRole'
  | 'InvalidScope'
  | 'InvalidTokenName'
  | 'InvalidExpiry'
  | 'TokenNotFound'
  | 'LastOwner';

const HTTP_STATUS: Record<IdentityErrorCode, number> = {
  InvalidUserName: 400,
  InvalidPassword: 400,
  UserExists: 409,
  UserNotFound: 404,
  UserDisabled: 409,
  InvalidRole: 400,
  InvalidScope: 400,
  InvalidTokenName: 400,
  InvalidExpiry: 400,
  TokenNotFound: 404,
  LastOwner: 409,
};

/** A deliberate refusal of the identity store; `code` and `httpStatus` are stable for the API. */
export class IdentityError extends Error {
  readonly httpStatus: number;
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IdentityError';
    this.httpStatus = HTTP_STATUS[code];
  }
}

/** A local user, as the rest of the gateway sees it (never with the password hash). */
export interface User {
  readonly id: number;
  readonly name: string;
  readonly disabled: boolean;
  /** ISO 8601 with milliseconds, UTC. */
  readonly createdAt: string;
  /** When the password was last set; sessions issued before it should be treated as stale. */
  readonly passwordChangedAt: string;
}

/** An API token's metadata; the secret itself is never stored and never returned again. */
export interface TokenInfo {
  readonly id: string;
  readonly userId: number;
  readonly name: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  /** Updated at most once a minute (see LAST_USED_RESOLUTION_MS). */
  readonly lastUsedAt?: string;
}

export interface CreatedToken {
  readonly id: string;
  /** `ttg_<id>_<43 base64url chars>`: give it to the user once; only its SHA-256 is kept. */
  readonly secret: string;
  readonly token: TokenInfo;
}

export interface VerifiedToken {
  readonly user: User;
  readonly tokenId: string;
  readonly token: TokenInfo;
}

/**
 * Runs inside the write transaction of a change, after the change, with its result. If it throws,
 * the change is rolled back and the error propagates: pass an audit append here and the change
 * and its audit row commit together or not at all (fail closed). The hook must use the same
 * database connection (a second connection would wait for this transaction's lock and time out).
 */
export type AuditHook<T> = (result: T) => void;

export interface WriteOptions<T> {
  readonly audit?: AuditHook<T>;
}

export interface IdentityStoreOptions {
  /** Default: ScryptPasswordHasher with DEFAULT_SCRYPT_PARAMS. */
  readonly hasher?: PasswordHasher;
  /** Clock for created/expiry times (tests move it). */
  readonly now?: () => Date;
}

/** Names that the audit log uses as actors for non-users; no user may take them. */
export const RESERVED_USER_NAMES: readonly string[] = ['system', 'cli'];
/** Letters, digits, `.`, `_`, `@`, `-`; no `:` or `/`, so a name never looks like a token actor or a path. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** NIST SP 800-63B minimum for memorized secrets chosen by the user. */
export const MIN_PASSWORD_LENGTH = 8;
const MAX_TOKEN_NAME_LENGTH = 64;

/** Prefix of every token secret, so scanners (and people) can recognise a leaked one. */
export const TOKEN_PREFIX = 'ttg_';
/** 32 random bytes (256 bits): far beyond guessing, so a plain SHA-256 is an adequate stored form. */
const TOKEN_SECRET_BYTES = 32;
const TOKEN_ID_BYTES = 8;
const TOKEN_PATTERN = /^ttg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** How stale `lastUsedAt` may get: writing it on every request would put a commit on the hot path. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** How a token appears as an audit actor; user names cannot contain `:`, so this never collides. */
export function tokenActor(tokenId: string): string {
  return `token:${tokenId}`;
}

interface UserRow {
  id: number;
  name: string;
  password_hash: string;
  disabled: number;
  created_at: string;
  password_changed_at: string;
}

interface TokenRow {
  id: string;
  user_id: number;
  name: string;
  secret_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

interface RoleRow {
  user_id: number;
  role: string;
  scope: string;
  created_at: string;
}

/**
 * Users, API tokens and role assignments. Principals are users; a token acts as its user.
 *
 * Every change runs in one `BEGIN IMMEDIATE` transaction (a savepoint when already inside one)
 * and accepts an {@link AuditHook} that commits with it. Password hashing is async (scrypt on the
 * thread pool) and happens before the transaction; everything else is synchronous.
 * Refusals throw {@link IdentityError}; database failures propagate as better-sqlite3 errors.
 */
export class IdentityStore {
  private readonly hasher: PasswordHasher;
  private readonly now: () => Date;
  private dummyHash: Promise<string> | undefined;
  private readonly dummyTokenHash = randomBytes(32);

  constructor(
    private readonly db: Db,
    options: IdentityStoreOptions = {},
  ) {
    this.hasher = options.hasher ?? new ScryptPasswordHasher();
    this.now = options.now ?? (() => new Date());
  }

  /** Runs `fn` in one write transaction (`BEGIN IMMEDIATE`, or a savepoint if one is open). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---- users ----------------------------------------------------------------------------------

  /** Creates a user. Throws InvalidUserName, InvalidPassword or UserExists. */
  async addUser(
    name: string,
    password: string,
    opts: WriteOptions<User> & { readonly disabled?: boolean } = {},
  ): Promise<User> {
    checkUserName(name);
    checkPassword(password);
    if (this.findUserByName(name)) throw new IdentityError('UserExists', `user "${name}" already exists`);
    const hash = await this.hasher.hash(password);
    return this.transaction(() => {
      const now = this.isoNow();
      let id: number;
      try {
        const info = this.db
          .prepare(
            'INSERT INTO users (name, password_hash, disabled, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?)',
          )
          .run(name, hash, opts.disabled ? 1 : 0, now, now);
        id = Number(info.lastInsertRowid);
      } catch (err) {
        // Another process created the same name between our check and this insert.
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new IdentityError('UserExists', `user "${name}" already exists`, { cause: err });
        }
        throw err;
      }
      const user = this.mustGetUser(id);
      opts.audit?.(user);
      return user;
    });
  }

  /** Replaces a user's password. Throws UserNotFound or InvalidPassword. */
  async setPassword(userId: number, password: string, opts: WriteOptions<User> = {}): Promise<User> {
    this.mustGetUser(userId);
    checkPassword(password);
    const hash = await this.hasher.hash(password);
    return this.transaction(() => {
      this.db
        .prepare('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?')
        .run(hash, this.isoNow(), userId);
      const user = this.mustGetUser(userId);
      opts.audit?.(user);
      return user;
    });
  }

  /** Disables a user: password logins and all the user's tokens stop working. Idempotent. */
  disableUser(userId: number, opts: WriteOptions<User> = {}): User {
    return this.setDisabled(userId, true, opts);
  }

  /** Re-enables a disabled user (tokens that are neither expired nor revoked work again). Idempotent. */
  enableUser(userId: number, opts: WriteOptions<User> = {}): User {
    return this.setDisabled(userId, false, opts);
  }

  getUser(userId: number): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(userId) as UserRow | undefined;
    return row && toUser(row);
  }

  /** Looks a user up by name, case-insensitively. */
  findUserByName(name: string): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return row && toUser(row);
  }

  listUsers(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY id').all() as UserRow[]).map(toUser);
  }

  /**
   * The user if `password` is right and the user is enabled, else undefined. Does the same work
   * either way: an unknown name is checked against a dummy hash, so response time does not tell
   * which names exist. A hash made with older parameters is recomputed on success.
   */
  async verifyPassword(name: string, password: string): Promise<User | undefined> {
    const row = USER_NAME.test(name)
      ? (this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined)
      : undefined;
    // An over-long password is refused, but only after the same hashing work as any other attempt.
    const tooLong = password.length > MAX_PASSWORD_LENGTH;
    const candidate = tooLong ? '' : password;
    // Awaited on every call, so the one-off cost of making the dummy does not mark the first unknown name.
    const dummy = await this.getDummyHash();
    const stored = row?.password_hash ?? dummy;
    const match = await this.hasher.verify(candidate, stored);
    if (!row || !match || tooLong || row.disabled) return undefined;
    if (this.hasher.needsRehash(row.password_hash)) await this.rehash(row, password);
    return toUser(row);
  }

  // ---- API tokens ----------------------------------------------------------------------------

  /**
   * Creates an API token for `userId` and returns its secret, the only time it is available.
   * Throws UserNotFound, UserDisabled, InvalidTokenName or InvalidExpiry (not in the future).
   */
  createToken(
    userId: number,
    name: string,
    opts: WriteOptions<TokenInfo> & { readonly expiresAt?: Date | string } = {},
  ): CreatedToken {
    checkTokenName(name);
    const expiresAt = opts.expiresAt === undefined ? undefined : this.checkExpiry(opts.expiresAt);
    return this.transaction(() => {
      const user = this.mustGetUser(userId);
      if (user.disabled) throw new IdentityError('UserDisabled', `user "${user.name}" is disabled`);
      const id = randomBytes(TOKEN_ID_BYTES).toString('hex');
      const secret = `${TOKEN_PREFIX}${id}_${randomBytes(TOKEN_SECRET_BYTES).toString('base64url')}`;
      this.db
        .prepare(
          'INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(id, userId, name, sha256(secret).toString('hex'), this.isoNow(), expiresAt ?? null);
      const token = this.mustGetToken(userId, id);
      opts.audit?.(token);
      return { id, secret, token };
    });
  }

  /**
   * The token's user if `secret` is a live token: known, hash equal (constant time), not revoked,
   * not expired, user enabled. Anything else is undefined, with no hint which check failed.
   */
  verifyToken(secret: string): VerifiedToken | undefined {
    const m = TOKEN_PATTERN.exec(secret);
    if (!m) return undefined;
    const id = m[1]!;
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenRow | undefined;
    const expected = row ? Buffer.from(row.secret_hash, 'hex') : this.dummyTokenHash;
    const actual = sha256(secret);
    const equal = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (!row || !equal || row.revoked_at !== null) return undefined;
    const now = this.now();
    if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()) return undefined;
    const user = this.getUser(row.user_id);
    if (!user || user.disabled) return undefined;
    this.touchToken(row, now);
    return { user, tokenId: id, token: toTokenInfo(row) };
  }

  /** True while the token exists, is neither revoked nor expired, and its user is enabled. */
  isTokenLive(tokenId: string): boolean {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(tokenId) as TokenRow | undefined;
    if (!row || row.revoked_at !== null) return false;
    if (row.expires_at !== null && Date.parse(row.expires_at) <= this.now().getTime()) return false;
    const user = this.getUser(row.user_id);
    return user !== undefined && !user.disabled;
  }

  /** The user's tokens, newest first, without secrets; revoked ones only if asked for. */
  listTokens(userId: number, opts: { readonly includeRevoked?: boolean } = {}): TokenInfo[] {
    const sql = opts.includeRevoked
      ? 'SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id'
      : 'SELECT * FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id';
    return (this.db.prepare(sql).all(userId) as TokenRow[]).map(toTokenInfo);
  }

  /**
   * Revokes one of `userId`'s tokens. A token of another user is TokenNotFound, so nobody learns
   * that it exists. Revoking a revoked token changes nothing and succeeds.
   */
  revokeToken(userId: number, tokenId: string, opts: WriteOptions<TokenInfo> = {}): TokenInfo {
    return this.transaction(() => {
      this.mustGetToken(userId, tokenId);
      this.db
        .prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL')
        .run(this.isoNow(), tokenId, userId);
      const token = this.mustGetToken(userId, tokenId);
      opts.audit?.(token);
      return token;
    });
  }

  // ---- role assignments ----------------------------------------------------------------------

  /**
   * Grants `role` at `scope` (`/`, `/groups/NAME`, `/devices/ID`) to a user. Idempotent.
   * Throws InvalidRole, InvalidScope or UserNotFound.
   */
  assignRole(userId: number, role: string, scope: string, opts: WriteOptions<RoleAssignment> = {}): RoleAssignment {
    const r = checkRole(role);
    checkScope(scope);
    return this.transaction(() => {
      this.mustGetUser(userId);
      this.db
        .prepare('INSERT OR IGNORE INTO role_assignments (user_id, role, scope, created_at) VALUES (?, ?, ?, ?)')
        .run(userId, r, scope, this.isoNow());
      const row = this.db
        .prepare('SELECT * FROM role_assignments WHERE user_id = ? AND role = ? AND scope = ?')
        .get(userId, r, scope) as RoleRow;
      const assignment = toAssignment(row);
      opts.audit?.(assignment);
      return assignment;
    });
  }

  /** Removes a grant; false if there was none (the audit hook then is not called). */
  revokeRole(
    userId: number,
    role: string,
    scope: string,
    opts: WriteOptions<{ userId: number; role: Role; scope: string }> = {},
  ): boolean {
    const r = checkRole(role);
    checkScope(scope);
    return this.transaction(() => {
      const info = this.db
        .prepare('DELETE FROM role_assignments WHERE user_id = ? AND role = ? AND scope = ?')
        .run(userId, r, scope);
      if (info.changes === 0) return false;
      opts.audit?.({ userId, role: r, scope });
      return true;
    });
  }

  /** The user's grants, oldest first. */
  rolesOf(userId: number): RoleAssignment[] {
    return (
      this.db
        .prepare('SELECT * FROM role_assignments WHERE user_id = ? ORDER BY created_at, role, scope')
        .all(userId) as RoleRow[]
    ).map(toAssignment);
  }

  /** Every grant of every user. */
  listRoleAssignments(): RoleAssignment[] {
    return (
      this.db.prepare('SELECT * FROM role_assignments ORDER BY user_id, created_at, role, scope').all() as RoleRow[]
    ).map(toAssignment);
  }

  // ---- internals -----------------------------------------------------------------------------

  private setDisabled(userId: number, disabled: boolean, opts: WriteOptions<User>): User {
    return this.transaction(() => {
      this.mustGetUser(userId);
      this.db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, userId);
      const user = this.mustGetUser(userId);
      opts.audit?.(user);
      return user;
    });
  }

  private async rehash(row: UserRow, password: string): Promise<void> {
    const hash = await this.hasher.hash(password);
    try {
      // Only if the hash is still the one we verified: a concurrent setPassword wins.
      this.db
        .prepare('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?')
        .run(hash, row.id, row.password_hash);
    } catch {
      // Upgrading the hash is an optimisation; a busy or read-only database must not fail a login.
    }
  }

  private touchToken(row: TokenRow, now: Date): void {
    if (row.last_used_at !== null && now.getTime() - Date.parse(row.last_used_at) < LAST_USED_RESOLUTION_MS) return;
    try {
      this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now.toISOString(), row.id);
    } catch {
      // lastUsedAt is informational; a busy or read-only database must not refuse a valid token.
    }
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= this.hasher.hash(randomBytes(18).toString('base64url'));
    return this.dummyHash;
  }

  private mustGetUser(userId: number): User {
    const user = this.getUser(userId);
    if (!user) throw new IdentityError('UserNotFound', `no user with id ${userId}`);
    return user;
  }

  private mustGetToken(userId: number, tokenId: string): TokenInfo {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ? AND user_id = ?').get(tokenId, userId) as
      | TokenRow
      | undefined;
    if (!row) throw new IdentityError('TokenNotFound', `no token ${tokenId}`);
    return toTokenInfo(row);
  }

  private checkExpiry(value: Date | string): string {
    const ms = value instanceof Date ? value.getTime() : Date.parse(value);
    if (!Number.isFinite(ms)) throw new IdentityError('InvalidExpiry', 'expiresAt is not a valid date');
    if (ms <= this.now().getTime()) throw new IdentityError('InvalidExpiry', 'expiresAt must be in the future');
    return new Date(ms).toISOString();
  }

  private isoNow(): string {
    return this.now().toISOString();
  }
}

function checkUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new IdentityError(
      'InvalidUserName',
      'a user name is 1–64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    );
  }
  if (RESERVED_USER_NAMES.includes(name.toLowerCase())) {
    throw new IdentityError('InvalidUserName', `"${name}" is reserved`);
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new IdentityError(
      'InvalidPassword',
      `a password is ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long`,
    );
  }
}

function checkTokenName(name: string): void {
  // No control characters: the name is shown in listings and terminals.
  if (name.length === 0 || name.length > MAX_TOKEN_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new IdentityError('InvalidTokenName', `a token name is 1–${MAX_TOKEN_NAME_LENGTH} printable characters`);
  }
}

function checkRole(role: string): Role {
  if (!isRole(role)) throw new IdentityError('InvalidRole', `unknown role "${role}"`);
  return role;
}

function checkScope(scope: string): void {
  if (parseScope(scope) === undefined) {
    throw new IdentityError('InvalidScope', `scope "${scope}" is not "/", "/groups/NAME" or "/devices/ID"`);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
  };
}

function toTokenInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    createdAt: row.created_at,
    ...(row.expires_at !== null && { expiresAt: row.expires_at }),
    ...(row.revoked_at !== null && { revokedAt: row.revoked_at }),
    ...(row.last_used_at !== null && { lastUsedAt: row.last_used_at }),
  };
}

function toAssignment(row: RoleRow): RoleAssignment {
  return { userId: row.user_id, role: row.role as Role, scope: row.scope, createdAt: row.created_at };
}
