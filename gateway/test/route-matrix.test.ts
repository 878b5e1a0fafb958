// The role × endpoint matrix, generated from the live route table: every REST route and the console
// WebSocket, for every built-in role at `/`, at a group holding the device and at a group that does
// not, plus no credentials at all. A route that declares no permission (or one this file has no
// expectation for) fails the test, so a new route cannot ship without a rule.
//
// The expectations below are written out from DESIGN.md ("Principals and roles") on purpose, not
// imported from src/http/permissions.ts: the test checks the implementation, not itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteTableEntry } from '../src/http/app.js';
import { ConsoleClient, startTestGateway, type TestGateway } from './support/harness.js';

const ROLES = ['reader', 'console-viewer', 'vm-contributor', 'contributor', 'owner', 'auditor'] as const;
type Role = (typeof ROLES)[number];

const DEVICE = 'mx-1';
const GROUP = 'lab';
/** Scopes each role is tried at: everything, a group holding the device, a group that does not. */
const SCOPES = { root: '/', inside: `/groups/${GROUP}`, outside: '/groups/elsewhere' } as const;
type ScopeKind = keyof typeof SCOPES;

const CONFIG = `devices:
  - { id: ${DEVICE}, kind: loopback, group: ${GROUP}, echo: true }
  - { id: far-1, kind: loopback, group: elsewhere }`;

// ---- what each role may do (DESIGN.md), least to most, and auditor apart ------------------------

const READER = ['device.read', 'token.self'];
const VIEWER = [...READER, 'console.read', 'diagnostics.read'];
const VM_CONTRIBUTOR = [...VIEWER, 'console.write', 'device.control', 'device.power'];
const CONTRIBUTOR = [...VM_CONTRIBUTOR, 'device.manage'];
const GRANTS: Record<Role, ReadonlySet<string>> = {
  reader: new Set(READER),
  'console-viewer': new Set(VIEWER),
  'vm-contributor': new Set(VM_CONTRIBUTOR),
  contributor: new Set(CONTRIBUTOR),
  owner: new Set([...CONTRIBUTOR, 'console.switch', 'session.manage', 'audit.read', 'admin']),
  auditor: new Set(['device.read', 'audit.read', 'token.self']),
};
/** Every permission a route may declare, and where a grant must sit for it to count. */
const WHERE: Record<string, 'anywhere' | 'device-scope' | 'root-only'> = {
  'device.read': 'device-scope',
  'console.read': 'device-scope',
  'diagnostics.read': 'device-scope',
  'console.write': 'device-scope',
  'device.control': 'device-scope',
  'device.power': 'device-scope',
  'device.manage': 'device-scope',
  'console.switch': 'device-scope',
  'session.manage': 'root-only',
  'audit.read': 'root-only',
  admin: 'root-only',
  // Every user manages their own API tokens and may ask who they are, whatever their scope.
  'token.self': 'anywhere',
};

interface Principal {
  readonly label: string;
  readonly role?: Role;
  readonly scope?: ScopeKind;
  token?: string;
}

type Expect = 'allowed' | 'forbidden' | 'hidden' | 'unauthenticated';

/** What `p` should get from a route declaring `permission` on `target`. */
function expectation(permission: string, target: RouteTableEntry['target'], p: Principal): Expect {
  if (permission === 'public') return 'allowed';
  if (!p.role) return 'unauthenticated';
  const where = WHERE[permission];
  assert.ok(where, `no expectation for permission "${permission}": add it to WHERE in this test`);
  const granted = GRANTS[p.role].has(permission);
  if (target === 'filtered') return 'allowed'; // any caller; the handler filters what it shows
  if (target === 'device') {
    const covers = p.scope === 'root' || p.scope === 'inside';
    const visible = covers && GRANTS[p.role].has('device.read');
    if (!visible) return 'hidden';
    if (!granted) return 'forbidden';
    return where === 'root-only' && p.scope !== 'root' ? 'forbidden' : 'allowed';
  }
  // global (or no target: treated as global by the access plugin)
  if (!granted) return 'forbidden';
  if (where === 'anywhere' || p.scope === 'root') return 'allowed';
  return 'forbidden';
}

interface Outcome {
  status: number;
  code: string | undefined;
}

