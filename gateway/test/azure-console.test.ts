// Azure VM consoles through the gateway, against the local HTTPS fake of Entra ID, ARM, the serial
// console service and blob storage (test/fakes/azure), with the real @azure/arm-compute and @azure/identity clients.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeAzure } from './fakes/azure/fake-azure.js';
import type { FakeVm } from './fakes/azure/fake-arm.js';
import { HANDSHAKE_ANSWER } from './fakes/azure/fake-serial-console.js';
import { OutboundRecorder } from './fakes/azure/outbound-recorder.js';
import { azureDevice, azureYaml, SUB } from './fakes/azure/azure-test-env.js';
import { startTestGateway, waitFor, type TestGateway } from './support/harness.js';

describe('Azure VM console through the gateway', { concurrency: false }, () => {
  let fake: FakeAzure;
  let gw: TestGateway;
  let writer: string;
  let other: string;
  let viewer: string;
  let web1: FakeVm;
  let evil1: FakeVm;
  let removeSecret: () => void;
  const outbound = new OutboundRecorder();

  before(async () => {
    outbound.start();
    fake = await FakeAzure.start();
    web1 = fake.addVm({ subscriptionId: SUB, resourceGroup: 'rg1', name: 'web1' });
    evil1 = fake.addVm({ subscriptionId: SUB, resourceGroup: 'rg1', name: 'evil1', consoleHost: 'evil' });
    const az = azureYaml(fake);
    removeSecret = az.remove;
    gw = await startTestGateway(
      [az.yaml, 'devices:', azureDevice('web1', `subscriptionId: '${SUB}', resourceGroup: rg1, vm: web1`), azureDevice('evil1', `subscriptionId: '${SUB}', resourceGroup: rg1, vm: evil1`)].join('\n'),
    );
    writer = await gw.tokenFor('alice', 'vm-contributor');
    other = await gw.tokenFor('bob', 'vm-contributor');
    viewer = await gw.tokenFor('carol', 'console-viewer');
    await waitFor(async () => (gw.devices.get('web1')!.state === 'connected' ? true : undefined), 10_000, 'web1 connected');
  });
  after(async () => {
    await gw?.close();
    await fake?.stop();
    removeSecret?.();
    outbound.stop();
  });

  it('authenticates the socket as Azure\'s client does: the ARM token as the first text frame, nothing in the URL', () => {
    const upgrades = fake.log.of('console').filter((e) => e.method === 'UPGRADE');
    assert.equal(upgrades.length, 1, 'one console socket');
    const u = upgrades[0]!;
    assert.match(u.url, /^\/ws\/[0-9a-f]+\/client$/, 'no token in the URL');
    assert.equal(u.authorization, undefined, 'no Authorization header on the upgrade');
    const token = fake.login.tokens.get(u.firstFrame ?? '');
    assert.ok(token, 'the first frame is a token the fake Entra issued');
    assert.equal(token.audience, fake.origin('arm'), 'for the configured ARM audience (credentials.scopes honoured)');
    assert.ok(fake.log.of('login').some((e) => e.url.endsWith('/v2.0/.well-known/openid-configuration')), 'OIDC discovery on the configured authority');
  });

  it('carries bytes both ways as raw bytes in text frames (non-UTF-8 included), to a writer and a viewer', async () => {
    const w = await gw.connect('web1', writer);
    const v = await gw.connect('web1', viewer, '?mode=read');
    await w.untilControl('hello');
    await v.untilControl('hello');
    assert.ok(!w.text.includes(HANDSHAKE_ANSWER) && !v.text.includes(HANDSHAKE_ANSWER), 'the handshake answer is not console output');
    const fromVm = Buffer.from([0x6c, 0x6f, 0x67, 0x69, 0x6e, 0x3a, 0x20, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x00, 0x0d, 0x0a]); // "login: " + invalid UTF-8 + NUL + CRLF
    const wMark = w.bytes.length;
    const vMark = v.bytes.length;
    fake.console.print(web1, fromVm);
    await w.until(() => w.bytes.length >= wMark + fromVm.length, 'the VM bytes at the writer');
    await v.until(() => v.bytes.length >= vMark + fromVm.length, 'the VM bytes at the viewer');
    assert.deepEqual(w.bytes.subarray(wMark, wMark + fromVm.length), fromVm);
    assert.deepEqual(v.bytes.subarray(vMark, vMark + fromVm.length), fromVm);

    const toVm = Buffer.from([0x72, 0x6f, 0x6f, 0x74, 0xff, 0x80, 0x00, 0x0d]);
    w.sendBytes(toVm);
    await waitFor(async () => (fake.console.received(web1).includes(toVm) ? true : undefined), 5000, 'the bytes at the VM');
    const session = fake.console.open(web1)[0]!;
    assert.ok(session.textFrames.length > 0 && session.textFrames.every((t) => t), 'keystrokes go as text frames, as Azure\'s CLI sends them');
    // The fake VM echoes: the echo comes back unchanged, to both.
    await w.until(() => w.bytes.includes(toVm), 'the echo at the writer');
    await v.until(() => v.bytes.includes(toVm), 'the echo at the viewer');

    // A viewer's bytes never reach the VM.
    const before = fake.console.received(web1).length;
    v.sendBytes('x');
    await v.untilControl('error', (m) => m.code === 'WriteNotAllowed');
    assert.equal(fake.console.received(web1).length, before);
    w.close();
    v.close();
  });

  it('a second writer takes the lease over; the first is told and demoted; both are audited', async () => {
    const a = await gw.connect('web1', writer);
    await a.untilControl('hello');
    const b = await gw.connect('web1', other);
    await b.untilControl('hello');
    await a.untilControl('lease', (m) => m.mode === 'read');
    b.sendBytes('whoami\r');
    await waitFor(async () => (fake.console.received(web1).includes(Buffer.from('whoami\r')) ? true : undefined), 5000, 'bob\'s bytes at the VM');
    const rows = gw.audit.query({ target: 'web1' }).rows;
    assert.ok(rows.some((r) => r.action === 'console.takeover' && r.actor === 'bob'), 'takeover audited');
    assert.ok(rows.filter((r) => r.action === 'console.attach').length >= 2);
    a.close();
    b.close();
  });

  it('Azure drops the socket: viewers are told, the gap is marked, the gateway reconnects with a new connect call', async () => {
    const c = await gw.connect('web1', writer);
    await c.untilControl('hello');
    const connects = fake.log.of('arm').filter((e) => e.url.includes('/serialPorts/0/connect')).length;
    fake.console.drop(web1);
    await c.untilControl('device', (m) => m.state === 'disconnected');
    await c.untilControl('device', (m) => m.state === 'reconnected', 10_000);
    assert.ok(fake.log.of('arm').filter((e) => e.url.includes('/serialPorts/0/connect')).length > connects, 'a fresh serialPorts/connect for the new socket');
    const mark = c.bytes.length;
    fake.console.print(web1, Buffer.from('after reconnect\r\n'));
    await c.untilText('after reconnect', 5000, mark);
    const actions = gw.audit.query({ target: 'web1' }).rows.map((r) => r.action);
    assert.ok(actions.includes('device.disconnected') && actions.includes('device.reconnected'));
    const captured = await gw.devices.get('web1')!.capture.read({});
    assert.ok(captured.gaps.some((g) => /^device disconnected: .*Azure closed the serial console socket/.test(g.reason)), `gap marked: ${JSON.stringify(captured.gaps)}`);
    const log = await gw.api('GET', '/api/v1/devices/web1/boot-diagnostics/serial-log?source=capture', writer);
    assert.equal(log.status, 200);
    assert.equal(log.headers['x-log-source'], 'capture');
    c.close();
  });

  it('a console URL off the allow-list is refused: the token is never sent there', async () => {
    await waitFor(async () => (gw.devices.get('evil1')!.refusal ? true : undefined), 10_000, 'evil1 refused');
    const r = gw.devices.get('evil1')!.refusal!;
    assert.equal(r.code, 'ConsoleHostRefused');
    assert.match(r.message, new RegExp(`host ${fake.host('evil').replace(/\./g, '\\.')} is not on the allow-list`));
    assert.match(r.message, /azure\.clouds\.fake\.consoleHosts/);
    await assert.rejects(gw.connect('evil1', writer), (e: { status?: number; body?: string }) => e.status === 409 && /ConsoleHostRefused/.test(e.body ?? ''));
    assert.equal(fake.log.of('evil').length, 0, 'the off-list host was never contacted');
    const view = await gw.api('GET', '/api/v1/devices/evil1', writer);
    assert.match(view.body.error, /not on the allow-list/);
  });

  it('every request the process made went to the configured fake endpoints; the token only to ARM and the console host', () => {
    const allowed = new Set(['login', 'arm', 'console', 'storage', 'evil'].map((f) => fake.host(f as 'arm')));
    const azureHosts = outbound.requests.filter((r) => !r.host.startsWith('127.0.0.1:'));
    assert.ok(azureHosts.length > 5, 'the recorder saw the SDK\'s requests');
    for (const r of azureHosts) assert.ok(allowed.has(r.host), `request to ${r.host}${r.path} is not to a fake endpoint`);
    assert.ok(!outbound.requests.some((r) => /azure\.com|microsoftonline|windows\.net|azure\.us|chinacloudapi/.test(r.host)), 'nothing to public Azure');
    assert.ok(outbound.requests.some((r) => r.host === fake.host('login')) && outbound.requests.some((r) => r.host === fake.host('console') && r.path.includes('/client')), 'token requests and the console upgrade were seen');
    const withToken = fake.log.entries.filter((e) => e.authorization?.startsWith('Bearer ') || (e.firstFrame !== undefined && fake.login.tokens.has(e.firstFrame)));
    assert.ok(withToken.length > 0);
    for (const e of withToken) assert.ok(e.server === 'arm' || e.server === 'console', `token sent to ${e.server}`);
  });
});
