// SqliteAuditLog: the AuditLog in the gateway database, append-only and hash-chained.

import type { Db } from '../db/database.js';
import { AUDIT_OUTCOMES, auditCode, isAuditAction, type AuditAction, type AuditOutcome } from './audit-event.js';
import { GENESIS_HASH, canonicalJson, rowHash, type HashedRowFields } from './audit-hash.js';
import {
  AuditWriteError,
  type AuditInput,
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  type AuditRow,
  type AuditVerifyResult,
  type JsonValue,
} from './audit-log.js';

/**
 * Size limits on one row. They bound what a single (possibly hostile) request can make the log
 * store; an input beyond them is a caller bug and is refused with a RangeError, which refuses the
 * action too (fail closed). Callers validate user-supplied text (a justification) against them.
 */
export const AUDIT_LIMITS = { actor: 256, source: 256, target: 512, reason: 4096, detailsBytes: 64 * 1024 } as const;

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

export interface SqliteAuditLogOptions {
  /** Clock for row times (tests pin it). */
  readonly now?: () => Date;
}

/** A row as SQLite holds it. */
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

interface PreparedInput {
  actor: string;
  source: string | null;
  action: AuditAction;
  code: string;
  target: string | null;
  outcome: AuditOutcome;
  reason: string | null;
  detailsText: string;
  details: { [key: string]: JsonValue };
}

/**
 * The audit log in table `audit_log` (created by migration 2, see db/migrations.ts).
 *
 * Each row carries `prev_hash` (the previous row's hash) and `hash`, computed as documented in
 * audit-hash.ts: `hash = sha256(prev_hash + canonical(row without hash))`, genesis 64 zeros.
 * An append reads the last row and inserts the next one inside one `BEGIN IMMEDIATE`
 * transaction, so several connections and processes (the gateway and the `ttygate` CLI) append
 * to one chain. Inside an open transaction of the same connection the append becomes a
 * savepoint and commits with it. Triggers refuse UPDATE and DELETE on the table.
 * Durability comes from the connection: openDatabase sets WAL and synchronous=FULL, so a
 * returned append survives a crash of the process or the machine.
 */
export class SqliteAuditLog implements AuditLog {
  private readonly now: () => Date;
  private readonly appendTx: (p: PreparedInput) => AuditRow;

  constructor(
    private readonly db: Db,
    options: SqliteAuditLogOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    // Statements are prepared on first use, so a read-only connection can still query and verify.
    this.appendTx = db.transaction((p: PreparedInput) => this.appendLocked(p)).immediate;
  }

  append(e: AuditInput): AuditRow {
    const prepared = prepareInput(e);
    try {
      return this.appendTx(prepared);
    } catch (err) {
      throw new AuditWriteError(`audit write failed (${e.action}): ${(err as Error).message}`, { cause: err });
    }
  }

  query(q: AuditQuery = {}): AuditPage {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const eq = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} = ?`);
      params.push(value);
    };
    eq('actor', q.actor);
    eq('target', q.device);
    eq('target', q.target);
    eq('outcome', q.outcome);
    if (q.action !== undefined) {
      if (q.action.endsWith('.*')) {
        const prefix = q.action.slice(0, -1);
        if (!/^[a-z.]+$/.test(prefix)) throw new RangeError(`bad action prefix "${q.action}"`);
        where.push('action LIKE ?');
        params.push(`${prefix}%`);
      } else {
        eq('action', q.action);
      }
    }
    if (q.from !== undefined) {
      where.push('time >= ?');
      params.push(isoTime(q.from, 'from'));
    }
    if (q.to !== undefined) {
      where.push('time < ?');
      params.push(isoTime(q.to, 'to'));
    }
    const desc = q.order === 'desc';
    if (q.afterId !== undefined) {
      where.push('id > ?');
      params.push(checkId(q.afterId, 'afterId'));
    }
    if (q.beforeId !== undefined) {
      where.push('id < ?');
      params.push(checkId(q.beforeId, 'beforeId'));
    }
    const limit = q.limit === undefined ? DEFAULT_PAGE : Math.min(Math.max(1, Math.trunc(q.limit)), MAX_PAGE);
    const sql =
      `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''}` +
      ` ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ${limit + 1}`;
    const stored = this.db.prepare(sql).all(...params) as StoredRow[];
    const more = stored.length > limit;
    const rows = stored.slice(0, limit).map(toAuditRow);
    const last = rows.at(-1);
    return more && last ? { rows, next: last.id } : { rows };
  }

  verify(): AuditVerifyResult {
    let expectedId = 1;
    let prevHash = GENESIS_HASH;
    let count = 0;
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as IterableIterator<StoredRow>) {
      const bad = checkRow(row, expectedId, prevHash);
      if (bad !== undefined) return { ok: false, firstBadId: row.id, reason: bad };
      expectedId = row.id + 1;
      prevHash = row.hash;
      count++;
    }
    return { ok: true, rows: count, lastHash: prevHash };
  }

  /** Runs under the write lock: read the chain head, insert the next row. */
  private appendLocked(p: PreparedInput): AuditRow {
    const head = this.db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as
      | { id: number; hash: string }
      | undefined;
    const fields: HashedRowFields = {
      id: (head?.id ?? 0) + 1,
      time: this.now().toISOString(),
      actor: p.actor,
      source: p.source,
      action: p.action,
      code: p.code,
      target: p.target,
      outcome: p.outcome,
      reason: p.reason,
      details: p.details,
      prev_hash: head?.hash ?? GENESIS_HASH,
    };
    const hash = rowHash(fields);
    this.db
      .prepare(
        `INSERT INTO audit_log (id, time, actor, source, action, code, target, outcome, reason, details, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        fields.id,
        fields.time,
        fields.actor,
        fields.source,
        fields.action,
        fields.code,
        fields.target,
        fields.outcome,
        fields.reason,
        p.detailsText,
        fields.prev_hash,
        hash,
      );
    return {
      id: fields.id,
      time: fields.time,
      actor: p.actor,
      source: p.source,
      action: p.action,
      code: p.code,
      target: p.target,
      outcome: p.outcome,
      reason: p.reason,
      details: p.details,
      prevHash: fields.prev_hash,
      hash,
    };
  }
}

