// CaptureStore: one device's console capture on disk — batched, fsynced, rotated, retained, readable.
//
// Layout: DIR/<captureDirName(deviceId)>/NNNNNNNNNNNNNNNN.seg (16-digit decimal first byte
// offset, records as in capture-format.ts) plus a `lock` file holding the writer's pid.
//
// Durability: append() only queues; a writer writes queued records in order and fdatasyncs the
// segment (and fsyncs the directory when it created a segment) before flush() resolves. On
// reopen, a torn or corrupt tail of the last segment (a write the crash interrupted, which no
// flush() acknowledged) is truncated; every record before it is kept.

import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Emitter, type Event } from '../core/event.js';
import { CaptureError, type CaptureErrorCode } from './capture-error.js';
import {
  acquireLock,
  type CaptureRecovery,
  captureDirName,
  DIR_MODE,
  FILE_MODE,
  fsyncDir,
  readPrefix,
  scanAndRepair,
  type Segment,
  segmentFileName,
  writeAll,
} from './capture-files.js';
import {
  type CaptureRecord,
  type CaptureRecordType,
  decodeGapPayload,
  decodeOpenPayload,
  decodeSegment,
  encodeGapPayload,
  encodeOpenPayload,
  encodeRecord,
  OPEN_FLAG_RESUMED,
  RECORD_HEADER_BYTES,
} from './capture-format.js';

// ---------------------------------------------------------------------------------------------
// Constants (each with the reason for its value)

const KiB = 1024;
const MiB = 1024 * KiB;

/** Retention by size: at least this much is kept (16 MiB holds many full boot logs). */
export const DEFAULT_MAX_BYTES = 16 * MiB;
/** Retention by age: 30 days, Azure boot diagnostics' horizon for "what happened last month". */
export const DEFAULT_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;
/** Segment size: small enough that retention frees space in fine steps, big enough to keep file count low. */
export const DEFAULT_SEGMENT_BYTES = 1 * MiB;
/** Smallest segment accepted: a header plus a useful payload (tests use small segments). */
export const MIN_SEGMENT_BYTES = 256;
/** Batch window: output is on disk within 200 ms without an fsync per serial chunk. */
export const DEFAULT_FLUSH_INTERVAL_MS = 200;
/** Write at once when this much is queued: a boot log burst does not wait for the timer. */
export const BATCH_BYTES = 64 * KiB;
/** Queued bytes held while the disk stalls; beyond it the oldest are dropped and a gap recorded. */
export const DEFAULT_MAX_PENDING_BYTES = 8 * MiB;
/** Largest data record: bounds the shedding granularity and the work to decode one record. */
export const MAX_DATA_RECORD_BYTES = 64 * KiB;
/**
 * Appends closer together than this share one record (and its timestamp): serial output comes
 * in many small reads, and a 28-byte header per read would multiply the size of typed echo.
 */
export const MERGE_WINDOW_MS = 10;
/** Default cap of one read() response (the serial-log endpoint's page size). */
export const DEFAULT_READ_MAX_BYTES = 4 * MiB;
/** Longer gap reasons are cut: they are one line in the text log. */
export const MAX_REASON_BYTES = 1 * KiB;
/** How often age retention runs when nothing is written (it also runs after every batch). */
export const DEFAULT_RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** Backoff after a failed write: first retry soon, then no faster than every 5 s on a dead disk. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

export { CaptureError, type CaptureErrorCode } from './capture-error.js';
export { type CaptureRecovery, captureDirName, segmentFileName } from './capture-files.js';

// ---------------------------------------------------------------------------------------------
// Public types

/** Options of {@link CaptureStore.open}. */
export interface CaptureStoreOptions {
  /** Retention by size: whole oldest segments are deleted while the rest still holds this much. Default 16 MiB. */
  maxBytes?: number;
  /** Retention by age: segments whose newest record is older than this are deleted. Default 30 days. */
  maxAgeSeconds?: number;
  /** A segment file is closed and a new one started at this size. Default 1 MiB. */
  segmentBytes?: number;
  /** Queued output is written and fsynced at least this often. Default 200 ms. */
  flushIntervalMs?: number;
  /** Wall clock in ms (record timestamps, age retention). Default `Date.now`. */
  now?: () => number;
  /** Memory bound of queued, unwritten bytes (see the class contract). Default 8 MiB. */
  maxPendingBytes?: number;
  /** First byte offset of a capture that does not exist yet (ignored when segments exist). Default 0. */
  initialOffset?: number;
  /** Interval of the age-retention timer. Default 1 hour. */
  retentionIntervalMs?: number;
  /**
   * Test seam: awaited before each batch is written, after it was taken off the queue.
   * A promise that stays pending simulates a stalled disk. Not for production use.
   */
  beforeWrite?: () => Promise<void>;
}

/** Kinds of discontinuity a read reports. */
export type CaptureGapKind =
  /** {@link CaptureStore.markGap}: a device fault such as a disconnect. No bytes are missing. */
  | 'gap'
  /** Bytes the device sent that were dropped before reaching disk (`lost` of them). */
  | 'lost'
  /** Offsets with no data on disk: a damaged or vanished segment (`lost` bytes). */
  | 'missing'
  /** The capture was reopened (gateway restart): output while it was closed was not seen. */
  | 'reopen';

