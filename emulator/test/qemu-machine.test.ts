// QemuMachine against a real QEMU guest (TCG): one boot serves the whole file, tests run in order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { QemuMachine } from '../src/machine/qemu-machine.js';
import type { QmpEvent } from '../src/qmp/index.js';
import { GuestSession, pngSize } from './support/guest-session.js';
import { linuxImage, tempStateDir, type GuestFixture } from './support/fixtures.js';

const fixture = await linuxImage();
const skip = 'skip' in fixture ? fixture.skip : false;

describe('QemuMachine with the linux image', { skip, concurrency: false }, () => {
  const { image, user, password } = fixture as GuestFixture;
  const state = tempStateDir('machine');
  let machine: QemuMachine;
  let guest: GuestSession;
  const events: QmpEvent[] = [];
  const states: string[] = [];
  let bootMs = 0;

  before(async () => {
    const t0 = Date.now();
    machine = await QemuMachine.start({ name: 'itest', stateDir: state.dir, image: { kind: 'linux', image }, console: 'own' });
    machine.onQmpEvent((e) => events.push(e));
    machine.onStateChange((s) => states.push(s));
    guest = new GuestSession(machine.onConsoleData, (s) => machine.writeConsole(s));
    await guest.expect(/login: $/m, 60_000);
    bootMs = Date.now() - t0;
  });
  after(async () => {
    await machine?.stop();
    state.remove();
  });

  it('boots to login: and reports where its sockets are', () => {
    assert.equal(machine.state, 'running');
    assert.equal(machine.info.accel, 'tcg');
    assert.match(machine.info.serial, /serial0\.sock$/);
    assert.ok(machine.info.pid > 0);
    console.log(`# boot to login: ${bootMs} ms`);
  });

  it('captured the first kernel line: no boot byte lost', async () => {
    // The very first bytes the guest sends are the kernel banner, both on our stream and in the log.
    assert.match(guest.output.slice(0, 200), /^\[ *0\.0+\] Linux version \d/);
    const log = (await machine.serialLog.read(0, 200)).toString('latin1');
    assert.match(log, /^\[ *0\.0+\] Linux version \d/);
  });

  it('logs in with the password over the serial socket and runs a command', async () => {
    guest.mark();
    await guest.send('\r');
    await guest.login(user, password);
    assert.equal((await guest.run('id -un')).trim(), user);
    assert.equal((await guest.run('hostname')).trim(), 'itest');
    assert.match(await guest.run('cat /proc/sys/kernel/sysrq'), /^1\s*$/);
  });

  it('BREAK + h prints the SysRq help', async () => {
    guest.mark();
    await machine.sysrq('h');
    await guest.expect(/sysrq: HELP/, 10_000);
  });

  it('a sequence sends each key after its own BREAK', async () => {
    guest.mark();
    await machine.sysrq('mw'); // show memory, then blocked tasks: both harmless
    await guest.expect(/Show Memory/, 10_000);
    await guest.expect(/Show Blocked State/, 10_000);
  });

  it('sendBreak alone reaches the guest as a BREAK, not as data', async () => {
    guest.mark();
    await machine.sendBreak();
    await machine.writeConsole('h');
    await guest.expect(/sysrq: HELP/, 10_000);
  });

  it('NMI shows in the guest output', async () => {
    guest.mark();
    await machine.nmi();
    await guest.expect(/NMI received/, 10_000);
  });

  it('a screenshot is a 720x400 PNG', async () => {
    const png = await machine.screenshot();
    assert.deepEqual(pngSize(png), { width: 720, height: 400 });
  });

  it('reset boots again: the banner is seen a second time', async () => {
    guest.mark();
    events.length = 0;
    await machine.reset();
    await guest.expect(/Linux version \d/, 30_000);
    await guest.expect(/login: $/m, 60_000);
    assert.ok(events.some((e) => e.event === 'RESET'), 'QMP RESET event');
    assert.equal(machine.state, 'running');
  });

  it('graceful restart: the guest shuts down through the ACPI button, then boots again', async () => {
    guest.mark();
    events.length = 0;
    await machine.restart({ timeoutMs: 30_000 });
    const shutdown = events.find((e) => e.event === 'SHUTDOWN');
    assert.ok(shutdown, 'SHUTDOWN event');
    assert.equal((shutdown.data as { guest?: boolean }).guest, true, 'the guest shut itself down');
    await guest.expect(/reboot: Power down/, 5_000);
    await guest.expect(/Linux version \d/, 30_000);
    await guest.expect(/login: $/m, 60_000);
  });

  it('off stops the guest, on boots it again', async () => {
    states.length = 0;
    await machine.off();
    assert.equal(machine.state, 'off');
    await assert.rejects(machine.nmi(), /cannot inject an NMI while the machine is off: power it on first/);
    guest.mark();
    const before = guest.output.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(guest.output.length, before, 'no output while off');
    await machine.on();
    assert.equal(machine.state, 'running');
    await guest.expect(/Linux version \d/, 30_000);
    await guest.expect(/login: $/m, 60_000);
    assert.deepEqual(states, ['off', 'running']);
  });

  it('stop ends QEMU and removes its sockets', async () => {
    await machine.stop();
    assert.equal(machine.state, 'stopped');
    assert.equal(existsSync(machine.info.serial), false);
    assert.equal(existsSync(machine.info.qmp), false);
    assert.equal(existsSync(machine.info.serialLog), true, 'the serial log is kept');
    await assert.rejects(machine.reset(), /the QEMU process has exited/);
  });
});
