// `ttygate audit export`: the whole audit log as a JSON Lines bundle, and a standalone verifier for it.
//
// The verifier (`verifyExport`) deliberately does not import audit-hash.ts or anything else of the
// gateway: it re-implements the documented recipe from scratch with node:crypto only, to show
// that a bundle can be checked without the product. Keep it that way.

import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { DATABASE_FILE, openDatabase, type Db } from '../db/database.js';

export const EXPORT_FORMAT = 'ttygate-audit-export';
export const EXPORT_VERSION = 1;
export const EXPORT_FORMATS = ['jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The hash recipe, carried in every bundle's header so the bundle explains itself. */
export const EXPORT_RECIPE =
  'After this header, one row per line, ids 1..N in order without gaps. Each row line is the canonical JSON of the row ' +
  '(all columns of table audit_log, details parsed). canonical(x) = JSON with no whitespace and the keys of every object ' +
  'sorted by UTF-16 code unit, strings and numbers printed as ECMAScript JSON.stringify does (RFC 8785 for these values). ' +
  'For each row: hash = lowercase hex SHA-256 of the UTF-8 bytes of prev_hash + canonical(row without its "hash" key), ' +
  'i.e. of {action,actor,code,details,id,outcome,prev_hash,reason,source,target,time}; prev_hash of row 1 is 64 "0"s, ' +
  'of every later row the hash of the row before; lastHash is the hash of row N (64 "0"s if N = 0). Record lastHash ' +
  'elsewhere: the header itself is not protected, so only a known lastHash detects rows cut off the end.';

export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: typeof EXPORT_VERSION;
  readonly rows: number;
  readonly lastHash: string;
  readonly recipe: string;
  readonly exportedAt: string;
}

interface StoredRow {
  id: number;
  time: string;
  actor: string;
  source: string | null;
  action: string;
  code: string;
  target: string | null;
  outcome: string;
  reason: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

/**
 * The lines of a bundle (without newlines): the header, then every row, all read in one snapshot
 * (a read transaction), so the header's count and lastHash match the rows even while the gateway
 * keeps appending. Rows are written in canonical form (sorted keys), so a bundle is byte-exact.
 */
export function* auditExportLines(db: Db, now: Date = new Date()): Generator<string, ExportHeader> {
  const own = !db.inTransaction;
  if (own) db.prepare('BEGIN').run();
  try {
    const head = db.prepare('SELECT COUNT(*) AS n, (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS last FROM audit_log').get() as {
      n: number;
      last: string | null;
    };
    const header: ExportHeader = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      rows: head.n,
      lastHash: head.last ?? GENESIS,
      recipe: EXPORT_RECIPE,
      exportedAt: now.toISOString(),
    };
    yield JSON.stringify(header);
    for (const r of db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as IterableIterator<StoredRow>) {
      let details: unknown;
      try {
        details = JSON.parse(r.details);
      } catch {
        // Not JSON (a damaged row): exported as the stored text, so the verifier flags this row.
        details = r.details;
      }
      yield canonical({ ...r, details });
    }
    return header;
  } finally {
    if (own && db.inTransaction) db.prepare('COMMIT').run();
  }
}

/**
 * Writes a bundle to `out`, honouring backpressure. Returns its header. The read transaction
 * stays open while `out` drains, so give it a connection of its own (as `auditExport` does).
 */
export async function writeAuditExport(db: Db, out: Writable, now?: Date): Promise<ExportHeader> {
  const lines = auditExportLines(db, now);
  try {
    for (;;) {
      const next = lines.next();
      if (next.done) return next.value;
      if (!out.write(`${next.value}\n`)) await once(out, 'drain');
    }
  } finally {
    lines.return(undefined as never); // ends the read transaction if we stopped early
  }
}

export interface AuditExportOptions {
  readonly dataDir: string;
  /** A file to write (created 0600, replaced if present); omitted: `stdout`. */
  readonly out?: string | undefined;
  readonly format?: string | undefined;
  /** Where to write when `out` is omitted (default process.stdout). */
  readonly stdout?: Writable;
}

/** `ttygate audit export [--data DIR] [--out FILE] [--format jsonl]`: read-only on the database. */
export async function auditExport(opts: AuditExportOptions): Promise<ExportHeader> {
  const format = opts.format ?? 'jsonl';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new Error(`unknown export format "${format}" (supported: ${EXPORT_FORMATS.join(', ')})`);
  const path = join(opts.dataDir, DATABASE_FILE);
  if (!existsSync(path)) throw new Error(`no ttygate database at ${path}`);
  const db = openDatabase(path, { readonly: true });
  try {
    if (opts.out === undefined) return await writeAuditExport(db, opts.stdout ?? process.stdout);
    // 0600: the bundle names users and their addresses.
    const file = createWriteStream(opts.out, { mode: 0o600 });
    await once(file, 'open');
    try {
      const header = await writeAuditExport(db, file);
      file.end();
      await once(file, 'finish');
      return header;
    } catch (err) {
      file.destroy();
      throw err;
    }
  } finally {
    db.close();
  }
}

// ---- the standalone verifier (imports nothing of the gateway) ----------------------------------

export type ExportVerifyResult =
  | { readonly ok: true; readonly rows: number; readonly lastHash: string }
  | {
      readonly ok: false;
      /** The first row that does not check out (the id it should have); null when the header itself is at fault. */
      readonly firstBadId: number | null;
      /** 1-based line number in the bundle. */
      readonly line: number;
      readonly reason: string;
    };