/** A discontinuity in a read range. */
export interface CaptureGap {
  /** Device byte offset at which it occurs (before the byte at this offset). */
  readonly offset: number;
  /** Wall-clock ms. For 'missing' it is the time of the read. */
  readonly at: number;
  readonly reason: string;
  readonly kind: CaptureGapKind;
  /** Offsets it covers that have no bytes: 0 for 'gap' and 'reopen'. */
  readonly lost: number;
}

/** What to read. With neither `since` nor `tail`, the newest `maxBytes`. */
export interface CaptureReadOptions {
  /** Start at this offset; older than the retained start reads from the start (`truncated`). */
  since?: number;
  /** Only the last N bytes (of the range `since` selects, if given). */
  tail?: number;
  /** Cap of the range in offsets. Default 4 MiB. With `since` the end is cut, else the start. */
  maxBytes?: number;
}

/** Result of {@link CaptureStore.read}. */
export interface CaptureReadResult {
  /** Offset of the first byte of the range. */
  readonly startOffset: number;
  /** Offset just after the range; pass it as `since` to continue. */
  readonly endOffset: number;
  /**
   * The data bytes of the range, in order. `bytes.length === endOffset - startOffset` unless a
   * gap with `lost > 0` lies inside: those offsets have no bytes.
   */
  readonly bytes: Uint8Array;
  /** Gaps in the range, in order; see {@link CaptureGap.offset} for where each sits. */
  readonly gaps: CaptureGap[];
  /**
   * Part of what was asked for is not in the response: it is older than the retained start, or
   * `maxBytes` cut the range.
   */
  readonly truncated: boolean;
  /** Data after `endOffset` exists (the cap cut the end): read on with `since: endOffset`. */
  readonly more: boolean;
}

/** Result of {@link CaptureStore.readText}. */
export interface CaptureTextResult {
  readonly startOffset: number;
  readonly endOffset: number;
  /** Bytes as UTF-8 (invalid sequences become U+FFFD) with one marker line per gap. */
  readonly text: string;
  readonly truncated: boolean;
  readonly more: boolean;
}

/** Counters for metrics and health. */
export interface CaptureStats {
  /** Queued bytes not yet handed to the disk. */
  readonly pendingBytes: number;
  /** Bytes dropped since open because the disk did not keep up. */
  readonly lostBytes: number;
  /** Failed write attempts since open. */
  readonly writeFailures: number;
  /** Segment files and their total size. */
  readonly segments: number;
  readonly diskBytes: number;
}

