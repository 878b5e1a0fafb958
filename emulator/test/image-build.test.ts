// Integration test of the Linux guest image builder: builds the real image (kernel .deb from
// Debian's archive, busybox-static), checks caching, hashing and the credentials layer, then
// boots it under QEMU TCG and drives its serial console and QMP.
//
// Download cache: the kernel .deb (about 70 MB) is shared with the default images directory's
// cache ($TTYGATE_DEB_CACHE if set, else ${TTYGATE_IMAGES:-~/.cache/ttygate/images}/downloads),
// so the tests download it at most once per machine; every image is built in a temp dir.
//
// The boot tests use the emulator's own QemuMachine (paused start, console wired before `cont`).
// Boot-time medians are measured by bench/boot.ts, not here.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuMachine } from '../src/machine/qemu-machine.js';
import { SerialLog } from '../src/machine/serial-log.js';
import type { QmpEvent } from '../src/qmp/index.js';
import { nextEvent } from '../src/util/event.js';
import { GuestSession } from './support/guest-session.js';
import {
  buildLinuxImage,
  defaultDownloadDir,
  defaultImagesDir,
  listImages,
  readCredentials,
  resolveImage,
  type BuildProgress,
  type LinuxImage,
} from '../src/images/index.js';

const DOWNLOAD_DIR = defaultDownloadDir(defaultImagesDir());

// ---------------------------------------------------------------------------------------------

