// Tests for WriteLease: acquire, takeover, holder-only release and change events.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LeaseChange, WriteLease } from './write-lease.js';

function watch(lease: WriteLease): LeaseChange[] {
  const changes: LeaseChange[] = [];
  lease.onChange((c) => changes.push(c));
  return changes;
}

describe('WriteLease', () => {
  test('starts free', () => {
    assert.equal(new WriteLease().holder, undefined);
  });

  test('acquire of a free lease makes the caller the holder', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    assert.equal(lease.holder, 'a');
  });

  test('acquire of a free lease has no previous holder', () => {
    assert.deepEqual(new WriteLease().acquire('a'), {});
  });

  test('acquire by a new writer takes over and returns the previous holder', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    assert.deepEqual(lease.acquire('b'), { previous: 'a' });
    assert.equal(lease.holder, 'b');
  });

  test('acquire by the current holder changes nothing', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    const changes = watch(lease);
    assert.deepEqual(lease.acquire('a'), {});
    assert.equal(changes.length, 0);
  });

  test('acquire rejects an empty session id', () => {
    assert.throws(() => new WriteLease().acquire(''), RangeError);
  });

  test('release by the holder frees the lease', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    assert.equal(lease.release('a'), true);
    assert.equal(lease.holder, undefined);
  });

  test('release by a non-holder is refused and keeps the holder', () => {
    const lease = new WriteLease();
    lease.acquire('b');
    assert.equal(lease.release('a'), false);
    assert.equal(lease.holder, 'b');
  });

  test('a demoted writer cannot release its successor\'s lease', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    lease.acquire('b');
    assert.equal(lease.release('a'), false);
    assert.equal(lease.holder, 'b');
  });

  test('release of a free lease returns false and fires nothing', () => {
    const lease = new WriteLease();
    const changes = watch(lease);
    assert.equal(lease.release('a'), false);
    assert.equal(changes.length, 0);
  });

  test('isHeldBy tells the holder apart', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    assert.deepEqual([lease.isHeldBy('a'), lease.isHeldBy('b')], [true, false]);
  });

  test('onChange reports an acquire', () => {
    const lease = new WriteLease();
    const changes = watch(lease);
    lease.acquire('a');
    assert.deepEqual(changes, [{ reason: 'acquire', holder: 'a', previous: undefined }]);
  });

  test('onChange reports a takeover with both sessions', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    const changes = watch(lease);
    lease.acquire('b');
    assert.deepEqual(changes, [{ reason: 'takeover', holder: 'b', previous: 'a' }]);
  });

  test('onChange reports a release', () => {
    const lease = new WriteLease();
    lease.acquire('a');
    const changes = watch(lease);
    lease.release('a');
    assert.deepEqual(changes, [{ reason: 'release', holder: undefined, previous: 'a' }]);
  });

  test('onChange fires after the state changed', () => {
    const lease = new WriteLease();
    let seen: string | undefined;
    lease.onChange(() => {
      seen = lease.holder;
    });
    lease.acquire('a');
    assert.equal(seen, 'a');
  });

  test('a throwing listener goes to the error handler and the change still happens', () => {
    const errors: unknown[] = [];
    const lease = new WriteLease({ onListenerError: (e) => errors.push(e) });
    lease.onChange(() => {
      throw new Error('listener');
    });
    lease.acquire('a');
    assert.equal(lease.holder, 'a');
    assert.equal(errors.length, 1);
  });

  test('after dispose no more change events fire', () => {
    const lease = new WriteLease();
    const changes = watch(lease);
    lease.dispose();
    lease.acquire('a');
    assert.equal(changes.length, 0);
  });
});
