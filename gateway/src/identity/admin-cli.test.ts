// Tests for the administration commands on a real data directory: users add, tokens create, audit verify.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { AuditWriteError } from '../audit/audit-log.js';
import { SqliteAuditLog } from '../audit/sqlite-audit-log.js';
import { DATABASE_FILE, openDatabase } from '../db/database.js';
import { CLI_ACTOR, auditVerify, formatVerifyResult, tokensCreate, usersAdd, usersGrant, usersList, usersPasswd, usersSetDisabled } from './admin-cli.js';
import { IdentityError, IdentityStore } from './identity-store.js';
import { ScryptPasswordHasher } from './password-hash.js';

const root = mkdtempSync(join(tmpdir(), 'ttygate-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const identity = { hasher: new ScryptPasswordHasher({ N: 1024, r: 8, p: 1 }) };

function dataDir(): string {
  return join(root, `data${++n}`, 'nested');
}

/** Opens the data directory the way the serving gateway would, for the duration of the test. */
function gateway(t: TestContext, dir: string) {
  const db = openDatabase(join(dir, DATABASE_FILE));
  t.after(() => db.close());
  return { db, store: new IdentityStore(db, identity), log: new SqliteAuditLog(db) };
}

const isCode = (code: string) => (err: unknown) => err instanceof IdentityError && err.code === code;

describe('ttygate users add', () => {
  test('generates a password when none is given, grants the role, audits both', async (t) => {
    const dir = dataDir();
    const r = await usersAdd({ dataDir: dir, name: 'admin', role: 'owner', scope: undefined, passwordStdin: undefined, identity });
    assert.match(r.generatedPassword ?? '', /^[A-Za-z0-9_-]{24}$/);
    assert.equal(r.assignment?.role, 'owner');
    assert.equal(r.assignment?.scope, '/');
    const gw = gateway(t, dir);
    assert.equal((await gw.store.verifyPassword('admin', r.generatedPassword!))?.id, r.user.id);
    assert.deepEqual(
      gw.store.rolesOf(r.user.id).map((a) => [a.role, a.scope]),
      [['owner', '/']],
    );
    const rows = gw.log.query().rows;
    assert.deepEqual(
      rows.map((x) => [x.action, x.actor, x.target, x.code]),
      [
        ['user.create', CLI_ACTOR, 'admin', 'TG6101I'],
        ['role.assign', CLI_ACTOR, 'admin', 'TG6201I'],
      ],
    );
    assert.ok(!JSON.stringify(rows).includes(r.generatedPassword!), 'the password is not in the audit log');
    assert.equal(gw.log.verify().ok, true);
  });

  test('the data directory is 0700 and the database 0600', async () => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'alice', passwordStdin: 'alice-password-1', identity });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, DATABASE_FILE)).mode & 0o777, 0o600);
  });

  test('--password-stdin: one trailing newline is dropped, nothing is generated', async (t) => {
    const dir = dataDir();
    const r = await usersAdd({ dataDir: dir, name: 'alice', role: 'reader', scope: '/groups/lab', passwordStdin: 'pa ss word\r\n', identity });
    assert.equal(r.generatedPassword, undefined);
    const gw = gateway(t, dir);
    assert.ok(await gw.store.verifyPassword('alice', 'pa ss word'));
    assert.equal(gw.store.rolesOf(r.user.id)[0]?.scope, '/groups/lab');
  });

  test('an empty stdin password, a bad role or scope, a taken name are refused and leave no trace', async (t) => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'alice', passwordStdin: 'alice-password-1', identity });
    await assert.rejects(usersAdd({ dataDir: dir, name: 'bob', passwordStdin: '\n', identity }), isCode('InvalidPassword'));
    await assert.rejects(usersAdd({ dataDir: dir, name: 'bob', role: 'admin', passwordStdin: undefined, identity }), isCode('InvalidRole'));
    await assert.rejects(
      usersAdd({ dataDir: dir, name: 'bob', role: 'reader', scope: 'lab', passwordStdin: undefined, identity }),
      isCode('InvalidScope'),
    );
    await assert.rejects(usersAdd({ dataDir: dir, name: 'bob', scope: '/', passwordStdin: undefined, identity }), isCode('InvalidRole'));
    await assert.rejects(usersAdd({ dataDir: dir, name: 'Alice', passwordStdin: undefined, identity }), isCode('UserExists'));
    const gw = gateway(t, dir);
    assert.deepEqual(gw.store.listUsers().map((u) => u.name), ['alice']);
    assert.equal(gw.log.query().rows.length, 1);
  });

  test('fail closed: if the audit row cannot be written, no user is created', async (t) => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'alice', passwordStdin: 'alice-password-1', identity });
    const raw = new Database(join(dir, DATABASE_FILE));
    t.after(() => raw.close());
    raw.exec("CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    await assert.rejects(
      usersAdd({ dataDir: dir, name: 'bob', role: 'owner', passwordStdin: undefined, identity }),
      (err) => err instanceof AuditWriteError && /disk on fire/.test(err.message),
    );
    await assert.rejects(tokensCreate({ dataDir: dir, user: 'alice', name: 'ci' }), AuditWriteError);
    raw.exec('DROP TRIGGER audit_down');
    const gw = gateway(t, dir);
    assert.equal(gw.store.findUserByName('bob'), undefined);
    assert.equal(gw.store.listRoleAssignments().length, 0);
    assert.deepEqual(gw.store.listTokens(gw.store.findUserByName('alice')!.id), []);
  });

  test('safe while the gateway serves: both write to one chain', async (t) => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'admin', role: 'owner', passwordStdin: undefined, identity });
    const gw = gateway(t, dir);
    gw.log.append({ action: 'auth.login', actor: 'admin', source: '127.0.0.1' });
    await usersAdd({ dataDir: dir, name: 'op', role: 'vm-contributor', scope: '/devices/web-vmss/0', passwordStdin: undefined, identity });
    gw.log.append({ action: 'console.attach', actor: 'op', target: 'web-vmss/0', details: { mode: 'write' } });
    assert.equal(gw.store.findUserByName('op')?.name, 'op', 'the gateway sees the new user at once');
    assert.deepEqual(await auditVerify({ dataDir: dir }), { ok: true, rows: 6, lastHash: gw.log.query({ order: 'desc', limit: 1 }).rows[0]!.hash });
  });
});