describe('ttygate-emu image build linux', { timeout: 15 * 60_000 }, () => {
  const imagesDir = mkdtempSync(join(tmpdir(), 'ttygate-images-'));
  const imagesDir2 = mkdtempSync(join(tmpdir(), 'ttygate-images2-'));
  let image: LinuxImage;
  let firstPassword: string;
  const guests: QemuMachine[] = [];

  after(async () => {
    for (const g of guests) await g.stop();
    rmSync(imagesDir, { recursive: true, force: true });
    rmSync(imagesDir2, { recursive: true, force: true });
  });

  before(async () => {
    const progress: BuildProgress[] = [];
    const started = Date.now();
    const r = await buildLinuxImage({ imagesDir, downloadDir: DOWNLOAD_DIR, onProgress: (p) => progress.push(p) });
    console.log(`# first build: ${Date.now() - started} ms (${r.image.hash}, kernel ${r.image.kernelVersion})`);
    assert.equal(r.cached, false);
    assert.ok(r.generatedPassword, 'a password is generated when none is given');
    image = r.image;
    firstPassword = r.generatedPassword;
    const steps = progress.map((p) => p.step);
    for (const s of ['resolve', 'download', 'extract', 'vmlinux', 'initramfs', 'credentials', 'install', 'done']) {
      assert.ok(steps.includes(s), `progress step ${s} reported (got ${steps.join(',')})`);
    }
  });

  it('lays out the image: ELF vmlinux, bzImage, initrd = base + credentials layer, image.json', () => {
    assert.equal(image.kind, 'linux');
    assert.match(image.hash, /^[0-9a-f]{16}$/);
    assert.equal(image.dir, join(imagesDir, 'linux', image.hash));
    assert.match(image.kernelVersion, /^\d+\.\d+\.\d+-\d+-amd64$/);
    assert.equal(image.user, 'operator');
    assert.match(image.cmdline, /console=ttyS0,115200n8/);
    assert.ok(!Number.isNaN(Date.parse(image.builtAt)));
    assert.deepEqual([...readFileSync(image.vmlinux).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    assert.equal(readFileSync(image.bzImage).toString('ascii', 0x202, 0x206), 'HdrS');
    const base = readFileSync(join(image.dir, 'base.cpio.gz'));
    const initrd = readFileSync(image.initrd);
    assert.ok(initrd.length > base.length && initrd.subarray(0, base.length).equals(base));
    assert.ok(!base.includes(Buffer.from(firstPassword)));
    const manifest = JSON.parse(readFileSync(join(image.dir, 'image.json'), 'utf8')) as { hash: string };
    assert.equal(manifest.hash, image.hash);
  });

  it('stores the generated password in credentials.json with mode 0600', async () => {
    assert.match(firstPassword, /^[A-Za-z0-9_-]{20}$/);
    assert.equal(statSync(image.credentialsFile).mode & 0o777, 0o600);
    assert.deepEqual(await readCredentials(image), { user: 'operator', password: firstPassword });
  });

  it('a second build is cached, fast, same hash, and keeps the stored password (no new one)', async () => {
    const initrdBefore = readFileSync(image.initrd);
    const started = Date.now();
    const r = await buildLinuxImage({ imagesDir, downloadDir: DOWNLOAD_DIR });
    const ms = Date.now() - started;
    console.log(`# cached rebuild: ${ms} ms`);
    assert.equal(r.cached, true);
    assert.equal(r.image.hash, image.hash);
    assert.equal(r.generatedPassword, undefined);
    assert.ok(ms < 3000, `cached rebuild took ${ms} ms`);
    assert.ok(readFileSync(image.initrd).equals(initrdBefore), 'nothing rewritten');
    assert.deepEqual(await readCredentials(r.image), { user: 'operator', password: firstPassword });
  });

  it('resolveImage(dir, "linux") returns the latest image; listImages marks it', async () => {
    assert.deepEqual(await resolveImage(imagesDir, 'linux'), image);
    assert.deepEqual(await resolveImage(imagesDir, `linux:${image.hash.slice(0, 6)}`), image);
    const list = await listImages(imagesDir);
    assert.equal(list.length, 1);
    assert.equal(list[0]?.latest, true);
  });

  it('the same inputs give the same hash and the same base archive bytes in a fresh images dir', async () => {
    const r = await buildLinuxImage({ imagesDir: imagesDir2, downloadDir: DOWNLOAD_DIR, user: 'op2', password: 'other password' });
    assert.equal(r.cached, false);
    assert.equal(r.image.hash, image.hash);
    assert.equal(r.generatedPassword, undefined);
    assert.ok(readFileSync(join(r.image.dir, 'base.cpio.gz')).equals(readFileSync(join(image.dir, 'base.cpio.gz'))));
    assert.ok(readFileSync(r.image.vmlinux).equals(readFileSync(image.vmlinux)));
  });

  it('an explicit password rewrites only the credentials layer (same hash, same base), and is kept afterwards', async () => {
    const baseFile = join(image.dir, 'base.cpio.gz');
    const baseBefore = statSync(baseFile).mtimeMs;
    const vmlinuxBefore = statSync(image.vmlinux).mtimeMs;
    const initrdBefore = readFileSync(image.initrd);
    const r = await buildLinuxImage({ imagesDir, downloadDir: DOWNLOAD_DIR, password: 'correct horse battery' });
    assert.equal(r.cached, true);
    assert.equal(r.image.hash, image.hash);
    assert.equal(r.generatedPassword, undefined);
    assert.equal(statSync(baseFile).mtimeMs, baseBefore);
    assert.equal(statSync(image.vmlinux).mtimeMs, vmlinuxBefore);
    assert.ok(!readFileSync(image.initrd).equals(initrdBefore), 'credentials layer rewritten');
    assert.deepEqual(await readCredentials(r.image), { user: 'operator', password: 'correct horse battery' });
    // no password again: the stored one stays
    const again = await buildLinuxImage({ imagesDir, downloadDir: DOWNLOAD_DIR });
    assert.equal(again.generatedPassword, undefined);
    assert.deepEqual(await readCredentials(again.image), { user: 'operator', password: 'correct horse battery' });
    // back to the generated one for the boot test
    await buildLinuxImage({ imagesDir, downloadDir: DOWNLOAD_DIR, password: firstPassword });
  });

  it('another user gets its own generated password', async () => {
    const dir3 = mkdtempSync(join(tmpdir(), 'ttygate-images3-'));
    try {
      const a = await buildLinuxImage({ imagesDir: dir3, downloadDir: DOWNLOAD_DIR, user: 'alice' });
      assert.ok(a.generatedPassword);
      assert.equal(a.image.user, 'alice');
      const b = await buildLinuxImage({ imagesDir: dir3, downloadDir: DOWNLOAD_DIR, user: 'bob' });
      assert.ok(b.generatedPassword && b.generatedPassword !== a.generatedPassword);
      assert.equal(b.image.user, 'bob');
      assert.deepEqual(await readCredentials(b.image), { user: 'bob', password: b.generatedPassword });
    } finally {
      rmSync(dir3, { recursive: true, force: true });
    }
  });

  it('boots (vmlinux, TCG): login, id/hostname, a getty on the second UART, SysRq over BREAK, ACPI power button', async () => {
    const img = await resolveImage(imagesDir, 'linux');
    const { user, password } = await readCredentials(img);
    const runDir = mkdtempSync(join(tmpdir(), 'ttygate-boot-'));
    const m = await QemuMachine.start({ name: 't1', stateDir: runDir, image: { kind: 'linux', image: img }, serialPorts: 2, console: 'own' });
    guests.push(m);
    try {
      const s0 = new GuestSession(m.onConsoleData, (d) => m.writeConsole(d));
      const t0 = Date.now();
      await s0.login(user, password, 90_000);
      console.log(`# vmlinux: login done ${Date.now() - t0} ms after start`);
      const out = await s0.run('id; hostname; cat /etc/inittab');
      assert.match(out, /uid=1000\(operator\) gid=1000\(operator\)/);
      assert.match(out, /^t1$/m);
      assert.match(out, /^ttyS1::respawn:\/sbin\/getty -L 115200 ttyS1 vt100$/m);
      // The second UART has its own login (its log keeps what it printed while nobody was connected).
      await new SerialLog(m.info.serial2Log!).waitFor(/t1 login: $/m, { timeoutMs: 20_000, onTimeout: () => new Error('no login on ttyS1') });

      // Magic SysRq: IAC BREAK, then the key.
      s0.mark();
      await m.sysrq('h');
      await s0.expect(/sysrq: HELP/, 10_000);

      // ACPI power button → acpid → poweroff → SHUTDOWN.
      s0.mark();
      const t = Date.now();
      const powerdown = nextEvent(m.onQmpEvent, { timeoutMs: 5_000, predicate: (e: QmpEvent) => e.event === 'POWERDOWN', what: 'POWERDOWN' });
      const shutdown = nextEvent(m.onQmpEvent, { timeoutMs: 20_000, predicate: (e: QmpEvent) => e.event === 'SHUTDOWN', what: 'SHUTDOWN' });
      await m.execute('system_powerdown');
      await powerdown;
      const ev = await shutdown;
      console.log(`# system_powerdown → SHUTDOWN in ${Date.now() - t} ms`);
      assert.deepEqual(ev.data, { guest: true, reason: 'guest-shutdown' });
      await s0.expect(/power button pressed/, 5_000);
    } finally {
      await m.stop();
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('boots (bzImage, TCG) with one UART; an NMI panic reaches QMP as GUEST_PANICKED (pvpanic)', async () => {
    const img = await resolveImage(imagesDir, 'linux');
    const runDir = mkdtempSync(join(tmpdir(), 'ttygate-boot-'));
    const withPanic = { ...img, cmdline: `${img.cmdline} unknown_nmi_panic` };
    const m = await QemuMachine.start({ name: 't2', stateDir: runDir, image: { kind: 'linux', image: withPanic, kernel: 'bzImage' }, console: 'own' });
    guests.push(m);
    try {
      const s0 = new GuestSession(m.onConsoleData, (d) => m.writeConsole(d));
      const t0 = Date.now();
      await s0.expect(/t2 login: $/m, 90_000);
      console.log(`# bzImage: login: ${Date.now() - t0} ms after start`);
      s0.mark();
      const panicked = nextEvent(m.onQmpEvent, { timeoutMs: 20_000, predicate: (e: QmpEvent) => e.event === 'GUEST_PANICKED', what: 'GUEST_PANICKED' });
      await m.nmi();
      await panicked;
      // pvpanic can signal QMP before the panic text is flushed to the serial socket: wait for it.
      await s0.expect(/Kernel panic - not syncing: NMI/, 10_000);
    } finally {
      await m.stop();
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
