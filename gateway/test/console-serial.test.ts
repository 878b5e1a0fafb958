// The console path end to end over wss://, with a socat pty pair as a `serial` device.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PtyPair, startTestGateway, tempDir, type TestGateway, waitFor } from './support/harness.js';

describe('console over wss:// with a serial (socat pty) device', { concurrency: false }, () => {
  const tmp = tempDir('serial');
  const pty = new PtyPair(tmp.dir);
  let gw: TestGateway;
  let writer: string;
  let viewer: string;
  let other: string;

  before(async () => {
    await pty.start();
    gw = await startTestGateway(
      `console: { maxFrameBytes: 4096, viewerMaxBufferedBytes: 1048576, historyBytes: 65536 }
devices:
  - { id: board1, kind: serial, path: ${pty.device}, baudRate: 115200, group: lab }
  - { id: quiet, kind: serial, path: ${pty.device}-none, group: lab, console: { enabled: false } }
  - { id: nodiag, kind: serial, path: ${pty.device}-none, group: lab, bootDiagnostics: { enabled: false } }
  - { id: elsewhere, kind: serial, path: ${pty.device}-none, group: other }`,
    );
    writer = await gw.tokenFor('writer', 'vm-contributor', '/groups/lab');
    other = await gw.tokenFor('other', 'vm-contributor', '/groups/lab');
    viewer = await gw.tokenFor('viewer', 'console-viewer', '/groups/lab');
    // The device opens in the background: wait until it is connected.
    const deadline = Date.now() + 10_000;
    while (gw.devices.get('board1')!.state !== 'connected') {
      if (Date.now() > deadline) throw new Error(`board1 did not connect: ${gw.devices.get('board1')!.error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  after(async () => {
    await gw?.close();
    await pty.stop();
    tmp.remove();
  });

  it('keeps output produced while nobody is attached (capture + replay)', async () => {
    await pty.print('U-Boot 2026.01 before anyone attached\r\n');
    const log = await waitFor(async () => {
      const r = await gw.api('GET', '/api/v1/devices/board1/boot-diagnostics/serial-log', writer);
      return r.text.includes('before anyone attached') ? r : undefined;
    });
    assert.equal(log.status, 200);
    assert.equal(log.headers['x-log-start-offset'], '0');
    assert.ok(Number(log.headers['x-log-end-offset']) >= 37);
    const c = await gw.connect('board1', writer);
    const hello = await c.untilControl('hello');
    assert.equal(hello.mode, 'write');
    await c.untilText('before anyone attached');
    c.close();
  });

  it('carries bytes both ways, 0x00 and 0xff included, as binary frames', async () => {
    const c = await gw.connect('board1', writer);
    await c.untilControl('hello');
    pty.peerBytes = Buffer.alloc(0);
    c.sendBytes(Uint8Array.of(0x00, 0xff, 0x41, 0x0d));
    await waitFor(async () => (pty.peerBytes.length >= 4 ? true : undefined));
    assert.deepEqual([...pty.peerBytes], [0x00, 0xff, 0x41, 0x0d]);
    const mark = c.bytes.length;
    await pty.print(Buffer.from([0xff, 0x00, 0x42]));
    await c.until(() => c.bytes.length >= mark + 3, 'three bytes');
    assert.deepEqual([...c.bytes.subarray(mark, mark + 3)], [0xff, 0x00, 0x42]);
    c.close();
  });

  it('a viewer sees the writer\'s session; bytes from a viewer are refused, not written', async () => {
    const w = await gw.connect('board1', writer);
    const v = await gw.connect('board1', viewer, '?mode=read');
    const vh = await v.untilControl('hello');
    assert.equal(vh.mode, 'read');
    const mark = v.bytes.length;
    await pty.print('login: ');
    await v.untilText('login: ', 5000, mark);
    pty.peerBytes = Buffer.alloc(0);
    v.sendBytes('rm -rf /\r');
    const err = await v.untilControl('error');
    assert.equal(err.code, 'WriteNotAllowed');
    w.sendBytes('ok\r');
    await waitFor(async () => (pty.peerBytes.length >= 3 ? true : undefined));
    assert.equal(pty.peerBytes.toString(), 'ok\r', 'only the writer\'s bytes reached the device');
    w.close();
    v.close();
  });

  it('a console-viewer cannot attach for writing (403 before the upgrade)', async () => {
    await assert.rejects(gw.connect('board1', viewer), (e: { status?: number; body?: string }) => e.status === 403 && /mode=read/.test(e.body ?? ''));
  });

  it('takeover: a new writer takes the lease, the old one is told and demoted to viewer', async () => {
    const a = await gw.connect('board1', writer);
    await a.untilControl('hello');
    const b = await gw.connect('board1', other);
    await b.untilControl('hello');
    const told = await a.untilControl('lease', (m) => m.mode === 'read');
    assert.ok(told.holder, 'the old writer learns who holds the lease');
    pty.peerBytes = Buffer.alloc(0);
    a.sendBytes('x');
    assert.equal((await a.untilControl('error')).code, 'WriteNotAllowed');
    // The demoted writer still sees output.
    const mark = a.bytes.length;
    await pty.print('still visible\r\n');
    await a.untilText('still visible', 5000, mark);
    // And may take the lease back.
    a.sendControl({ type: 'takeover' });
    await b.untilControl('lease', (m) => m.mode === 'read');
    a.sendBytes('y');
    await waitFor(async () => (pty.peerBytes.includes('y') ? true : undefined));
    assert.ok(!pty.peerBytes.includes('x'));
    const audit = gw.audit.query({ action: 'console.takeover', limit: 10 });
    assert.ok(audit.rows.length >= 2);
    a.close();
    b.close();
  });

  it('bad input: malformed and unknown control messages get an error and the session goes on', async () => {
    const c = await gw.connect('board1', writer);
    await c.untilControl('hello');
    c.sendControl('{not json');
    assert.equal((await c.untilControl('error')).code, 'MalformedControl');
    c.sendControl({ type: 'reboot-the-world' });
    await c.until(() => c.controls.filter((m) => m.type === 'error').length >= 2, 'second error');
    assert.equal(c.controls.filter((m) => m.type === 'error')[1]!.type, 'error');
    c.sendControl({ type: 'ping' });
    await c.untilControl('pong');
    assert.equal(c.closed, undefined);
    c.close();
  });

  it('a binary frame over the limit closes the session with 1009', async () => {
    const c = await gw.connect('board1', writer);
    await c.untilControl('hello');
    c.sendBytes(Buffer.alloc(4097, 0x61));
    const closed = await c.untilClosed();
    assert.equal(closed.code, 1009);
  });

  it('refuses: unknown device 404, no token 401, foreign Origin 403, other group 404 — all before the upgrade', async () => {
    await assert.rejects(gw.connect('no-such-device', writer), (e: { status?: number }) => e.status === 404);
    await assert.rejects(gw.connect('board1', undefined), (e: { status?: number }) => e.status === 401);
    await assert.rejects(gw.connect('board1', writer, '', { origin: 'https://evil.example' }), (e: { status?: number }) => e.status === 403);
    await assert.rejects(gw.connect('elsewhere', writer), (e: { status?: number }) => e.status === 404);
    const list = await gw.api('GET', '/api/v1/devices', writer);
    assert.deepEqual(list.body.devices.map((d: { id: string }) => d.id).sort(), ['board1', 'nodiag', 'quiet']);
  });

  it('console and boot-diagnostics switches refuse attach with their codes', async () => {
    await assert.rejects(gw.connect('quiet', writer), (e: { status?: number; body?: string }) => e.status === 409 && /ConsoleDisabled/.test(e.body ?? ''));
    await assert.rejects(gw.connect('nodiag', writer), (e: { status?: number; body?: string }) => e.status === 409 && /BootDiagnosticsDisabled/.test(e.body ?? ''));
  });

  it('controls a serial kind cannot do answer 409 NotSupported with the reason', async () => {
    const nmi = await gw.api('POST', '/api/v1/devices/board1/nmi', writer, {});
    assert.equal(nmi.status, 409);
    assert.equal(nmi.body.error.code, 'NotSupported');
    assert.match(nmi.body.error.message, /NMI/);
    const power = await gw.api('POST', '/api/v1/devices/board1/power', writer, { action: 'reset' });
    assert.equal(power.status, 409);
    assert.match(power.body.error.message, /power/);
    const bad = await gw.api('POST', '/api/v1/devices/board1/power', writer, { action: 'explode' });
    assert.equal(bad.status, 400);
  });

  it('a slow viewer is dropped while a fast one keeps full speed and the device is never stalled', async () => {
    const fast = await gw.connect('board1', viewer, '?mode=read&replay=0');
    const slow = await gw.connect('board1', viewer, '?mode=read&replay=0');
    await fast.untilControl('hello');
    await slow.untilControl('hello');
    // The slow client stops reading: its socket fills, the gateway's send buffer grows past the cap.
    (slow.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    const total = 16 * 1024 * 1024;
    const start = fast.byteCount;
    for (let sent = 0; sent < total; sent += chunk.length) await pty.print(chunk);
    await fast.until(() => fast.byteCount - start >= total, 'all bytes at the fast viewer', 60_000);
    const drops = gw.audit.query({ action: 'console.detach', limit: 50 }).rows.filter((r) => (r.details as { reason?: string }).reason === 'slow-consumer');
    assert.ok(drops.length >= 1, 'the slow viewer was dropped (audited as slow-consumer)');
    assert.ok(gw.devices.get('board1')!.capture.endOffset >= total, 'the device was read in full');
    fast.close();
    slow.ws.terminate();
  });

  it('a fast upload to a device that stops reading is held back by TCP, not piled up in memory', async () => {
    const c = await gw.connect('board1', writer, '?replay=0');
    await c.untilControl('hello');
    const runtime = gw.devices.get('board1')!;
    pty.peer!.pause(); // the board stops taking input
    pty.peerBytes = Buffer.alloc(0);
    const frame = Buffer.alloc(4096);
    const total = 8 * 1024 * 1024;
    for (let i = 0; i < total / frame.length; i++) c.ws.send(frame.fill(i & 0xff), { binary: true });
    // While the device is stuck, the gateway holds at most about the high watermark; the rest
    // waits in the client (its send buffer) and the kernel's socket buffers.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(runtime.writeBacklog < 2 * 1024 * 1024, `gateway backlog ${runtime.writeBacklog} bytes`);
    assert.ok(c.ws.bufferedAmount > 1024 * 1024, `the client is held back (bufferedAmount ${c.ws.bufferedAmount})`);
    pty.peer!.resume();
    await waitFor(async () => (pty.peerBytes.length >= total ? true : undefined), 30_000, 'the whole upload at the device');
    for (let i = 0; i < total / frame.length; i += 97) assert.equal(pty.peerBytes[i * frame.length], i & 0xff, `frame ${i} in order`);
    c.close();
  });

  it('a device that vanishes: viewers are told, the capture marks the gap, and it reconnects', async () => {
    const c = await gw.connect('board1', writer);
    await c.untilControl('hello');
    await pty.kill();
    await c.untilControl('device', (m) => m.state === 'disconnected');
    await pty.start();
    await c.untilControl('device', (m) => m.state === 'reconnected', 15_000);
    const mark = c.bytes.length;
    await pty.print('back again\r\n');
    await c.untilText('back again', 5000, mark);
    const log = await gw.api('GET', '/api/v1/devices/board1/boot-diagnostics/serial-log?tail=4096', writer);
    assert.match(log.text, /gap.*device disconnected/);
    const rows = gw.audit.query({ target: 'board1', limit: 200 }).rows.map((r) => r.action);
    assert.ok(rows.includes('device.disconnected') && rows.includes('device.reconnected'), rows.join(','));
    c.close();
  });
});

