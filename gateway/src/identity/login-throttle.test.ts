import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle } from './login-throttle.js';

function throttle(opts: { user?: number; source?: number; windowMs?: number; maxKeys?: number } = {}) {
  let now = 1_000_000;
  const t = new LoginThrottle({
    perUser: { maxFailures: opts.user ?? 3, windowMs: opts.windowMs ?? 60_000 },
    perSource: { maxFailures: opts.source ?? 10, windowMs: opts.windowMs ?? 60_000 },
    ...(opts.maxKeys !== undefined && { maxKeys: opts.maxKeys }),
    now: () => now,
  });
  return { t, advance: (ms: number) => (now += ms) };
}

describe('LoginThrottle', () => {
  it('allows attempts until a user has maxFailures inside the window', () => {
    const { t } = throttle();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(t.check('alice', '10.0.0.1'), { allowed: true });
      t.fail('alice', '10.0.0.1');
    }
    const v = t.check('alice', '10.0.0.2');
    assert.equal(v.allowed, false);
    assert.equal(v.allowed === false && v.limitedBy, 'user');
    assert.equal(v.allowed === false && v.retryAfterMs, 60_000);
  });

  it('compares user names case-insensitively', () => {
    const { t } = throttle();
    t.fail('Alice', 'a');
    t.fail('ALICE', 'b');
    t.fail('alice', 'c');
    assert.equal(t.check('aLiCe', 'd').allowed, false);
  });

  it('lets a user in again once the oldest failure ages out, one attempt at a time', () => {
    const { t, advance } = throttle();
    t.fail('bob', 's');
    advance(10_000);
    t.fail('bob', 's');
    t.fail('bob', 's');
    const v = t.check('bob', 's');
    assert.equal(v.allowed === false && v.retryAfterMs, 50_000);
    advance(50_000);
    assert.equal(t.check('bob', 's').allowed, true);
    t.fail('bob', 's');
    assert.equal(t.check('bob', 's').allowed, false, 'the window still holds three failures');
  });

  it('limits a source across many user names (password spraying)', () => {
    const { t } = throttle({ source: 4 });
    for (const name of ['a', 'b', 'c', 'd']) t.fail(name, '192.0.2.7');
    const v = t.check('e', '192.0.2.7');
    assert.equal(v.allowed === false && v.limitedBy, 'source');
    assert.equal(t.check('e', '192.0.2.8').allowed, true, 'another source is not affected');
  });

  it('treats unknown and known names alike (nothing to enumerate)', () => {
    const { t } = throttle();
    for (let i = 0; i < 3; i++) t.fail('no-such-user', 's1');
    for (let i = 0; i < 3; i++) t.fail('admin', 's2');
    const a = t.check('no-such-user', 's3');
    const b = t.check('admin', 's4');
    assert.deepEqual(a, b);
  });

  it('a success clears the user count but not the source count', () => {
    const { t } = throttle({ user: 2, source: 3 });
    t.fail('carol', 'x');
    t.succeed('carol');
    t.fail('carol', 'x');
    assert.equal(t.check('carol', 'y').allowed, true, 'one failure since the success');
    t.fail('dave', 'x');
    assert.equal(t.check('carol', 'x').allowed, false, 'the source x has three failures');
  });

  it('forgets the stalest keys beyond maxKeys', () => {
    const { t } = throttle({ maxKeys: 100 });
    for (let i = 0; i < 1000; i++) t.fail(`user${i}`, `10.0.${i >> 8}.${i & 255}`);
    assert.ok(t.trackedKeys.users <= 100);
    assert.ok(t.trackedKeys.sources <= 100);
  });
});