export interface VerifyExportOptions {
  /**
   * Require every row line to be exactly its canonical text (default true), so any changed byte is
   * found, even one that would not change the parsed value (`\u001f` → `\u001F`). Pass false for a
   * bundle that went through a JSON re-formatter.
   */
  readonly strict?: boolean;
}

const HASHED_FIELDS = ['action', 'actor', 'code', 'details', 'id', 'outcome', 'prev_hash', 'reason', 'source', 'target', 'time'] as const;
const ROW_FIELDS = new Set<string>([...HASHED_FIELDS, 'hash']);
const HEX64 = /^[0-9a-f]{64}$/;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** JSON with no whitespace and sorted keys (RFC 8785 for finite numbers and well-formed strings). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('non-finite number');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && value !== null) throw new TypeError(`not JSON: ${typeof value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  // Array.prototype.sort without a comparator orders strings by UTF-16 code unit, as RFC 8785 asks.
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
    .join(',')}}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Why `row` (parsed from one line) is not a well-formed row, or undefined. */
function shapeError(row: Record<string, Json>): string | undefined {
  for (const k of Object.keys(row)) if (!ROW_FIELDS.has(k)) return `unexpected field "${k}"`;
  for (const k of ROW_FIELDS) if (!(k in row)) return `field "${k}" is missing`;
  if (!Number.isSafeInteger(row.id)) return 'id is not an integer';
  for (const k of ['time', 'actor', 'action', 'code', 'outcome', 'prev_hash', 'hash'] as const) {
    if (typeof row[k] !== 'string') return `${k} is not a string`;
  }
  for (const k of ['source', 'target', 'reason'] as const) {
    if (row[k] !== null && typeof row[k] !== 'string') return `${k} is neither a string nor null`;
  }
  if (!HEX64.test(row.hash as string)) return 'hash is not 64 lowercase hex digits';
  if (!HEX64.test(row.prev_hash as string)) return 'prev_hash is not 64 lowercase hex digits';
  return undefined;
}

/**
 * Verifies a bundle written by `ttygate audit export`, following only the recipe: the header,
 * then each row's id sequence, prev_hash link and hash, then the header's count and lastHash.
 * Names the first row that does not check out. `lines` may end with one empty line.
 */
export function verifyExport(lines: Iterable<string>, opts: VerifyExportOptions = {}): ExportVerifyResult {
  const strict = opts.strict ?? true;
  let lineNo = 0;
  let header: Record<string, unknown> | undefined;
  let expectedId = 1;
  let prevHash = GENESIS;
  let trailingEmpty = false;
  const bad = (firstBadId: number | null, reason: string): ExportVerifyResult => ({ ok: false, firstBadId, line: lineNo, reason });

  for (const raw of lines) {
    lineNo++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (trailingEmpty) return bad(expectedId, 'empty line inside the bundle');
    if (text === '') {
      trailingEmpty = true;
      continue;
    }
    if (header === undefined) {
      try {
        header = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return bad(null, 'the first line is not a JSON header');
      }
      if (header === null || typeof header !== 'object' || header.format !== EXPORT_FORMAT) return bad(null, `the first line is not a ${EXPORT_FORMAT} header`);
      if (header.version !== EXPORT_VERSION) return bad(null, `unsupported export version ${String(header.version)}`);
      if (!Number.isSafeInteger(header.rows) || (header.rows as number) < 0) return bad(null, 'header rows is not a count');
      if (typeof header.lastHash !== 'string' || !HEX64.test(header.lastHash)) return bad(null, 'header lastHash is not 64 lowercase hex digits');
      continue;
    }

    let row: Record<string, Json>;
    try {
      row = JSON.parse(text) as Record<string, Json>;
    } catch {
      return bad(expectedId, 'the line is not valid JSON');
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) return bad(expectedId, 'the line is not a JSON object');
    const shape = shapeError(row);
    if (shape !== undefined) return bad(expectedId, shape);
    if (row.id !== expectedId) {
      return bad(expectedId, (row.id as number) > expectedId ? `rows ${expectedId}..${(row.id as number) - 1} are missing` : `row id ${String(row.id)} out of sequence (expected ${expectedId})`);
    }
    if (strict && canonical(row) !== text) return bad(expectedId, 'the line is not in canonical form (it was edited)');
    if (row.prev_hash !== prevHash) {
      return bad(expectedId, expectedId === 1 ? 'prev_hash of the first row is not 64 "0"s (rows before it were removed?)' : `prev_hash does not match the hash of row ${expectedId - 1}`);
    }
    const hashed: Record<string, Json> = {};
    for (const k of HASHED_FIELDS) hashed[k] = row[k]!;
    let hash: string;
    try {
      hash = sha256Hex(prevHash + canonical(hashed));
    } catch (err) {
      return bad(expectedId, `row cannot be canonicalised: ${(err as Error).message}`);
    }
    if (hash !== row.hash) return bad(expectedId, 'hash does not match the row content (the row was changed)');
    prevHash = hash;
    expectedId++;
  }

  if (header === undefined) return { ok: false, firstBadId: null, line: lineNo, reason: 'empty bundle: no header' };
  const count = expectedId - 1;
  if (count < (header.rows as number)) return { ok: false, firstBadId: expectedId, line: lineNo, reason: `the header announces ${String(header.rows)} rows but the bundle ends after ${count}: rows cut off the end` };
  if (count > (header.rows as number)) return { ok: false, firstBadId: null, line: 1, reason: `the header announces ${String(header.rows)} rows but the bundle holds ${count}` };
  if (header.lastHash !== prevHash) return { ok: false, firstBadId: null, line: 1, reason: 'the header lastHash is not the hash of the last row' };
  return { ok: true, rows: count, lastHash: prevHash };
}
