// Tests for SqliteAuditLog on real SQLite files: chain, tampering, triggers, fail-closed, two processes, SIGKILL.

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase, type Db } from '../db/database.js';
import { GENESIS_HASH, rowHash, type HashedRowFields } from './audit-hash.js';
import { AuditWriteError, type AuditInput } from './audit-log.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';

const dir = mkdtempSync(join(tmpdir(), 'ttygate-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const WORKER = fileURLToPath(new URL('./append-worker.fixture.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

function setup(t: TestContext, start = Date.parse('2025-03-01T12:00:00.000Z')) {
  const path = join(dir, `audit${++n}.db`);
  const db = openDatabase(path);
  t.after(() => db.close());
  const clock = { now: start };
  const log = new SqliteAuditLog(db, { now: () => new Date(clock.now) });
  return { path, db, log, clock };
}

const attach = (i: number, over: Partial<AuditInput> = {}): AuditInput => ({
  action: 'console.attach',
  actor: 'alice',
  source: '203.0.113.7',
  target: 'lab-board-1',
  details: { mode: 'write', sessionId: `s${i}`, bytesIn: 1000 + i },
  ...over,
});

/** A row as SQLite returns it. */
type StoredRow = Omit<HashedRowFields, 'details'> & { details: string; hash: string };

/** A second, independent connection to the same file, as an attacker with file access would have. */
function rawConnection(t: TestContext, path: string): Db {
  const db = new Database(path);
  t.after(() => db.close());
  return db;
}

describe('SqliteAuditLog append', () => {
  test('rows chain from the genesis hash and carry code, time and nulls', (t) => {
    const { log } = setup(t);
    const a = log.append(attach(1));
    const b = log.append({ action: 'device.power.reset', actor: 'bob', target: 'lab-board-1', outcome: 'denied', reason: 'no role' });
    assert.equal(a.id, 1);
    assert.equal(a.prevHash, GENESIS_HASH);
    assert.equal(a.code, 'TG1001I');
    assert.equal(a.time, '2025-03-01T12:00:00.000Z');
    assert.equal(b.id, 2);
    assert.equal(b.prevHash, a.hash);
    assert.equal(b.code, 'TG2102W', 'a denied attempt keeps the number, suffix W');
    assert.equal(b.source, null);
    assert.deepEqual(b.details, {});
    assert.match(a.hash, /^[0-9a-f]{64}$/);
  });

  test('the returned row is exactly what query reads back', (t) => {
    const { log } = setup(t);
    const row = log.append(attach(1, { reason: 'incident 42', details: { nested: { z: 1, a: [1, 'x', null] }, at: new Date(0) } }));
    assert.deepEqual(log.query().rows, [row]);
    assert.deepEqual(row.details, { at: '1970-01-01T00:00:00.000Z', nested: { a: [1, 'x', null], z: 1 } });
  });

  test('the stored hash follows the documented recipe', (t) => {
    const { db, log } = setup(t);
    log.append(attach(1));
    const stored = db.prepare('SELECT * FROM audit_log WHERE id = 1').get() as StoredRow;
    assert.equal(stored.hash, rowHash({ ...stored, details: JSON.parse(stored.details) }));
    assert.equal(stored.details, '{"bytesIn":1001,"mode":"write","sessionId":"s1"}', 'details stored canonical');
  });

  test('awkward strings survive the round trip: lone surrogates, NUL, __proto__ keys, emoji', (t) => {
    const { log } = setup(t);
    const details = JSON.parse('{"__proto__":{"x":1},"k\\ud800":"v\\udc00","nul":"a\\u0000b","e":"\\ud83d\\ude00"}');
    const row = log.append(attach(1, { actor: 'al\ud800ice', reason: 'r\u0000s', details }));
    assert.equal(row.actor, 'al\ufffdice');
    assert.deepEqual(log.query().rows[0], row);
    assert.deepEqual(log.verify(), { ok: true, rows: 1, lastHash: row.hash });
  });

  test('malformed input is refused before anything is written', (t) => {
    const { log } = setup(t);
    assert.throws(() => log.append({ ...attach(1), action: 'console.nope' as never }), TypeError);
    assert.throws(() => log.append({ ...attach(1), actor: '' }), TypeError);
    assert.throws(() => log.append({ ...attach(1), outcome: 'maybe' as never }), TypeError);
    assert.throws(() => log.append({ ...attach(1), details: [] as never }), TypeError);
    assert.throws(() => log.append({ ...attach(1), reason: 'x'.repeat(5000) }), RangeError);
    assert.throws(() => log.append({ ...attach(1), details: { blob: 'x'.repeat(70_000) } }), RangeError);
    assert.equal(log.query().rows.length, 0);
  });
});

describe('SqliteAuditLog verify and tampering', () => {
  function fiveRows(t: TestContext) {
    const f = setup(t);
    for (let i = 1; i <= 5; i++) f.log.append(attach(i));
    return f;
  }

  test('an untouched chain verifies', (t) => {
    const { log } = fiveRows(t);
    const result = log.verify();
    assert.deepEqual(result, { ok: true, rows: 5, lastHash: log.query({ order: 'desc', limit: 1 }).rows[0]!.hash });
  });

  test('an empty log verifies', (t) => {
    const { log } = setup(t);
    assert.deepEqual(log.verify(), { ok: true, rows: 0, lastHash: GENESIS_HASH });
  });

  test('UPDATE and DELETE are refused by triggers', (t) => {
    const { path } = fiveRows(t);
    const raw = rawConnection(t, path);
    assert.throws(() => raw.prepare("UPDATE audit_log SET actor = 'mallory' WHERE id = 2").run(), /append-only: UPDATE/);
    assert.throws(() => raw.prepare('DELETE FROM audit_log WHERE id = 5').run(), /append-only: DELETE/);
    assert.throws(() => raw.prepare('DELETE FROM audit_log').run(), /append-only: DELETE/);
  });

  test('one changed byte in one row\'s details is found and that row named', (t) => {
    const { path, log } = fiveRows(t);
    const raw = rawConnection(t, path);
    raw.exec('DROP TRIGGER audit_log_no_update');
    const before = String(raw.prepare('SELECT details FROM audit_log WHERE id = 3').pluck().get());
    const after = before.replace('1003', '1004'); // bytesIn 1003 -> 1004: one byte
    assert.notEqual(after, before);
    raw.prepare('UPDATE audit_log SET details = ? WHERE id = 3').run(after);
    const result = log.verify();
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.firstBadId === 3, JSON.stringify(result));
    assert.ok(!result.ok && /hash does not match/.test(result.reason));
  });

  test('a row rewritten with a recomputed hash breaks the link to the next row', (t) => {
    const { path, log } = fiveRows(t);
    const raw = rawConnection(t, path);
    raw.exec('DROP TRIGGER audit_log_no_update');
    const row = raw.prepare('SELECT * FROM audit_log WHERE id = 2').get() as StoredRow;
    const forged = { ...row, actor: 'mallory' };
    const hash = rowHash({ ...forged, details: JSON.parse(row.details) });
    raw.prepare("UPDATE audit_log SET actor = 'mallory', hash = ? WHERE id = 2").run(hash);
    assert.deepEqual(log.verify(), { ok: false, firstBadId: 3, reason: 'prev_hash does not match the hash of row 2' });
  });

  test('a deleted row is found as a gap', (t) => {
    const { path, log } = fiveRows(t);
    const raw = rawConnection(t, path);
    raw.exec('DROP TRIGGER audit_log_no_delete');
    raw.prepare('DELETE FROM audit_log WHERE id = 3').run();
    assert.deepEqual(log.verify(), { ok: false, firstBadId: 4, reason: 'rows 3..3 are missing' });
  });

  test('a deleted first row is found', (t) => {
    const { path, log } = fiveRows(t);
    const raw = rawConnection(t, path);
    raw.exec('DROP TRIGGER audit_log_no_delete');
    raw.prepare('DELETE FROM audit_log WHERE id = 1').run();
    assert.deepEqual(log.verify(), { ok: false, firstBadId: 2, reason: 'rows 1..1 are missing' });
  });

  test('details that are no longer JSON are named', (t) => {
    const { path, log } = fiveRows(t);
    const raw = rawConnection(t, path);
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare("UPDATE audit_log SET details = '{' WHERE id = 4").run();
    assert.deepEqual(log.verify(), { ok: false, firstBadId: 4, reason: 'details is not valid JSON' });
  });
});

describe('SqliteAuditLog fail closed', () => {
  test('an append on a read-only database throws AuditWriteError and writes nothing', (t) => {
    const { path, log } = setup(t);
    log.append(attach(1));
    const ro = openDatabase(path, { readonly: true });
    t.after(() => ro.close());
    const roLog = new SqliteAuditLog(ro);
    assert.throws(
      () => roLog.append(attach(2)),
      (err) => err instanceof AuditWriteError && err.code === 'AuditUnavailable' && /readonly/.test(String((err.cause as Error).message)),
    );
    assert.equal(roLog.query().rows.length, 1, 'a read-only connection can still read');
    assert.equal(roLog.verify().ok, true);
  });

  test('an append blocked by another writer past the busy timeout throws', (t) => {
    const { path, log } = setup(t);
    const other = rawConnection(t, path);
    other.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE'); // hold the write lock
    t.after(() => other.inTransaction && other.exec('ROLLBACK'));
    const quick = new Database(path);
    t.after(() => quick.close());
    quick.pragma('busy_timeout = 50');
    assert.throws(() => new SqliteAuditLog(quick).append(attach(1)), AuditWriteError);
    other.exec('ROLLBACK');
    assert.equal(log.append(attach(1)).id, 1, 'the chain continues once the lock is free');
  });

  test('an append nested in a rolled-back transaction leaves no row', (t) => {
    const { db, log } = setup(t);
    assert.throws(() =>
      db.transaction(() => {
        log.append(attach(1));
        throw new Error('the action failed');
      }).immediate(),
    );
    assert.equal(log.query().rows.length, 0);
    assert.equal(log.append(attach(2)).id, 1);
  });
});

describe('SqliteAuditLog query', () => {
  function mixed(t: TestContext) {
    const f = setup(t);
    const add = (e: AuditInput) => {
      f.clock.now += 1000;
      return f.log.append(e);
    };
    add(attach(1)); // 1 12:00:01
    add({ action: 'device.power.reset', actor: 'bob', target: 'lab-board-1' }); // 2
    add({ action: 'device.power.off', actor: 'bob', target: 'web-vmss/0' }); // 3
    add({ action: 'console.denied', actor: 'carol', target: 'web-vmss/0', outcome: 'denied', reason: 'no role' }); // 4
    add({ action: 'user.create', actor: 'cli', target: 'dave' }); // 5
    add(attach(6, { target: 'web-vmss/0' })); // 6 12:00:06
    return f;
  }
  const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

  test('filters by actor, device, action, prefix and outcome', (t) => {
    const { log } = mixed(t);
    assert.deepEqual(ids(log.query({ actor: 'bob' }).rows), [2, 3]);
    assert.deepEqual(ids(log.query({ device: 'web-vmss/0' }).rows), [3, 4, 6]);
    assert.deepEqual(ids(log.query({ action: 'console.attach' }).rows), [1, 6]);
    assert.deepEqual(ids(log.query({ action: 'device.power.*' }).rows), [2, 3]);
    assert.deepEqual(ids(log.query({ outcome: 'denied' }).rows), [4]);
    assert.deepEqual(ids(log.query({ actor: 'bob', device: 'web-vmss/0' }).rows), [3]);
    assert.throws(() => log.query({ action: "x%'.*" }), RangeError);
  });

  test('filters by time: from inclusive, to exclusive', (t) => {
    const { log } = mixed(t);
    assert.deepEqual(ids(log.query({ from: '2025-03-01T12:00:02.000Z', to: new Date('2025-03-01T12:00:05.000Z') }).rows), [2, 3, 4]);
    assert.throws(() => log.query({ from: 'yesterday' }), RangeError);
  });

  test('pages forwards with afterId and backwards with beforeId', (t) => {
    const { log } = mixed(t);
    const p1 = log.query({ limit: 4 });
    assert.deepEqual(ids(p1.rows), [1, 2, 3, 4]);
    assert.equal(p1.next, 4);
    const p2 = log.query({ limit: 4, afterId: p1.next });
    assert.deepEqual(ids(p2.rows), [5, 6]);
    assert.equal(p2.next, undefined);
    const d1 = log.query({ order: 'desc', limit: 4 });
    assert.deepEqual(ids(d1.rows), [6, 5, 4, 3]);
    const d2 = log.query({ order: 'desc', limit: 4, beforeId: d1.next });
    assert.deepEqual(ids(d2.rows), [2, 1]);
    assert.equal(d2.next, undefined);
  });
});

// ---- processes ---------------------------------------------------------------------------------

interface Worker {
  child: ChildProcessWithoutNullStreams;
  ids: number[];
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startWorker(
  path: string,
  count: number,
  actor: string,
  pace: 'tight' | 'timer',
  onId?: (w: Worker) => void,
): Worker {
  const child = spawn(process.execPath, ['--import', TSX, WORKER, path, String(count), actor, pace], { stdio: 'pipe' });
  let buffered = '';
  let err = '';
  let markReady!: () => void;
  const w: Worker = {
    child,
    ids: [],
    ready: new Promise((resolve) => (markReady = resolve)),
    exit: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
    stderr: () => err,
  };
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') markReady();
      else {
        w.ids.push(Number(line));
        onId?.(w);
      }
    }
  });
  return w;
}

