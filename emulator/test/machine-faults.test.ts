// Failures a user can act on, console modes and disk images, against real QEMU processes.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChardevConsole } from '../src/console/chardev-console.js';
import { BootTimeoutError, MissingBinaryError, QemuExitError } from '../src/errors.js';
import { QemuMachine } from '../src/machine/qemu-machine.js';
import { backingFileOf } from '../src/machine/disk-image.js';
import { resolveImage } from '../src/images/index.js';
import { GuestSession } from './support/guest-session.js';
import { hasQemu, linuxImage, tempStateDir, type GuestFixture } from './support/fixtures.js';

const fixture = await linuxImage();
const noImage = 'skip' in fixture ? fixture.skip : false;
const noQemu = hasQemu() ? false : 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)';

describe('machine faults and modes', { concurrency: false }, () => {
  const state = tempStateDir('faults');
  after(() => state.remove());

  it('a guest that never boots fails with BootTimeoutError naming what it waited for', { skip: noQemu }, async () => {
    const blank = join(state.dir, 'blank.raw');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', blank, '8M']);
    const m = await QemuMachine.start({ name: 'blank', stateDir: join(state.dir, 'blank'), image: { kind: 'disk', path: blank }, console: 'external' });
    try {
      const err = await m.waitForOutput(/login:/, { timeoutMs: 2500, what: 'login prompt' }).then(
        () => assert.fail('a blank disk cannot reach login:'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof BootTimeoutError);
      assert.equal(err.code, 'EMU_ERR_BOOT_TIMEOUT');
      assert.match(err.message, /no login prompt on the serial console within 2\.5 s; the guest printed nothing/);
    } finally {
      await m.stop();
    }
  });

  it('QEMU exiting at start is reported with its exit code and stderr', { skip: noQemu }, async () => {
    const notAKernel = join(state.dir, 'not-a-kernel');
    writeFileSync(notAKernel, 'this is not a kernel\n');
    const err = await QemuMachine.start({
      name: 'bad',
      stateDir: join(state.dir, 'bad'),
      image: { kind: 'linux', image: { ...(fixture as GuestFixture).image ?? {}, vmlinux: notAKernel, initrd: notAKernel, cmdline: '' } as GuestFixture['image'] },
    }).then(
      () => assert.fail('QEMU cannot boot a text file'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof QemuExitError, String(err));
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /QEMU exited with exit code 1 while starting; its stderr:\n {2}\| qemu: linux kernel too old to load a ram disk/);
  });

  it('a missing QEMU binary names the apt package', async () => {
    const err = await QemuMachine.start({
      name: 'nobin',
      stateDir: join(state.dir, 'nobin'),
      qemuBinary: 'qemu-system-does-not-exist',
      image: { kind: 'linux', image: { vmlinux: '/x', initrd: '/x', cmdline: '' } as GuestFixture['image'] },
    }).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MissingBinaryError);
    assert.match(err.message, /apt-get install qemu-system-x86/);
  });

  it('an image that was never built says which command builds it', async () => {
    await assert.rejects(resolveImage(join(state.dir, 'no-images'), 'linux'), /ttygate-emu image build linux/);
  });

  it('wait-for-external holds the guest until a client connects; that client sees the first byte', { skip: noImage }, async () => {
    const { image } = fixture as GuestFixture;
    const m = await QemuMachine.start({ name: 'waiter', stateDir: join(state.dir, 'waiter'), image: { kind: 'linux', image }, console: 'wait-for-external' });
    try {
      assert.equal(m.state, 'waiting-for-console');
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(m.state, 'waiting-for-console');
      assert.equal(await m.serialLog.size(), 0, 'the paused guest printed nothing');
      const con = await ChardevConsole.connect(m.info.serial);
      const guest = new GuestSession(con.onData, (s) => con.write(s));
      await guest.expect(/login: $/m, 60_000);
      assert.match(guest.output, /^\[ *0\.0+\] Linux version \d/);
      assert.equal(m.state, 'running');
      await assert.rejects(m.sendBreak(), /does not hold its serial socket/);
      await con.close();
    } finally {
      await m.stop();
    }
  });

  it('disk images: a VHD boots from a per-instance qcow2 overlay over it', { skip: noQemu }, async () => {
    const raw = join(state.dir, 'base.raw');
    const vhd = join(state.dir, 'base.vhd');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', raw, '16M']);
    execFileSync('qemu-img', ['convert', '-q', '-O', 'vpc', raw, vhd]);
    const m = await QemuMachine.start({ name: 'vhd', stateDir: join(state.dir, 'vhd'), image: { kind: 'disk', path: vhd }, console: 'external' });
    try {
      assert.equal(m.spec.boot.kind, 'disk');
      const overlay = (m.spec.boot as { disk: string }).disk;
      assert.equal(await backingFileOf(overlay), vhd);
      const blocks = await m.execute<Array<{ inserted?: { file: string; 'backing_file'?: string } }>>('query-block');
      assert.ok(blocks.some((b) => b.inserted?.file === overlay && b.inserted['backing_file'] === vhd), JSON.stringify(blocks));
    } finally {
      await m.stop();
    }
  });

  it('kvm is used only when a probe shows the guest runs under it', { skip: noImage }, async () => {
    const { image } = fixture as GuestFixture;
    const m = await QemuMachine.start({ name: 'kvmtry', stateDir: join(state.dir, 'kvm'), image: { kind: 'linux', image }, console: 'external', accel: 'kvm', kvmProbeTimeoutMs: 4000 });
    try {
      // Where KVM works the probe passes; where it cannot run the guest (this CI: a software
      // hypervisor behind /dev/kvm), the machine falls back to TCG and says why. Either way it boots.
      if (m.info.accel === 'tcg') assert.match(m.info.accelNote ?? '', /KVM not used: .*running under TCG/);
      else assert.equal(m.info.accelNote, undefined);
      await m.waitForOutput(/login: $/m, { timeoutMs: 60_000 });
    } finally {
      await m.stop();
    }
  });
});
