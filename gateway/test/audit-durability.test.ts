// The audit log under faults, at the gateway level: SIGKILL during a burst of audited actions, one
// byte changed in the SQLite file, and a database that cannot be written (fail closed).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startTestGateway, tempDir, waitFor } from './support/harness.js';

const CLI = ['--import', 'tsx', new URL('./support/run-cli.ts', import.meta.url).pathname];
const cli = (args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

function post(url: string, ca: Buffer, token: string | undefined, body: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json', 'content-length': String(payload.length), ...(token && { authorization: `Bearer ${token}` }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('audit durability', () => {
  const tmp = tempDir('tg-durable-');
  after(() => tmp.remove());
  const dataDir = join(tmp.dir, 'data');
  const configFile = join(tmp.dir, 'ttygate.yaml');

  it('SIGKILL during a burst of audited actions: every acknowledged row survives and the chain verifies', async () => {
    writeFileSync(configFile, `listen: { host: 127.0.0.1, port: 0 }\ndataDir: ${dataDir}\ndevices:\n  - { id: lb-1, kind: loopback }\n`);
    const child = spawn(process.execPath, [...CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    try {
      await waitFor(async () => (/admin API token: (\S+)/.test(out) && /devices:/.test(out) ? true : undefined), 30_000, `the gateway to start: ${out}`);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    const url = /serving (https:\/\/\S+)/.exec(out)![1]!;
    const token = /admin API token: (\S+)/.exec(out)![1]!;
    const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));

    // Two kinds of audited action, each acknowledged with something unique to find afterwards:
    // token creation (the row's target is the token id) and failed logins (the target is the name).
    const ackedTokens: string[] = [];
    const ackedLogins: string[] = [];
    let stop = false;
    let errors = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          if (i % 2 === 0) {
            const r = await post(`${url}/api/v1/tokens`, ca, token, { name: `burst-${w}-${i}` });
            if (r.status === 201) ackedTokens.push(r.body.id as string);
          } else {
            const name = `nobody-${w}-${i}`;
            const r = await post(`${url}/api/v1/auth/login`, ca, undefined, { username: name, password: 'not the password' });
            if (r.status === 401 || r.status === 429) ackedLogins.push(name);
          }
        } catch {
          errors++; // the connection died with the gateway: not acknowledged
          return;
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await waitFor(async () => (ackedTokens.length + ackedLogins.length >= 150 ? true : undefined), 30_000, 'acknowledged actions');
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    stop = true;
    await Promise.all(workers);
    assert.ok(ackedTokens.length > 20 && ackedLogins.length > 20, `${ackedTokens.length} tokens, ${ackedLogins.length} logins acknowledged`);

    const verify = cli(['audit', 'verify', '--data', dataDir]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /audit log OK: \d+ rows/);

    const db = new Database(join(dataDir, 'ttygate.db'), { readonly: true });
    try {
      const targets = new Set(db.prepare("SELECT target FROM audit_log WHERE action IN ('token.create', 'auth.login.failed')").pluck().all() as string[]);
      const lostTokens = ackedTokens.filter((id) => !targets.has(id));
      const lostLogins = ackedLogins.filter((n) => !targets.has(n));
      assert.deepEqual(lostTokens, [], 'acknowledged token.create rows lost');
      assert.deepEqual(lostLogins, [], 'acknowledged auth.login.failed rows lost');
    } finally {
      db.close();
    }

    // The gateway starts again on the same data after the crash.
    const again = await startTestGateway(`devices:\n  - { id: lb-1, kind: loopback }`, { dataDir, keepData: true });
    assert.equal(again.adminPassword, undefined, 'no second first start');
    assert.equal(again.audit.verify().ok, true);
    await again.close();
  });

  it('one byte changed in the SQLite file is found by `ttygate audit verify`, which names that row', () => {
    assert.ok(existsSync(join(dataDir, 'ttygate.db')), 'runs after the SIGKILL test');
    const db = new Database(join(dataDir, 'ttygate.db'));
    const victim = db.prepare("SELECT id, details FROM audit_log WHERE action = 'token.create' ORDER BY id LIMIT 1 OFFSET 3").get() as { id: number; details: string };
    // The pages that hold audit_log rows now (dbstat); the file may also hold stale copies elsewhere.
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const leaves = new Set(db.prepare("SELECT pageno FROM dbstat WHERE name = 'audit_log' AND pagetype = 'leaf'").pluck().all() as number[]);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const file = join(dataDir, 'ttygate.db');
    const bytes = readFileSync(file);
    // The token name is unique to this row; flip one of its letters in the file itself, in the live copy.
    const name = (JSON.parse(victim.details) as { name: string }).name;
    const needle = Buffer.from(`"name":"${name}"`);
    let at = -1;
    for (let i = bytes.indexOf(needle); i !== -1; i = bytes.indexOf(needle, i + 1)) {
      if (leaves.has(Math.floor(i / pageSize) + 1)) at = i;
    }
    assert.ok(at > 0, `found "${name}" on a leaf page of audit_log`);
    const i = at + '"name":"'.length; // the "b" of "burst-…"
    bytes[i] = 'B'.charCodeAt(0);
    writeFileSync(file, bytes);

    const verify = cli(['audit', 'verify', '--data', dataDir]);
    assert.notEqual(verify.status, 0);
    assert.match(verify.stdout + verify.stderr, new RegExp(`audit log BROKEN at row ${victim.id}: `));
  });

  it('fail closed: while the database cannot be written, audited actions are refused and nothing happens', async (t) => {
    if (spawnSync('chattr', ['--help']).error) return t.skip('chattr (e2fsprogs) is missing');
    const gw = await startTestGateway(`devices:\n  - { id: lb-1, kind: loopback, echo: true }`);
    const files = ['ttygate.db', 'ttygate.db-wal'].map((f) => join(gw.dataDir, f));
    t.after(async () => {
      spawnSync('chattr', ['-i', ...files]);
      await gw.close();
    });
    const token = await gw.tokenFor('vic', 'owner');
    const log = async () => (await gw.api('GET', '/api/v1/devices/lb-1/boot-diagnostics/serial-log', token)).text;
    assert.equal((await gw.api('POST', '/api/v1/devices/lb-1/power', token, { action: 'reset' })).status, 200);
    await waitFor(async () => ((await log()).includes('[loopback] rebooting') ? true : undefined), 5000, 'the first reset');
    const rowsBefore = gw.audit.verify();

    const chattr = spawnSync('chattr', ['+i', ...files]);
    if (chattr.status !== 0) return t.skip(`chattr +i is not supported here: ${chattr.stderr}`);
    const reset = await gw.api('POST', '/api/v1/devices/lb-1/power', token, { action: 'reset' });
    assert.equal(reset.status, 503, reset.text);
    assert.equal(reset.body.error.code, 'AuditUnavailable');
    const login = await gw.api('POST', '/api/v1/auth/login', undefined, { username: 'vic', password: 'pw-vic-long-enough' });
    assert.equal(login.status, 503, `no login without its audit row: ${login.text}`);
    assert.equal(login.headers['set-cookie'], undefined);
    const ws = await gw.connect('lb-1', token);
    await ws.untilControl('error', (m) => m.code === 'AuditUnavailable');
    assert.equal((await ws.untilClosed()).code, 1011);
    const created = await gw.api('POST', '/api/v1/users', token, { name: 'ghost', password: 'never to exist' });
    assert.equal(created.status, 503);

    spawnSync('chattr', ['-i', ...files]);
    assert.equal((await log()).split('[loopback] rebooting').length - 1, 1, 'the refused reset never reached the device');
    assert.equal(gw.identity.findUserByName('ghost'), undefined);
    const after = gw.audit.verify();
    assert.ok(rowsBefore.ok && after.ok);
    assert.equal(after.ok && rowsBefore.ok && after.rows, rowsBefore.ok && rowsBefore.rows, 'no row was written while refused');
    // Writable again: the same action works and is audited.
    assert.equal((await gw.api('POST', '/api/v1/devices/lb-1/power', token, { action: 'reset' })).status, 200);
  });
});
