// Tests of the qemu-socket driver against one real guest (started by the emulator, paused until we connect): console, controls, events, contract.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultImagesDir, QemuMachine, readCredentials, resolveImage, type LinuxImage } from '@ttygate/emulator';
import { ShellSession } from '../loopback/shell-session.js';
import { describeTransportContract } from '../transport.contract.js';
import { NotSupportedError, TransportError, type DeviceConnection, type DeviceEvent } from '../transport.js';
import type { QemuSocketDeviceSpec } from '../device-spec.js';
import { QemuSocketDriver } from './qemu-socket-driver.js';

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

/**
 * One guest for the whole file. The emulator runs it (console mode wait-for-external: paused until a
 * client is on the serial socket, so we see every boot byte) and holds its own QMP; a wrapper adds a
 * second QMP socket for the driver, as a VM run by someone else would offer.
 */
let dir: string;
let machine: QemuMachine | undefined;
let gwQmp: string;
let creds: { user: string; password: string };
const driver = new QemuSocketDriver({ connectTimeoutMs: 5000, gracefulTimeoutMs: 30_000 });

async function startGuest(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'ttygate-qs-'));
  gwQmp = join(dir, 'gw-qmp.sock');
  const wrapper = join(dir, 'qemu-with-second-qmp');
  await writeFile(wrapper, `#!/bin/sh\nexec qemu-system-x86_64 "$@" -qmp unix:${gwQmp},server=on,wait=off\n`);
  await chmod(wrapper, 0o755);
  creds = await readCredentials(image!);
  machine = await QemuMachine.start({ name: 'qs-guest', stateDir: join(dir, 'vm'), image: { kind: 'linux', image: image! }, console: 'wait-for-external', qemuBinary: wrapper });
}

function spec(extra: Partial<QemuSocketDeviceSpec> = {}): QemuSocketDeviceSpec {
  return { id: 'qs', kind: 'qemu-socket', serial: machine!.info.serial, qmp: gwQmp, ...extra };
}

