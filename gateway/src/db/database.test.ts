// Tests for openDatabase and migrate: pragmas, idempotent migrations, version guards, file mode.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DatabaseError, migrate, openDatabase, schemaVersion } from './database.js';
import { MIGRATIONS, type Migration } from './migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'ttygate-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `t${++n}.db`);

describe('openDatabase', () => {
  test('sets WAL, synchronous=FULL, foreign keys and the busy timeout', (t) => {
    const db = openDatabase(freshPath());
    t.after(() => db.close());
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2); // 2 = FULL
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  });

  test('applies every migration and records it', (t) => {
    const db = openDatabase(freshPath());
    t.after(() => db.close());
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    assert.deepEqual(
      rows,
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    );
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    for (const name of ['users', 'api_tokens', 'role_assignments', 'audit_log', 'schema_migrations']) {
      assert.ok(tables.includes(name), `table ${name}`);
    }
  });

  test('migrations are idempotent: a second migrate and a reopen change nothing', (t) => {
    const path = freshPath();
    const db = openDatabase(path);
    migrate(db);
    migrate(db);
    const count = db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get();
    db.close();
    const again = openDatabase(path);
    t.after(() => again.close());
    assert.equal(count, MIGRATIONS.length);
    assert.equal(again.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get(), MIGRATIONS.length);
  });

  test('a later migration is applied to an older database', (t) => {
    const path = freshPath();
    const extra: Migration[] = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'extra', sql: 'CREATE TABLE extra (x)' }];
    openDatabase(path).close();
    const db = openDatabase(path, { migrations: extra });
    t.after(() => db.close());
    assert.equal(schemaVersion(db), extra.length);
  });

  test('a database from a newer ttygate is refused', () => {
    const path = freshPath();
    const extra: Migration[] = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'future', sql: 'SELECT 1' }];
    openDatabase(path, { migrations: extra }).close();
    assert.throws(
      () => openDatabase(path),
      (err) => err instanceof DatabaseError && err.code === 'SchemaTooNew',
    );
  });

  test('a recorded migration with another name is refused', () => {
    const path = freshPath();
    const renamed: Migration[] = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, name: 'renamed' } : m));
    openDatabase(path).close();
    assert.throws(
      () => openDatabase(path, { migrations: renamed }),
      (err) => err instanceof DatabaseError && err.code === 'SchemaMismatch',
    );
  });

  test('a failing migration rolls back whole and is not recorded', (t) => {
    const path = freshPath();
    const broken: Migration[] = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE half (x); SELECT * FROM no_such_table;' },
    ];
    assert.throws(
      () => openDatabase(path, { migrations: broken }),
      (err) => err instanceof DatabaseError && err.code === 'MigrationFailed',
    );
    const db = openDatabase(path);
    t.after(() => db.close());
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half'").get(), undefined);
  });

  test('a new database file is created with mode 0600', (t) => {
    const path = freshPath();
    const db = openDatabase(path);
    t.after(() => db.close());
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('read-only: no migrations, writes refused, reads work', (t) => {
    const path = freshPath();
    openDatabase(path).close();
    const ro = openDatabase(path, { readonly: true });
    t.after(() => ro.close());
    assert.equal(schemaVersion(ro), MIGRATIONS.length);
    assert.throws(() => ro.exec('CREATE TABLE x (y)'), /readonly/);
  });

  test('read-only on a missing file fails instead of creating it', () => {
    assert.throws(() => openDatabase(join(dir, 'missing.db'), { readonly: true }));
  });

  test('foreign keys are enforced', (t) => {
    const db = openDatabase(freshPath());
    t.after(() => db.close());
    assert.throws(
      () => db.prepare("INSERT INTO role_assignments VALUES (42, 'owner', '/', 'now')").run(),
      /FOREIGN KEY/,
    );
  });
});
