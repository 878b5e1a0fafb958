// Opens the gateway's SQLite database (WAL, synchronous=FULL) and brings its schema up to date.

import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

/** A better-sqlite3 connection. */
export type Db = Database.Database;

/** The file inside the data directory that holds users, tokens, role assignments and the audit log. */
export const DATABASE_FILE = 'ttygate.db';

/**
 * How long a statement waits for another connection's write lock before failing with
 * SQLITE_BUSY. The `ttygate` CLI writes to the same file while the gateway serves; an audit
 * append holds the lock for well under a millisecond, so 5 s only runs out if something is wrong.
 */
export const BUSY_TIMEOUT_MS = 5000;

export type DatabaseErrorCode = 'SchemaTooNew' | 'SchemaMismatch' | 'MigrationFailed';

export class DatabaseError extends Error {
  constructor(
    readonly code: DatabaseErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

export interface OpenDatabaseOptions {
  /** Open read-only: no pragmas that write, no migrations. The file must exist. */
  readonly readonly?: boolean;
  /** Apply pending migrations (default true; ignored when read-only). */
  readonly migrate?: boolean;
  /** Fail instead of creating a new file (default false; always true when read-only). */
  readonly fileMustExist?: boolean;
  /** The migrations to apply (default MIGRATIONS; tests pass their own). */
  readonly migrations?: readonly Migration[];
}

/**
 * Opens `path` with the settings every connection of the gateway and the CLI uses:
 * `busy_timeout=5000`, `journal_mode=WAL` (readers never block the writer), `synchronous=FULL`
 * (a committed transaction survives power loss, which the audit log promises), `foreign_keys=ON`.
 * A new file is created with mode 0600 (it holds password hashes). Then pending migrations are
 * applied, each in its own `BEGIN IMMEDIATE` transaction, so two processes opening the same
 * fresh file at once apply each step exactly once.
 *
 * Throws DatabaseError `SchemaTooNew` if the file was migrated by a newer ttygate, and
 * `SchemaMismatch` if a recorded migration name differs from this build's. The caller owns the
 * connection and closes it.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Db {
  const readonly = options.readonly ?? false;
  const inMemory = path === ':memory:' || path === '';
  if (!readonly && !inMemory && !options.fileMustExist) createPrivateFile(path);
  const db = new Database(path, { readonly, fileMustExist: readonly || (options.fileMustExist ?? false) });
  try {
    // busy_timeout first: switching to WAL itself needs a lock another process may hold.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      if (options.migrate ?? true) migrate(db, options.migrations ?? MIGRATIONS);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The highest migration version recorded in the database (0 for a fresh one). */
export function schemaVersion(db: Db): number {
  if (!hasMigrationsTable(db)) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Applies every migration not yet recorded, in version order. Idempotent: a second call (or a
 * second process) finds them recorded and does nothing.
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): void {
  checkMigrationList(migrations);
  const ensureTable = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
  });
  if (!hasMigrationsTable(db)) ensureTable.immediate();

  const recorded = () =>
    new Map(
      (db.prepare('SELECT version, name FROM schema_migrations').all() as { version: number; name: string }[]).map(
        (r) => [r.version, r.name],
      ),
    );
  const known = new Map(migrations.map((m) => [m.version, m.name]));
  const latest = migrations.at(-1)?.version ?? 0;
  const checkRecorded = (rec: Map<number, string>) => {
    for (const [version, name] of rec) {
      if (version > latest) {
        throw new DatabaseError(
          'SchemaTooNew',
          `database schema version ${version} (${name}) is newer than this ttygate knows (${latest}); upgrade ttygate`,
        );
      }
      const expected = known.get(version);
      if (expected !== name) {
        throw new DatabaseError(
          'SchemaMismatch',
          `database migration ${version} is recorded as "${name}" but this ttygate calls it "${expected ?? '(none)'}"`,
        );
      }
    }
  };

  checkRecorded(recorded());
  const apply = db.transaction((m: Migration) => {
    // Re-read under the write lock: another process may have applied it since we looked.
    const rec = recorded();
    checkRecorded(rec);
    if (rec.has(m.version)) return;
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      m.version,
      m.name,
      new Date().toISOString(),
    );
  });
  for (const m of migrations) {
    if (recorded().has(m.version)) continue;
    try {
      apply.immediate(m);
    } catch (err) {
      if (err instanceof DatabaseError) throw err;
      throw new DatabaseError('MigrationFailed', `migration ${m.version} (${m.name}) failed: ${String(err)}`, {
        cause: err,
      });
    }
  }
}

function hasMigrationsTable(db: Db): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined
  );
}

function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new DatabaseError('MigrationFailed', `migration list is not dense: index ${i} has version ${m.version}`);
    }
  });
}

/** Creates `path` with mode 0600 if it does not exist yet; SQLite gives -wal and -shm the same mode. */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch {
    // EEXIST is the normal case (the database is already there); any other failure (a missing
    // directory, no permission) is reported by SQLite when it opens the path, with its own message.
  }
}
