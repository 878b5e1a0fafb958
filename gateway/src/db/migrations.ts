// The numbered schema migrations of the gateway database (ttygate.db), applied in order by openDatabase.

/**
 * One schema step. `version` numbers are dense, start at 1 and never change once released;
 * `name` is recorded next to the version in `schema_migrations` and must not change either
 * (openDatabase refuses a database whose recorded names differ from these). A migration's
 * `sql` runs inside the transaction that records it, so a step is applied whole or not at all.
 * Add new steps at the end; never edit a released one.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'identity',
    sql: `
      -- Local users. Names compare case-insensitively so "Admin" cannot pose as "admin" in the audit log.
      CREATE TABLE users (
        id                  INTEGER PRIMARY KEY AUTOINCREMENT,
        name                TEXT    NOT NULL UNIQUE COLLATE NOCASE,
        password_hash       TEXT    NOT NULL,
        disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at          TEXT    NOT NULL,
        password_changed_at TEXT    NOT NULL
      );

      -- API tokens: only the SHA-256 of the secret is kept; the secret is shown once at creation.
      CREATE TABLE api_tokens (
        id           TEXT    PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users (id),
        name         TEXT    NOT NULL,
        secret_hash  TEXT    NOT NULL,
        created_at   TEXT    NOT NULL,
        expires_at   TEXT,
        revoked_at   TEXT,
        last_used_at TEXT
      );
      CREATE INDEX api_tokens_user ON api_tokens (user_id);

      -- Role assignments (principal, role, scope); everything not granted is denied.
      CREATE TABLE role_assignments (
        user_id    INTEGER NOT NULL REFERENCES users (id),
        role       TEXT    NOT NULL,
        scope      TEXT    NOT NULL,
        created_at TEXT    NOT NULL,
        PRIMARY KEY (user_id, role, scope)
      );
    `,
  },
  {
    version: 2,
    name: 'audit_log',
    sql: `
      -- Append-only, hash-chained audit log; the recipe is in audit/sqlite-audit-log.ts.
      CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY,
        time      TEXT    NOT NULL,
        actor     TEXT    NOT NULL,
        source    TEXT,
        action    TEXT    NOT NULL,
        code      TEXT    NOT NULL,
        target    TEXT,
        outcome   TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
        reason    TEXT,
        details   TEXT    NOT NULL,
        prev_hash TEXT    NOT NULL,
        hash      TEXT    NOT NULL
      );
      CREATE INDEX audit_log_actor  ON audit_log (actor, id);
      CREATE INDEX audit_log_target ON audit_log (target, id);
      CREATE INDEX audit_log_action ON audit_log (action, id);
      CREATE INDEX audit_log_time   ON audit_log (time);

      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
      END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
      END;
    `,
  },
  {
    version: 3,
    name: 'devices',
    sql: `
      -- Devices created over the REST API (config-file devices are not stored).
      CREATE TABLE devices (
        id         TEXT PRIMARY KEY,
        spec       TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'web_sessions_and_settings',
    sql: `
      -- Browser login sessions: the cookie carries ttgs_<id>_<secret>; only the secret's SHA-256 is kept.
      CREATE TABLE web_sessions (
        id           TEXT    PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users (id),
        secret_hash  TEXT    NOT NULL,
        created_at   TEXT    NOT NULL,
        last_seen_at TEXT    NOT NULL,
        expires_at   TEXT    NOT NULL,
        ended_at     TEXT,
        source       TEXT
      );
      CREATE INDEX web_sessions_user ON web_sessions (user_id);

      -- Runtime settings changed over the API; they override the config file's values.
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
      );
    `,
  },
];
