// Settings that persist across restarts, the owner-only per-device console switch, and password change.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startTestGateway, tempDir } from './support/harness.js';

const CONFIG = `devices:
  - { id: lb-cfg, kind: loopback, group: lab }`;

describe('settings, switches and passwords', () => {
  const tmp = tempDir('tg-settings-');
  after(() => tmp.remove());

  it('settings changed over the API survive a restart and win over the config file', async () => {
    const gw = await startTestGateway(CONFIG, { dataDir: tmp.dir, keepData: true });
    const owner = await gw.tokenFor('olga', 'owner');
    const vmc = await gw.tokenFor('vik', 'vm-contributor');
    const put = await gw.api('PUT', '/api/v1/settings', owner, { serialConsole: { enabled: false }, requireJustification: true, console: { maxSessionSeconds: 3600 } });
    assert.equal(put.status, 200, put.text);
    const rows = gw.audit.query({ action: 'settings.update', limit: 10 }).rows;
    assert.deepEqual(rows.map((r) => [r.target, r.details.old, r.details.new]).sort(), [
      ['console.maxSessionSeconds', 43200, 3600],
      ['requireJustification', false, true],
      ['serialConsole.enabled', true, false],
    ]);
    assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { console: { idleTimeoutSeconds: -1 } })).status, 400);
    assert.equal((await gw.api('PUT', '/api/v1/settings', owner, {})).status, 400);
    assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { surprise: 1 })).status, 400);
    await gw.close();

    const again = await startTestGateway(CONFIG, { dataDir: tmp.dir, keepData: true });
    try {
      const token = again.identity.createToken(again.identity.findUserByName('olga')!.id, 't').secret;
      const s = await again.api('GET', '/api/v1/settings', token);
      assert.deepEqual(s.body, { serialConsole: { enabled: false }, requireJustification: true, console: { idleTimeoutSeconds: 1800, idleWarningSeconds: 60, maxSessionSeconds: 3600 } });
      const refused = await again.connect('lb-cfg', vmc, '?mode=read').then(() => 101, (e: { status: number; body: string }) => e);
      assert.equal((refused as { status: number }).status, 409);
      assert.match((refused as { body: string }).body, /ConsoleDisabled/);
    } finally {
      await again.close();
    }
  });

  it('only an owner turns a device console off or on; a contributor may change other fields; both audited', async () => {
    const gw = await startTestGateway(CONFIG);
    try {
      const owner = await gw.tokenFor('olga', 'owner');
      const contributor = await gw.tokenFor('carl', 'contributor');
      const groupOwner = await gw.tokenFor('gina', 'owner', '/groups/lab');
      assert.equal((await gw.api('POST', '/api/v1/devices', contributor, { id: 'lb-api', kind: 'loopback', group: 'lab' })).status, 201);
      const denied = await gw.api('PATCH', '/api/v1/devices/lb-api', contributor, { console: { enabled: false } });
      assert.equal(denied.status, 403, denied.text);
      assert.match(denied.body.error.message, /only an owner/);
      assert.ok(gw.audit.query({ action: 'access.denied', limit: 50 }).rows.some((r) => r.actor === 'carl' && r.reason === 'lacks console.switch'));
      assert.equal((await gw.api('PATCH', '/api/v1/devices/lb-api', contributor, { description: 'bench 3' })).status, 200);

      const off = await gw.api('PATCH', '/api/v1/devices/lb-api', groupOwner, { console: { enabled: false } });
      assert.equal(off.status, 200, off.text);
      assert.equal(off.body.console.enabled, false);
      const attach = await gw.connect('lb-api', owner, '?mode=read').then(() => 101, (e: { status: number }) => e.status);
      assert.equal(attach, 409);
      assert.equal((await gw.api('PATCH', '/api/v1/devices/lb-api', owner, { console: { enabled: true } })).status, 200);
      const updates = gw.audit.query({ action: 'device.update', target: 'lb-api', limit: 10 }).rows.filter((r) => r.details.setting === 'console.enabled');
      assert.deepEqual(updates.map((r) => [r.actor, r.details.old, r.details.new]).sort(), [['gina', true, false], ['olga', false, true]]);
    } finally {
      await gw.close();
    }
  });

  it('a user changes their own password: the old one stops working, other logins end, the browser stays signed in', async () => {
    const gw = await startTestGateway(CONFIG);
    try {
      const t = await gw.tokenFor('pat', 'reader');
      const login = (password: string) => gw.api('POST', '/api/v1/auth/login', undefined, { username: 'pat', password });
      const first = await login('pw-pat-long-enough');
      const second = await login('pw-pat-long-enough');
      const cookie = (r: typeof first) => [r.headers['set-cookie']].flat()[0]!.split(';')[0]!;
      const a = cookie(first);
      const b = cookie(second);

      const wrong = await gw.api('POST', '/api/v1/auth/password', undefined, { currentPassword: 'not it at all', newPassword: 'a new long password' }, { cookie: a, origin: gw.url });
      assert.equal(wrong.status, 403);
      const short = await gw.api('POST', '/api/v1/auth/password', undefined, { currentPassword: 'pw-pat-long-enough', newPassword: 'short' }, { cookie: a, origin: gw.url });
      assert.equal(short.status, 400);
      assert.equal(short.body.error.code, 'InvalidPassword');

      const ok = await gw.api('POST', '/api/v1/auth/password', undefined, { currentPassword: 'pw-pat-long-enough', newPassword: 'a new long password' }, { cookie: a, origin: gw.url });
      assert.equal(ok.status, 204, ok.text);
      const fresh = cookie(ok);
      assert.equal((await gw.api('GET', '/api/v1/auth/me', undefined, undefined, { cookie: fresh })).status, 200, 'this browser stays signed in');
      assert.equal((await gw.api('GET', '/api/v1/auth/me', undefined, undefined, { cookie: b })).status, 401, 'the other login ended');
      assert.equal((await gw.api('GET', '/api/v1/auth/me', undefined, undefined, { cookie: a })).status, 401, 'the old cookie of this browser too');
      assert.equal((await login('pw-pat-long-enough')).status, 401);
      assert.equal((await login('a new long password')).status, 200);
      assert.equal((await gw.api('GET', '/api/v1/auth/me', t)).status, 200, 'API tokens are not passwords: they keep working');
      const rows = gw.audit.query({ action: 'user.update', target: 'pat', limit: 10 }).rows;
      assert.deepEqual(rows.map((r) => r.outcome).sort(), ['denied', 'ok']);
    } finally {
      await gw.close();
    }
  });
});
