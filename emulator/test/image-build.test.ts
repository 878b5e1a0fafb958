// Integration test of the Linux guest image builder: builds the real image (kernel .deb from
// Debian's archive, busybox-static), checks caching, hashing and the credentials layer, then
// boots it under QEMU TCG and drives its serial console and QMP.
//
// Download cache: the kernel .deb (about 70 MB) is shared with the default images directory's
// cache ($TTYGATE_DEB_CACHE if set, else ${TTYGATE_IMAGES:-~/.cache/ttygate/images}/downloads),
// so the tests download it at most once per machine; every image is built in a temp dir.
//
// TTYGATE_BOOT_BENCH=1 also measures boot-to-`login:` under TCG, 5 runs per kernel (vmlinux, bzImage).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
// Small QEMU helpers (the real QemuMachine lives elsewhere; these stay independent of it).

/** A telnet-mode QEMU socket chardev: strips IAC negotiation, collects output as latin1 text. */
class SerialConn {
  text = '';
  private readonly sock: net.Socket;
  constructor(path: string) {
    this.sock = net.connect(path);
    this.sock.on('data', (d: Buffer) => {
      // QEMU opens with ff fb 01 ff fb 03 ff fb 00 ff fd 00 (WILL/DO triples): drop them.
      this.text += d.toString('latin1').replace(/\xff[\xfb-\xfe][\s\S]/g, '');
    });
    this.sock.on('error', () => {
      /* QEMU went away: the test's own timeouts report it */
    });
  }
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.sock.connecting) return resolve();
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
  }
  write(data: string | Buffer): void {
    this.sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }
  /** Waits until `re` matches the output after `from` (an index into `text`). */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text.slice(from));
      if (m) return m;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; last output:\n${this.text.slice(-1500)}`);
      await sleep(20);
    }
  }
  close(): void {
    this.sock.destroy();
  }
}

interface QmpEvent {
  event: string;
  data?: unknown;
  at: number;
}

class Qmp {
  events: QmpEvent[] = [];
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private greeted!: Promise<void>;
  private readonly sock: net.Socket;
  constructor(path: string) {
    this.sock = net.connect(path);
    let greet: () => void;
    this.greeted = new Promise((r) => (greet = r));
    this.sock.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; event?: string; data?: unknown; id?: number; return?: unknown; error?: { desc: string } };
        if (msg.QMP) greet();
        else if (msg.event) this.events.push({ event: msg.event, data: msg.data, at: Date.now() });
        else if (typeof msg.id === 'number') {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) p?.reject(new Error(`QMP error: ${msg.error.desc}`));
          else p?.resolve(msg.return);
        }
      }
    });
    this.sock.on('error', () => {
      for (const p of this.pending.values()) p.reject(new Error('QMP connection lost'));
      this.pending.clear();
    });
  }
  async init(): Promise<void> {
    await this.greeted;
    await this.execute('qmp_capabilities');
  }
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }
  async waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.event === name);
      if (e) return e;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for QMP event ${name}; got ${this.events.map((x) => x.event).join(', ')}`);
      await sleep(20);
    }
  }
  close(): void {
    this.sock.destroy();
  }
}

interface Guest {
  proc: ChildProcess;
  serial: SerialConn[];
  qmp: Qmp;
  /** when `cont` was sent: the guest starts running */
  startedAt: number;
  stop(): Promise<void>;
}

async function waitForPath(p: string, timeoutMs: number, proc: ChildProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(p)) {
    if (proc.exitCode !== null) throw new Error(`QEMU exited with code ${proc.exitCode} before creating ${p}`);
    if (Date.now() > end) throw new Error(`QEMU did not create ${p} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * Starts QEMU (TCG) paused with -S, connects the serial sockets and QMP, then sends `cont`, so
 * no byte of the boot is lost. `stop()` kills QEMU by pid and removes the run directory.
 */
async function bootGuest(o: { kernel: string; initrd: string; append: string; serialPorts?: 1 | 2 }): Promise<Guest> {
  const dir = mkdtempSync(join(tmpdir(), 'ttygate-boot-'));
  const ports = o.serialPorts ?? 1;
  const args = [
    '-machine', 'pc,accel=tcg', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none', '-device', 'VGA',
    '-kernel', o.kernel, '-initrd', o.initrd, '-append', o.append,
  ];
  for (let i = 0; i < ports; i++) {
    args.push('-chardev', `socket,id=s${i},path=${join(dir, `s${i}`)},server=on,wait=off,telnet=on,logfile=${join(dir, `s${i}.log`)}`, '-serial', `chardev:s${i}`);
  }
  args.push('-qmp', `unix:${join(dir, 'qmp')},server=on,wait=off`, '-device', 'pvpanic', '-action', 'panic=none', '-no-shutdown', '-S');
  const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const serial: SerialConn[] = [];
  let qmp: Qmp | undefined;
  const stop = async (): Promise<void> => {
    for (const s of serial) s.close();
    qmp?.close();
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      process.kill(proc.pid, 'SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPath(join(dir, 'qmp'), 10_000, proc);
    for (let i = 0; i < ports; i++) {
      await waitForPath(join(dir, `s${i}`), 10_000, proc);
      const s = new SerialConn(join(dir, `s${i}`));
      serial.push(s);
      await s.ready();
    }
    qmp = new Qmp(join(dir, 'qmp'));
    await qmp.init();
    await sleep(50); // let QEMU send its telnet negotiation before the guest runs
    const startedAt = Date.now();
    await qmp.execute('cont');
    return { proc, serial, qmp, startedAt, stop };
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\nQEMU stderr: ${stderr}`);
  }
}