describe('ttygate users list | disable | enable | passwd | grant | revoke', () => {
  async function twoUsers() {
    const dir = dataDir();
    const admin = await usersAdd({ dataDir: dir, name: 'admin', role: 'owner', scope: undefined, passwordStdin: 'first password\n', identity });
    await usersAdd({ dataDir: dir, name: 'bob', role: 'reader', scope: '/groups/lab', passwordStdin: 'bob password\n', identity });
    return { dir, admin };
  }

  test('list shows every user with their grants', async () => {
    const { dir } = await twoUsers();
    const list = await usersList({ dataDir: dir });
    assert.deepEqual(list.map((l) => [l.user.name, l.user.disabled, l.roles.map((a) => `${a.role}@${a.scope}`)]), [
      ['admin', false, ['owner@/']],
      ['bob', false, ['reader@/groups/lab']],
    ]);
  });

  test('the last enabled owner on / can be neither disabled nor stripped; with a second owner both work', async (t) => {
    const { dir } = await twoUsers();
    await assert.rejects(usersSetDisabled({ dataDir: dir, name: 'admin', disabled: true }), isCode('LastOwner'));
    await assert.rejects(usersGrant({ dataDir: dir, name: 'admin', role: 'owner', scope: '/', revoke: true }), isCode('LastOwner'));
    assert.equal(await usersGrant({ dataDir: dir, name: 'bob', role: 'owner', scope: '/', revoke: false }), true);
    assert.equal(await usersGrant({ dataDir: dir, name: 'bob', role: 'owner', scope: '/', revoke: false }), false, 'granting again changes nothing');
    assert.equal((await usersSetDisabled({ dataDir: dir, name: 'admin', disabled: true })).disabled, true);
    await assert.rejects(usersSetDisabled({ dataDir: dir, name: 'bob', disabled: true }), isCode('LastOwner'), 'bob is now the last enabled owner');
    assert.equal((await usersSetDisabled({ dataDir: dir, name: 'admin', disabled: false })).disabled, false);
    assert.equal(await usersGrant({ dataDir: dir, name: 'bob', role: 'owner', scope: '/', revoke: true }), true);
    assert.equal(await usersGrant({ dataDir: dir, name: 'bob', role: 'owner', scope: '/', revoke: true }), false);
    const gw = gateway(t, dir);
    const actions = gw.log.query({ actor: CLI_ACTOR, limit: 100 }).rows.map((r) => r.action);
    assert.deepEqual(actions.slice(4), ['role.assign', 'user.update', 'user.update', 'role.revoke']);
    assert.equal(gw.log.verify().ok, true);
  });

  test('passwd sets a new password (generated, or from stdin) and the old one stops working', async (t) => {
    const { dir } = await twoUsers();
    const r = await usersPasswd({ dataDir: dir, name: 'bob', passwordStdin: undefined, identity });
    assert.match(r.generatedPassword ?? '', /^[A-Za-z0-9_-]{24}$/);
    await usersPasswd({ dataDir: dir, name: 'admin', passwordStdin: 'second password\n', identity });
    const gw = gateway(t, dir);
    assert.equal(await gw.store.verifyPassword('bob', 'bob password'), undefined);
    assert.ok(await gw.store.verifyPassword('bob', r.generatedPassword!));
    assert.ok(await gw.store.verifyPassword('admin', 'second password'));
    assert.ok(!JSON.stringify(gw.log.query({ limit: 100 }).rows).includes(r.generatedPassword!));
  });

  test('unknown users, roles and scopes are refused', async () => {
    const { dir } = await twoUsers();
    await assert.rejects(usersSetDisabled({ dataDir: dir, name: 'nobody', disabled: true }), isCode('UserNotFound'));
    await assert.rejects(usersGrant({ dataDir: dir, name: 'bob', role: 'king', scope: '/', revoke: false }), isCode('InvalidRole'));
    await assert.rejects(usersGrant({ dataDir: dir, name: 'bob', role: 'reader', scope: '/racks/1', revoke: false }), isCode('InvalidScope'));
    await assert.rejects(usersPasswd({ dataDir: dir, name: 'bob', passwordStdin: 'short', identity }), isCode('InvalidPassword'));
  });
});