describe('SqliteAuditLog across processes', () => {
  for (const pace of ['timer', 'tight'] as const) {
    test(`two processes appending 200 rows each (${pace}) keep one valid chain of 400 rows`, async (t) => {
      const path = join(dir, `audit${++n}.db`);
      openDatabase(path).close(); // migrate once up front; the workers would cope either way
      const workers = [startWorker(path, 200, 'worker-a', pace), startWorker(path, 200, 'worker-b', pace)];
      t.after(() => workers.forEach((w) => w.child.exitCode === null && w.child.kill('SIGKILL')));
      // 1. both are connected and waiting; 2. release them together; 3. wait for both to finish.
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.child.stdin.end('go\n');
      const exits = await Promise.all(workers.map((w) => w.exit));
      assert.deepEqual(exits, [{ code: 0, signal: null }, { code: 0, signal: null }], workers.map((w) => w.stderr()).join('\n'));

      const db = openDatabase(path);
      t.after(() => db.close());
      const log = new SqliteAuditLog(db);
      const result = log.verify();
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.ok && result.rows, 400);
      const all = [...workers[0]!.ids, ...workers[1]!.ids].sort((a, b) => a - b);
      assert.deepEqual(all, Array.from({ length: 400 }, (_, i) => i + 1), 'every id acknowledged once');
      const actors = db.prepare('SELECT actor FROM audit_log ORDER BY id').pluck().all() as string[];
      const switches = actors.filter((a, i) => i > 0 && a !== actors[i - 1]).length;
      t.diagnostic(`writer switches along the chain: ${switches}`);
      // Paced writers really interleave; back-to-back ones may run one after the other (the
      // second waits in the busy handler), which still has to give one chain.
      if (pace === 'timer') assert.ok(switches >= 10, `the two writers interleaved (${switches} switches)`);
    });
  }

  test('SIGKILL mid-burst loses no acknowledged row and leaves a valid chain', async (t) => {
    const path = join(dir, `audit${++n}.db`);
    openDatabase(path).close();
    const acknowledged: number[] = [];
    // Three rounds on the same file, killed after different numbers of acknowledged rows.
    for (const killAfter of [150, 300, 50]) {
      const w = startWorker(path, 0, 'burst', 'tight', (self) => {
        if (self.ids.length === killAfter) self.child.kill('SIGKILL');
      });
      t.after(() => w.child.exitCode === null && w.child.kill('SIGKILL'));
      await w.ready;
      w.child.stdin.write('go\n');
      const exit = await w.exit;
      assert.equal(exit.signal, 'SIGKILL', w.stderr());
      assert.ok(w.ids.length >= killAfter);
      acknowledged.push(...w.ids);
    }
    const db = openDatabase(path);
    t.after(() => db.close());
    const result = new SqliteAuditLog(db).verify();
    assert.equal(result.ok, true, JSON.stringify(result));
    const present = new Set(db.prepare('SELECT id FROM audit_log').pluck().all() as number[]);
    const missing = acknowledged.filter((id) => !present.has(id));
    assert.deepEqual(missing, [], 'every printed id is in the database');
    t.diagnostic(`acknowledged ${acknowledged.length}, stored ${present.size}`);
  });
});
