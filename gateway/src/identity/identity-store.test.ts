// Tests for IdentityStore over a real SQLite file: users, password checks, API tokens, role assignments.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { openDatabase, type Db } from '../db/database.js';
import { IdentityError, IdentityStore, tokenActor } from './identity-store.js';
import { ScryptPasswordHasher, parsePasswordHash, type PasswordHasher } from './password-hash.js';

const dir = mkdtempSync(join(tmpdir(), 'ttygate-identity-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A real scrypt hasher with small parameters that counts its calls. */
class CountingHasher implements PasswordHasher {
  hashes = 0;
  verifies = 0;
  private readonly inner: ScryptPasswordHasher;
  constructor(params = { N: 1024, r: 8, p: 1 }) {
    this.inner = new ScryptPasswordHasher(params);
  }
  hash(pw: string) {
    this.hashes++;
    return this.inner.hash(pw);
  }
  verify(pw: string, encoded: string) {
    this.verifies++;
    return this.inner.verify(pw, encoded);
  }
  needsRehash(encoded: string) {
    return this.inner.needsRehash(encoded);
  }
}

interface Fixture {
  db: Db;
  store: IdentityStore;
  hasher: CountingHasher;
  clock: { now: number };
  path: string;
}

function setup(t: TestContext, hasher = new CountingHasher()): Fixture {
  const path = join(dir, `id${++n}.db`);
  const db = openDatabase(path);
  t.after(() => db.close());
  const clock = { now: Date.parse('2025-03-01T12:00:00.000Z') };
  const store = new IdentityStore(db, { hasher, now: () => new Date(clock.now) });
  return { db, store, hasher, clock, path };
}

const isCode = (code: string) => (err: unknown) => err instanceof IdentityError && err.code === code;

describe('IdentityStore users', () => {
  test('addUser stores a scrypt hash, never the password', async (t) => {
    const { db, store } = setup(t);
    const user = await store.addUser('alice', 'alice-password-1');
    assert.deepEqual(user, {
      id: 1,
      name: 'alice',
      disabled: false,
      createdAt: '2025-03-01T12:00:00.000Z',
      passwordChangedAt: '2025-03-01T12:00:00.000Z',
    });
    const row = db.prepare('SELECT * FROM users WHERE id = ?').get(user.id) as Record<string, unknown>;
    assert.equal(parsePasswordHash(String(row.password_hash)).algorithm, 'scrypt');
    assert.ok(!JSON.stringify(row).includes('alice-password-1'));
  });

  test('names are unique, case-insensitively', async (t) => {
    const { store } = setup(t);
    await store.addUser('alice', 'alice-password-1');
    await assert.rejects(store.addUser('alice', 'another-password'), isCode('UserExists'));
    await assert.rejects(store.addUser('ALICE', 'another-password'), isCode('UserExists'));
    assert.equal(store.findUserByName('Alice')?.name, 'alice');
  });

  test('invalid and reserved names, short and long passwords are refused', async (t) => {
    const { store } = setup(t);
    for (const bad of ['', ' alice', 'a:b', 'a/b', '-x', 'x'.repeat(65), 'system', 'CLI']) {
      await assert.rejects(store.addUser(bad, 'long-enough-pw'), isCode('InvalidUserName'), bad);
    }
    await assert.rejects(store.addUser('bob', 'short'), isCode('InvalidPassword'));
    await assert.rejects(store.addUser('bob', 'x'.repeat(1025)), isCode('InvalidPassword'));
  });

  test('verifyPassword: right password gives the user, wrong password undefined', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    assert.deepEqual(await store.verifyPassword('alice', 'alice-password-1'), alice);
    assert.equal(await store.verifyPassword('alice', 'alice-password-2'), undefined);
  });

  test('unknown user, wrong password and disabled user all cost exactly one scrypt verify', async (t) => {
    const { store, hasher } = setup(t);
    const bob = await store.addUser('bob', 'bob-password-1');
    await store.addUser('carol', 'carol-password');
    store.disableUser(bob.id);
    const cases: [string, string][] = [
      ['nobody', 'whatever-pw'], // unknown user
      ['carol', 'wrong-password'], // wrong password
      ['bob', 'bob-password-1'], // right password, disabled user
      ['not a valid name!', 'x'], // a name that cannot exist
      ['carol', 'x'.repeat(5000)], // over-long password
    ];
    for (const [name, pw] of cases) {
      const before = hasher.verifies;
      assert.equal(await store.verifyPassword(name, pw), undefined, name);
      assert.equal(hasher.verifies - before, 1, `${name}: one verify`);
    }
  });

  test('the dummy hash for unknown users has the current parameters', async (t) => {
    const seen: string[] = [];
    const inner = new CountingHasher();
    const spy: PasswordHasher = {
      hash: (pw) => inner.hash(pw),
      verify: (pw, enc) => (seen.push(enc), inner.verify(pw, enc)),
      needsRehash: (enc) => inner.needsRehash(enc),
    };
    const { store } = setup(t, spy as CountingHasher);
    const alice = await store.addUser('alice', 'alice-password-1');
    await store.verifyPassword('alice', 'alice-password-1');
    await store.verifyPassword('nobody', 'whatever-pw');
    assert.equal(seen.length, 2);
    assert.deepEqual(parsePasswordHash(seen[1]!).params, parsePasswordHash(seen[0]!).params);
    assert.ok(alice);
  });

  test('a hash with older parameters is upgraded on a successful login', async (t) => {
    const path = join(dir, `id${++n}.db`);
    const db = openDatabase(path);
    t.after(() => db.close());
    const old = new IdentityStore(db, { hasher: new ScryptPasswordHasher({ N: 1024, r: 8, p: 1 }) });
    await old.addUser('alice', 'alice-password-1');
    const stored = () => String(db.prepare("SELECT password_hash FROM users WHERE name = 'alice'").pluck().get());
    const newer = new IdentityStore(db, { hasher: new ScryptPasswordHasher({ N: 2048, r: 8, p: 1 }) });
    assert.equal(await newer.verifyPassword('alice', 'wrong-password'), undefined);
    assert.equal(parsePasswordHash(stored()).params.N, 1024, 'no upgrade on failure');
    assert.ok(await newer.verifyPassword('alice', 'alice-password-1'));
    assert.equal(parsePasswordHash(stored()).params.N, 2048);
    assert.ok(await newer.verifyPassword('alice', 'alice-password-1'));
  });

  test('setPassword replaces the password and moves passwordChangedAt', async (t) => {
    const { store, clock } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    clock.now += 60_000;
    const updated = await store.setPassword(alice.id, 'alice-password-2');
    assert.equal(updated.passwordChangedAt, '2025-03-01T12:01:00.000Z');
    assert.equal(await store.verifyPassword('alice', 'alice-password-1'), undefined);
    assert.ok(await store.verifyPassword('alice', 'alice-password-2'));
    await assert.rejects(store.setPassword(99, 'whatever-pw'), isCode('UserNotFound'));
  });

  test('disableUser and enableUser', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    assert.equal(store.disableUser(alice.id).disabled, true);
    assert.equal(await store.verifyPassword('alice', 'alice-password-1'), undefined);
    assert.equal(store.enableUser(alice.id).disabled, false);
    assert.ok(await store.verifyPassword('alice', 'alice-password-1'));
  });

  test('an audit hook that throws rolls the change back (fail closed)', async (t) => {
    const { store } = setup(t);
    await assert.rejects(
      store.addUser('alice', 'alice-password-1', {
        audit: () => {
          throw new Error('audit down');
        },
      }),
      /audit down/,
    );
    assert.equal(store.findUserByName('alice'), undefined);
    const bob = await store.addUser('bob', 'bob-password-1');
    assert.throws(
      () =>
        store.disableUser(bob.id, {
          audit: () => {
            throw new Error('audit down');
          },
        }),
      /audit down/,
    );
    assert.equal(store.getUser(bob.id)?.disabled, false);
  });
});