/** Why `row` breaks the chain, or undefined if it is good. */
function checkRow(row: StoredRow, expectedId: number, prevHash: string): string | undefined {
  if (row.id !== expectedId) {
    return row.id > expectedId
      ? `rows ${expectedId}..${row.id - 1} are missing`
      : `row id ${row.id} out of sequence (expected ${expectedId})`;
  }
  if (row.prev_hash !== prevHash) {
    return expectedId === 1
      ? 'prev_hash of the first row is not the genesis hash (rows before it were removed?)'
      : `prev_hash does not match the hash of row ${expectedId - 1}`;
  }
  let details: JsonValue;
  try {
    details = JSON.parse(row.details) as JsonValue;
  } catch {
    return 'details is not valid JSON';
  }
  let hash: string;
  try {
    hash = rowHash({ ...row, details });
  } catch (err) {
    return `row cannot be canonicalised: ${(err as Error).message}`;
  }
  if (hash !== row.hash) return 'hash does not match the row content (the row was changed)';
  return undefined;
}

/** Validates and normalises an input so that what is hashed is exactly what SQLite stores and returns. */
function prepareInput(e: AuditInput): PreparedInput {
  if (!isAuditAction(e.action)) throw new TypeError(`unknown audit action "${String(e.action)}"`);
  const outcome = e.outcome ?? 'ok';
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(outcome)) throw new TypeError(`unknown outcome "${outcome}"`);
  const actor = text(e.actor, 'actor', AUDIT_LIMITS.actor);
  if (actor === null || actor === '') throw new TypeError('audit actor is required');
  let details: { [key: string]: JsonValue };
  if (e.details === undefined) {
    details = {};
  } else {
    if (e.details === null || typeof e.details !== 'object' || Array.isArray(e.details)) {
      throw new TypeError('audit details must be an object');
    }
    // Round-trip through JSON: Dates become strings, undefined members vanish, NaN becomes null;
    // then repair lone surrogates, which SQLite's UTF-8 would silently replace.
    details = wellFormedJson(JSON.parse(JSON.stringify(e.details)) as JsonValue) as { [key: string]: JsonValue };
  }
  const detailsText = canonicalJson(details);
  if (Buffer.byteLength(detailsText) > AUDIT_LIMITS.detailsBytes) {
    throw new RangeError(`audit details larger than ${AUDIT_LIMITS.detailsBytes} bytes`);
  }
  return {
    actor,
    source: text(e.source, 'source', AUDIT_LIMITS.source),
    action: e.action,
    code: auditCode(e.action, outcome),
    target: text(e.target, 'target', AUDIT_LIMITS.target),
    outcome,
    reason: text(e.reason, 'reason', AUDIT_LIMITS.reason),
    detailsText,
    details,
  };
}

function text(value: string | undefined, name: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new TypeError(`audit ${name} must be a string`);
  if (value.length > max) throw new RangeError(`audit ${name} longer than ${max} characters`);
  return wellFormed(value);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** String.prototype.toWellFormed (ES2024): lone surrogates become U+FFFD, as SQLite would store them. */
function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

function wellFormedJson(v: JsonValue): JsonValue {
  if (typeof v === 'string') return wellFormed(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(wellFormedJson);
  const out: { [key: string]: JsonValue } = {};
  for (const [k, x] of Object.entries(v)) {
    // defineProperty, not assignment: a key "__proto__" must stay an ordinary member.
    Object.defineProperty(out, wellFormed(k), { value: wellFormedJson(x), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function toAuditRow(r: StoredRow): AuditRow {
  return {
    id: r.id,
    time: r.time,
    actor: r.actor,
    source: r.source,
    action: r.action as AuditAction,
    code: r.code,
    target: r.target,
    outcome: r.outcome as AuditOutcome,
    reason: r.reason,
    details: JSON.parse(r.details) as { [key: string]: JsonValue },
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function isoTime(value: string | Date, name: string): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RangeError(`audit query ${name} is not a valid time`);
  return new Date(ms).toISOString();
}

function checkId(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`audit query ${name} must be a non-negative integer`);
  return value;
}
