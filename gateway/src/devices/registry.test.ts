// Tests of DriverRegistry: lookup by kind, duplicate and unknown kinds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoopbackDriver } from './loopback/loopback-driver.js';
import { DriverRegistry, UnknownDeviceKindError } from './registry.js';

describe('DriverRegistry', () => {
  it('returns the driver registered for a kind and opens specs with it', async () => {
    const serial = new LoopbackDriver({ kind: 'serial' });
    const registry = new DriverRegistry().register(serial).register(new LoopbackDriver({ kind: 'tcp' }));
    assert.equal(registry.get('serial'), serial);
    assert.deepEqual(registry.kinds(), ['serial', 'tcp']);
    const conn = await registry.open({ id: 'b1', kind: 'serial', path: '/dev/null' });
    assert.equal(conn.transport.state, 'open');
    await registry.shutdown({ id: 'b1', kind: 'serial', path: '/dev/null' });
    assert.equal(conn.transport.state, 'closed');
  });

  it('names the known kinds when asked for an unknown one', () => {
    const registry = new DriverRegistry().register(new LoopbackDriver({ kind: 'serial' }));
    assert.throws(
      () => registry.get('qemu'),
      (err: unknown) => err instanceof UnknownDeviceKindError && err.code === 'UnknownDeviceKind' && /"qemu".*"serial"/.test(err.message),
    );
    assert.throws(() => registry.get('azure'), UnknownDeviceKindError);
  });

  it('refuses a second driver for the same kind', () => {
    const registry = new DriverRegistry().register(new LoopbackDriver({ kind: 'serial' }));
    assert.throws(() => registry.register(new LoopbackDriver({ kind: 'serial' })), /already registered/);
    assert.ok(registry.unregister('serial'));
    registry.register(new LoopbackDriver({ kind: 'serial' }));
  });
});
