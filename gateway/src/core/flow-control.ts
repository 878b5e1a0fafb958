// Per-viewer back-pressure accounting with high/low watermarks and a hard cap (wetty's FlowControlServer).

/** Options of a {@link FlowControl}; all in bytes. */
export interface FlowControlOptions {
  /** Resume once unacknowledged bytes fall to this or below. */
  lowWatermark?: number;
  /** Pause once unacknowledged bytes rise above this. */
  highWatermark?: number;
  /** Above this the viewer is not merely slow but stuck or lying: drop it. */
  hardLimit?: number;
}

/**
 * Resume threshold. Low enough that a resumed viewer has real room again (avoids flapping
 * between pause and resume on every small ack), high enough that its terminal never starves
 * while the next acks travel back.
 */
export const DEFAULT_LOW_WATERMARK = 16 * 1024;
/** Pause threshold: wetty's 512 KiB keeps xterm.js's write queue well under a frame's work. */
export const DEFAULT_HIGH_WATERMARK = 512 * 1024;
/**
 * Drop threshold. A paused viewer gets nothing more, so only bytes in flight when it paused
 * (or acks that never come) push it here; 4 MiB is also about what a socket's kernel buffers
 * absorb before the WebSocket layer starts to queue in user space (FACTS.md).
 */
export const DEFAULT_HARD_LIMIT = 4 * 1024 * 1024;

function assertBytes(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  }
}

/**
 * Counts bytes sent to one viewer but not yet acknowledged by it.
 *
 * Contract: call `account(n)` after sending n bytes and pause the viewer when it returns true;
 * call `commit(n)` when the viewer acknowledges n bytes and resume when it returns true. Both
 * return true only on the transition (edge-triggered), so each pause is matched by at most one
 * resume. Acknowledging more than is outstanding clamps the count at zero (a client cannot
 * buy credit in advance). `overLimit` tells the caller to drop the viewer.
 */
export class FlowControl {
  readonly lowWatermark: number;
  readonly highWatermark: number;
  readonly hardLimit: number;
  private _pending = 0;
  private _paused = false;

  constructor(options: FlowControlOptions = {}) {
    const low = options.lowWatermark ?? DEFAULT_LOW_WATERMARK;
    const high = options.highWatermark ?? DEFAULT_HIGH_WATERMARK;
    const hard = options.hardLimit ?? DEFAULT_HARD_LIMIT;
    assertBytes('lowWatermark', low);
    assertBytes('highWatermark', high);
    assertBytes('hardLimit', hard);
    if (!(low < high)) throw new RangeError(`lowWatermark (${low}) must be below highWatermark (${high})`);
    if (!(high <= hard)) throw new RangeError(`highWatermark (${high}) must not exceed hardLimit (${hard})`);
    this.lowWatermark = low;
    this.highWatermark = high;
    this.hardLimit = hard;
  }

  /** Bytes sent and not yet acknowledged. */
  get pending(): number {
    return this._pending;
  }

  /** Whether the viewer should currently be paused. */
  get paused(): boolean {
    return this._paused;
  }

  /** Whether the viewer is past the hard cap and must be dropped. */
  get overLimit(): boolean {
    return this._pending > this.hardLimit;
  }

  /** Records `n` bytes sent; returns true if the viewer must pause now. */
  account(n: number): boolean {
    assertBytes('n', n);
    this._pending += n;
    if (!this._paused && this._pending > this.highWatermark) {
      this._paused = true;
      return true;
    }
    return false;
  }

  /** Records `n` bytes acknowledged; returns true if a paused viewer may resume now. */
  commit(n: number): boolean {
    assertBytes('n', n);
    this._pending = Math.max(0, this._pending - n);
    if (this._paused && this._pending <= this.lowWatermark) {
      this._paused = false;
      return true;
    }
    return false;
  }

  /** Forgets everything outstanding (e.g. after the viewer reconnects). */
  reset(): void {
    this._pending = 0;
    this._paused = false;
  }
}
