// Administration and audit over REST: users, role assignments, the last owner, settings, audit query, verify, tampering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startTestGateway, type TestGateway } from './support/harness.js';

const CONFIG = `devices:
  - { id: lb-1, kind: loopback, group: lab }
  - { id: lb-2, kind: loopback, group: other }`;

describe('administration and audit API', { concurrency: false }, () => {
  let gw: TestGateway;
  let owner: string;
  let reader: string;
  let auditor: string;
  let vmc: string;
  /** Second connection to the gateway's database, as an attacker (or a test) with file access has. */
  let raw: Database.Database;

  before(async () => {
    gw = await startTestGateway(CONFIG);
    [owner, reader, auditor, vmc] = await Promise.all([
      gw.tokenFor('own', 'owner'),
      gw.tokenFor('rdr', 'reader'),
      gw.tokenFor('aud', 'auditor'),
      gw.tokenFor('vmc', 'vm-contributor', '/groups/lab'),
    ]);
    raw = new Database(join(gw.dataDir, 'ttygate.db'));
  });
  after(async () => {
    raw?.close();
    await gw?.close();
  });

  /**
   * Node's http client sends a DELETE body without Content-Length (nor chunked), so the server
   * never sees it: say the length (the harness does not).
   */
  const sized = (body: unknown) => ({ 'content-length': String(Buffer.byteLength(JSON.stringify(body))) });
  const revoke = (body: unknown, token = owner) => gw.api('DELETE', '/api/v1/role-assignments', token, body, sized(body));
  const rows = (q: Record<string, string | number> = {}) => gw.audit.query({ limit: 1000, order: 'desc', ...q }).rows;

  describe('users', () => {
    it('only an owner lists users, and the listing never carries a hash', async () => {
      for (const t of [reader, auditor, vmc]) {
        const r = await gw.api('GET', '/api/v1/users', t);
        assert.equal(r.status, 403, r.text);
        assert.equal(r.body.error.code, 'Forbidden');
      }
      assert.equal((await gw.api('GET', '/api/v1/users', undefined)).status, 401);
      const r = await gw.api('GET', '/api/v1/users', owner);
      assert.equal(r.status, 200, r.text);
      const names = r.body.users.map((u: { name: string }) => u.name);
      for (const n of ['admin', 'own', 'rdr', 'aud', 'vmc']) assert.ok(names.includes(n), names.join());
      assert.doesNotMatch(r.text, /hash|scrypt|password_|"password"/i);
      const vmcUser = r.body.users.find((u: { name: string }) => u.name === 'vmc');
      assert.deepEqual(vmcUser.roles.map((a: { role: string; scope: string }) => [a.role, a.scope]), [['vm-contributor', '/groups/lab']]);
      assert.equal(vmcUser.disabled, false);
    });

    it('creates a user with a password, a role and a scope; both changes are audited', async () => {
      const r = await gw.api('POST', '/api/v1/users', owner, { name: 'carol', password: 'correct horse battery', role: 'console-viewer', scope: '/groups/lab' });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.user.name, 'carol');
      assert.equal(r.body.password, undefined, 'a given password is not echoed');
      assert.deepEqual(r.body.user.roles.map((a: { role: string; scope: string }) => [a.role, a.scope]), [['console-viewer', '/groups/lab']]);
      assert.ok(await gw.identity.verifyPassword('carol', 'correct horse battery'));
      const audit = rows({ target: 'carol' });
      const create = audit.find((a) => a.action === 'user.create')!;
      const assign = audit.find((a) => a.action === 'role.assign')!;
      assert.equal(create.actor, 'own');
      assert.equal(create.source, '127.0.0.1');
      assert.deepEqual({ role: create.details.role, scope: create.details.scope, generated: create.details.passwordGenerated }, { role: 'console-viewer', scope: '/groups/lab', generated: false });
      assert.deepEqual([assign.actor, assign.details.role, assign.details.scope], ['own', 'console-viewer', '/groups/lab']);
      assert.ok(!JSON.stringify(audit).includes('correct horse'), 'the password is not in the audit log');
    });

    it('generates a password when none is given and returns it once', async () => {
      const r = await gw.api('POST', '/api/v1/users', owner, { name: 'dave' });
      assert.equal(r.status, 201, r.text);
      assert.equal(typeof r.body.password, 'string');
      assert.ok(r.body.password.length >= 20);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.deepEqual(r.body.user.roles, []);
      assert.ok(await gw.identity.verifyPassword('dave', r.body.password));
      assert.equal(rows({ target: 'dave', action: 'user.create' })[0]!.details.passwordGenerated, true);
      const list = await gw.api('GET', '/api/v1/users', owner);
      assert.ok(!list.text.includes(r.body.password));
    });

    it('refuses bad input with the identity error codes', async () => {
      const cases: Array<[unknown, number, string]> = [
        [{ name: 'carol', password: 'another long one' }, 409, 'UserExists'],
        [{ name: 'CAROL', password: 'another long one' }, 409, 'UserExists'],
        [{ name: 'bad/name', password: 'another long one' }, 400, 'InvalidUserName'],
        [{ name: 'system', password: 'another long one' }, 400, 'InvalidUserName'],
        [{ name: 'erin', password: 'short' }, 400, 'InvalidPassword'],
        [{ name: 'erin', role: 'root' }, 400, 'InvalidRole'],
        [{ name: 'erin', role: 'reader', scope: '/racks/1' }, 400, 'InvalidScope'],
        [{ name: 'erin', scope: '/' }, 400, 'BadRequest'],
        [{ name: 'erin', password: 'long enough pw', isAdmin: true }, 400, 'ValidationFailed'],
        [{}, 400, 'ValidationFailed'],
      ];
      for (const [body, status, code] of cases) {
        const r = await gw.api('POST', '/api/v1/users', owner, body);
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.body.error.code, code, JSON.stringify(body));
      }
      assert.equal(gw.identity.findUserByName('erin'), undefined);
    });

    it('PATCH disables (tokens stop working, console sessions end), re-enables and changes the password', async () => {
      const token = await gw.tokenFor('frank', 'vm-contributor');
      const ws = await gw.connect('lb-1', token);
      await ws.untilControl('hello');
      const off = await gw.api('PATCH', '/api/v1/users/frank', owner, { disabled: true });
      assert.equal(off.status, 200, off.text);
      assert.equal(off.body.disabled, true);
      assert.equal((await ws.untilClosed()).code, 1008);
      assert.equal((await gw.api('GET', '/api/v1/devices', token)).status, 401);
      const update = rows({ target: 'frank', action: 'user.update' })[0]!;
      assert.deepEqual(update.details.fields, ['disabled']);
      assert.equal(update.details.disabled, true);
      assert.equal(rows({ target: 'lb-1', action: 'session.end' })[0]!.details.user, 'frank');
      assert.equal(rows({ target: 'lb-1', action: 'console.revoked' }).length, 0, 'ended once, audited once');

      const on = await gw.api('PATCH', '/api/v1/users/FRANK', owner, { disabled: false });
      assert.equal(on.status, 200, on.text);
      assert.equal((await gw.api('GET', '/api/v1/devices', token)).status, 200);

      const pw = await gw.api('PATCH', '/api/v1/users/frank', owner, { password: 'a brand new password' });
      assert.equal(pw.status, 200, pw.text);
      assert.ok(await gw.identity.verifyPassword('frank', 'a brand new password'));
      assert.equal(await gw.identity.verifyPassword('frank', 'pw-frank-long-enough'), undefined);
      assert.deepEqual(rows({ target: 'frank', action: 'user.update' })[0]!.details.fields, ['password']);

      assert.equal((await gw.api('PATCH', '/api/v1/users/nobody', owner, { disabled: true })).body.error.code, 'UserNotFound');
      assert.equal((await gw.api('PATCH', '/api/v1/users/frank', owner, {})).status, 400);
      assert.equal((await gw.api('PATCH', '/api/v1/users/frank', owner, { password: 'short' })).body.error.code, 'InvalidPassword');
      assert.equal((await gw.api('PATCH', '/api/v1/users/frank', reader, { disabled: true })).status, 403);
    });
  });

  describe('role assignments', () => {
    it('grants, lists and revokes; each change audited; the grant takes effect at once', async () => {
      const dave = await gw.tokenFor('dave', 'reader', '/devices/lb-2');
      assert.equal((await gw.api('GET', '/api/v1/devices/lb-1', dave)).status, 404);
      const add = await gw.api('POST', '/api/v1/role-assignments', owner, { user: 'dave', role: 'reader', scope: '/groups/lab' });
      assert.equal(add.status, 201, add.text);
      assert.deepEqual([add.body.assignment.user, add.body.assignment.role, add.body.assignment.scope, add.body.created], ['dave', 'reader', '/groups/lab', true]);
      assert.equal((await gw.api('GET', '/api/v1/devices/lb-1', dave)).status, 200);
      const again = await gw.api('POST', '/api/v1/role-assignments', owner, { user: 'dave', role: 'reader', scope: '/groups/lab' });
      assert.equal(again.status, 200);
      assert.equal(again.body.created, false);
      assert.equal(rows({ target: 'dave', action: 'role.assign' }).filter((r) => r.details.scope === '/groups/lab').length, 1, 'a no-op is not a change');

      const list = await gw.api('GET', '/api/v1/role-assignments', owner);
      assert.equal(list.status, 200);
      assert.ok(list.body.assignments.some((a: { user: string; role: string; scope: string }) => a.user === 'dave' && a.role === 'reader' && a.scope === '/groups/lab'));
      assert.equal((await gw.api('GET', '/api/v1/role-assignments', auditor)).status, 403);

      const del = await revoke({ user: 'dave', role: 'reader', scope: '/groups/lab' });
      assert.equal(del.status, 204, del.text);
      assert.equal((await gw.api('GET', '/api/v1/devices/lb-1', dave)).status, 404);
      const revokeRow = rows({ target: 'dave', action: 'role.revoke' })[0]!;
      assert.deepEqual([revokeRow.actor, revokeRow.details.role, revokeRow.details.scope], ['own', 'reader', '/groups/lab']);
      // The same grant named in the query string (for clients that cannot send a DELETE body): gone now.
      const gone = await gw.api('DELETE', `/api/v1/role-assignments?user=dave&role=reader&scope=${encodeURIComponent('/groups/lab')}`, owner);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, 'AssignmentNotFound');
    });

    it('refuses unknown users, roles and scopes', async () => {
      const cases: Array<[unknown, number, string]> = [
        [{ user: 'nobody', role: 'reader', scope: '/' }, 404, 'UserNotFound'],
        [{ user: 'dave', role: 'god', scope: '/' }, 400, 'InvalidRole'],
        [{ user: 'dave', role: 'reader', scope: 'groups/lab' }, 400, 'InvalidScope'],
        [{ user: 'dave', role: 'reader' }, 400, 'ValidationFailed'],
      ];
      for (const [body, status, code] of cases) {
        for (const method of ['POST', 'DELETE']) {
          const r = await gw.api(method, '/api/v1/role-assignments', owner, body, sized(body));
          assert.equal(r.status, status, `${method} ${JSON.stringify(body)}: ${r.text}`);
          assert.equal(r.body.error.code, code);
        }
      }
      assert.equal((await gw.api('POST', '/api/v1/role-assignments', vmc, { user: 'vmc', role: 'owner', scope: '/' })).status, 403, 'no self-promotion');
    });
  });

  describe('the last owner', () => {
    it('cannot be disabled or lose owner on /; group owners and disabled owners do not count', async () => {
      // Two owners on "/": the first-start admin and "own". Disable admin: "own" is left.
      assert.equal((await gw.api('PATCH', '/api/v1/users/admin', owner, { disabled: true })).status, 200);
      assert.equal((await gw.api('POST', '/api/v1/role-assignments', owner, { user: 'carol', role: 'owner', scope: '/groups/lab' })).status, 201);

      const disable = await gw.api('PATCH', '/api/v1/users/own', owner, { disabled: true });
      assert.equal(disable.status, 409, disable.text);
      assert.equal(disable.body.error.code, 'LastOwner');
      const refused = await revoke({ user: 'own', role: 'owner', scope: '/' });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'LastOwner');
      // A combined change is refused as a whole: the password does not change either.
      const both = await gw.api('PATCH', '/api/v1/users/own', owner, { password: 'would be new password', disabled: true });
      assert.equal(both.body.error.code, 'LastOwner');
      assert.ok(await gw.identity.verifyPassword('own', 'pw-own-long-enough'), 'password unchanged');
      assert.equal((await gw.api('GET', '/api/v1/auth/me', owner)).status, 200, 'still an owner');

      // With a second owner on "/" the first may step down.
      assert.equal((await gw.api('POST', '/api/v1/role-assignments', owner, { user: 'carol', role: 'owner', scope: '/' })).status, 201);
      assert.equal((await gw.api('PATCH', '/api/v1/users/admin', owner, { disabled: false })).status, 200);
      assert.equal((await revoke({ user: 'carol', role: 'owner', scope: '/' })).status, 204);
    });
  });

  describe('settings', () => {
    it('the owner turns the serial console off for the whole gateway and on again; both audited', async () => {
      const defaults = { serialConsole: { enabled: true }, requireJustification: false, console: { idleTimeoutSeconds: 1800, idleWarningSeconds: 60, maxSessionSeconds: 43200 } };
      assert.deepEqual((await gw.api('GET', '/api/v1/settings', owner)).body, defaults);
      assert.equal((await gw.api('GET', '/api/v1/settings', reader)).status, 403);
      assert.equal((await gw.api('PUT', '/api/v1/settings', vmc, { serialConsole: { enabled: false } })).status, 403);
      assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { serialConsole: {} })).status, 400);
      assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { serialConsole: { enabled: 'no' } })).status, 400);

      const off = await gw.api('PUT', '/api/v1/settings', owner, { serialConsole: { enabled: false } });
      assert.equal(off.status, 200, off.text);
      assert.deepEqual(off.body, { ...defaults, serialConsole: { enabled: false } });
      const refused = await gw.connect('lb-1', vmc).then(
        () => assert.fail('attach should be refused'),
        (err: { status: number; body: string }) => err,
      );
      assert.equal(refused.status, 409);
      assert.equal(JSON.parse(refused.body).error.code, 'ConsoleDisabled');

      assert.equal((await gw.api('PUT', '/api/v1/settings', owner, { serialConsole: { enabled: true } })).status, 200);
      const ws = await gw.connect('lb-1', vmc);
      await ws.untilControl('hello');
      ws.close();

      const changes = rows({ action: 'settings.update' });
      assert.equal(changes.length, 2);
      assert.deepEqual(changes.map((r) => [r.actor, r.target, r.details.old, r.details.new]), [
        ['own', 'serialConsole.enabled', false, true],
        ['own', 'serialConsole.enabled', true, false],
      ]);
    });
  });

  describe('fail closed', () => {
    it('a change whose audit row cannot be written is not made', async () => {
      raw.exec(`CREATE TRIGGER test_block_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
      try {
        const user = await gw.api('POST', '/api/v1/users', owner, { name: 'ghost', password: 'never to exist', role: 'owner' });
        assert.equal(user.status, 503, user.text);
        assert.equal(user.body.error.code, 'AuditUnavailable');
        assert.equal(gw.identity.findUserByName('ghost'), undefined, 'user creation rolled back');
        const grant = await gw.api('POST', '/api/v1/role-assignments', owner, { user: 'dave', role: 'owner', scope: '/' });
        assert.equal(grant.status, 503);
        assert.ok(!gw.identity.rolesOf(gw.identity.findUserByName('dave')!.id).some((a) => a.role === 'owner'), 'grant rolled back');
        const off = await gw.api('PUT', '/api/v1/settings', owner, { serialConsole: { enabled: false } });
        assert.equal(off.status, 503);
        assert.equal((await gw.api('GET', '/api/v1/settings', owner)).body.serialConsole.enabled, true, 'the switch did not move');
      } finally {
        raw.exec('DROP TRIGGER test_block_audit');
      }
    });
  });

  describe('audit log', () => {
    it('auditors and owners read it; others may not', async () => {
      assert.equal((await gw.api('GET', '/api/v1/audit', auditor)).status, 200);
      assert.equal((await gw.api('GET', '/api/v1/audit', owner)).status, 200);
      for (const t of [reader, vmc]) assert.equal((await gw.api('GET', '/api/v1/audit', t)).status, 403);
      assert.equal((await gw.api('GET', '/api/v1/audit/verify', reader)).status, 403);
      assert.equal((await gw.api('GET', '/api/v1/audit', undefined)).status, 401);
    });

    it('filters by actor, device, action (exact and prefix), outcome and time', async () => {
      const get = async (q: string) => {
        const r = await gw.api('GET', `/api/v1/audit?limit=1000&${q}`, auditor);
        assert.equal(r.status, 200, `${q}: ${r.text}`);
        return r.body.rows as Array<{ id: number; actor: string; action: string; target: string; outcome: string; time: string; hash: string }>;
      };
      const byActor = await get('actor=own');
      assert.ok(byActor.length > 5);
      assert.ok(byActor.every((r) => r.actor === 'own'));
      const byDevice = await get('device=lb-1');
      assert.ok(byDevice.some((r) => r.action === 'console.attach'));
      assert.ok(byDevice.every((r) => r.target === 'lb-1'));
      const exact = await get('action=user.create');
      assert.ok(exact.length >= 3 && exact.every((r) => r.action === 'user.create'));
      const prefix = await get(`action=${encodeURIComponent('role.*')}`);
      assert.deepEqual([...new Set(prefix.map((r) => r.action))].sort(), ['role.assign', 'role.revoke']);
      const denied = await get('outcome=denied');
      assert.ok(denied.length > 0 && denied.every((r) => r.outcome === 'denied'));
      assert.ok(denied.some((r) => r.action === 'access.denied'));
      const combined = await get(`actor=own&action=${encodeURIComponent('user.*')}&outcome=ok`);
      assert.ok(combined.every((r) => r.actor === 'own' && r.action.startsWith('user.')));

      const all = await get('');
      const mid = all[Math.floor(all.length / 2)]!;
      const fromMid = await get(`from=${encodeURIComponent(mid.time)}`);
      assert.ok(fromMid.every((r) => r.time >= mid.time) && fromMid.some((r) => r.id === mid.id));
      const toMid = await get(`to=${encodeURIComponent(mid.time)}`);
      assert.ok(toMid.every((r) => r.time < mid.time));
      assert.equal(fromMid.length + toMid.length, all.length);

      for (const bad of ['limit=0', 'limit=1001', 'from=yesterday', 'outcome=maybe', 'afterId=-1', `action=${encodeURIComponent('DROP TABLE')}`]) {
        const r = await gw.api('GET', `/api/v1/audit?${bad}`, auditor);
        assert.equal(r.status, 400, `${bad}: ${r.text}`);
      }
    });

    it('pages with limit and afterId until next is null', async () => {
      const total = gw.audit.query({ limit: 1000 }).rows.length;
      const seen: number[] = [];
      let after = 0;
      for (let pages = 0; ; pages++) {
        assert.ok(pages < 100);
        const r = await gw.api('GET', `/api/v1/audit?limit=7&afterId=${after}`, auditor);
        assert.equal(r.status, 200);
        assert.ok(r.body.rows.length <= 7);
        seen.push(...r.body.rows.map((x: { id: number }) => x.id));
        if (r.body.next === null) break;
        assert.equal(r.body.next, r.body.rows.at(-1).id);
        after = r.body.next;
      }
      assert.ok(seen.length >= total);
      assert.deepEqual(seen, seen.map((_, i) => i + 1), 'every row once, in order');
      const def = await gw.api('GET', '/api/v1/audit', auditor);
      assert.equal(def.body.rows.length, Math.min(100, seen.length), 'default page size 100');
      const newest = await gw.api('GET', '/api/v1/audit?order=desc&limit=2', auditor);
      const ids = newest.body.rows.map((r: { id: number }) => r.id);
      assert.equal(ids.length, 2);
      assert.ok(ids[0] >= seen.at(-1)! && ids[1] === ids[0] - 1, `newest first: ${ids}`);
      assert.equal(newest.body.next, ids[1]);
      const older = await gw.api('GET', `/api/v1/audit?order=desc&limit=2&beforeId=${newest.body.next}`, auditor);
      assert.ok(older.body.rows.every((r: { id: number }) => r.id < newest.body.next));
    });

    it('verify reports the whole chain as intact', async () => {
      const r = await gw.api('GET', '/api/v1/audit/verify', auditor);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.ok, true);
      assert.ok(r.body.rows > 20);
      assert.match(r.body.lastHash, /^[0-9a-f]{64}$/);
    });

    it('a byte changed in one row (triggers dropped by someone with file access) is named by verify', async () => {
      const victim = rows({ action: 'user.create' }).find((r) => r.target === 'carol')!;
      raw.exec('DROP TRIGGER audit_log_no_update');
      const stored = (raw.prepare('SELECT details FROM audit_log WHERE id = ?').get(victim.id) as { details: string }).details;
      const i = stored.indexOf('console-viewer');
      assert.ok(i > 0, stored);
      const forged = `${stored.slice(0, i)}C${stored.slice(i + 1)}`; // one byte: c → C
      assert.equal(Buffer.byteLength(forged), Buffer.byteLength(stored));
      raw.prepare('UPDATE audit_log SET details = ? WHERE id = ?').run(forged, victim.id);

      const r = await gw.api('GET', '/api/v1/audit/verify', auditor);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { ok: false, firstBadId: victim.id, reason: 'hash does not match the row content (the row was changed)' });
    });
  });
});
