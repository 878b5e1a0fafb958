// Devices over REST: create, read, update, delete, permissions, persistence and capture across a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PtyPair, startTestGateway, tempDir, type TestGateway, waitFor } from './support/harness.js';

describe('device management over REST', { concurrency: false }, () => {
  const tmp = tempDir('devapi');
  const pty = new PtyPair(tmp.dir);
  let gw: TestGateway;
  let owner: string;
  let contributor: string;
  let vmc: string;

  before(async () => {
    await pty.start();
    gw = await startTestGateway(`devices:\n  - { id: fixed, kind: serial, path: ${tmp.dir}/none }`, { dataDir: `${tmp.dir}/data`, keepData: true });
    owner = await gw.tokenFor('own', 'owner');
    contributor = await gw.tokenFor('con', 'contributor');
    vmc = await gw.tokenFor('vmc', 'vm-contributor');
  });
  after(async () => {
    await gw?.close();
    await pty.stop();
    tmp.remove();
  });

  it('a contributor creates a device; it opens and is listed', async () => {
    const r = await gw.api('POST', '/api/v1/devices', contributor, { id: 'bench-a', kind: 'serial', path: pty.device, group: 'bench' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.devices[0].id, 'bench-a');
    const one = await waitFor(async () => {
      const d = await gw.api('GET', '/api/v1/devices/bench-a', owner);
      return d.body.state === 'connected' ? d : undefined;
    });
    assert.equal(one.body.kind, 'serial');
    assert.equal(one.body.source, 'api');
    assert.equal(one.body.capabilities.nmi.supported, false);
  });

  it('a vm-contributor may not create devices (403), bad specs are 400 naming the field', async () => {
    assert.equal((await gw.api('POST', '/api/v1/devices', vmc, { id: 'x', kind: 'serial', path: '/dev/null' })).status, 403);
    const bad = await gw.api('POST', '/api/v1/devices', owner, { id: 'x', kind: 'serial', path: '/dev/x', baudRate: 'fast' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.message, 'device.baudRate: must be integer');
    const dup = await gw.api('POST', '/api/v1/devices', owner, { id: 'bench-a', kind: 'serial', path: '/dev/x' });
    assert.equal(dup.status, 409);
  });

  it('PATCH changes an API device; config devices are refused with 409', async () => {
    const r = await gw.api('PATCH', '/api/v1/devices/bench-a', owner, { description: 'rack 4, slot 2' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.description, 'rack 4, slot 2');
    assert.equal((await gw.api('PATCH', '/api/v1/devices/fixed', owner, { description: 'x' })).body.error.code, 'ConfigManaged');
    assert.equal((await gw.api('DELETE', '/api/v1/devices/fixed', owner)).status, 409);
  });

  it('persists API devices and their capture across a gateway restart', async () => {
    await waitFor(async () => (gw.devices.get('bench-a')?.state === 'connected' ? true : undefined));
    await pty.print('before the restart\r\n');
    await waitFor(async () => ((await gw.api('GET', '/api/v1/devices/bench-a/boot-diagnostics/serial-log', owner)).text.includes('before the restart') ? true : undefined));
    await gw.close(); // flushes the capture to disk
    gw = await startTestGateway(`devices:\n  - { id: fixed, kind: serial, path: ${tmp.dir}/none }`, { dataDir: `${tmp.dir}/data`, keepData: true });
    assert.ok(gw.devices.get('bench-a'), 'the API device came back');
    const log = await gw.api('GET', '/api/v1/devices/bench-a/boot-diagnostics/serial-log', owner);
    assert.match(log.text, /before the restart/);
    await waitFor(async () => (gw.devices.get('bench-a')?.state === 'connected' ? true : undefined));
    await pty.print('after the restart\r\n');
    const log2 = await waitFor(async () => {
      const l = await gw.api('GET', `/api/v1/devices/bench-a/boot-diagnostics/serial-log?since=${log.headers['x-log-end-offset']}`, owner);
      return l.text.includes('after the restart') ? l : undefined;
    });
    assert.ok(!log2.text.includes('before the restart'), 'since= reads only the newer bytes');
  });

  it('DELETE removes it, and the audit log has every change', async () => {
    assert.equal((await gw.api('DELETE', '/api/v1/devices/bench-a', owner)).status, 204);
    assert.equal((await gw.api('GET', '/api/v1/devices/bench-a', owner)).status, 404);
    const actions = gw.audit.query({ target: 'bench-a', limit: 100 }).rows.map((r) => r.action);
    for (const a of ['device.create', 'device.update', 'device.delete']) assert.ok(actions.includes(a as never), `${a} in ${actions.join(',')}`);
    assert.equal(gw.audit.verify().ok, true);
  });
});

