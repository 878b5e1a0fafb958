// A `tcp` device in telnet mode through the gateway: a local telnet console server as the peer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestGateway, waitFor, type TestGateway } from './support/harness.js';

/** A minimal console server: refuses every option it is asked about, records what it receives. */
class TelnetPeer {
  server = net.createServer();
  sockets: net.Socket[] = [];
  received = Buffer.alloc(0);
  async start(): Promise<number> {
    this.server.on('connection', (s) => {
      this.sockets.push(s);
      s.on('data', (d) => (this.received = Buffer.concat([this.received, d])));
      s.on('error', () => undefined);
      s.write(Buffer.from('\xff\xfb\x01\xff\xfb\x03rack-4 console\r\n', 'latin1')); // WILL ECHO, WILL SGA, banner
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }
  send(s: string | Buffer): void {
    for (const sock of this.sockets) sock.write(s);
  }
  dropAll(): void {
    for (const s of this.sockets.splice(0)) s.destroy();
  }
  close(): Promise<void> {
    this.dropAll();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('a tcp (telnet) device through the gateway', { concurrency: false }, () => {
  const peer = new TelnetPeer();
  let gw: TestGateway;
  let token: string;
  before(async () => {
    const port = await peer.start();
    gw = await startTestGateway(`devices:\n  - { id: rack4, kind: tcp, host: 127.0.0.1, port: ${port}, protocol: telnet }`);
    token = await gw.tokenFor('netops', 'vm-contributor');
    await waitFor(async () => (gw.devices.get('rack4')!.state === 'connected' ? true : undefined));
  });
  after(async () => {
    await gw?.close();
    await peer.close();
  });

  it('strips the negotiation, carries bytes both ways, escapes 0xff, and sends BREAK as IAC BRK', async () => {
    const c = await gw.connect('rack4', token);
    await c.untilText('rack-4 console');
    assert.ok(!c.text.includes('\xff\xfb'), 'telnet negotiation is not shown to viewers');
    peer.received = Buffer.alloc(0);
    c.sendBytes(Buffer.from([0x68, 0xff, 0x69]));
    await waitFor(async () => (peer.received.includes(0x69) ? true : undefined));
    assert.ok(peer.received.includes(Buffer.from([0x68, 0xff, 0xff, 0x69])), `0xff doubled on the wire: ${peer.received.toString('hex')}`);
    const r = await gw.api('POST', '/api/v1/devices/rack4/break', token, {});
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => (peer.received.includes(Buffer.from([0xff, 0xf3])) ? true : undefined));
    const mark = c.bytes.length;
    peer.send(Buffer.from([0x41, 0xff, 0xff, 0x42])); // an escaped data 0xff from the server
    await c.until(() => c.bytes.length >= mark + 3, 'three bytes');
    assert.deepEqual([...c.bytes.subarray(mark, mark + 3)], [0x41, 0xff, 0x42]);
    c.close();
  });

  it('a peer that drops: viewers are told, and the gateway reconnects', async () => {
    const c = await gw.connect('rack4', token);
    await c.untilControl('hello');
    peer.dropAll();
    await c.untilControl('device', (m) => m.state === 'disconnected');
    await c.untilControl('device', (m) => m.state === 'reconnected', 10_000);
    c.close();
  });
});
