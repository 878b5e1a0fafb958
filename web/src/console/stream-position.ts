// Where the terminal is in the device's byte stream, so a reconnect shows every byte exactly once.
// Pure: no DOM, no WebSocket (unit-tested in Node).
//
// The gateway numbers device output with absolute offsets. Each console session starts with
// `hello.offset`, the offset of its first byte (the start of its replay). After a link drop the UI
// attaches again with a replay that reaches back past the last byte it showed, and drops the
// bytes it already has. If the gateway no longer holds them (more output than its history while
// the link was down) the gap is reported, so the caller can fill it from the capture.

/** What to do at a new session's hello. */
export interface HelloPlan {
  /** Leading bytes of this session's stream already shown: drop them. */
  readonly skip: number;
  /** Bytes between the last one shown and the first this session sends: not in its replay. */
  readonly gap: { readonly from: number; readonly to: number } | undefined;
}

export class StreamPosition {
  private _next: number | undefined;
  private _skip = 0;

  /** Absolute offset of the next byte the terminal expects (undefined before the first hello). */
  get next(): number | undefined {
    return this._next;
  }

  /** A session said hello: plan how its stream joins what is shown. */
  hello(offset: number): HelloPlan {
    if (this._next === undefined || offset === this._next) {
      this._next = offset;
      this._skip = 0;
      return { skip: 0, gap: undefined };
    }
    if (offset < this._next) {
      this._skip = this._next - offset;
      return { skip: this._skip, gap: undefined };
    }
    const gap = { from: this._next, to: offset };
    this._next = offset;
    this._skip = 0;
    return { skip: 0, gap };
  }

  /** Bytes of the current session, in order: returns the part not shown yet and advances. */
  take(bytes: Uint8Array): Uint8Array {
    let out = bytes;
    if (this._skip > 0) {
      const n = Math.min(this._skip, bytes.length);
      this._skip -= n;
      out = bytes.subarray(n);
    }
    if (this._next !== undefined) this._next += out.length;
    return out;
  }
}

/**
 * Extra replay asked for beyond the bytes known to be missing: output keeps arriving between the
 * moment the UI reads the device's end offset and the attach, and skipping surplus is cheap.
 */
export const REPLAY_SLACK_BYTES = 64 * 1024;
/** The console endpoint's largest `replay` (its schema maximum). */
export const MAX_REPLAY_BYTES = 16 * 1024 * 1024;

/** The `replay` to ask for when `next` is the next byte wanted and `endOffset` the device's end. */
export function replayFor(next: number | undefined, endOffset: number | undefined, initial: number): number {
  if (next === undefined) return initial;
  if (endOffset === undefined) return MAX_REPLAY_BYTES;
  return Math.min(MAX_REPLAY_BYTES, Math.max(0, endOffset - next) + REPLAY_SLACK_BYTES);
}
