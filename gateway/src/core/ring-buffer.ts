// Fixed-capacity byte history with absolute offsets and one read cursor per consumer (obmc-console).

/** Bytes read from a {@link RingBuffer}: `bytes` start at absolute offset `offset`. */
export interface RingChunk {
  readonly kind: 'data';
  /** Absolute offset of `bytes[0]`. */
  readonly offset: number;
  /** A fresh copy owned by the caller; may be empty when nothing is available. */
  readonly bytes: Uint8Array;
}

/** The requested bytes were overwritten: the writer lapped the reader. */
export interface RingOverrun {
  readonly kind: 'overrun';
  /** The offset that was asked for. */
  readonly offset: number;
  /** The oldest offset still held; reading can resume there. */
  readonly startOffset: number;
  /** Bytes between `offset` and `startOffset` that are gone for good. */
  readonly lost: number;
}

export type RingRead = RingChunk | RingOverrun;

/** Options of a {@link RingBuffer}. */
export interface RingBufferOptions {
  /**
   * Absolute offset of the first byte ever appended (default 0). A broker that restarts over an
   * existing capture starts here so its offsets continue the capture's.
   */
  initialOffset?: number;
}

/** The read side of a {@link RingBuffer}, for consumers that must not append. */
export interface ReadonlyRingBuffer {
  readonly capacity: number;
  /** Oldest absolute offset still held. */
  readonly startOffset: number;
  /** Absolute offset one past the newest byte (= total bytes ever appended + initialOffset). */
  readonly endOffset: number;
  /** Bytes currently held: `endOffset - startOffset`, at most `capacity`. */
  readonly length: number;
  read(fromOffset: number, maxBytes?: number): RingRead;
  tail(n: number): RingChunk;
  createCursor(startAt?: number): RingCursor;
}

function assertOffset(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

function assertCount(name: string, value: number): void {
  // Infinity is allowed as "no limit".
  if (!(value === Infinity || (Number.isSafeInteger(value) && value >= 0))) {
    throw new RangeError(`${name} must be a non-negative integer or Infinity, got ${value}`);
  }
}

/**
 * A byte ring of fixed capacity addressed by absolute offsets.
 *
 * Offsets are plain `number`s, exact up to 2^53 (8 PiB), so they never wrap at 2^32 the way a
 * 32-bit counter would. Appending never blocks and never fails: once full, the oldest bytes are
 * overwritten and `startOffset` moves forward. Everything returned is a copy; the internal
 * storage never escapes.
 */
export class RingBuffer implements ReadonlyRingBuffer {
  readonly capacity: number;
  private readonly _buf: Uint8Array;
  private _start: number;
  private _end: number;

  constructor(capacity: number, options: RingBufferOptions = {}) {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    const initial = options.initialOffset ?? 0;
    assertOffset('initialOffset', initial);
    this.capacity = capacity;
    this._buf = new Uint8Array(capacity);
    this._start = initial;
    this._end = initial;
  }

  get startOffset(): number {
    return this._start;
  }

  get endOffset(): number {
    return this._end;
  }

  get length(): number {
    return this._end - this._start;
  }

  /**
   * Appends `bytes`. If they exceed the capacity only their last `capacity` bytes are kept
   * (the newest output matters most), but `endOffset` still advances by the full length.
   */
  append(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n === 0) return;
    const newEnd = this._end + n;
    if (!Number.isSafeInteger(newEnd)) throw new RangeError('ring buffer offset would exceed 2^53');
    const cap = this.capacity;
    const src = n > cap ? bytes.subarray(n - cap) : bytes;
    const srcStartOffset = newEnd - src.length;
    const pos = srcStartOffset % cap;
    const first = Math.min(src.length, cap - pos);
    this._buf.set(src.subarray(0, first), pos);
    if (first < src.length) this._buf.set(src.subarray(first), 0);
    this._end = newEnd;
    if (this._end - this._start > cap) this._start = this._end - cap;
  }

  /**
   * Reads up to `maxBytes` (default: all) starting at absolute `fromOffset`.
   * Returns an empty chunk at `endOffset`, an overrun if `fromOffset < startOffset`, and throws
   * `RangeError` for an offset past `endOffset` (bytes that do not exist yet).
   */
  read(fromOffset: number, maxBytes: number = Infinity): RingRead {
    assertOffset('fromOffset', fromOffset);
    assertCount('maxBytes', maxBytes);
    if (fromOffset < this._start) {
      return { kind: 'overrun', offset: fromOffset, startOffset: this._start, lost: this._start - fromOffset };
    }
    if (fromOffset > this._end) {
      throw new RangeError(`offset ${fromOffset} is beyond the end offset ${this._end}`);
    }
    const n = Math.min(this._end - fromOffset, maxBytes);
    return { kind: 'data', offset: fromOffset, bytes: this._copy(fromOffset, n) };
  }

  /** The last `min(n, length)` bytes held. */
  tail(n: number): RingChunk {
    assertCount('n', n);
    const count = Math.min(n, this.length);
    const offset = this._end - count;
    return { kind: 'data', offset, bytes: this._copy(offset, count) };
  }

  /**
   * A cursor for one consumer, positioned at `startAt` (default: `endOffset`, i.e. live only).
   * A position before `startOffset` is allowed and reports as an overrun on the first read.
   */
  createCursor(startAt: number = this._end): RingCursor {
    assertOffset('startAt', startAt);
    if (startAt > this._end) {
      throw new RangeError(`cursor start ${startAt} is beyond the end offset ${this._end}`);
    }
    return new RingCursor(this, startAt);
  }

  private _copy(offset: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const cap = this.capacity;
    const pos = offset % cap;
    const first = Math.min(n, cap - pos);
    out.set(this._buf.subarray(pos, pos + first), 0);
    if (first < n) out.set(this._buf.subarray(0, n - first), first);
    return out;
  }
}

