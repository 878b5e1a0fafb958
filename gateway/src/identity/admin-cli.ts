// The `ttygate users … | tokens create | audit verify` commands, as functions the CLI calls.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteAuditLog } from '../audit/sqlite-audit-log.js';
import type { AuditVerifyResult } from '../audit/audit-log.js';
import { DATABASE_FILE, openDatabase, type Db } from '../db/database.js';
import { IdentityError, IdentityStore, type IdentityStoreOptions, type TokenInfo, type User } from './identity-store.js';
import { assertNotLastOwner } from './last-owner.js';
import { isRole, parseScope, type RoleAssignment } from './roles.js';

/** The audit actor of every administration command run from the command line. */
export const CLI_ACTOR = 'cli';

/** 18 random bytes as base64url: 24 characters, 144 bits. */
const GENERATED_PASSWORD_BYTES = 18;

export interface UsersAddOptions {
  readonly dataDir: string;
  readonly name: string;
  /** Role to grant; none if omitted (the user can then do nothing until granted one). */
  readonly role?: string | undefined;
  /** Scope of the role, default `/`. */
  readonly scope?: string | undefined;
  /**
   * What `--password-stdin` read (one trailing newline is dropped), or undefined to generate a
   * password and return it for printing once.
   */
  readonly passwordStdin: string | undefined;
  /** For tests (a cheap hasher). */
  readonly identity?: IdentityStoreOptions;
}

export interface UsersAddResult {
  readonly user: User;
  readonly assignment?: RoleAssignment;
  /** Present only when the password was generated: print it once, it is not stored anywhere. */
  readonly generatedPassword?: string;
}

export interface TokensCreateOptions {
  readonly dataDir: string;
  /** The user the token acts as. */
  readonly user: string;
  /** The token's name (what it is for). */
  readonly name: string;
  readonly expiresAt?: Date | string | undefined;
}

export interface TokensCreateResult {
  /** The secret: the CLI prints this, and only this, on stdout. */
  readonly secret: string;
  readonly token: TokenInfo;
}

/**
 * `ttygate users add NAME [--role ROLE] [--scope SCOPE] [--password-stdin]`. Creates the user,
 * grants the role and writes `user.create` (and `role.assign`) audit rows, all in one
 * transaction: if the audit write fails, no user is created. Throws IdentityError for a
 * refusal (UserExists, InvalidRole, …) and AuditWriteError if the audit log cannot be written.
 */
export async function usersAdd(opts: UsersAddOptions): Promise<UsersAddResult> {
  if (opts.scope !== undefined && opts.role === undefined) {
    throw new IdentityError('InvalidRole', '--scope needs --role');
  }
  const scope = opts.scope ?? '/';
  // Checked before any work; the store checks again inside its transaction.
  if (opts.role !== undefined && !isRole(opts.role)) throw new IdentityError('InvalidRole', `unknown role "${opts.role}"`);
  if (parseScope(scope) === undefined) {
    throw new IdentityError('InvalidScope', `scope "${scope}" is not "/", "/groups/NAME" or "/devices/ID"`);
  }
  const generated = opts.passwordStdin === undefined ? randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url') : undefined;
  const password = generated ?? stripOneNewline(opts.passwordStdin ?? '');
  return withDatabase(opts.dataDir, true, async (db) => {
    const store = new IdentityStore(db, opts.identity);
    const audit = new SqliteAuditLog(db);
    let assignment: RoleAssignment | undefined;
    const user = await store.addUser(opts.name, password, {
      audit: (u) => {
        audit.append({
          action: 'user.create',
          actor: CLI_ACTOR,
          target: u.name,
          details: { userId: u.id, ...(opts.role !== undefined && { role: opts.role, scope }), passwordGenerated: !!generated },
        });
        if (opts.role === undefined) return;
        // Nested: a savepoint inside addUser's transaction, so user, grant and rows commit together.
        assignment = store.assignRole(u.id, opts.role, scope, {
          audit: (a) => {
            audit.append({ action: 'role.assign', actor: CLI_ACTOR, target: u.name, details: { role: a.role, scope: a.scope } });
          },
        });
      },
    });
    return { user, ...(assignment && { assignment }), ...(generated !== undefined && { generatedPassword: generated }) };
  });
}

/** One user as `ttygate users list` shows it. */
export interface UserListing {
  readonly user: User;
  readonly roles: readonly RoleAssignment[];
}

/** `ttygate users list`: every user with their grants. */
export async function usersList(opts: { readonly dataDir: string }): Promise<UserListing[]> {
  return withDatabase(opts.dataDir, false, (db) => {
    const store = new IdentityStore(db);
    return store.listUsers().map((user) => ({ user, roles: store.rolesOf(user.id) }));
  });
}

/**
 * `ttygate users disable|enable NAME`. A disabled user's logins and tokens stop working at once;
 * the last enabled owner on `/` cannot be disabled. Audited in the same transaction.
 */