describe('IdentityStore tokens', () => {
  test('the secret is shown once and only its SHA-256 is stored', async (t) => {
    const { db, store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const created = store.createToken(alice.id, 'ci');
    assert.match(created.secret, /^ttg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.ok(created.secret.startsWith(`ttg_${created.id}_`));
    const row = db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(created.id) as Record<string, unknown>;
    assert.equal(row.secret_hash, createHash('sha256').update(created.secret).digest('hex'));
    const randomPart = created.secret.slice(`ttg_${created.id}_`.length);
    for (const value of Object.values(row)) {
      assert.ok(!String(value).includes(randomPart), 'no column holds the secret');
    }
    const listed = store.listTokens(alice.id);
    assert.deepEqual(listed, [created.token]);
    assert.ok(!JSON.stringify(listed).includes(randomPart));
    assert.deepEqual(Object.keys(created.token).sort(), ['createdAt', 'id', 'name', 'userId']);
  });

  test('verifyToken gives the user and token id', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const { id, secret } = store.createToken(alice.id, 'ci');
    const v = store.verifyToken(secret);
    assert.equal(v?.user.name, 'alice');
    assert.equal(v?.tokenId, id);
    assert.equal(tokenActor(id), `token:${id}`);
  });

  test('wrong, malformed and unknown secrets are refused', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const { id, secret } = store.createToken(alice.id, 'ci');
    const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    assert.equal(store.verifyToken(flipped), undefined);
    assert.equal(store.verifyToken(secret + 'x'), undefined);
    assert.equal(store.verifyToken(''), undefined);
    assert.equal(store.verifyToken(secret.replace(id, '0123456789abcdef')), undefined);
  });

  test('an expired token is refused', async (t) => {
    const { store, clock } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const { secret, token } = store.createToken(alice.id, 'short', { expiresAt: new Date(clock.now + 3600_000) });
    assert.equal(token.expiresAt, '2025-03-01T13:00:00.000Z');
    assert.ok(store.verifyToken(secret));
    clock.now += 3600_000;
    assert.equal(store.verifyToken(secret), undefined);
  });

  test('an expiry in the past or not a date is refused at creation', async (t) => {
    const { store, clock } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    assert.throws(() => store.createToken(alice.id, 'x', { expiresAt: new Date(clock.now) }), isCode('InvalidExpiry'));
    assert.throws(() => store.createToken(alice.id, 'x', { expiresAt: 'tomorrow' }), isCode('InvalidExpiry'));
  });

  test('a revoked token is refused and listed only on request', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const { id, secret } = store.createToken(alice.id, 'ci');
    const revoked = store.revokeToken(alice.id, id);
    assert.equal(revoked.revokedAt, '2025-03-01T12:00:00.000Z');
    assert.equal(store.verifyToken(secret), undefined);
    assert.deepEqual(store.listTokens(alice.id), []);
    assert.equal(store.listTokens(alice.id, { includeRevoked: true }).length, 1);
    assert.deepEqual(store.revokeToken(alice.id, id), revoked, 'revoking again is a no-op');
  });

  test("a user cannot revoke another user's token", async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const bob = await store.addUser('bob', 'bob-password-1');
    const { id, secret } = store.createToken(alice.id, 'ci');
    assert.throws(() => store.revokeToken(bob.id, id), isCode('TokenNotFound'));
    assert.ok(store.verifyToken(secret));
  });

  test("a disabled user's tokens are refused, and work again once enabled", async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const { secret } = store.createToken(alice.id, 'ci');
    store.disableUser(alice.id);
    assert.equal(store.verifyToken(secret), undefined);
    assert.throws(() => store.createToken(alice.id, 'more'), isCode('UserDisabled'));
    store.enableUser(alice.id);
    assert.ok(store.verifyToken(secret));
  });

  test('lastUsedAt is recorded at most once a minute', async (t) => {
    const { store, clock } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const { secret } = store.createToken(alice.id, 'ci');
    store.verifyToken(secret);
    assert.equal(store.listTokens(alice.id)[0]?.lastUsedAt, '2025-03-01T12:00:00.000Z');
    clock.now += 30_000;
    store.verifyToken(secret);
    assert.equal(store.listTokens(alice.id)[0]?.lastUsedAt, '2025-03-01T12:00:00.000Z');
    clock.now += 31_000;
    store.verifyToken(secret);
    assert.equal(store.listTokens(alice.id)[0]?.lastUsedAt, '2025-03-01T12:01:01.000Z');
  });

  test('token names are validated', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    assert.throws(() => store.createToken(alice.id, ''), isCode('InvalidTokenName'));
    assert.throws(() => store.createToken(alice.id, 'a\nb'), isCode('InvalidTokenName'));
    assert.throws(() => store.createToken(alice.id, 'x'.repeat(65)), isCode('InvalidTokenName'));
    assert.throws(() => store.createToken(42, 'ok'), isCode('UserNotFound'));
  });
});