function check(expected: Expect, got: Outcome, what: string): void {
  const msg = `${what}: expected ${expected}, got ${got.status} ${got.code ?? ''}`;
  switch (expected) {
    case 'unauthenticated':
      assert.equal(got.status, 401, msg);
      break;
    case 'forbidden':
      assert.equal(got.status, 403, msg);
      break;
    case 'hidden':
      // A device outside the caller's scope does not exist for them.
      assert.equal(got.status, 404, msg);
      if (got.code !== undefined) assert.equal(got.code, 'DeviceNotFound', msg);
      break;
    case 'allowed':
      assert.ok(![401, 403].includes(got.status), msg);
      assert.notEqual(got.code, 'DeviceNotFound', msg);
      assert.notEqual(got.status, 500, msg); // allowed, but the handler crashed on a plain request
      break;
  }
}

/** A concrete path for a route pattern: the device for `:id`, harmless unknowns for the rest. */
function pathFor(url: string): string {
  const fill: Record<string, string> = { id: DEVICE, sid: 'no-such-session', tokenId: 'no-such-token', name: 'no-such-user' };
  return url.replace(/:([A-Za-z_]+)/g, (_, p: string) => encodeURIComponent(fill[p] ?? 'x'));
}

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('role × endpoint matrix (generated from the route table)', () => {
  let gw: TestGateway;
  let routes: readonly RouteTableEntry[];
  const principals: Principal[] = [{ label: 'anonymous' }];
  for (const role of ROLES) for (const scope of Object.keys(SCOPES) as ScopeKind[]) principals.push({ label: `${role}@${SCOPES[scope]}`, role, scope });

  before(async () => {
    gw = await startTestGateway(CONFIG);
    routes = gw.app.routeTable;
    await Promise.all(
      principals.map(async (p) => {
        if (!p.role) return;
        p.token = await gw.tokenFor(`mx-${p.role}-${p.scope}`, p.role, SCOPES[p.scope!]);
      }),
    );
  });
  after(async () => {
    await gw?.close();
  });

  it('the route table is collected and every route declares a permission and a target', () => {
    assert.ok(routes.length >= 20, `only ${routes.length} routes collected`);
    const missing = routes.filter((r) => r.permission === undefined).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'routes without config.permission (deny by default, but every route must say what it needs)');
    const untargeted = routes.filter((r) => r.permission !== 'public' && !['device', 'global', 'filtered'].includes(r.target ?? '')).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(untargeted, [], 'routes without config.target');
    const unknown = routes.filter((r) => r.permission !== 'public' && !(r.permission! in WHERE)).map((r) => `${r.method} ${r.url}: ${r.permission}`);
    assert.deepEqual(unknown, [], 'permissions this matrix has no expectation for');
    for (const must of ['GET /api/v1/devices/:id/console', 'GET /api/v1/users', 'GET /api/v1/audit', 'PUT /api/v1/settings']) {
      assert.ok(routes.some((r) => `${r.method} ${r.url}` === must), `${must} is in the table`);
    }
  });

  it('every REST route answers every principal as its declared permission says', async () => {
    const rest = routes.filter((r) => !(r.websocket && r.method === 'GET'));
    const cases = rest.flatMap((route) => principals.map((p) => ({ route, p })));
    const failures: string[] = [];
    const seen = new Map<string, number>();
    await pool(cases, 12, async ({ route, p }) => {
      // A console route reached without an upgrade (HEAD): as a viewer would ask (mode=write is checked below).
      const path = pathFor(route.url) + (route.websocket ? '?mode=read' : '');
      const hasBody = !['GET', 'HEAD'].includes(route.method);
      // The ticket endpoint, like the WebSocket, is asked for read access (write is checked below).
      const body = route.url.endsWith('/console/connect') ? { mode: 'read' } : {};
      const r = await gw.api(route.method, path, p.token, hasBody ? body : undefined);
      const code = typeof r.body === 'object' && r.body ? (r.body as { error?: { code?: string } }).error?.code : undefined;
      const expected = expectation(route.permission!, route.target, p);
      seen.set(`${route.method} ${route.url} ${expected}`, r.status);
      try {
        check(expected, { status: r.status, code }, `${route.method} ${path} as ${p.label}`);
        // HEAD answers carry no body to tell a hidden device's 404 from another: allowed must not be 404 there.
        // (The console route without an upgrade answers 404 by design; the WebSocket test below covers it.)
        if (route.method === 'HEAD' && route.target === 'device' && !route.websocket && expected === 'allowed') assert.notEqual(r.status, 404, `${route.method} ${path} as ${p.label}: 404`);
      } catch (err) {
        failures.push((err as Error).message.split('\n')[0]!);
      }
    });
    if (process.env.MATRIX_DEBUG) console.log(seen);
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} route × principal checks failed`);
  });

  it('the console WebSocket: mode=read by its declared permission, mode=write needs console.write', async () => {
    const ws = routes.filter((r) => r.websocket && r.method === 'GET');
    assert.ok(ws.length >= 1, 'the console WebSocket is in the table');
    const failures: string[] = [];
    for (const route of ws) {
      for (const mode of ['read', 'write'] as const) {
        const permission = mode === 'write' ? 'console.write' : route.permission!;
        await pool(principals, 6, async (p) => {
          const what = `WS ${route.url} mode=${mode} as ${p.label}`;
          const device = route.url.includes(':id') ? DEVICE : '';
          let got: Outcome;
          try {
            const client = await gw.connect(device, p.token, `?mode=${mode}`);
            await client.untilControl('hello');
            client.close();
            got = { status: 101, code: undefined };
          } catch (err) {
            const e = err as { status?: number; body?: string; message: string };
            if (e.status === undefined) throw err;
            let code: string | undefined;
            try {
              code = (JSON.parse(e.body ?? '') as { error: { code: string } }).error.code;
            } catch {
              code = undefined;
            }
            got = { status: e.status, code };
          }
          try {
            check(expectation(permission, route.target, p), got, what);
            if (expectation(permission, route.target, p) === 'allowed') assert.equal(got.status, 101, `${what}: attach should succeed, got ${got.status} ${got.code ?? ''}`);
          } catch (err) {
            failures.push((err as Error).message.split('\n')[0]!);
          }
        });
      }
    }
    assert.deepEqual(failures, [], `${failures.length} WebSocket checks failed`);
  });

  it('console tickets: asked for under the same rules, and the ticket alone opens that console once', async () => {
    const failures: string[] = [];
    for (const mode of ['read', 'write'] as const) {
      const permission = mode === 'write' ? 'console.write' : 'console.read';
      await pool(principals, 6, async (p) => {
        const what = `ticket mode=${mode} as ${p.label}`;
        const expected = expectation(permission, 'device', p);
        const r = await gw.api('POST', `/api/v1/devices/${DEVICE}/console/connect`, p.token, { mode });
        try {
          check(expected, { status: r.status, code: r.body?.error?.code }, what);
          if (expected !== 'allowed') return;
          assert.equal(r.status, 200, `${what}: ${r.text}`);
          const url = new URL(r.body.url as string);
          assert.equal(url.protocol, 'wss:');
          const client = await ConsoleClient.open(r.body.url, gw.ca, {});
          const hello = await client.untilControl('hello');
          assert.equal(hello.mode, mode, what);
          client.close();
          const again = await ConsoleClient.open(r.body.url, gw.ca, {}).then(
            () => 101,
            (err: { status: number }) => err.status,
          );
          assert.equal(again, 401, `${what}: a second use must be refused`);
        } catch (err) {
          failures.push((err as Error).message.split('\n')[0]!);
        }
      });
    }
    assert.deepEqual(failures, [], `${failures.length} ticket checks failed`);
  });

  it('denials are audited (the matrix leaves access.denied rows naming the route)', () => {
    const denied = gw.audit.query({ action: 'access.denied', limit: 1000 }).rows;
    assert.ok(denied.length > 50, `${denied.length} access.denied rows`);
    assert.ok(denied.some((r) => r.details.route === '/api/v1/users' && r.actor === 'mx-reader-root'));
    assert.ok(gw.audit.query({ action: 'console.denied', limit: 1000 }).rows.some((r) => r.actor === 'mx-console-viewer-root'));
    assert.equal(gw.audit.verify().ok, true);
  });
});