/** Formats a gap as the marker line readText inserts. */
export function formatGapMarker(gap: Pick<CaptureGap, 'at' | 'reason'>): string {
  const iso = new Date(gap.at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `\r\n[ttygate: gap at ${iso}: ${gap.reason}]\r\n`;
}

// ---------------------------------------------------------------------------------------------
// Internal types

interface DataEntry {
  type: 'data';
  at: number;
  offset: number;
  seq: number;
  chunks: Uint8Array[];
  length: number;
  /** A flush() covers it: later appends start a new entry (a waiter's target stays an entry boundary). */
  sealed?: boolean;
}
interface GapEntry {
  type: 'gap';
  at: number;
  offset: number;
  seq: number;
  /** Bytes dropped here (0 for a markGap). */
  lost: number;
  /** Reason of a markGap; lost-byte gaps derive theirs from `lost`. */
  reason: string;
}
interface OpenEntry {
  type: 'open';
  at: number;
  offset: number;
  seq: number;
  resumed: boolean;
  reason: string;
}
type Entry = DataEntry | GapEntry | OpenEntry;

interface FlushWaiter {
  readonly target: number;
  lost: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** A record or queued entry as the read path sees it. */
type ReadItem =
  | { readonly type: 'data'; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly type: 'gap'; readonly offset: number; readonly at: number; readonly lost: number; readonly reason: string }
  | { readonly type: 'open'; readonly offset: number; readonly at: number; readonly resumed: boolean; readonly reason: string };

type OutItem = { readonly kind: 'data'; readonly bytes: Uint8Array } | { readonly kind: 'gap'; readonly gap: CaptureGap };

interface Collected {
  startOffset: number;
  endOffset: number;
  items: OutItem[];
  truncated: boolean;
  more: boolean;
}

/** Capture directories open in this process (a second writer would interleave records). */
const openDirs = new Set<string>();

// ---------------------------------------------------------------------------------------------

/**
 * The capture of one device.
 *
 * Contract:
 * - `append()` and `markGap()` never block and never throw: they queue in memory, in order,
 *   and assign offsets at once (`endOffset` grows immediately). A writer writes the queue every
 *   `flushIntervalMs`, or at once when 64 KiB are queued or someone awaits `flush()`.
 * - `flush()` resolves once everything appended before the call is written and fdatasynced
 *   ("acknowledged to disk"); it rejects with `write-failed` if that write failed, and with
 *   `data-lost` if some of those bytes were dropped meanwhile.
 * - Write errors go to `onError` and are retried with backoff; queued bytes stay queued. If
 *   more than `maxPendingBytes` are queued (a stalled or failing disk), the oldest queued bytes
 *   are dropped and replaced by a gap record with their count; their offsets stay used, so
 *   offsets keep matching the device stream (and the broker's offsets).
 * - Offsets are device byte offsets: data bytes only; gaps take none. A reopened store
 *   continues at the previous end and writes an `open` record.
 * - Retention deletes whole oldest segments, never the one being written, while the others
 *   still hold `maxBytes`, or when their newest record is older than `maxAgeSeconds`.
 * - `read()` sees every appended byte, written or still queued.
 * - One writer per directory: a second open in this process, or while another live process
 *   holds the lock, fails with `locked`. `close()` flushes, then releases the directory.
 */
export class CaptureStore {
  readonly deviceId: string;
  /** The device's capture directory. */
  readonly directory: string;
  /** What open found and repaired. */
  readonly recovery: CaptureRecovery;
  /** Write failures, dropped bytes, retention failures. Never thrown into append(). */
  readonly onError: Event<CaptureError>;

  private readonly _onError: Emitter<CaptureError>;
  private readonly _maxBytes: number;
  private readonly _maxAgeMs: number;
  private readonly _segmentBytes: number;
  private readonly _flushIntervalMs: number;
  private readonly _maxPending: number;
  private readonly _now: () => number;
  private readonly _beforeWrite: (() => Promise<void>) | undefined;
  private readonly _lockFile: string;

  private readonly _segments: Segment[];
  private _fh: FileHandle | undefined;
  /** The active file must be reopened and truncated to its known size before the next write. */
  private _activeBroken = true;

  private _end: number;
  private _pending: Entry[] = [];
  private _pendingData = 0;
  private _inflight: Entry[] = [];
  private _seq = 0;
  private _durableSeq = 0;
  private _waiters: FlushWaiter[] = [];

  private _queue: Promise<void> = Promise.resolve();
  private _writeQueued = false;
  private _flushTimer: NodeJS.Timeout | undefined;
  private _retryTimer: NodeJS.Timeout | undefined;
  private _retryDelay = RETRY_MIN_MS;
  private _retentionTimer: NodeJS.Timeout | undefined;
  private _state: 'open' | 'closing' | 'closed' = 'open';
  private _closePromise: Promise<void> | undefined;
  private _reportedClosedAppend = false;
  private _lostTotal = 0;
  private _writeFailures = 0;

  /**
   * Opens (creating if needed) the capture of `deviceId` under `dir`, repairs a torn tail,
   * writes an `open` record and waits until it is on disk.
   * Rejects with `locked` if the capture is open elsewhere, or with the fs error.
   */
  static async open(dir: string, deviceId: string, opts: CaptureStoreOptions = {}): Promise<CaptureStore> {
    const o = resolveOptions(opts);
    const directory = path.resolve(dir, captureDirName(deviceId));
    if (openDirs.has(directory)) throw new CaptureError('locked', `capture of ${deviceId} is already open in this process`, { deviceId });
    openDirs.add(directory);
    let lockFile: string | undefined;
    let store: CaptureStore | undefined;
    try {
      const created = await fsp.mkdir(directory, { recursive: true, mode: DIR_MODE });
      // Every directory entry mkdir created must survive a crash: sync each new directory's parent.
      for (let d = directory; created !== undefined; d = path.dirname(d)) {
        await fsyncDir(path.dirname(d));
        if (d === created || d === path.dirname(d)) break;
      }
      lockFile = await acquireLock(directory, deviceId);
      const { segments, recovery, end } = await scanAndRepair(directory, o.now, o.initialOffset);
      store = new CaptureStore(deviceId, directory, lockFile, o, segments, recovery, end);
      await store._start();
      return store;
    } catch (err) {
      // Roll back to closed: nothing half-open stays behind.
      if (store) await store._teardown().catch(() => undefined); // the open error is the one to report
      else {
        openDirs.delete(directory);
        if (lockFile) await fsp.rm(lockFile, { force: true }).catch(() => undefined); // best effort; a stale lock is taken over later
      }
      throw err;
    }
  }

  private constructor(
    deviceId: string,
    directory: string,
    lockFile: string,
    o: ResolvedOptions,
    segments: Segment[],
    recovery: CaptureRecovery,
    end: number,
  ) {
    this.deviceId = deviceId;
    this.directory = directory;
    this._lockFile = lockFile;
    this.recovery = recovery;
    this._maxBytes = o.maxBytes;
    this._maxAgeMs = o.maxAgeSeconds * 1000;
    this._segmentBytes = o.segmentBytes;
    this._flushIntervalMs = o.flushIntervalMs;
    this._maxPending = o.maxPendingBytes;
    this._now = o.now;
    this._beforeWrite = o.beforeWrite;
    this._segments = segments;
    this._end = end;
    this._onError = new Emitter<CaptureError>({
      // A throwing listener must not break the writer; surfaced as an unhandled rejection.
      onListenerError: (e) => void Promise.reject(e),
    });
    this.onError = this._onError.event;
    const retention = setInterval(() => void this._exclusive(() => this._applyRetention()), o.retentionIntervalMs);
    retention.unref();
    this._retentionTimer = retention;
  }

  /** `closing` from the close() call until it settled, then `closed`. */
  get state(): 'open' | 'closing' | 'closed' {
    return this._state;
  }

  /** Offset of the oldest retained byte. */
  get startOffset(): number {
    return this._segments[0]?.base ?? this._end;
  }

  /** Offset just after the newest appended byte (queued bytes included). */
  get endOffset(): number {
    return this._end;
  }

  get stats(): CaptureStats {
    return {
      pendingBytes: this._pendingData,
      lostBytes: this._lostTotal,
      writeFailures: this._writeFailures,
      segments: this._segments.length,
      diskBytes: this._segments.reduce((n, s) => n + s.size, 0),
    };
  }

  /** Queues device output. Never blocks, never throws; see the class contract. */
  append(bytes: Uint8Array): void {
    if (this._state !== 'open') {
      this._reportClosedAppend(bytes.length);
      return;
    }
    if (bytes.length === 0) return;
    const at = this._now();
    const copy = new Uint8Array(bytes); // a copy: the caller may reuse its buffer (Buffer#slice would only be a view)
    let pos = 0;
    const last = this._pending[this._pending.length - 1];
    if (last?.type === 'data' && !last.sealed && at - last.at <= MERGE_WINDOW_MS && at >= last.at && last.length < MAX_DATA_RECORD_BYTES) {
      const n = Math.min(copy.length, MAX_DATA_RECORD_BYTES - last.length);
      last.chunks.push(copy.subarray(0, n));
      last.length += n;
      last.seq = ++this._seq;
      pos = n;
    }
    while (pos < copy.length) {
      const n = Math.min(copy.length - pos, MAX_DATA_RECORD_BYTES);
      this._pending.push({ type: 'data', at, offset: this._end + pos, seq: ++this._seq, chunks: [copy.subarray(pos, pos + n)], length: n });
      pos += n;
    }
    this._end += copy.length;
    this._pendingData += copy.length;
    if (this._pendingData > this._maxPending) this._shed();
    this._schedule(false);
  }

  /** Records a discontinuity (e.g. 'device disconnected') at the current end. Never throws. */
  markGap(reason: string): void {
    if (this._state !== 'open') {
      this._reportClosedAppend(0);
      return;
    }
    this._pending.push({ type: 'gap', at: this._now(), offset: this._end, seq: ++this._seq, lost: 0, reason: cutReason(reason) });
    this._schedule(false);
  }

  /** Resolves when everything appended so far is written and fdatasynced; see the class contract. */
  flush(): Promise<void> {
    const target = this._seq;
    if (this._durableSeq >= target) return Promise.resolve();
    if (this._state === 'closed') return Promise.reject(this._error('closed', `capture of ${this.deviceId} is closed`));
    const last = this._pending[this._pending.length - 1];
    if (last?.type === 'data') last.sealed = true;
    return new Promise<void>((resolve, reject) => {
      this._waiters.push({ target, lost: 0, resolve, reject });
      this._schedule(false);
    });
  }

  /** Reads a range of the capture (written and queued bytes), with its gaps. */
  async read(opts: CaptureReadOptions = {}): Promise<CaptureReadResult> {
    const c = await this._collect(opts);
    const parts: Uint8Array[] = [];
    const gaps: CaptureGap[] = [];
    for (const item of c.items) {
      if (item.kind === 'data') parts.push(item.bytes);
      else gaps.push(item.gap);
    }
    return { startOffset: c.startOffset, endOffset: c.endOffset, bytes: concat(parts), gaps, truncated: c.truncated, more: c.more };
  }

  /** Like {@link read}, as text with a {@link formatGapMarker} line at each gap. */
  async readText(opts: CaptureReadOptions = {}): Promise<CaptureTextResult> {
    const c = await this._collect(opts);
    const decoder = new TextDecoder('utf-8');
    let text = '';
    for (const item of c.items) {
      if (item.kind === 'data') text += decoder.decode(item.bytes, { stream: true });
      else text += decoder.decode() + formatGapMarker(item.gap);
    }
    text += decoder.decode();
    return { startOffset: c.startOffset, endOffset: c.endOffset, text, truncated: c.truncated, more: c.more };
  }

  /**
   * Flushes, stops the timers, closes the file and releases the directory. Appends after the
   * call are dropped (and reported). Rejects with the flush error if the last write failed;
   * the store is closed either way.
   */
  close(): Promise<void> {
    this._closePromise ??= this._close();
    return this._closePromise;
  }

  /** Runs retention now (it also runs after each batch and on a timer). */
  enforceRetention(): Promise<void> {
    return this._exclusive(() => this._applyRetention());
  }

  // -------------------------------------------------------------------------------------------
  // Writer

  private async _start(): Promise<void> {
    const resumed = this.recovery.resumed;
    let reason = resumed
      ? 'capture resumed; output sent while the capture was closed (gateway stopped or restarted) is not in the log'
      : 'capture started';
    if (this.recovery.truncatedBytes > 0) reason += `; ${this.recovery.truncatedBytes} bytes of an unacknowledged, incomplete write were discarded`;
    // Retention first, so the open record does not make an expired segment look fresh.
    await this._exclusive(() => this._applyRetention());
    this._pending.push({ type: 'open', at: this._now(), offset: this._end, seq: ++this._seq, resumed, reason });
    await this.flush();
  }

  private _schedule(force: boolean): void {
    if (this._state === 'closed' || this._writeQueued || this._pending.length === 0) return;
    if (this._retryTimer && !force) return;
    const urgent = force || this._pendingData >= BATCH_BYTES || this._waiters.length > 0 || this._state === 'closing';
    if (urgent) {
      this._clearFlushTimer();
      this._writeQueued = true;
      void this._exclusive(() => this._writeBatch());
    } else if (!this._flushTimer) {
      this._flushTimer = setTimeout(() => {
        this._flushTimer = undefined;
        this._schedule(true);
      }, this._flushIntervalMs);
    }
  }

  /** Serialises writer operations (batches, retention, close). */
  private _exclusive(fn: () => Promise<void>): Promise<void> {
    const p = this._queue.then(fn);
    this._queue = p.catch(() => undefined); // failures are handled by fn's own callers
    return p;
  }

  private async _writeBatch(): Promise<void> {
    this._writeQueued = false;
    if (this._pending.length === 0 || this._state === 'closed') return;
    this._inflight = this._pending;
    this._pending = [];
    this._pendingData = 0;
    try {
      if (this._beforeWrite) await this._beforeWrite();
      while (this._inflight.length > 0) {
        await this._ensureActive(this._inflight[0]!.offset);
        const group = this._fillGroup(this._inflight);
        if (group.bytes.length > 0) {
          await writeAll(this._fh!, group.bytes);
          await this._fh!.datasync();
          // Committed: the sizes and the in-memory queue change in the same tick (read snapshots rely on it).
          const seg = this._segments[this._segments.length - 1]!;
          seg.size += group.bytes.length;
          seg.lastAt = Math.max(seg.lastAt, group.lastAt);
          this._inflight = group.rest;
          if (group.completedSeq > this._durableSeq) this._durableSeq = group.completedSeq;
          this._settleWaiters();
        }
        if (this._inflight.length > 0) await this._rotate(this._inflight[0]!.offset);
      }
      this._retryDelay = RETRY_MIN_MS;
      await this._applyRetention();
    } catch (err) {
      this._writeFailed(err);
      return;
    }
    this._schedule(false);
  }

  private _writeFailed(err: unknown): void {
    this._writeFailures++;
    this._activeBroken = true;
    const fh = this._fh;
    this._fh = undefined;
    // Closing a handle whose write failed can fail too; the handle is abandoned either way.
    if (fh) void fh.close().catch(() => undefined);
    // Requeue in front of what arrived meanwhile; the memory bound applies to all of it.
    this._pending = [...this._inflight, ...this._pending];
    this._inflight = [];
    this._pendingData = this._pending.reduce((n, e) => n + (e.type === 'data' ? e.length : 0), 0);
    const error = this._error('write-failed', `capture of ${this.deviceId}: write failed: ${describe(err)}`, err);
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) w.reject(error);
    this._onError.fire(error);
    if (this._pendingData > this._maxPending) this._shed();
    if (this._state === 'open') {
      const delay = this._retryDelay;
      this._retryDelay = Math.min(this._retryDelay * 2, RETRY_MAX_MS);
      this._retryTimer = setTimeout(() => {
        this._retryTimer = undefined;
        this._schedule(true);
      }, delay); // ref'd like the flush timer: queued bytes and flush() callers wait on it; close() clears it
    }
  }

  /**
   * Encodes as many entries as fit in the active segment. A data entry that does not fit is
   * split; one that cannot start there is left for the next segment. A segment with no data
   * yet cannot be rotated away (its name would repeat), so it takes records beyond its size.
   */
  private _fillGroup(entries: Entry[]): { bytes: Uint8Array; rest: Entry[]; completedSeq: number; lastAt: number } {
    const seg = this._segments[this._segments.length - 1]!;
    let size = seg.size;
    const parts: Uint8Array[] = [];
    let completedSeq = 0;
    let lastAt = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const room = this._segmentBytes - size;
      // A new segment is named by its first offset, so it may only start past this one's base.
      const canRotate = size > 0 && seg.base < e.offset;
      if (e.type === 'data' && RECORD_HEADER_BYTES + e.length > room && room > RECORD_HEADER_BYTES) {
        // Split: the part that fits closes this segment, the rest opens the next one.
        const n = room - RECORD_HEADER_BYTES;
        const bytes = flatten(e);
        parts.push(encodeRecord({ type: 'data', at: e.at, offset: e.offset, flags: 0, payload: bytes.subarray(0, n) }));
        lastAt = Math.max(lastAt, e.at);
        const rest: Entry[] = [{ ...e, offset: e.offset + n, chunks: [bytes.subarray(n)], length: e.length - n }, ...entries.slice(i + 1)];
        return { bytes: concat(parts), rest, completedSeq, lastAt };
      }
      const rec = encodeEntry(e);
      if (rec.length > room && canRotate) return { bytes: concat(parts), rest: entries.slice(i), completedSeq, lastAt };
      // Fits, or nothing to rotate from yet (a segment with no data): then it exceeds its size.
      parts.push(rec);
      size += rec.length;
      lastAt = Math.max(lastAt, e.at);
      completedSeq = e.seq;
    }
    return { bytes: concat(parts), rest: [], completedSeq, lastAt };
  }

  /** Makes sure the last segment is open for appending at its known-good size. */
  private async _ensureActive(nextOffset: number): Promise<void> {
    if (this._fh && !this._activeBroken) return;
    const last = this._segments[this._segments.length - 1];
    if (last) {
      let fh: FileHandle | undefined;
      try {
        fh = await fsp.open(last.file, fsc.O_WRONLY | fsc.O_APPEND);
        await fh.truncate(last.size); // drop whatever a failed write left behind
        await fh.datasync();
        this._fh = fh;
        this._activeBroken = false;
        return;
      } catch (err) {
        if (fh) await fh.close().catch(() => undefined); // already failing; the open error matters
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // The file (or the whole directory) is gone: forget every vanished segment and start
        // again at the next offset (reads show the vanished offsets as missing).
        const exists = await Promise.all(this._segments.map((s) => fsp.access(s.file).then(() => true, () => false)));
        const kept = this._segments.filter((_, i) => exists[i]);
        this._segments.splice(0, this._segments.length, ...kept);
      }
    }
    await fsp.mkdir(this.directory, { recursive: true, mode: DIR_MODE });
    const base = Math.max(nextOffset, last?.base ?? 0);
    await this._createSegment(base);
  }

  private async _rotate(base: number): Promise<void> {
    const fh = this._fh;
    this._fh = undefined;
    this._activeBroken = true;
    if (fh) await fh.close();
    await this._createSegment(base);
  }

  private async _createSegment(base: number): Promise<void> {
    const file = path.join(this.directory, segmentFileName(base));
    const fh = await fsp.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_APPEND, FILE_MODE);
    // Registered before the directory sync: a retry after a failure reopens it instead of
    // tripping over O_EXCL.
    this._segments.push({ base, file, size: 0, lastAt: this._now() });
    this._fh = fh;
    this._activeBroken = true;
    await fsyncDir(this.directory); // the new name must survive a crash like its content
    this._activeBroken = false;
  }

  private _settleWaiters(): void {
    if (this._waiters.length === 0) return;
    const keep: FlushWaiter[] = [];
    for (const w of this._waiters) {
      if (w.target > this._durableSeq) keep.push(w);
      else if (w.lost > 0) {
        w.reject(this._error('data-lost', `capture of ${this.deviceId}: ${w.lost} bytes were dropped before they reached disk`));
      } else w.resolve();
    }
    this._waiters = keep;
  }

  /** Drops the oldest queued data down to 3/4 of the bound, leaving lost-byte gap entries. */
  private _shed(): void {
    const goal = Math.floor((this._maxPending * 3) / 4); // hysteresis: one report per episode, not per append
    let dropped = 0;
    let i = 0;
    while (this._pendingData > goal) {
      while (i < this._pending.length && this._pending[i]!.type !== 'data') i++;
      const e = this._pending[i];
      if (!e || e.type !== 'data') break;
      const prev = this._pending[i - 1];
      if (prev?.type === 'gap' && prev.lost > 0 && prev.offset + prev.lost === e.offset) {
        prev.lost += e.length;
        prev.seq = e.seq;
        this._pending.splice(i, 1);
      } else {
        this._pending[i] = { type: 'gap', at: e.at, offset: e.offset, seq: e.seq, lost: e.length, reason: '' };
        i++;
      }
      this._pendingData -= e.length;
      dropped += e.length;
      for (const w of this._waiters) if (w.target >= e.seq) w.lost += e.length;
    }
    if (dropped === 0) return;
    this._lostTotal += dropped;
    this._onError.fire(
      this._error('data-lost', `capture of ${this.deviceId}: the disk did not keep up; dropped ${dropped} queued bytes (a gap records it)`),
    );
  }

  /** Never throws: failures are reported on onError and retried on the next run. */
  private async _applyRetention(): Promise<void> {
    try {
      await this._retain();
    } catch (err) {
      this._onError.fire(this._error('retention-failed', `capture of ${this.deviceId}: retention failed: ${describe(err)}`, err));
    }
  }

  private async _retain(): Promise<void> {
    if (this._state === 'closed') return;
    const cutoff = this._now() - this._maxAgeMs;
    const active = this._segments[this._segments.length - 1];
    // An expired active segment is rotated away first, so its data can go too (the capture
    // then holds only the new, empty segment at the current end).
    if (active && active.lastAt < cutoff && this._inflight.length === 0 && active.base < this._writtenEnd()) {
      try {
        await this._ensureActive(this._writtenEnd());
        await this._rotate(this._writtenEnd());
      } catch (err) {
        this._activeBroken = true;
        this._onError.fire(this._error('retention-failed', `capture of ${this.deviceId}: rotation failed: ${describe(err)}`, err));
        return;
      }
    }
    let total = this._segments.reduce((n, s) => n + s.size, 0);
    while (this._segments.length > 1) {
      const s = this._segments[0]!;
      const bySize = total - s.size >= this._maxBytes;
      const byAge = s.lastAt < cutoff;
      if (!bySize && !byAge) break;
      try {
        await fsp.rm(s.file, { force: true });
      } catch (err) {
        this._onError.fire(this._error('retention-failed', `capture of ${this.deviceId}: cannot delete ${path.basename(s.file)}: ${describe(err)}`, err));
        return;
      }
      this._segments.shift();
      total -= s.size;
    }
  }

  /** Offset just after everything on disk: where a new segment starts. */
  private _writtenEnd(): number {
    const first = this._inflight[0] ?? this._pending[0];
    return first ? first.offset : this._end;
  }

  private async _close(): Promise<void> {
    this._state = 'closing';
    if (this._retryTimer) {
      clearTimeout(this._retryTimer);
      this._retryTimer = undefined;
    }
    let error: unknown;
    try {
      await this.flush();
    } catch (err) {
      error = err;
    }
    await this._teardown();
    if (error !== undefined) throw error;
  }

  private async _teardown(): Promise<void> {
    this._state = 'closed';
    this._clearFlushTimer();
    if (this._retryTimer) clearTimeout(this._retryTimer);
    this._retryTimer = undefined;
    if (this._retentionTimer) clearInterval(this._retentionTimer);
    this._retentionTimer = undefined;
    await this._queue;
    const closed = this._error('closed', `capture of ${this.deviceId} is closed`);
    for (const w of this._waiters) w.reject(closed);
    this._waiters = [];
    const fh = this._fh;
    this._fh = undefined;
    try {
      if (fh) await fh.close();
    } finally {
      await fsp.rm(this._lockFile, { force: true }).catch(() => undefined); // a stale lock is taken over by the next open
      openDirs.delete(this.directory);
      this._onError.dispose();
    }
  }

  private _error(code: CaptureErrorCode, message: string, cause?: unknown): CaptureError {
    return new CaptureError(code, message, { deviceId: this.deviceId, ...(cause === undefined ? {} : { cause }) });
  }

  private _clearFlushTimer(): void {
    if (this._flushTimer) clearTimeout(this._flushTimer);
    this._flushTimer = undefined;
  }

  private _reportClosedAppend(n: number): void {
    if (this._reportedClosedAppend) return;
    this._reportedClosedAppend = true;
    this._onError.fire(this._error('closed', `capture of ${this.deviceId} is closed; dropped ${n} bytes appended after close()`));
  }

  // -------------------------------------------------------------------------------------------
  // Reader

  private async _collect(opts: CaptureReadOptions): Promise<Collected> {
    if (this._state === 'closed') throw this._error('closed', `capture of ${this.deviceId} is closed`);
    const maxBytes = opts.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    for (const [k, v] of [['since', opts.since], ['tail', opts.tail], ['maxBytes', maxBytes]] as const) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new RangeError(`${k} must be a non-negative integer, got ${v}`);
    }
    // Snapshot, synchronously: every record is either inside a segment's known size or still
    // in memory (the writer moves records from one to the other within a single tick).
    const segs = this._segments.map((s) => ({ base: s.base, file: s.file, size: s.size }));
    const mem = [...this._inflight, ...this._pending].map(entryToItem);
    const storeEnd = this._end;
    const storeStart = Math.min(segs[0]?.base ?? Infinity, mem[0]?.offset ?? Infinity, storeEnd);

    let from = storeStart;
    let to = storeEnd;
    let truncated = false;
    if (opts.since !== undefined) {
      if (opts.since < storeStart) truncated = true; // asked for bytes retention already deleted
      from = Math.min(Math.max(opts.since, storeStart), storeEnd);
    }
    if (opts.tail !== undefined) {
      const want = storeEnd - opts.tail;
      if (want > from) from = want;
      else if (opts.since === undefined && Math.max(want, 0) < storeStart) truncated = true;
    }
    if (to - from > maxBytes) {
      truncated = true;
      if (opts.since !== undefined && opts.tail === undefined) to = from + maxBytes;
      else from = to - maxBytes;
    }
    const atEnd = to === storeEnd;

    const out: OutItem[] = [];
    const seen = new Set<string>();
    let cursor = from;
    let lostHead = false; // the first segment(s) vanished under us (retention): start later instead
    const now = this._now();
    /** Moves the cursor to `offset`, reporting the offsets skipped as missing. */
    const skipTo = (offset: number): void => {
      if (offset <= cursor) return;
      if (lostHead && out.length === 0) {
        from = offset;
        truncated = true;
      } else {
        const n = offset - cursor;
        const reason = `${n} bytes are missing from the capture (damaged or deleted segment)`;
        out.push({ kind: 'gap', gap: { offset: cursor, at: now, kind: 'missing', lost: n, reason } });
      }
      cursor = offset;
    };
    const accept = (item: ReadItem): void => {
      if (item.type === 'data') {
        const end = item.offset + item.bytes.length;
        if (end <= cursor || item.offset >= to) return;
        skipTo(item.offset);
        lostHead = false;
        const e = Math.min(end, to);
        out.push({ kind: 'data', bytes: item.bytes.subarray(cursor - item.offset, e - item.offset) });
        cursor = e;
        return;
      }
      if (item.type === 'open' && !item.resumed) return;
      const lost = item.type === 'gap' ? item.lost : 0;
      const inRange = lost > 0 ? item.offset < to && item.offset + lost > from : (item.offset >= from && item.offset < to) || (atEnd && item.offset === to);
      if (!inRange) return;
      const key = `${item.type}:${item.offset}:${item.at}:${lost}:${item.reason}`;
      if (seen.has(key)) return; // the same record twice (rewritten after a failed write)
      seen.add(key);
      skipTo(Math.min(item.offset, to));
      lostHead = false;
      const kind: CaptureGapKind = item.type === 'open' ? 'reopen' : lost > 0 ? 'lost' : 'gap';
      out.push({ kind: 'gap', gap: { offset: item.offset, at: item.at, kind, lost, reason: item.reason } });
      if (lost > 0) cursor = Math.min(Math.max(cursor, item.offset + lost), to);
    };

    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const nextBase = segs[i + 1]?.base ?? Infinity;
      // Gap records at a segment's end offset may sit in it, hence `nextBase < from`, not `<=`.
      if (seg.base > to || nextBase < from) continue;
      let buf: Uint8Array;
      try {
        buf = await readPrefix(seg.file, seg.size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (out.length === 0) lostHead = true; // deleted by retention since the snapshot
        continue;
      }
      for (const { record } of decodeSegment(buf).records) accept(recordToItem(record));
    }
    for (const item of mem) accept(item);
    skipTo(to);
    return { startOffset: from, endOffset: to, items: out, truncated, more: to < storeEnd };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface ResolvedOptions {
  maxBytes: number;
  maxAgeSeconds: number;
  segmentBytes: number;
  flushIntervalMs: number;
  maxPendingBytes: number;
  initialOffset: number;
  retentionIntervalMs: number;
  now: () => number;
  beforeWrite: (() => Promise<void>) | undefined;
}