describe('ttygate tokens create', () => {
  test('returns a secret that works, audits token.create without the secret', async (t) => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'ci-bot', role: 'vm-contributor', passwordStdin: undefined, identity });
    const r = await tokensCreate({ dataDir: dir, user: 'ci-bot', name: 'nightly' });
    assert.match(r.secret, /^ttg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const gw = gateway(t, dir);
    assert.equal(gw.store.verifyToken(r.secret)?.user.name, 'ci-bot');
    const row = gw.log.query({ action: 'token.create' }).rows[0];
    assert.equal(row?.actor, CLI_ACTOR);
    assert.equal(row?.target, r.token.id);
    assert.deepEqual(row?.details, { name: 'nightly', user: 'ci-bot', userId: 1 });
    assert.ok(!JSON.stringify(gw.log.query().rows).includes(r.secret.slice(21)), 'no secret in the audit log');
  });

  test('with an expiry', async () => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'ci-bot', passwordStdin: undefined, identity });
    const r = await tokensCreate({ dataDir: dir, user: 'ci-bot', name: 'short', expiresAt: '2999-01-01T00:00:00Z' });
    assert.equal(r.token.expiresAt, '2999-01-01T00:00:00.000Z');
  });

  test('an unknown user is refused', async () => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'alice', passwordStdin: undefined, identity });
    await assert.rejects(tokensCreate({ dataDir: dir, user: 'nobody', name: 'x' }), isCode('UserNotFound'));
  });
});

describe('ttygate audit verify', () => {
  test('reports OK, then the first bad row after tampering', async (t) => {
    const dir = dataDir();
    await usersAdd({ dataDir: dir, name: 'alice', role: 'owner', passwordStdin: undefined, identity });
    await tokensCreate({ dataDir: dir, user: 'alice', name: 'a' });
    const ok = await auditVerify({ dataDir: dir });
    assert.equal(ok.ok, true);
    assert.match(formatVerifyResult(ok), /^audit log OK: 3 rows, chain head [0-9a-f]{64}$/);
    const raw = new Database(join(dir, DATABASE_FILE));
    t.after(() => raw.close());
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.exec("UPDATE audit_log SET target = 'mallory' WHERE id = 2");
    const bad = await auditVerify({ dataDir: dir });
    assert.deepEqual(bad, { ok: false, firstBadId: 2, reason: 'hash does not match the row content (the row was changed)' });
    assert.equal(formatVerifyResult(bad), 'audit log BROKEN at row 2: hash does not match the row content (the row was changed)');
  });

  test('a data directory without a database is an error, and none is created', async () => {
    const dir = dataDir();
    await assert.rejects(auditVerify({ dataDir: dir }), /no ttygate database/);
    assert.throws(() => statSync(join(dir, DATABASE_FILE)));
  });
});
