// AuditLog: the contract of the append-only, hash-chained audit log (Teleport's Emitter shape).

import type { AuditAction, AuditOutcome } from './audit-event.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a caller records. The log adds id, time, code and the hashes. */
export interface AuditInput {
  readonly action: AuditAction;
  /**
   * Who acted: a user name, `token:<id>` (identity `tokenActor`) for a request made with an API
   * token when no user name applies, `cli` for the `ttygate` administration commands, or
   * `system` for the gateway itself (device faults, capture gaps).
   */
  readonly actor: string;
  /** Where from: the client's address (`203.0.113.7`), or omitted for local actors. */
  readonly source?: string | undefined;
  /** What it was done to: a device id, a user name, a token id, a setting. */
  readonly target?: string | undefined;
  /** Default `ok`. */
  readonly outcome?: AuditOutcome | undefined;
  /** Why it was denied or failed, or the justification the user gave. */
  readonly reason?: string | undefined;
  /**
   * Anything else, JSON-serialisable: session mode, bytes in/out, duration, SysRq keys, the
   * changed fields… Stored as it comes back from `JSON.parse(JSON.stringify(details))`.
   */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** A stored row. Optional inputs that were not given are `null`. */
export interface AuditRow {
  /** 1, 2, 3, … without gaps: a missing id is a deleted row. */
  readonly id: number;
  /** ISO 8601 UTC with milliseconds, taken under the write lock (ascending with id on one clock). */
  readonly time: string;
  readonly actor: string;
  readonly source: string | null;
  readonly action: AuditAction;
  /** The action's code with the outcome's suffix (see `auditCode`). */
  readonly code: string;
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  readonly reason: string | null;
  readonly details: { readonly [key: string]: JsonValue };
  /** Hash of the row before (64 zeros for the first row). */
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditQuery {
  /** Exact actor. */
  readonly actor?: string | undefined;
  /** Rows whose target is this device id. */
  readonly device?: string | undefined;
  /** Rows whose target is this (any kind: user name, token id…). */
  readonly target?: string | undefined;
  /** An exact action (`console.attach`) or a prefix ending in `.*` (`device.power.*`). */
  readonly action?: string | undefined;
  readonly outcome?: AuditOutcome | undefined;
  /** Inclusive lower bound on time (ISO 8601 or Date). */
  readonly from?: string | Date | undefined;
  /** Exclusive upper bound on time. */
  readonly to?: string | Date | undefined;
  /** Cursor for `order: 'asc'`: rows with a greater id. */
  readonly afterId?: number | undefined;
  /** Cursor for `order: 'desc'`: rows with a smaller id. */
  readonly beforeId?: number | undefined;
  /** `asc` (default, oldest first) or `desc` (newest first, for the UI). */
  readonly order?: 'asc' | 'desc' | undefined;
  /** Page size, default 100, at most 1000. */
  readonly limit?: number | undefined;
}

export interface AuditPage {
  readonly rows: AuditRow[];
  /**
   * Present when more rows match: pass it as `afterId` (asc) or `beforeId` (desc) for the next page.
   */
  readonly next?: number;
}

export type AuditVerifyResult =
  | {
      readonly ok: true;
      /** Number of rows checked. */
      readonly rows: number;
      /** Hash of the last row (64 zeros if empty): record it elsewhere to detect later truncation. */
      readonly lastHash: string;
    }
  | {
      readonly ok: false;
      /** The first row that does not check out (for missing rows: the first row after the gap). */
      readonly firstBadId: number;
      readonly reason: string;
    };

/** The audit write failed; the action it was for must be refused (fail closed). */
export class AuditWriteError extends Error {
  /** Stable error code for the API; the gateway answers 503. */
  readonly code = 'AuditUnavailable';
  readonly httpStatus = 503;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditWriteError';
  }
}

/**
 * The audit log.
 *
 * `append` is synchronous and returns only once the row is durably committed (or throws): call
 * it before you carry out the action, or inside the action's own transaction, and refuse the
 * action if it throws. It throws AuditWriteError when the store cannot write (busy past the
 * timeout, read-only, disk full), and TypeError/RangeError for a malformed input (a caller bug).
 * Rows are never changed or deleted. `query` pages through rows; `verify` recomputes the hash
 * chain from the first row and names the first row that does not check out.
 */
export interface AuditLog {
  append(e: AuditInput): AuditRow;
  query(q?: AuditQuery): AuditPage;
  verify(): AuditVerifyResult;
}
