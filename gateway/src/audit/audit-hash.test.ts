// Tests for the audit hash recipe: canonical JSON, a known-answer vector, and an independent Python verifier.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../db/database.js';
import { GENESIS_HASH, canonicalJson, canonicalRow, rowHash, type HashedRowFields } from './audit-hash.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';

const dir = mkdtempSync(join(tmpdir(), 'ttygate-audit-hash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The example of the recipe comment in audit-hash.ts. */
const EXAMPLE: HashedRowFields = {
  id: 1,
  time: '2025-01-01T00:00:00.000Z',
  actor: 'cli',
  source: null,
  action: 'user.create',
  code: 'TG6101I',
  target: 'alice',
  outcome: 'ok',
  reason: null,
  details: { scope: '/', role: 'owner' },
  prev_hash: GENESIS_HASH,
};

/** The recipe, written independently in Python (json + hashlib + sqlite3 from its standard library). */
const PYTHON_VERIFIER = `
import hashlib, json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
prev, expected_id, n = "0" * 64, 1, 0
cols = "id, time, actor, source, action, code, target, outcome, reason, details, prev_hash, hash"
for row in con.execute(f"SELECT {cols} FROM audit_log ORDER BY id"):
    obj = dict(zip(cols.split(", "), row))
    stored = obj.pop("hash")
    obj["details"] = json.loads(obj["details"])
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    ok = obj["id"] == expected_id and obj["prev_hash"] == prev
    ok = ok and hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest() == stored
    if not ok:
        print(json.dumps({"ok": False, "firstBadId": obj["id"]})); sys.exit(1)
    prev, expected_id, n = stored, obj["id"] + 1, n + 1
print(json.dumps({"ok": True, "rows": n, "lastHash": prev}))
`;

describe('audit hash recipe', () => {
  test('canonical JSON sorts keys at every level and has no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: null, y: true }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":true,"z":null}]},"b":1}');
    assert.equal(canonicalJson('line\nbreak "quoted" \u0001'), '"line\\nbreak \\"quoted\\" \\u0001"');
    assert.equal(canonicalJson(1.5), '1.5');
    assert.throws(() => canonicalJson(Number.NaN), RangeError);
  });

  test('the field order is fixed: sorted column names', () => {
    assert.equal(
      canonicalRow(EXAMPLE),
      '{"action":"user.create","actor":"cli","code":"TG6101I","details":{"role":"owner","scope":"/"},"id":1,' +
        `"outcome":"ok","prev_hash":"${GENESIS_HASH}","reason":null,"source":null,"target":"alice",` +
        '"time":"2025-01-01T00:00:00.000Z"}',
    );
  });

  test('known answer: the documented example row', () => {
    // Computed with Python's json.dumps(sort_keys=True, separators=(",", ":")) + hashlib.sha256.
    assert.equal(rowHash(EXAMPLE), '0f9bb6a05d58a04dd4ae0faa40eacf49debd6874a3d1c9d2534724dbb5426271');
  });

  test('every field is covered by the hash', () => {
    const base = rowHash(EXAMPLE);
    const changes: Partial<HashedRowFields>[] = [
      { id: 2 },
      { time: '2025-01-01T00:00:00.001Z' },
      { actor: 'cli2' },
      { source: '' },
      { action: 'user.update' },
      { code: 'TG6101W' },
      { target: null },
      { outcome: 'failed' },
      { reason: '' },
      { details: { role: 'owner', scope: '/', x: 1 } },
      { prev_hash: '1'.repeat(64) },
    ];
    for (const change of changes) assert.notEqual(rowHash({ ...EXAMPLE, ...change }), base, JSON.stringify(change));
  });

  const python = spawnSync('python3', ['-c', 'import sqlite3'], { encoding: 'utf8' });
  test(
    'an independent Python implementation of the recipe verifies a real log',
    { skip: python.status === 0 ? false : 'python3 with sqlite3 is not installed' },
    (t) => {
      const path = join(dir, 'py.db');
      const db = openDatabase(path);
      t.after(() => db.close());
      const log = new SqliteAuditLog(db);
      log.append({ action: 'user.create', actor: 'cli', target: 'alice', details: { role: 'owner', scope: '/' } });
      log.append({
        action: 'console.detach',
        actor: 'alice',
        source: '2001:db8::1',
        target: 'web-vmss/0',
        reason: 'Änderung — "quoted"\ttab \u2028 😀',
        details: { bytesIn: 123456789, bytesOut: 0, durationMs: 1234.5, mode: 'write', nested: { z: [1, null, false], a: 'ü' } },
      });
      log.append({ action: 'device.power.off', actor: 'bob', target: 'lab-board-1', outcome: 'failed', reason: 'QMP timeout' });
      const expected = log.verify();
      const r = spawnSync('python3', ['-c', PYTHON_VERIFIER, path], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), expected);
    },
  );
});