/** busybox ash's prompt (PS1 '\u@\h:\w\$ '), possibly followed by its cursor position query ESC[6n. */
const promptRe = (user: string, host: string): RegExp => new RegExp(`${user}@${host}:[^\\r\\n]*\\$ (\\x1b\\[6n)?$`);

async function login(s: SerialConn, user: string, password: string, host: string): Promise<void> {
  await s.waitFor(/login: $/, 90_000);
  let mark = s.text.length;
  s.write(`${user}\r`);
  await s.waitFor(/Password: $/, 20_000, mark);
  mark = s.text.length;
  s.write(`${password}\r`);
  await s.waitFor(promptRe(user, host), 20_000, mark);
}

/** Runs a shell command at the prompt, returns its output (between the echoed command and the next prompt). */
async function shell(s: SerialConn, cmd: string, user: string, host: string): Promise<string> {
  const mark = s.text.length;
  s.write(`${cmd}\r`);
  await s.waitFor(promptRe(user, host), 20_000, mark);
  return s.text.slice(mark);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------------------------------------------------------------------------------------------

describe('ttygate-emu image build linux', { timeout: 15 * 60_000 }, () => {
  const imagesDir = mkdtempSync(join(tmpdir(), 'ttygate-images-'));
  const imagesDir2 = mkdtempSync(join(tmpdir(), 'ttygate-images2-'));
  let image: LinuxImage;
  let firstPassword: string;
  const guests: Guest[] = [];

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
    const g = await bootGuest({ kernel: img.vmlinux, initrd: img.initrd, append: `${img.cmdline} ttygate.hostname=t1`, serialPorts: 2 });
    guests.push(g);
    try {
    const [s0, s1] = g.serial as [SerialConn, SerialConn];
    await s0.waitFor(/t1 login: $/, 90_000);
    console.log(`# vmlinux: login: after ${Date.now() - g.startedAt} ms`);
    await login(s0, user, password, 't1');
    const out = await shell(s0, 'id; hostname; cat /etc/inittab', user, 't1');
    assert.match(out, /uid=1000\(operator\) gid=1000\(operator\)/);
    assert.match(out, /^t1\r?$/m);
    assert.match(out, /^ttyS1::respawn:\/sbin\/getty -L 115200 ttyS1 vt100\r?$/m);
    await s1.waitFor(/t1 login: $/, 20_000); // the second UART has its own login

    // Magic SysRq: IAC BREAK, then the key.
    let mark = s0.text.length;
    s0.write(Buffer.from([0xff, 0xf3]));
    await sleep(100);
    s0.write('h');
    await s0.waitFor(/sysrq: HELP/, 10_000, mark);

    // ACPI power button → acpid → poweroff → SHUTDOWN.
    mark = s0.text.length;
    const t = Date.now();
    await g.qmp.execute('system_powerdown');
    await g.qmp.waitForEvent('POWERDOWN', 5_000);
    const shutdown = await g.qmp.waitForEvent('SHUTDOWN', 20_000);
    console.log(`# system_powerdown → SHUTDOWN in ${shutdown.at - t} ms`);
    assert.deepEqual(shutdown.data, { guest: true, reason: 'guest-shutdown' });
    assert.match(s0.text.slice(mark), /power button pressed/);
    } finally {
      await g.stop();
    }
  });

  it('boots (bzImage, TCG) with one UART; an NMI panic reaches QMP as GUEST_PANICKED (pvpanic)', async () => {
    const img = await resolveImage(imagesDir, 'linux');
    const g = await bootGuest({ kernel: img.bzImage, initrd: img.initrd, append: `${img.cmdline} ttygate.hostname=t2 unknown_nmi_panic` });
    guests.push(g);
    try {
      const s0 = g.serial[0]!;
      await s0.waitFor(/t2 login: $/, 90_000);
      console.log(`# bzImage: login: after ${Date.now() - g.startedAt} ms`);
      const mark = s0.text.length;
      const panicked = g.qmp.waitForEvent('GUEST_PANICKED', 20_000);
      await g.qmp.execute('inject-nmi');
      await panicked;
      // pvpanic can signal QMP before the panic text is flushed to the serial socket: wait for it.
      await s0.waitFor(/Kernel panic - not syncing: NMI/, 10_000, mark);
    } finally {
      await g.stop();
    }
  });
});
