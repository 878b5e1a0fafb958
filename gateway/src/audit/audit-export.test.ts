// Tests for the audit export bundle and its standalone verifier, on real SQLite files.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { DATABASE_FILE, openDatabase } from '../db/database.js';
import { EXPORT_FORMAT, auditExport, auditExportLines, verifyExport } from './audit-export.js';
import type { AuditInput } from './audit-log.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';

const root = mkdtempSync(join(tmpdir(), 'ttygate-export-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A data directory whose audit log holds `count` varied rows (and the log, still open). */
function dataDirWithLog(count: number) {
  const dir = join(root, `data${++n}`);
  mkdirSync(dir);
  const db = openDatabase(join(dir, DATABASE_FILE));
  let t = Date.parse('2025-03-01T12:00:00.000Z');
  const log = new SqliteAuditLog(db, { now: () => new Date((t += 1234)) });
  const inputs: AuditInput[] = [
    { action: 'user.create', actor: 'cli', target: 'alice', details: { role: 'owner', scope: '/' } },
    { action: 'auth.login.failed', actor: 'anonymous', source: '203.0.113.7', outcome: 'denied', reason: 'bad password' },
    { action: 'console.attach', actor: 'alice', source: '::1', target: 'web-vmss/0', details: { mode: 'write', sessionId: 'a-b-c' } },
    { action: 'device.sysrq', actor: 'alice', target: 'lab-1', details: { keys: 'reisub', nested: { z: [1, 2.5, -3e-7, null, true], a: 'é ☃ 𝄞' } } },
    { action: 'console.detach', actor: 'alice', target: 'lab-1', details: { bytesToViewer: 123456789, bytesToDevice: 0, note: 'ctl\u0001\u001f"\\\n', durationMs: 1500.25 } },
    { action: 'settings.update', actor: 'bob', target: 'serialConsole.enabled', details: { old: true, new: false, 'ключ': 'значение' } },
  ];
  for (let i = 0; i < count; i++) log.append({ ...inputs[i % inputs.length]!, ...(i >= inputs.length && { details: { ...inputs[i % inputs.length]!.details, i } }) });
  return { dir, db, log };
}

async function exportToFile(dir: string): Promise<{ file: string; bytes: Buffer }> {
  const file = join(dir, 'audit.jsonl');
  await auditExport({ dataDir: dir, out: file });
  return { file, bytes: readFileSync(file) };
}

const linesOf = (bytes: Buffer) => bytes.toString('utf8').split('\n');

describe('audit export', () => {
  test('exports every row with a header, and verifyExport agrees with the gateway', async () => {
    const { dir, db, log } = dataDirWithLog(20);
    const { file, bytes } = await exportToFile(dir);
    const gateway = log.verify();
    db.close();
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the bundle is private');
    const lines = linesOf(bytes);
    assert.equal(lines.at(-1), '', 'ends with a newline');
    assert.equal(lines.length, 1 + 20 + 1);
    const header = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(header).slice(0, 5), ['format', 'version', 'rows', 'lastHash', 'recipe']);
    assert.equal(header.format, EXPORT_FORMAT);
    assert.equal(header.version, 1);
    assert.equal(header.rows, 20);
    assert.ok(gateway.ok);
    assert.equal(header.lastHash, gateway.lastHash);
    // Every column, details parsed (not a string).
    const row4 = JSON.parse(lines[4]!);
    assert.deepEqual(Object.keys(row4).sort(), ['action', 'actor', 'code', 'details', 'hash', 'id', 'outcome', 'prev_hash', 'reason', 'source', 'target', 'time']);
    assert.equal(row4.id, 4);
    assert.equal(row4.details.nested.a, 'é ☃ 𝄞');
    assert.equal(row4.code, 'TG2002I');
    assert.deepEqual(verifyExport(lines), { ok: true, rows: 20, lastHash: gateway.lastHash });
  });

  test('a single changed byte anywhere in one row is found, naming that row', async () => {
    const { dir, db } = dataDirWithLog(12);
    const { bytes } = await exportToFile(dir);
    db.close();
    assert.equal(verifyExport(linesOf(bytes)).ok, true);
    // Row 5 holds control characters, escapes and a float; row 4 non-ASCII text.
    for (const id of [4, 5]) {
      const lines = linesOf(bytes);
      const start = Buffer.byteLength(lines.slice(0, id).join('\n')) + 1;
      const end = start + Buffer.byteLength(lines[id]!); // the newline after the row too
      let checked = 0;
      for (let pos = start; pos <= end; pos++) {
        for (const mask of [0x01, 0x20]) {
          const tampered = Buffer.from(bytes);
          tampered[pos] = tampered[pos]! ^ mask;
          const r = verifyExport(linesOf(tampered));
          assert.equal(r.ok, false, `byte ${pos - start} of row ${id} ^ 0x${mask.toString(16)} went unnoticed`);
          assert.equal(r.firstBadId, id, `byte ${pos - start} ^ 0x${mask.toString(16)}: ${JSON.stringify(r)}`);
          checked++;
        }
      }
      assert.ok(checked > 200, `checked ${checked} changes`);
    }
  });

  test('a semantically equal edit is caught in strict mode only; a real edit in both', async () => {
    const { dir, db } = dataDirWithLog(6);
    const { bytes } = await exportToFile(dir);
    db.close();
    const lines = linesOf(bytes);
    assert.ok(lines[5]!.includes('\\u001f'));
    const same = [...lines];
    same[5] = same[5]!.replace('\\u001f', '\\u001F');
    assert.deepEqual(verifyExport(same, { strict: false }).ok, true);
    assert.equal(verifyExport(same).ok, false);
    assert.equal((verifyExport(same) as { firstBadId: number }).firstBadId, 5);
    // Re-formatted by a tool (keys reordered): fine when not strict.
    const reformatted = lines.map((l, i) => (i === 0 || l === '' ? l : JSON.stringify(JSON.parse(l), null, 0)));
    assert.equal(verifyExport(reformatted, { strict: false }).ok, true);
    const edited = [...lines];
    edited[3] = JSON.stringify({ ...JSON.parse(edited[3]!), actor: 'mallory' });
    assert.deepEqual(verifyExport(edited, { strict: false }), { ok: false, firstBadId: 3, line: 4, reason: 'hash does not match the row content (the row was changed)' });
  });

  test('removed rows are named: in the middle by the chain, at the end by the header', async () => {
    const { dir, db } = dataDirWithLog(8);
    const { bytes } = await exportToFile(dir);
    db.close();
    const lines = linesOf(bytes);
    const middle = lines.filter((_, i) => i !== 4);
    const r1 = verifyExport(middle);
    assert.equal(r1.ok, false);
    assert.equal((r1 as { firstBadId: number }).firstBadId, 4);
    assert.match((r1 as { reason: string }).reason, /rows 4\.\.4 are missing/);
    const cut = [...lines.slice(0, 7), ''];
    const r2 = verifyExport(cut);
    assert.equal(r2.ok, false);
    assert.equal((r2 as { firstBadId: number }).firstBadId, 7);
    assert.match((r2 as { reason: string }).reason, /cut off the end/);
    // Cut and header rewritten to match: only a lastHash kept elsewhere can tell.
    const forged = [...cut];
    const last = JSON.parse(cut[6]!);
    forged[0] = JSON.stringify({ ...JSON.parse(cut[0]!), rows: 6, lastHash: last.hash });
    assert.equal(verifyExport(forged).ok, true);
    assert.notEqual(last.hash, JSON.parse(lines[0]!).lastHash);
    assert.equal(verifyExport(['not json']).ok, false);
    assert.equal(verifyExport([]).ok, false);
  });

  test('an empty log exports a header only, and the export is one snapshot while rows keep coming', async () => {
    const { dir, db, log } = dataDirWithLog(0);
    const empty = linesOf((await exportToFile(dir)).bytes);
    assert.deepEqual(verifyExport(empty), { ok: true, rows: 0, lastHash: '0'.repeat(64) });

    for (let i = 0; i < 5; i++) log.append({ action: 'auth.login', actor: 'alice' });
    const reader = openDatabase(join(dir, DATABASE_FILE), { readonly: true });
    try {
      const gen = auditExportLines(reader);
      const header = gen.next().value as string;
      log.append({ action: 'auth.logout', actor: 'alice' }); // appended by another connection mid-export
      const rest: string[] = [];
      for (let r = gen.next(); !r.done; r = gen.next()) rest.push(r.value);
      assert.equal(JSON.parse(header).rows, 5);
      assert.equal(rest.length, 5);
      assert.equal(verifyExport([header, ...rest]).ok, true);
      assert.equal(reader.inTransaction, false, 'the read transaction ended');
    } finally {
      reader.close();
      db.close();
    }
  });

  test('writes to stdout without --out, and refuses a missing database or an unknown format', async () => {
    const { dir, db } = dataDirWithLog(3);
    db.close();
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const header = await auditExport({ dataDir: dir, stdout: out });
    assert.equal(header.rows, 3);
    assert.equal(verifyExport(linesOf(Buffer.concat(chunks))).ok, true);
    await assert.rejects(auditExport({ dataDir: join(root, 'nope') }), /no ttygate database/);
    await assert.rejects(auditExport({ dataDir: dir, format: 'csv' }), /unknown export format/);
  });

  test('the verifier is independent of the product: it imports nothing of the gateway hash code', () => {
    const source = readFileSync(fileURLToPath(new URL('./audit-export.ts', import.meta.url)), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    assert.ok(!imports.some((i) => i!.includes('audit-hash') || i!.includes('sqlite-audit-log')), imports.join(', '));
  });
});
