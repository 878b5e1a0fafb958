// Tests of the tcp driver against local echo servers: raw, telnet and telnet over TLS (self-signed CA), BREAK, failures.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { ConsoleProbe } from '../loopback/console-probe.js';
import { describeTransportContract } from '../transport.contract.js';
import { NotSupportedError, TransportError, type DeviceConnection } from '../transport.js';
import type { TcpDeviceSpec } from '../device-spec.js';
import { TcpDriver } from './tcp-driver.js';

const IAC = 0xff;
const CMD_NAMES: Record<number, string> = { 0xfb: 'WILL', 0xfc: 'WONT', 0xfd: 'DO', 0xfe: 'DONT' };

/**
 * An echo server. In telnet mode it behaves like ser2net: it opens with WILL SGA, WILL ECHO,
 * DO BINARY, WILL BINARY, parses IAC in what it receives (its own small parser, independent of the
 * driver's codec) and escapes 0xff in what it echoes. It records negotiation and BREAKs.
 */
class EchoServer {
  readonly sockets = new Set<net.Socket>();
  /** `WILL 0`, `DONT 1`, `BRK`, and `key h` for the byte after a BRK. */
  readonly events: string[] = [];
  /** Data bytes received, unescaped. */
  received = Buffer.alloc(0);

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(opts: { telnet: boolean; tls?: { key: Buffer; cert: Buffer }; negotiate?: boolean }): Promise<EchoServer> {
    const onConnection = (socket: net.Socket): void => self.accept(socket, opts.telnet, opts.negotiate ?? true);
    const server = opts.tls ? tls.createServer({ ...opts.tls, minVersion: 'TLSv1.2' }, onConnection) : net.createServer(onConnection);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const self = new EchoServer(server, (server.address() as net.AddressInfo).port);
    return self;
  }

  private accept(socket: net.Socket, telnet: boolean, negotiate: boolean): void {
    this.sockets.add(socket);
    socket.on('error', () => {
      // Destroyed on purpose by kill(); nothing to report.
    });
    socket.on('close', () => this.sockets.delete(socket));
    if (!telnet) {
      socket.on('data', (d: Buffer) => {
        this.received = Buffer.concat([this.received, d]);
        socket.write(d);
      });
      return;
    }
    if (negotiate) socket.write(Uint8Array.of(IAC, 0xfb, 3, IAC, 0xfb, 1, IAC, 0xfd, 0, IAC, 0xfb, 0));
    let state: 'data' | 'iac' | 'opt' | 'sb' | 'sb-iac' = 'data';
    let cmd = 0;
    let afterBreak = false;
    socket.on('data', (chunk: Buffer) => {
      const out: number[] = [];
      for (const b of chunk) {
        if (state === 'data') {
          if (b === IAC) state = 'iac';
          else {
            if (afterBreak) this.events.push(`key ${String.fromCharCode(b)}`);
            afterBreak = false;
            out.push(b);
          }
        } else if (state === 'iac') {
          state = 'data';
          if (b === IAC) out.push(IAC);
          else if (b >= 0xfb) {
            cmd = b;
            state = 'opt';
          } else if (b === 0xfa) state = 'sb';
          else if (b === 0xf3) {
            this.events.push('BRK');
            afterBreak = true;
          } else this.events.push(`cmd ${b}`);
        } else if (state === 'opt') {
          this.events.push(`${CMD_NAMES[cmd]} ${b}`);
          state = 'data';
        } else if (state === 'sb') {
          if (b === IAC) state = 'sb-iac';
        } else state = b === 0xf0 ? 'data' : 'sb';
      }
      const data = Buffer.from(out);
      this.received = Buffer.concat([this.received, data]);
      const escaped: number[] = [];
      for (const b of data) escaped.push(...(b === IAC ? [IAC, IAC] : [b]));
      socket.write(Uint8Array.from(escaped));
    });
  }

  /** The server goes away: every connection is reset and the listener closed. */
  async kill(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let certDir: string;
let cert: { key: Buffer; cert: Buffer; certPath: string };
const servers: EchoServer[] = [];
async function server(opts: Parameters<typeof EchoServer.start>[0]): Promise<EchoServer> {
  const s = await EchoServer.start(opts);
  servers.push(s);
  return s;
}

before(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'ttygate-tcp-'));
  const key = join(certDir, 'key.pem');
  const certPath = join(certDir, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-days', '1', '-keyout', key, '-out', certPath,
  ]);
  cert = { key: await readFile(key), cert: await readFile(certPath), certPath };
});
after(async () => {
  await Promise.all(servers.map((s) => s.kill().catch(() => undefined)));
  await rm(certDir, { recursive: true, force: true });
});

function contract(name: string, opts: { telnet: boolean; tls: boolean }): void {
  describeTransportContract(name, async () => {
    const s = await server({ telnet: opts.telnet, ...(opts.tls ? { tls: cert } : {}) });
    const driver = new TcpDriver();
    const spec: TcpDeviceSpec = {
      id: 'remote',
      kind: 'tcp',
      host: opts.tls ? 'localhost' : '127.0.0.1',
      port: s.port,
      protocol: opts.telnet ? 'telnet' : 'raw',
      ...(opts.tls ? { tls: { ca: cert.certPath } } : {}),
    };
    return { open: async () => (await driver.open(spec)).transport, killPeer: () => s.kill(), cleanup: () => s.kill().catch(() => undefined) };
  });
}
contract('tcp raw', { telnet: false, tls: false });
contract('tcp telnet', { telnet: true, tls: false });
contract('tcp telnet over TLS (self-signed CA)', { telnet: true, tls: true });

