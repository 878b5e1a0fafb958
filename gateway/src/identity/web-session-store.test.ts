// Tests for WebSessionStore over a real SQLite file: idle and absolute expiry, logout, password change.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../db/database.js';
import { IdentityStore } from './identity-store.js';
import { ScryptPasswordHasher } from './password-hash.js';
import { WebSessionStore } from './web-session-store.js';

const dir = mkdtempSync(join(tmpdir(), 'ttygate-websession-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function fixture() {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = () => new Date(now);
  const db = openDatabase(join(dir, `db${n++}.sqlite`));
  const identity = new IdentityStore(db, { hasher: new ScryptPasswordHasher({ N: 1024, r: 8, p: 1 }), now: clock });
  const store = new WebSessionStore(db, { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 }, { now: clock });
  const user = await identity.addUser('alice', 'correct horse');
  const lookup = (id: number) => identity.getUser(id);
  return { db, identity, store, user, lookup, advance: (ms: number) => (now += ms) };
}

describe('WebSessionStore', () => {
  test('a created session verifies and stores no secret', async () => {
    const f = await fixture();
    const { secret, session } = f.store.create(f.user.id, '10.0.0.1');
    assert.match(secret, /^ttgs_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(f.store.verify(secret, f.lookup)?.user.name, 'alice');
    const stored = f.db.prepare('SELECT * FROM web_sessions').all() as Record<string, unknown>[];
    assert.equal(stored.length, 1);
    assert.ok(!JSON.stringify(stored).includes(secret.slice(22)), 'the secret is not in the table');
    assert.equal(session.expiresAt, '2026-01-01T12:00:00.000Z');
  });

  test('a wrong secret with a right id is refused', async () => {
    const f = await fixture();
    const { secret } = f.store.create(f.user.id, undefined);
    const forged = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    assert.equal(f.store.verify(forged, f.lookup), undefined);
    assert.equal(f.store.verify('garbage', f.lookup), undefined);
  });

  test('idle expiry: activity keeps it alive, 30 minutes of silence ends it', async () => {
    const f = await fixture();
    const { secret } = f.store.create(f.user.id, undefined);
    for (let i = 0; i < 5; i++) {
      f.advance(20 * 60_000);
      assert.ok(f.store.verify(secret, f.lookup), `request ${i} after 20 minutes`);
    }
    f.advance(30 * 60_000);
    assert.equal(f.store.verify(secret, f.lookup), undefined);
  });

  test('absolute expiry ends even an active session', async () => {
    const f = await fixture();
    const { secret } = f.store.create(f.user.id, undefined);
    for (let i = 0; i < 47; i++) {
      f.advance(15 * 60_000);
      assert.ok(f.store.verify(secret, f.lookup));
    }
    f.advance(15 * 60_000); // 12 h
    assert.equal(f.store.verify(secret, f.lookup), undefined);
  });

  test('logout ends it server-side; ending again reports false', async () => {
    const f = await fixture();
    const { secret, session } = f.store.create(f.user.id, undefined);
    assert.equal(f.store.end(session.id), true);
    assert.equal(f.store.verify(secret, f.lookup), undefined);
    assert.equal(f.store.isLive(session.id), false);
    assert.equal(f.store.end(session.id), false);
  });

  test('a disabled user or a password change ends the sessions', async () => {
    const f = await fixture();
    const a = f.store.create(f.user.id, undefined);
    f.advance(1000);
    f.identity.disableUser(f.user.id);
    assert.equal(f.store.verify(a.secret, f.lookup), undefined);
    f.identity.enableUser(f.user.id);
    assert.ok(f.store.verify(a.secret, f.lookup));
    f.advance(1000);
    await f.identity.setPassword(f.user.id, 'battery staple');
    assert.equal(f.store.verify(a.secret, f.lookup), undefined);
    f.advance(1000);
    const b = f.store.create(f.user.id, undefined);
    assert.ok(f.store.verify(b.secret, f.lookup), 'a login after the change works');
  });

  test('endAllOf ends every other session of the user', async () => {
    const f = await fixture();
    const a = f.store.create(f.user.id, undefined);
    const b = f.store.create(f.user.id, undefined);
    assert.equal(f.store.endAllOf(f.user.id, b.session.id), 1);
    assert.equal(f.store.verify(a.secret, f.lookup), undefined);
    assert.ok(f.store.verify(b.secret, f.lookup));
  });
});
