// Tests of the qemu driver against one real guest it runs: console from the first byte, controls, events, re-open, exit, shutdown.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultImagesDir, readCredentials, resolveImage, type LinuxImage } from '@ttygate/emulator';
import { ShellSession } from '../loopback/shell-session.js';
import { TransportError, type DeviceConnection, type DeviceEvent } from '../transport.js';
import type { QemuDeviceSpec } from '../device-spec.js';
import { QemuDriver } from './qemu-driver.js';

const BOOT_MS = 30_000;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function findImage(): Promise<{ image?: LinuxImage; skip: string | false }> {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) return { skip: 'qemu-system-x86_64 is not installed' };
  try {
    return { image: await resolveImage(defaultImagesDir(), 'linux'), skip: false };
  } catch (err) {
    return { skip: `no guest image: ${(err as Error).message}` };
  }
}
const { image, skip: SKIP } = await findImage();

describe('QemuDriver (real guest)', { skip: SKIP }, () => {
  let dir: string;
  let driver: QemuDriver;
  let creds: { user: string; password: string };
  const spec: QemuDeviceSpec = { id: 'web-vmss/0', kind: 'qemu', image: 'linux', memoryMb: 256 };
  let conn: DeviceConnection;
  let shell: ShellSession;
  const events: DeviceEvent['type'][] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ttygate-qd-'));
    driver = new QemuDriver({ stateDir: join(dir, 'vms'), imagesDir: defaultImagesDir() });
    creds = await readCredentials(image!);
  });
  after(async () => {
    await driver?.shutdownAll();
    await rm(dir, { recursive: true, force: true });
  });

  function attach(c: DeviceConnection): void {
    conn = c;
    conn.onDeviceEvent((e) => events.push(e.type));
    shell = new ShellSession(conn.transport);
  }

  it('starts the VM on open and gets every boot byte, named after the device id', async () => {
    attach(await driver.open(spec));
    // The first bytes of the boot, not a later excerpt: the console was ours before the guest ran.
    await shell.expect('Linux version', BOOT_MS);
    assert.match(shell.probe.text.slice(0, 200), /^(\s|\x1b\[[0-9;]*[a-zA-Z]|\[ *0\.0+\] )*Linux version/);
    await shell.login(creds.user, creds.password, BOOT_MS);
    assert.equal(await shell.run('uname -n'), 'web-vmss-0');
    assert.equal(driver.machineOf('web-vmss/0')?.info.name, 'web-vmss-0');
    await stat(join(dir, 'vms', 'web-vmss', '0', 'serial0.log'));
  });

  it('SysRq h → sysrq: HELP; NMI → NMI received; screenshot is a PNG', async () => {
    shell.probe.mark();
    await conn.controls.sysrq('h');
    await shell.expect('sysrq: HELP', 10_000);
    await conn.controls.nmi();
    await shell.expect('NMI received', 10_000);
    const png = Buffer.from(await conn.controls.screenshot());
    assert.ok(png.subarray(0, 8).equals(PNG));
    await assert.rejects(conn.controls.sysrq('h!'), RangeError);
  });

  it('keeps the VM running across a re-open and hands over what it printed meanwhile', async () => {
    await shell.send('(sleep 1; echo LATER-$((40+2))) &\r');
    await shell.expect(/[$#] /);
    const pid = driver.machineOf(spec.id)?.info.pid;
    await conn.transport.close();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(driver.machineOf(spec.id)?.state, 'running');
    attach(await driver.open(spec));
    assert.equal(driver.machineOf(spec.id)?.info.pid, pid, 'the same QEMU');
    await shell.expect('LATER-42', 5000);
  });

  it('off → off event; on → on event and a fresh boot; reset → rebooting and the banner again', async () => {
    events.length = 0;
    await conn.controls.power('off');
    assert.deepEqual(events, ['off']);
    assert.equal(driver.machineOf(spec.id)?.state, 'off');
    shell.probe.mark();
    await conn.controls.power('on');
    await shell.expect('Linux version', BOOT_MS);
    assert.deepEqual(events, ['off', 'on']);
    await shell.expect('login: ', BOOT_MS);
    shell.probe.mark();
    await conn.controls.power('reset');
    await shell.expect('Linux version', BOOT_MS);
    await shell.expect('login: ', BOOT_MS);
    assert.deepEqual(events, ['off', 'on', 'rebooting']);
  });

  it('QEMU exiting closes the transport disconnected; the next open starts a new VM', async () => {
    const m = driver.machineOf(spec.id)!;
    const closed = new Promise<{ reason: string; error?: TransportError }>((r) => conn.transport.onClose(r));
    process.kill(m.info.pid, 'SIGKILL');
    const e = await closed;
    assert.equal(e.reason, 'disconnected');
    assert.match(e.error?.message ?? '', /QEMU \(pid \d+\) exited on signal SIGKILL/);
    attach(await driver.open(spec));
    assert.notEqual(driver.machineOf(spec.id)?.info.pid, m.info.pid);
    await shell.expect('Linux version', BOOT_MS);
  });

  it('shutdown closes the transport as requested and stops QEMU', async () => {
    const m = driver.machineOf(spec.id)!;
    const closed = new Promise<{ reason: string }>((r) => conn.transport.onClose(r));
    await driver.shutdown(spec);
    assert.equal((await closed).reason, 'requested');
    assert.equal(m.state, 'stopped');
    assert.equal(driver.machineOf(spec.id), undefined);
  });

  it('fails open clearly for an image that does not exist', async () => {
    await assert.rejects(driver.open({ id: 'bad', kind: 'qemu', image: join(dir, 'missing.qcow2') }), (err: unknown) => {
      assert.ok(err instanceof TransportError && err.kind === 'open-failed');
      assert.match(err.message, /cannot start the VM of device bad: .*missing\.qcow2/);
      return true;
    });
  });
});
