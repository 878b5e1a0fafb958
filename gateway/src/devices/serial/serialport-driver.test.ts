// Tests of the serial driver against socat pty pairs: the Transport contract, a vanishing device, power hooks, BREAK.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SerialPort } from 'serialport';
import { ConsoleProbe } from '../loopback/console-probe.js';
import { describeTransportContract } from '../transport.contract.js';
import { NotSupportedError, TransportError, type DeviceConnection } from '../transport.js';
import type { SerialDeviceSpec } from '../device-spec.js';
import { SerialPortDriver } from './serialport-driver.js';
import { SerialControls } from './serial-controls.js';
import type { SerialTransport } from './serial-transport.js';

const HAVE_SOCAT = spawnSync('socat', ['-V']).status === 0;
const SKIP = HAVE_SOCAT ? false : 'socat is not installed (apt-get install socat)';

/** A null-modem pair: `a` for the driver, `b` for the far end. SIGKILL leaves the links dangling. */
class SocatPair {
  private constructor(
    readonly a: string,
    readonly b: string,
    private child: ChildProcess,
  ) {}

  static async start(dir: string, name = 'tty'): Promise<SocatPair> {
    const a = join(dir, `${name}-a`);
    const b = join(dir, `${name}-b`);
    const child = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
    const pair = new SocatPair(a, b, child);
    const deadline = Date.now() + 5000;
    for (;;) {
      const ok = await Promise.all([stat(a), stat(b)]).then(
        () => true,
        () => false,
      );
      if (ok) return pair;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('socat did not create its ptys within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }
}

/** Opens the far end and echoes everything back, as a device with echo on would. */
async function echoFarEnd(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  port.on('error', () => {
    // The far end vanishes with socat in these tests; its errors are expected.
  });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('data', (d: Buffer) => port.write(d));
  return port;
}

function closePort(port: SerialPort | undefined): Promise<void> {
  if (!port?.isOpen) return Promise.resolve();
  return new Promise((resolve) => port.close(() => resolve()));
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ttygate-serial-'));
  tempDirs.push(d);
  return d;
}
after(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describeTransportContract(
  'serial (socat pty pair)',
  async () => {
    const dir = await tempDir();
    const pair = await SocatPair.start(dir);
    const far = await echoFarEnd(pair.b);
    const driver = new SerialPortDriver();
    const spec: SerialDeviceSpec = { id: 'pty-board', kind: 'serial', path: pair.a, baudRate: 115200 };
    return {
      open: async () => (await driver.open(spec)).transport,
      killPeer: () => pair.kill(),
      cleanup: async () => {
        await closePort(far);
        await pair.kill();
      },
    };
  },
  { skip: SKIP },
);

describe('SerialPortDriver', { skip: SKIP }, () => {
  let dir: string;
  const driver = new SerialPortDriver({ breakMs: 10 });
  const connections: DeviceConnection[] = [];
  const pairs: SocatPair[] = [];

  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    for (const c of connections) await c.transport.close();
    for (const p of pairs) await p.kill();
  });

  async function openSpec(spec: SerialDeviceSpec): Promise<DeviceConnection> {
    const c = await driver.open(spec);
    connections.push(c);
    return c;
  }

  it('reports a vanished device as disconnected, and opens again once socat is back on the same path', async () => {
    const pair = await SocatPair.start(dir, 'vanish');
    pairs.push(pair);
    const spec: SerialDeviceSpec = { id: 'b1', kind: 'serial', path: pair.a };
    const conn = await openSpec(spec);
    const closed = new Promise<{ reason: string; error?: TransportError }>((r) => conn.transport.onClose(r));
    // 1. SIGKILL: the read in flight fails with EIO, serialport closes with disconnected: true
    const t0 = Date.now();
    await pair.kill('SIGKILL');
    const e = await closed;
    assert.equal(e.reason, 'disconnected');
    assert.equal(e.error?.kind, 'disconnected');
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    // 2. nothing is there now: open fails cleanly
    await assert.rejects(driver.open(spec), (err: unknown) => err instanceof TransportError && err.kind === 'open-failed' && err.message.includes(pair.a));
    // 3. socat restarted on the same link paths: a new open works end to end
    const again = await SocatPair.start(dir, 'vanish');
    pairs.push(again);
    const far = await echoFarEnd(again.b);
    try {
      const conn2 = await openSpec(spec);
      const probe = new ConsoleProbe(conn2.transport.onData);
      await conn2.transport.write(Buffer.from('hello again\r\n'));
      await probe.expect('hello again\r\n');
      await conn2.transport.close();
    } finally {
      await closePort(far);
    }
  });

  it('fails open with open-failed for a path that does not exist', async () => {
    await assert.rejects(driver.open({ id: 'nope', kind: 'serial', path: join(dir, 'missing') }), (err: unknown) => {
      assert.ok(err instanceof TransportError);
      assert.equal(err.kind, 'open-failed');
      assert.match(err.message, /cannot open serial port .*missing/);
      return true;
    });
  });

  it('says clearly that a pty cannot BREAK (capabilities and sendBreak/sysrq)', async () => {
    const pair = await SocatPair.start(dir, 'brk');
    pairs.push(pair);
    const conn = await openSpec({ id: 'b2', kind: 'serial', path: pair.a });
    const caps = conn.controls.capabilities();
    assert.equal(caps.break.supported, false);
    assert.match((caps.break as { reason: string }).reason, /pseudo-terminal.*cannot send a serial BREAK/);
    await assert.rejects(conn.controls.sendBreak(), (err: unknown) => err instanceof NotSupportedError && /cannot send a serial BREAK/.test(err.reason));
    await assert.rejects(conn.controls.sysrq('h'), NotSupportedError);
    // The ioctl itself, as on a device not recognised as a pty: ENOTTY becomes the same clear refusal.
    const raw = new SerialControls(conn.transport as SerialTransport, { deviceId: 'b2', hooks: undefined, breakMs: 10, powerTimeoutMs: 1000 });
    await assert.rejects(raw.sendBreak(), (err: unknown) => {
      assert.ok(err instanceof NotSupportedError);
      assert.match(err.reason, /cannot send a serial BREAK: it is not a real UART \(TIOCSBRK: Inappropriate ioctl for device\)/);
      return true;
    });
    await conn.transport.close();
  });

  it('has no NMI and no screenshot, with the reason', async () => {
    const pair = await SocatPair.start(dir, 'nmi');
    pairs.push(pair);
    const conn = await openSpec({ id: 'b3', kind: 'serial', path: pair.a });
    await assert.rejects(conn.controls.nmi(), (err: unknown) => err instanceof NotSupportedError && /serial line has no NMI/.test(err.reason));
    await assert.rejects(conn.controls.screenshot(), NotSupportedError);
    const caps = conn.controls.capabilities();
    assert.equal(caps.nmi.supported, false);
    assert.equal(caps.screenshot.supported, false);
    await conn.transport.close();
  });

  it('runs power hooks as argv without a shell; restart and reset run cycle; a failure carries stderr', async () => {
    const pair = await SocatPair.start(dir, 'pwr');
    pairs.push(pair);
    const log = join(dir, 'power.log');
    const conn = await openSpec({
      id: 'b4',
      kind: 'serial',
      path: pair.a,
      power: {
        on: ['sh', '-c', `echo on >> ${log}`],
        // No shell: `;` and `$(…)` reach echo as plain arguments.
        cycle: ['/bin/echo', 'cycle; $(touch /nonexistent)'],
        off: ['sh', '-c', 'echo relay 3 is stuck >&2; exit 3'],
      },
    });
    const caps = conn.controls.capabilities();
    assert.deepEqual(Object.values(caps.power).map((c) => c.supported), [true, true, true, true]);
    await conn.controls.power('on');
    await conn.controls.power('on');
    assert.equal(await readFile(log, 'utf8'), 'on\non\n');
    await conn.controls.power('restart');
    await conn.controls.power('reset');
    await assert.rejects(conn.controls.power('off'), (err: unknown) => {
      assert.ok(err instanceof Error && !(err instanceof NotSupportedError));
      assert.match(err.message, /exited with status 3: relay 3 is stuck/);
      return true;
    });
    await conn.transport.close();
  });

  it('answers NotSupported naming the config key when a hook is missing', async () => {
    const pair = await SocatPair.start(dir, 'nohook');
    pairs.push(pair);
    const conn = await openSpec({ id: 'b5', kind: 'serial', path: pair.a, power: { on: ['true'] } });
    await assert.rejects(conn.controls.power('reset'), (err: unknown) => err instanceof NotSupportedError && /add power: \{ cycle: \[/.test(err.reason));
    await assert.rejects(conn.controls.power('off'), (err: unknown) => err instanceof NotSupportedError && /power: \{ off:/.test(err.reason));
    const caps = conn.controls.capabilities();
    assert.equal(caps.power.on.supported, true);
    assert.equal(caps.power.restart.supported, false);
    await conn.transport.close();
  });

  it('reports a hook that cannot be started or runs too long', async () => {
    const pair = await SocatPair.start(dir, 'badhook');
    pairs.push(pair);
    const slow = new SerialPortDriver({ powerTimeoutMs: 200 });
    const conn = await slow.open({ id: 'b6', kind: 'serial', path: pair.a, power: { on: ['/nonexistent/relay'], off: ['sleep', '5'] } });
    connections.push(conn);
    await assert.rejects(conn.controls.power('on'), /cannot run "\/nonexistent\/relay": not found/);
    await assert.rejects(conn.controls.power('off'), /timed out after 0.2 s/);
    await conn.transport.close();
  });
});