export async function usersSetDisabled(opts: { readonly dataDir: string; readonly name: string; readonly disabled: boolean }): Promise<User> {
  return withDatabase(opts.dataDir, false, (db) => {
    const store = new IdentityStore(db);
    const audit = new SqliteAuditLog(db);
    return store.transaction(() => {
      const user = mustFindUser(store, opts.name);
      if (user.disabled === opts.disabled) return user;
      if (opts.disabled) assertNotLastOwner(store, user, 'disabling them');
      const row = (u: User) => audit.append({ action: 'user.update', actor: CLI_ACTOR, target: u.name, details: { userId: u.id, fields: ['disabled'], disabled: opts.disabled } });
      return opts.disabled ? store.disableUser(user.id, { audit: row }) : store.enableUser(user.id, { audit: row });
    });
  });
}

/** `ttygate users passwd NAME [--password-stdin]`: sets a new password (generated if none given); the user's logins end. */
export async function usersPasswd(opts: {
  readonly dataDir: string;
  readonly name: string;
  readonly passwordStdin: string | undefined;
  readonly identity?: IdentityStoreOptions;
}): Promise<{ user: User; generatedPassword?: string }> {
  const generated = opts.passwordStdin === undefined ? randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url') : undefined;
  const password = generated ?? stripOneNewline(opts.passwordStdin ?? '');
  return withDatabase(opts.dataDir, false, async (db) => {
    const store = new IdentityStore(db, opts.identity);
    const audit = new SqliteAuditLog(db);
    const user = mustFindUser(store, opts.name);
    const updated = await store.setPassword(user.id, password, {
      audit: (u) => audit.append({ action: 'user.update', actor: CLI_ACTOR, target: u.name, details: { userId: u.id, fields: ['password'], passwordGenerated: !!generated } }),
    });
    return { user: updated, ...(generated !== undefined && { generatedPassword: generated }) };
  });
}

/** `ttygate users grant|revoke NAME ROLE [--scope SCOPE]`. Revoking the last root owner is refused. Returns false if nothing changed. */
export async function usersGrant(opts: { readonly dataDir: string; readonly name: string; readonly role: string; readonly scope: string; readonly revoke: boolean }): Promise<boolean> {
  if (!isRole(opts.role)) throw new IdentityError('InvalidRole', `unknown role "${opts.role}"`);
  if (parseScope(opts.scope) === undefined) throw new IdentityError('InvalidScope', `scope "${opts.scope}" is not "/", "/groups/NAME" or "/devices/ID"`);
  return withDatabase(opts.dataDir, false, (db) => {
    const store = new IdentityStore(db);
    const audit = new SqliteAuditLog(db);
    return store.transaction(() => {
      const user = mustFindUser(store, opts.name);
      const row = (action: 'role.assign' | 'role.revoke') => () => audit.append({ action, actor: CLI_ACTOR, target: user.name, details: { userId: user.id, role: opts.role, scope: opts.scope } });
      if (opts.revoke) {
        if (opts.role === 'owner' && opts.scope === '/') assertNotLastOwner(store, user, 'removing their owner role on "/"');
        return store.revokeRole(user.id, opts.role, opts.scope, { audit: row('role.revoke') });
      }
      if (store.rolesOf(user.id).some((a) => a.role === opts.role && a.scope === opts.scope)) return false;
      store.assignRole(user.id, opts.role, opts.scope, { audit: row('role.assign') });
      return true;
    });
  });
}

function mustFindUser(store: IdentityStore, name: string): User {
  const user = store.findUserByName(name);
  if (!user) throw new IdentityError('UserNotFound', `no user "${name}"`);
  return user;
}

/**
 * `ttygate tokens create NAME --user USER`. Creates an API token for USER and writes a
 * `token.create` audit row in the same transaction. Returns the secret, which exists nowhere else.
 */
export async function tokensCreate(opts: TokensCreateOptions): Promise<TokensCreateResult> {
  return withDatabase(opts.dataDir, true, (db) => {
    const store = new IdentityStore(db);
    const audit = new SqliteAuditLog(db);
    const user = store.findUserByName(opts.user);
    if (!user) throw new IdentityError('UserNotFound', `no user "${opts.user}"`);
    const created = store.createToken(user.id, opts.name, {
      ...(opts.expiresAt !== undefined && { expiresAt: opts.expiresAt }),
      audit: (t) => {
        audit.append({
          action: 'token.create',
          actor: CLI_ACTOR,
          target: t.id,
          details: { user: user.name, userId: user.id, name: t.name, ...(t.expiresAt && { expiresAt: t.expiresAt }) },
        });
      },
    });
    return { secret: created.secret, token: created.token };
  });
}

/** `ttygate audit verify`: recomputes the hash chain. The CLI exits non-zero unless `ok`. */
export async function auditVerify(opts: { readonly dataDir: string }): Promise<AuditVerifyResult> {
  return withDatabase(opts.dataDir, false, (db) => new SqliteAuditLog(db).verify());
}

/** One line for the terminal. */
export function formatVerifyResult(r: AuditVerifyResult): string {
  return r.ok
    ? `audit log OK: ${r.rows} rows, chain head ${r.lastHash}`
    : `audit log BROKEN at row ${r.firstBadId}: ${r.reason}`;
}

async function withDatabase<T>(dataDir: string, create: boolean, fn: (db: Db) => T | Promise<T>): Promise<T> {
  const path = join(dataDir, DATABASE_FILE);
  if (create) {
    // 0700: the directory holds password hashes, the TLS key and recordings.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } else if (!existsSync(path)) {
    throw new Error(`no ttygate database at ${path}`);
  }
  const db = openDatabase(path, { fileMustExist: !create });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

function stripOneNewline(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}