describe('TcpDriver', () => {
  const driver = new TcpDriver();
  const conns: DeviceConnection[] = [];
  after(async () => {
    await Promise.all(conns.map((c) => c.transport.close()));
  });
  async function open(spec: TcpDeviceSpec, d = driver): Promise<DeviceConnection> {
    const c = await d.open(spec);
    conns.push(c);
    return c;
  }

  it('telnet: answers the server\'s negotiation (refuses ECHO, accepts SGA and BINARY) before data flows', async () => {
    const s = await server({ telnet: true });
    const c = await open({ id: 't1', kind: 'tcp', host: '127.0.0.1', port: s.port, protocol: 'telnet' });
    const probe = new ConsoleProbe(c.transport.onData);
    await c.transport.write(Buffer.from('ok\r'));
    await probe.expect('ok\r');
    assert.deepEqual(s.events, ['WILL 0', 'DO 0', 'WILL 3', 'DO 3', 'DONT 1']);
    assert.equal(s.received.toString('latin1'), 'ok\r', 'BINARY agreed: CR goes out bare');
  });

  it('telnet: BREAK is IAC BRK, SysRq is IAC BRK then the key, per key', async () => {
    const s = await server({ telnet: true });
    const c = await open({ id: 't2', kind: 'tcp', host: '127.0.0.1', port: s.port, protocol: 'telnet' });
    const caps = c.controls.capabilities();
    assert.equal(caps.break.supported, true);
    assert.equal(caps.sysrq.supported, true);
    await c.controls.sendBreak();
    await c.controls.sysrq('hs');
    const deadline = Date.now() + 2000;
    while (s.events.filter((e) => e === 'BRK').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(s.events.filter((e) => e === 'BRK' || e.startsWith('key')), ['BRK', 'BRK', 'key h', 'BRK', 'key s']);
  });

  it('telnet to a server that never negotiates: opens after the wait and speaks NVT (CR NUL)', async () => {
    const s = await server({ telnet: true, negotiate: false });
    const quick = new TcpDriver({ telnetNegotiationMs: 100 });
    const c = await open({ id: 't3', kind: 'tcp', host: '127.0.0.1', port: s.port, protocol: 'telnet' }, quick);
    const probe = new ConsoleProbe(c.transport.onData);
    await c.transport.write(Buffer.from('a\r'));
    await probe.expect('a\r');
    assert.equal(s.received.toString('hex'), Buffer.from('a\r\0', 'latin1').toString('hex'));
  });

  it('raw: BREAK and SysRq are NotSupported with the reason; NMI, power and screenshot too', async () => {
    const s = await server({ telnet: false });
    const c = await open({ id: 'r1', kind: 'tcp', host: '127.0.0.1', port: s.port });
    await assert.rejects(c.controls.sendBreak(), (err: unknown) => err instanceof NotSupportedError && /raw TCP.*protocol: telnet/.test(err.reason));
    await assert.rejects(c.controls.sysrq('h'), NotSupportedError);
    await assert.rejects(c.controls.nmi(), NotSupportedError);
    await assert.rejects(c.controls.power('reset'), NotSupportedError);
    await assert.rejects(c.controls.screenshot(), NotSupportedError);
    const caps = c.controls.capabilities();
    assert.equal(caps.break.supported, false);
    assert.equal(caps.power.on.supported, false);
  });

  it('TLS: refuses the self-signed server without its CA, and a wrong server name', async () => {
    const s = await server({ telnet: false, tls: cert });
    await assert.rejects(driver.open({ id: 'x1', kind: 'tcp', host: '127.0.0.1', port: s.port, tls: true }), (err: unknown) => {
      assert.ok(err instanceof TransportError && err.kind === 'open-failed');
      assert.match(err.message, /over TLS.*self.signed/i);
      return true;
    });
    await assert.rejects(
      driver.open({ id: 'x2', kind: 'tcp', host: '127.0.0.1', port: s.port, tls: { ca: cert.certPath, servername: 'console.example' } }),
      (err: unknown) => err instanceof TransportError && /console\.example/.test(err.message),
    );
    const c = await open({ id: 'x3', kind: 'tcp', host: '127.0.0.1', port: s.port, tls: { ca: cert.certPath, servername: 'localhost' } });
    const probe = new ConsoleProbe(c.transport.onData);
    await c.transport.write(Buffer.from('over tls'));
    await probe.expect('over tls');
  });

  it('fails open clearly: connection refused, missing CA file, timeout', async () => {
    const s = await server({ telnet: false });
    await s.kill();
    await assert.rejects(driver.open({ id: 'f1', kind: 'tcp', host: '127.0.0.1', port: s.port }), (err: unknown) => {
      assert.ok(err instanceof TransportError && err.kind === 'open-failed');
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${s.port} \\(raw\\).*ECONNREFUSED`));
      return true;
    });
    await assert.rejects(
      driver.open({ id: 'f2', kind: 'tcp', host: '127.0.0.1', port: s.port, tls: { ca: join(certDir, 'nope.pem') } }),
      /cannot read the CA file .*nope\.pem/,
    );
    // A server that accepts but never answers the TLS handshake: only our timeout ends the wait.
    const muted = new Set<net.Socket>();
    const mute = net.createServer((sock) => {
      muted.add(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    try {
      const slow = new TcpDriver({ connectTimeoutMs: 150 });
      const port = (mute.address() as net.AddressInfo).port;
      await assert.rejects(slow.open({ id: 'f3', kind: 'tcp', host: '127.0.0.1', port, tls: true }), /over TLS\): no connection within 0.15 s/);
    } finally {
      for (const sock of muted) sock.destroy();
      await new Promise((resolve) => mute.close(resolve));
    }
  });

  it('open honours an abort signal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('gateway stopping'));
    await assert.rejects(driver.open({ id: 'a1', kind: 'tcp', host: '127.0.0.1', port: 1 }, ac.signal), /gateway stopping/);
  });
});
