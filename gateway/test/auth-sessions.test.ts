// Sign-in and console access end to end over real TLS: login cookie, rate limits, CSRF and Origin,
// one-time tickets, justification, session time limits, and access revoked during a session.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsoleClient, startTestGateway, type TestGateway } from './support/harness.js';

const CONFIG = `auth:
  loginThrottle: { perUser: 3, perSource: 12, windowSeconds: 600 }
devices:
  - { id: lb-1, kind: loopback, group: lab, echo: true }
  - { id: lb-2, kind: loopback, group: lab, echo: true }
  - { id: far-1, kind: loopback, group: other }`;

const PASSWORD = 'correct horse battery';

describe('sign-in, tickets and live access checks', () => {
  let gw: TestGateway;
  let owner: string;
  let now = Date.now();
  before(async () => {
    gw = await startTestGateway(CONFIG, { clock: () => now });
    owner = await gw.tokenFor('olivia', 'owner');
  });
  after(() => gw.close());

  /** Creates a user with a role (through the API, as an owner would) and signs them in. */
  async function user(name: string, role: string, scope = '/'): Promise<void> {
    const r = await gw.api('POST', '/api/v1/users', owner, { name, password: PASSWORD, role, scope });
    assert.equal(r.status, 201, r.text);
  }
  async function login(name: string, password = PASSWORD) {
    return gw.api('POST', '/api/v1/auth/login', undefined, { username: name, password });
  }
  function cookieOf(r: { headers: Record<string, string | string[] | undefined> }): string {
    const set = [r.headers['set-cookie'] ?? []].flat();
    const c = set.find((x) => x.startsWith('ttygate_session='));
    assert.ok(c, `a session cookie is set: ${JSON.stringify(set)}`);
    return c.split(';')[0]!;
  }
  const asCookie = (cookie: string, extra: Record<string, string> = {}) => ({ cookie, ...extra });
  const rows = (action: string) => gw.audit.query({ action, limit: 1000 }).rows;

  describe('login and logout', () => {
    it('sets an HttpOnly, Secure, SameSite=Strict cookie that authenticates, and logout ends it server-side', async () => {
      await user('alice', 'vm-contributor', '/groups/lab');
      const r = await login('alice');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.name, 'alice');
      assert.deepEqual(r.body.roles, [{ role: 'vm-contributor', scope: '/groups/lab' }]);
      assert.equal(r.headers['cache-control'], 'no-store');
      const raw = [r.headers['set-cookie']].flat()[0]!;
      for (const flag of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) assert.ok(raw.includes(flag), `${flag} in ${raw}`);
      assert.match(raw, /Max-Age=43200/);
      assert.ok(!r.text.includes(raw.split(';')[0]!.split('=')[1]!), 'the secret is not in the body');
      const cookie = cookieOf(r);

      const me = await gw.api('GET', '/api/v1/auth/me', undefined, undefined, asCookie(cookie));
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.via, 'cookie');
      const list = await gw.api('GET', '/api/v1/devices', undefined, undefined, asCookie(cookie));
      assert.deepEqual(list.body.devices.map((d: { id: string }) => d.id), ['lb-1', 'lb-2'], 'only what her scope shows');
      assert.deepEqual(list.body.devices[0].access, ['device.read', 'console.read', 'diagnostics.read', 'console.write', 'device.control', 'device.power']);

      const out = await gw.api('POST', '/api/v1/auth/logout', undefined, undefined, asCookie(cookie, { origin: gw.url }));
      assert.equal(out.status, 204);
      assert.match([out.headers['set-cookie']].flat()[0]!, /ttygate_session=;.*Expires=Thu, 01 Jan 1970/);
      const stale = await gw.api('GET', '/api/v1/auth/me', undefined, undefined, asCookie(cookie));
      assert.equal(stale.status, 401, 'the old cookie no longer works');
      assert.equal(rows('auth.login').filter((x) => x.actor === 'alice').length, 1);
      assert.equal(rows('auth.logout').filter((x) => x.actor === 'alice').length, 1);
    });

    it('a wrong password, an unknown user and a disabled user get the same answer, and each failure is audited', async () => {
      await user('dora', 'reader');
      assert.equal((await gw.api('PATCH', '/api/v1/users/dora', owner, { disabled: true })).status, 200);
      const before = rows('auth.login.failed').length;
      const answers = [await login('alice', 'wrong password!'), await login('nobody-here', 'whatever123'), await login('dora')];
      for (const a of answers) {
        assert.equal(a.status, 401);
        assert.deepEqual(a.body, { error: { code: 'InvalidCredentials', message: 'wrong user name or password' } });
        assert.equal(a.headers['set-cookie'], undefined);
      }
      const failed = rows('auth.login.failed').slice(0, answers.length);
      assert.equal(rows('auth.login.failed').length - before, 3);
      assert.deepEqual(failed.map((x) => x.target).sort(), ['alice', 'dora', 'nobody-here']);
      assert.ok(failed.every((x) => x.outcome === 'denied' && x.reason === 'wrong user name or password'));
    });

    it('rate-limits failures per user (even the right password is then refused) and audits the refusals', async () => {
      await user('bruno', 'reader');
      for (let i = 0; i < 3; i++) assert.equal((await login('bruno', `nope-${i}-wrong`)).status, 401);
      const limited = await login('bruno');
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'TooManyAttempts');
      assert.ok(Number(limited.headers['retry-after']) > 500, `Retry-After ${limited.headers['retry-after']}`);
      assert.equal(limited.headers['set-cookie'], undefined);
      // An unknown name is limited exactly alike: nothing tells which names exist.
      for (let i = 0; i < 3; i++) await login('ghost-user', `nope-${i}-wrong`);
      const ghost = await login('ghost-user', 'nope-x-wrong');
      assert.equal(ghost.status, 429);
      assert.ok(rows('auth.login.failed').some((x) => x.target === 'bruno' && x.reason === 'too many failed attempts (per user)'));
    });

    it('rate-limits failures per source address across user names', async () => {
      // 12 per source in the window; this source has already failed 9 times above.
      let status = 0;
      for (let i = 0; i < 15 && status !== 429; i++) status = (await login(`spray-${i}`, 'password123')).status;
      assert.equal(status, 429);
      const r = await login('alice');
      assert.equal(r.status, 429, 'the source is limited whatever the name');
      assert.ok(rows('auth.login.failed').some((x) => x.reason === 'too many failed attempts (per source)'));
    });
  });

  describe('cookie requests from elsewhere', () => {
    let cookie: string;
    before(async () => {
      await user('carla', 'vm-contributor', '/groups/lab');
      // This address is rate-limited by now (tests above): sign in through the store instead.
      cookie = cookieFor('carla');
    });

    it('a state change authenticated by the cookie needs our Origin', async () => {
      const noOrigin = await gw.api('POST', '/api/v1/devices/lb-1/break', undefined, {}, asCookie(cookie));
      assert.equal(noOrigin.status, 403);
      assert.equal(noOrigin.body.error.code, 'OriginRefused');
      const foreign = await gw.api('POST', '/api/v1/devices/lb-1/break', undefined, {}, asCookie(cookie, { origin: 'https://evil.example' }));
      assert.equal(foreign.status, 403);
      const own = await gw.api('POST', '/api/v1/devices/lb-1/break', undefined, {}, asCookie(cookie, { origin: gw.url }));
      assert.equal(own.status, 200, own.text);
    });

    it('a cross-site WebSocket is refused even with a valid cookie; our own origin attaches', async () => {
      const refused = await gw.connect('lb-1', undefined, '', asCookie(cookie, { origin: 'https://evil.example' })).then(
        () => 101,
        (err: { status: number }) => err.status,
      );
      assert.equal(refused, 403);
      assert.ok(rows('access.denied').some((x) => x.reason === 'foreign origin' && x.details.origin === 'https://evil.example' && x.details.route === '/api/v1/devices/:id/console'));
      const ws = await gw.connect('lb-1', undefined, '', asCookie(cookie, { origin: gw.url }));
      await ws.untilControl('hello');
      ws.close();
    });
  });

  /** A login session made directly in the store, as a cookie header value. */
  function cookieFor(name: string): string {
    return `ttygate_session=${gw.webSessions.create(gw.identity.findUserByName(name)!.id, '127.0.0.1').secret}`;
  }

  describe('one-time console tickets', () => {
    let vmc: string;
    let viewer: string;
    before(async () => {
      vmc = await gw.tokenFor('tina', 'vm-contributor', '/groups/lab');
      viewer = await gw.tokenFor('vera', 'console-viewer', '/groups/lab');
    });

    it('returns a wss URL whose ticket opens that console once, for that user', async () => {
      const r = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', vmc, { mode: 'write', reason: 'CHG-1' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.match(r.body.url, /^wss:\/\/127\.0\.0\.1:\d+\/api\/v1\/devices\/lb-1\/console\?ticket=[A-Za-z0-9_-]{43}&mode=write$/);
      const ws = await ConsoleClient.open(r.body.url, gw.ca, {});
      await ws.untilControl('hello', (m) => m.mode === 'write');
      ws.sendBytes('hi\r');
      await ws.untilText('hi');
      const again = await ConsoleClient.open(r.body.url, gw.ca, {}).then(() => 101, (e: { status: number; body: string }) => e);
      assert.notEqual(again, 101);
      assert.equal((again as { status: number }).status, 401);
      assert.match((again as { body: string }).body, /already used/);
      ws.close();
      await ws.untilClosed();
      const attach = rows('console.attach').find((x) => x.actor === 'tina')!;
      assert.deepEqual(attach.details, { mode: 'write', via: 'ticket', justification: 'CHG-1' });
      assert.ok(rows('console.ticket').some((x) => x.actor === 'tina' && x.target === 'lb-1'));
      assert.ok(rows('auth.ticket.failed').some((x) => x.target === 'lb-1' && /already used/.test(x.reason ?? '')));
    });

    it('refuses an expired ticket and a ticket for another device', async () => {
      const late = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', vmc, { mode: 'read' });
      now += 30_001;
      const expired = await ConsoleClient.open(late.body.url, gw.ca, {}).then(() => 101, (e: { status: number; body: string }) => e);
      assert.equal((expired as { status: number }).status, 401);
      assert.match((expired as { body: string }).body, /expired/);
      const other = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', vmc, { mode: 'read' });
      const swapped = other.body.url.replace('/devices/lb-1/', '/devices/lb-2/');
      const wrong = await ConsoleClient.open(swapped, gw.ca, {}).then(() => 101, (e: { status: number; body: string }) => e);
      assert.equal((wrong as { status: number }).status, 401);
      assert.match((wrong as { body: string }).body, /another device/);
    });

    it('a read ticket cannot be turned into a write attach; a viewer cannot get a write ticket', async () => {
      const r = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', vmc, { mode: 'read' });
      const forced = await ConsoleClient.open(r.body.url.replace('mode=read', 'mode=write'), gw.ca, {}).then(() => 101, (e: { status: number }) => e.status);
      assert.equal(forced, 400);
      const denied = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', viewer, { mode: 'write' });
      assert.equal(denied.status, 403);
      const ok = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', viewer, { mode: 'read' });
      const ws = await ConsoleClient.open(ok.body.url, gw.ca, {});
      assert.equal((await ws.untilControl('hello')).mode, 'read');
      ws.close();
    });

    it('a ticket dies with the token it was asked with', async () => {
      const u = gw.identity.findUserByName('tina')!;
      const t = gw.identity.createToken(u.id, 'short-lived');
      const r = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', t.secret, { mode: 'read' });
      assert.equal((await gw.api('DELETE', `/api/v1/tokens/${t.id}`, t.secret)).status, 204);
      const refused = await ConsoleClient.open(r.body.url, gw.ca, {}).then(() => 101, (e: { status: number }) => e.status);
      assert.equal(refused, 401);
    });
  });

  describe('justification', () => {
    let vmc: string;
    before(async () => {
      vmc = await gw.tokenFor('jules', 'vm-contributor', '/groups/lab');
      assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { requireJustification: true })).status, 200);
    });
    after(async () => {
      assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { requireJustification: false })).status, 200);
    });

    it('a write attach needs a reason; read attaches do not; the reason is audited', async () => {
      const refused = await gw.connect('lb-1', vmc, '?mode=write').then(() => 101, (e: { status: number; body: string }) => e);
      assert.equal((refused as { status: number }).status, 400);
      assert.equal(JSON.parse((refused as { body: string }).body).error.code, 'JustificationRequired');
      assert.ok(rows('console.denied').some((x) => x.actor === 'jules' && x.reason === 'no justification given'));
      const noTicket = await gw.api('POST', '/api/v1/devices/lb-1/console/connect', vmc, { mode: 'write' });
      assert.equal(noTicket.status, 400);
      const viewer = await gw.connect('lb-1', vmc, '?mode=read');
      await viewer.untilControl('hello');
      viewer.sendControl({ type: 'takeover' });
      await viewer.untilControl('error', (m) => m.code === 'JustificationRequired');
      viewer.close();
      const ws = await gw.connect('lb-1', vmc, `?mode=write&reason=${encodeURIComponent('INC-7731 console hung')}`);
      await ws.untilControl('hello', (m) => m.mode === 'write');
      ws.close();
      assert.ok(rows('console.attach').some((x) => x.actor === 'jules' && x.details.justification === 'INC-7731 console hung'));
    });

    it('a power action needs a reason, stored with its audit row', async () => {
      const refused = await gw.api('POST', '/api/v1/devices/lb-1/power', vmc, { action: 'reset' });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'JustificationRequired');
      assert.ok(rows('device.power.reset').some((x) => x.outcome === 'denied' && x.actor === 'jules'));
      const ok = await gw.api('POST', '/api/v1/devices/lb-1/power', vmc, { action: 'reset', reason: 'CHG-99' });
      assert.equal(ok.status, 200, ok.text);
      assert.ok(rows('device.power.reset').some((x) => x.outcome === 'ok' && x.details.justification === 'CHG-99'));
    });
  });

  describe('session time limits', () => {
    let vmc: string;
    before(async () => {
      vmc = await gw.tokenFor('ivan', 'vm-contributor', '/groups/lab');
    });
    after(async () => {
      await gw.api('PUT', '/api/v1/settings', owner, { console: { idleTimeoutSeconds: 1800, idleWarningSeconds: 60, maxSessionSeconds: 43200 } });
    });

    it('warns an idle session, then closes it with 4010; typing keeps another alive; both audited', async () => {
      assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { console: { idleTimeoutSeconds: 3, idleWarningSeconds: 2 } })).status, 200);
      const idle = await gw.connect('lb-1', vmc, '?mode=read');
      const busy = await gw.connect('lb-2', vmc);
      await busy.untilControl('hello');
      const typing = setInterval(() => busy.sendBytes('.'), 400);
      try {
        const notice = await idle.untilControl('notice', (m) => m.code === 'IdleTimeoutSoon', 5000);
        assert.ok(notice.secondsLeft !== undefined && notice.secondsLeft <= 2 && notice.secondsLeft >= 1, JSON.stringify(notice));
        const closed = await idle.untilClosed(5000);
        assert.deepEqual(closed, { code: 4010, reason: 'idle timeout' });
        assert.equal(busy.closed, undefined, 'the typing session is still open');
        assert.ok(!busy.controls.some((m) => m.type === 'notice'), 'and was never warned');
      } finally {
        clearInterval(typing);
        busy.close();
      }
      assert.ok(rows('console.timeout').some((x) => x.actor === 'ivan' && x.target === 'lb-1' && x.details.limit === 'idle'));
    });

    it('closes a session at the maximum length with 4011, audited', async () => {
      await gw.api('PUT', '/api/v1/settings', owner, { console: { idleTimeoutSeconds: 0, maxSessionSeconds: 2 } });
      const ws = await gw.connect('lb-1', vmc);
      const typing = setInterval(() => ws.sendBytes('x'), 300);
      try {
        assert.deepEqual(await ws.untilClosed(5000), { code: 4011, reason: 'maximum session length reached' });
      } finally {
        clearInterval(typing);
      }
      assert.ok(rows('console.timeout').some((x) => x.actor === 'ivan' && x.details.limit === 'max-length'));
    });
  });

  describe('access revoked during a session', () => {
    it('removing the role ends the session (4003); removing write demotes a writer to viewer', async () => {
      await user('rita', 'vm-contributor', '/groups/lab');
      assert.equal((await gw.api('POST', '/api/v1/role-assignments', owner, { user: 'rita', role: 'console-viewer', scope: '/devices/lb-2' })).status, 201);
      const token = gw.identity.createToken(gw.identity.findUserByName('rita')!.id, 't').secret;
      const a = await gw.connect('lb-1', token);
      const b = await gw.connect('lb-2', token);
      await a.untilControl('hello', (m) => m.mode === 'write');
      await b.untilControl('hello', (m) => m.mode === 'write');

      const del = await gw.api('DELETE', '/api/v1/role-assignments', owner, { user: 'rita', role: 'vm-contributor', scope: '/groups/lab' });
      assert.equal(del.status, 204);
      assert.deepEqual(await a.untilClosed(3000), { code: 4003, reason: 'access revoked' });
      await b.untilControl('lease', (m) => m.holder === null && m.mode === 'read', 3000);
      await b.untilControl('notice', (m) => m.code === 'AccessChanged');
      b.sendBytes('ls\r');
      await b.untilControl('error', (m) => m.code === 'WriteNotAllowed');
      b.sendControl({ type: 'takeover' });
      await b.until(() => b.controls.filter((m) => m.type === 'error').length >= 2, 'takeover refused');
      assert.equal(b.closed, undefined, 'still viewing');
      b.close();
      const revoked = rows('console.revoked').filter((x) => x.actor === 'rita');
      assert.deepEqual(revoked.map((x) => [x.target, x.reason]).sort(), [['lb-1', 'access revoked'], ['lb-2', 'lost console.write']]);
    });

    it('logging out ends the console sessions opened with that login', async () => {
      await user('lena', 'vm-contributor', '/groups/lab');
      const cookie = cookieFor('lena');
      const ws = await gw.connect('lb-1', undefined, '?mode=read', asCookie(cookie, { origin: gw.url }));
      await ws.untilControl('hello');
      assert.equal((await gw.api('POST', '/api/v1/auth/logout', undefined, undefined, asCookie(cookie, { origin: gw.url }))).status, 204);
      assert.equal((await ws.untilClosed(3000)).code, 4003);
    });
  });

  it('token use is audited once per token and address, not per request', async () => {
    const t = await gw.tokenFor('uma', 'reader');
    for (let i = 0; i < 5; i++) assert.equal((await gw.api('GET', '/api/v1/devices', t)).status, 200);
    assert.equal(rows('auth.token.used').filter((x) => x.actor === 'uma').length, 1);
  });

  it('the audit chain is intact after all of the above', () => {
    assert.equal(gw.audit.verify().ok, true);
  });
});