function resolveOptions(o: CaptureStoreOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    maxBytes: o.maxBytes ?? DEFAULT_MAX_BYTES,
    maxAgeSeconds: o.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS,
    segmentBytes: o.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
    flushIntervalMs: o.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    maxPendingBytes: o.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
    initialOffset: o.initialOffset ?? 0,
    retentionIntervalMs: o.retentionIntervalMs ?? DEFAULT_RETENTION_INTERVAL_MS,
    now: o.now ?? Date.now,
    beforeWrite: o.beforeWrite,
  };
  for (const k of ['maxBytes', 'maxAgeSeconds', 'segmentBytes', 'flushIntervalMs', 'maxPendingBytes', 'retentionIntervalMs'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] <= 0) throw new RangeError(`${k} must be a positive integer, got ${r[k]}`);
  }
  if (!Number.isSafeInteger(r.initialOffset) || r.initialOffset < 0) throw new RangeError(`initialOffset must be a non-negative integer, got ${r.initialOffset}`);
  if (r.segmentBytes < MIN_SEGMENT_BYTES) throw new RangeError(`segmentBytes must be at least ${MIN_SEGMENT_BYTES}, got ${r.segmentBytes}`);
  return r;
}

function recordToItem(r: CaptureRecord): ReadItem {
  if (r.type === 'data') return { type: 'data', offset: r.offset, bytes: r.payload };
  if (r.type === 'gap') {
    const g = decodeGapPayload(r.payload);
    return { type: 'gap', offset: r.offset, at: r.at, lost: g.lost, reason: g.reason };
  }
  return { type: 'open', offset: r.offset, at: r.at, resumed: (r.flags & OPEN_FLAG_RESUMED) !== 0, reason: decodeOpenPayload(r.payload).reason };
}