/**
 * One consumer's read position in a {@link RingBuffer}.
 *
 * Contract: `read()` returns data from the cursor's position and advances it. If the writer has
 * lapped the cursor, `read()` returns a {@link RingOverrun} once, adds the loss to `lost`, and
 * moves the cursor to the oldest byte still held, so the next read continues from there. The
 * consumer decides whether to record a gap (a recorder) or drop the viewer (a broker).
 */
export class RingCursor {
  private readonly _ring: ReadonlyRingBuffer;
  private _offset: number;
  private _lost = 0;

  /** Use {@link RingBuffer.createCursor}, which validates `offset`. */
  constructor(ring: ReadonlyRingBuffer, offset: number) {
    this._ring = ring;
    this._offset = offset;
  }

  /** Absolute offset of the next byte this cursor will read. */
  get offset(): number {
    return this._offset;
  }

  /** True if the writer has overwritten bytes this cursor has not read yet. */
  get overrun(): boolean {
    return this._offset < this._ring.startOffset;
  }

  /** Bytes readable now (after an overrun: from the oldest byte held). */
  get pending(): number {
    return this._ring.endOffset - Math.max(this._offset, this._ring.startOffset);
  }

  /** Total bytes this cursor lost to overruns so far (counted when an overrun is read). */
  get lost(): number {
    return this._lost;
  }

  /** Reads up to `maxBytes` (default: all pending); see the class contract for overruns. */
  read(maxBytes: number = Infinity): RingRead {
    const r = this._ring.read(this._offset, maxBytes);
    if (r.kind === 'overrun') {
      this._lost += r.lost;
      this._offset = r.startOffset;
    } else {
      this._offset += r.bytes.length;
    }
    return r;
  }

  /** Skips everything pending (counted as neither read nor lost); returns bytes skipped. */
  skipToEnd(): number {
    const skipped = this._ring.endOffset - this._offset;
    this._offset = this._ring.endOffset;
    return skipped;
  }
}