describe('IdentityStore roles', () => {
  test('assignRole, rolesOf, revokeRole', async (t) => {
    const { store, clock } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    store.assignRole(alice.id, 'owner', '/');
    clock.now += 1000;
    store.assignRole(alice.id, 'vm-contributor', '/devices/web-vmss/0');
    clock.now += 1000;
    store.assignRole(alice.id, 'console-viewer', '/groups/lab');
    assert.deepEqual(
      store.rolesOf(alice.id).map((a) => [a.role, a.scope]),
      [
        ['owner', '/'],
        ['vm-contributor', '/devices/web-vmss/0'],
        ['console-viewer', '/groups/lab'],
      ],
    );
    assert.equal(store.revokeRole(alice.id, 'owner', '/'), true);
    assert.equal(store.revokeRole(alice.id, 'owner', '/'), false);
    assert.equal(store.rolesOf(alice.id).length, 2);
  });

  test('assigning the same grant twice keeps one', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    const a = store.assignRole(alice.id, 'reader', '/');
    assert.deepEqual(store.assignRole(alice.id, 'reader', '/'), a);
    assert.equal(store.listRoleAssignments().length, 1);
  });

  test('every built-in role is accepted', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    for (const role of ['reader', 'console-viewer', 'vm-contributor', 'contributor', 'owner', 'auditor']) {
      store.assignRole(alice.id, role, '/');
    }
    assert.equal(store.rolesOf(alice.id).length, 6);
  });

  test('unknown roles and malformed scopes are refused', async (t) => {
    const { store } = setup(t);
    const alice = await store.addUser('alice', 'alice-password-1');
    for (const role of ['admin', 'Owner', '', 'virtual-machine-contributor']) {
      assert.throws(() => store.assignRole(alice.id, role, '/'), isCode('InvalidRole'), role);
    }
    for (const scope of ['', 'groups/lab', '/groups/', '/groups/a/b', '/devices/', '/devices/a/b/c', '/devices/x/y', '/things/x', '//', '/groups/Lab', '/devices/../x']) {
      assert.throws(() => store.assignRole(alice.id, 'reader', scope), isCode('InvalidScope'), scope);
    }
    assert.throws(() => store.assignRole(99, 'reader', '/'), isCode('UserNotFound'));
  });

  test('IdentityError carries an HTTP status', () => {
    assert.equal(new IdentityError('UserExists', 'x').httpStatus, 409);
    assert.equal(new IdentityError('TokenNotFound', 'x').httpStatus, 404);
    assert.equal(new IdentityError('InvalidScope', 'x').httpStatus, 400);
  });
});