function entryToItem(e: Entry): ReadItem {
  switch (e.type) {
    case 'data':
      return { type: 'data', offset: e.offset, bytes: concat(e.chunks.slice()).subarray(0, e.length) };
    case 'gap':
      return { type: 'gap', offset: e.offset, at: e.at, lost: e.lost, reason: gapReason(e) };
    case 'open':
      return { type: 'open', offset: e.offset, at: e.at, resumed: e.resumed, reason: e.reason };
  }
}

function encodeEntry(e: Entry): Uint8Array {
  const type: CaptureRecordType = e.type;
  switch (e.type) {
    case 'data':
      return encodeRecord({ type, at: e.at, offset: e.offset, flags: 0, payload: flatten(e) });
    case 'gap':
      return encodeRecord({ type, at: e.at, offset: e.offset, flags: 0, payload: encodeGapPayload(gapReason(e), e.lost) });
    case 'open':
      return encodeRecord({ type, at: e.at, offset: e.offset, flags: e.resumed ? OPEN_FLAG_RESUMED : 0, payload: encodeOpenPayload(e.reason) });
  }
}

function gapReason(e: GapEntry): string {
  return e.lost > 0 ? `${e.lost} bytes lost: the capture could not write them to disk in time` : e.reason;
}

/** Joins a data entry's chunks into one array (and keeps it so). */
function flatten(e: DataEntry): Uint8Array {
  if (e.chunks.length !== 1) e.chunks = [concat(e.chunks)];
  return e.chunks[0]!;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function cutReason(reason: string): string {
  const flat = reason.replace(/[\r\n]+/g, ' '); // one marker line in the text log
  const bytes = new TextEncoder().encode(flat);
  if (bytes.length <= MAX_REASON_BYTES) return flat;
  return new TextDecoder().decode(bytes.subarray(0, MAX_REASON_BYTES)).replace(/\uFFFD+$/, '');
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e && typeof e === 'object' && 'message' in e ? (e.code ? `${e.code}: ${e.message}` : e.message) : String(err);
}