before(async () => {
  if (!SKIP) await startGuest();
});
after(async () => {
  await machine?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('QemuSocketDriver (real guest)', { skip: SKIP }, () => {
  let conn: DeviceConnection;
  let shell: ShellSession;
  const events: DeviceEvent['type'][] = [];

  it('sees the guest boot from its first byte to login:, logs in and runs a command', async () => {
    conn = await driver.open(spec());
    conn.onDeviceEvent((e) => events.push(e.type));
    shell = new ShellSession(conn.transport);
    await shell.expect('Linux version', BOOT_MS);
    await shell.login(creds.user, creds.password, BOOT_MS);
    assert.equal(await shell.run('uname -n'), 'qs-guest');
    assert.equal(await shell.run('echo $((6*7))'), '42');
    const caps = conn.controls.capabilities();
    assert.deepEqual([caps.break, caps.sysrq, caps.nmi, caps.screenshot, caps.power.restart], Array(5).fill({ supported: true }));
  });

  it('SysRq h over telnet BREAK prints the SysRq help', async () => {
    shell.probe.mark();
    await conn.controls.sysrq('h');
    await shell.expect('sysrq: HELP', 10_000);
  });

  it('NMI reaches the guest', async () => {
    shell.probe.mark();
    await conn.controls.nmi();
    await shell.expect('NMI received', 10_000);
  });

  it('takes a PNG screenshot', async () => {
    const png = Buffer.from(await conn.controls.screenshot());
    assert.ok(png.subarray(0, 8).equals(PNG), 'PNG signature');
    assert.ok(png.length > 100);
  });

  it('reset: the device event rebooting, and the guest boots again', async () => {
    shell.probe.mark();
    const from = shell.probe.text.length;
    events.length = 0;
    await conn.controls.power('reset');
    await shell.login(creds.user, creds.password, BOOT_MS);
    assert.deepEqual(events, ['rebooting']);
    assert.match(shell.probe.text.slice(from), /Linux version/);
  });

  it('restart: ACPI power button, the guest shuts down (off), boots again (on)', async () => {
    shell.probe.mark();
    events.length = 0;
    await conn.controls.power('restart');
    assert.deepEqual(events, ['off', 'on']);
    await shell.expect('Linux version', BOOT_MS);
    await shell.login(creds.user, creds.password, BOOT_MS);
    assert.deepEqual(events, ['off', 'on'], 'the boot after a restart is no extra reboot');
  });

  it('closing the connection releases the serial socket and QMP for the next open', async () => {
    await conn.transport.close();
    const again = await driver.open(spec());
    try {
      const s = new ShellSession(again.transport);
      await s.send('\r');
      await s.expect(/[$#] /, 10_000);
      assert.equal((await again.controls.screenshot()).length > 0, true);
    } finally {
      await again.transport.close();
    }
  });

  it('without qmp: NMI, power and screenshot are NotSupported with the reason; SysRq still works', async () => {
    const c = await driver.open(spec({ qmp: undefined }));
    const s = new ShellSession(c.transport);
    try {
      const reason = 'no QMP socket configured (add qmp: PATH)';
      await assert.rejects(c.controls.nmi(), (err: unknown) => err instanceof NotSupportedError && err.reason === reason);
      await assert.rejects(c.controls.power('reset'), (err: unknown) => err instanceof NotSupportedError && err.reason === reason);
      await assert.rejects(c.controls.screenshot(), NotSupportedError);
      assert.deepEqual(c.controls.capabilities().power.on, { supported: false, reason });
      // (a bare BREAK would turn the next byte anybody sends into a SysRq key)
      await c.controls.sysrq('h');
      await s.expect('sysrq: HELP', 10_000);
    } finally {
      await c.transport.close();
    }
  });

  it('telnet: false speaks raw and refuses BREAK with the reason', async () => {
    const c = await driver.open(spec({ telnet: false, qmp: undefined }));
    try {
      await assert.rejects(c.controls.sendBreak(), (err: unknown) => err instanceof NotSupportedError && /not in telnet mode/.test(err.reason));
      assert.equal(c.controls.capabilities().sysrq.supported, false);
    } finally {
      await c.transport.close();
    }
  });

  it('fails open clearly when the sockets are not there', async () => {
    const quick = new QemuSocketDriver({ connectTimeoutMs: 100 });
    await assert.rejects(quick.open(spec({ serial: join(dir, 'nope.sock') })), (err: unknown) => err instanceof TransportError && err.kind === 'open-failed' && /nope\.sock/.test(err.message));
    await assert.rejects(quick.open(spec({ qmp: join(dir, 'noqmp.sock') })), (err: unknown) => err instanceof TransportError && /QMP socket .*noqmp\.sock/.test(err.message));
    // the failed open released the serial socket: the next one gets it
    const c = await driver.open(spec({ qmp: undefined }));
    await c.transport.close();
  });
});

describeTransportContract(
  'qemu-socket (guest running `stty raw -echo; cat`)',
  async () => {
    // The guest echoes: log in (the previous tests left a shell), switch the tty to raw and run cat.
    const setup = await driver.open(spec({ qmp: undefined }));
    const s = new ShellSession(setup.transport);
    await s.send('\r');
    await s.expect(/[$#] /, 10_000);
    await s.send(`stty raw -echo -iexten; echo RE''ADY; exec cat\r`);
    await s.expect('READY', 10_000);
    await setup.transport.close();
    return {
      open: async () => (await driver.open(spec({ qmp: undefined }))).transport,
      killPeer: async () => {
        await machine?.stop();
      },
      cleanup: async () => undefined,
      echoTimeoutMs: 20_000,
      // The guest tty drops input past its 4 KiB buffer when TCG falls behind: stay inside it.
      bulkBytes: 3 * 1024,
    };
  },
  { skip: SKIP },
);
