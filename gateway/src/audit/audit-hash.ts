// The audit log's hash chain: canonical row text and row hash (the recipe an offline verifier follows).

import { createHash } from 'node:crypto';
import type { JsonValue } from './audit-log.js';

/**
 * THE RECIPE (normative; the README repeats it):
 *
 * 1. Read the rows of table `audit_log` ordered by `id`. Ids are 1, 2, 3, … without gaps.
 * 2. For each row build the object of all its columns except `hash`, with the column names as
 *    keys and `details` parsed from its JSON text:
 *      {action, actor, code, details, id, outcome, prev_hash, reason, source, target, time}
 *    `id` is a JSON number; `source`, `target`, `reason` are a string or null; the rest strings.
 * 3. canonical = that object as JSON with no whitespace and the keys of every object (the row
 *    and everything inside `details`) sorted by UTF-16 code unit, strings escaped as
 *    ECMAScript `JSON.stringify` does and numbers printed as it does. This is RFC 8785 (JCS)
 *    for these values. The top-level field order is therefore exactly:
 *      action, actor, code, details, id, outcome, prev_hash, reason, source, target, time
 * 4. hash = lowercase hex SHA-256 of the UTF-8 bytes of (prev_hash + canonical), where `+` is
 *    string concatenation and prev_hash is the 64-character hex text.
 * 5. The first row's prev_hash is 64 "0"s; every other row's prev_hash is the hash of the row
 *    with the id before it. A row is good when both its prev_hash and its hash check out.
 *
 * In Python: `canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
 * then `hashlib.sha256((prev_hash + canonical).encode()).hexdigest()` gives the same bytes for
 * everything ttygate writes, except floats that JavaScript prints in exponent form
 * (|x| < 1e-6 or ≥ 1e21) and keys outside the Basic Multilingual Plane.
 *
 * Example: the first row `{id: 1, time: "2025-01-01T00:00:00.000Z", actor: "cli",
 * source: null, action: "user.create", code: "TG6101I", target: "alice", outcome: "ok",
 * reason: null, details: {role: "owner", scope: "/"}}` has canonical text
 * `{"action":"user.create","actor":"cli","code":"TG6101I","details":{"role":"owner","scope":"/"},"id":1,"outcome":"ok","prev_hash":"000…000","reason":null,"source":null,"target":"alice","time":"2025-01-01T00:00:00.000Z"}`.
 */
export const GENESIS_HASH = '0'.repeat(64);

/** The hashed content of a row: every column but `hash`, named as in SQLite. */
export interface HashedRowFields {
  readonly id: number;
  readonly time: string;
  readonly actor: string;
  readonly source: string | null;
  readonly action: string;
  readonly code: string;
  readonly target: string | null;
  readonly outcome: string;
  readonly reason: string | null;
  readonly details: JsonValue;
  readonly prev_hash: string;
}

/** JSON with sorted keys and no whitespace (RFC 8785 for finite numbers and well-formed strings). */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('non-finite number in audit row');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(',')}}`;
}

/** The canonical text of a row (step 3 of the recipe). */
export function canonicalRow(row: HashedRowFields): string {
  return canonicalJson({
    action: row.action,
    actor: row.actor,
    code: row.code,
    details: row.details,
    id: row.id,
    outcome: row.outcome,
    prev_hash: row.prev_hash,
    reason: row.reason,
    source: row.source,
    target: row.target,
    time: row.time,
  });
}

/** sha256(prev_hash + canonical(row)) as lowercase hex (step 4 of the recipe). */
export function rowHash(row: HashedRowFields): string {
  return createHash('sha256').update(row.prev_hash + canonicalRow(row), 'utf8').digest('hex');
}
