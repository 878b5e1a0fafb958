// Unit tests of the QMP event → device event mapping (rebooting, off, on) and its power-off bracket.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceEvent } from '../transport.js';
import { QemuDeviceEvents } from './qemu-device-events.js';

const hostReset = { event: 'RESET', data: { guest: false, reason: 'host-qmp-system-reset' } };
const guestReset = { event: 'RESET', data: { guest: true, reason: 'guest-reset' } };

function make(initiallyOff = false): { ev: QemuDeviceEvents; seen: DeviceEvent['type'][] } {
  const seen: DeviceEvent['type'][] = [];
  return { ev: new QemuDeviceEvents((e) => seen.push(e.type), initiallyOff), seen };
}

describe('QemuDeviceEvents', () => {
  it('a host reset and the firmware reset right after it are one reboot; a later reset is another', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const { ev, seen } = make();
    ev.handle(hostReset);
    t.mock.timers.tick(60);
    ev.handle(guestReset);
    assert.deepEqual(seen, ['rebooting']);
    t.mock.timers.tick(3000);
    ev.handle(hostReset);
    assert.deepEqual(seen, ['rebooting', 'rebooting']);
    t.mock.timers.tick(30_000);
    ev.handle(guestReset); // the guest rebooting itself
    assert.deepEqual(seen, ['rebooting', 'rebooting', 'rebooting']);
  });

  it('guest power-off: SHUTDOWN → off; RESET while off is silent; RESUME → on', () => {
    const { ev, seen } = make();
    ev.handle({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } });
    ev.handle({ event: 'STOP' });
    ev.handle(hostReset);
    ev.handle({ event: 'RESUME' });
    ev.handle(guestReset);
    assert.deepEqual(seen, ['off', 'on']);
    assert.equal(ev.isOff, false);
  });

  it('QEMU quitting is not a power-off (the transport reports it)', () => {
    const { ev, seen } = make();
    ev.handle({ event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } });
    assert.deepEqual(seen, []);
  });

  it('poweringOff fires off once and hides the reset it does; a failure restores the state', async () => {
    const { ev, seen } = make();
    await ev.poweringOff(async () => {
      ev.handle({ event: 'STOP' });
      ev.handle(hostReset);
    });
    assert.deepEqual(seen, ['off']);
    await ev.poweringOff(async () => undefined);
    assert.deepEqual(seen, ['off'], 'already off');
    ev.handle({ event: 'RESUME' });
    await assert.rejects(ev.poweringOff(async () => Promise.reject(new Error('QMP gone'))));
    assert.equal(ev.isOff, false);
    assert.deepEqual(seen, ['off', 'on']);
  });

  it('a VM that was never started (prelaunch) counts as off until it resumes', () => {
    const { ev, seen } = make(true);
    ev.handle(hostReset);
    ev.handle({ event: 'RESUME' });
    assert.deepEqual(seen, ['on']);
  });
});
