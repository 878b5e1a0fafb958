// LineSplitter: turns a stream of byte chunks into complete text lines (pure, no I/O).

/**
 * Default cap on one line. QMP replies can be large (`query-qmp-schema` is about 200 KiB on
 * QEMU 7.2, `query-cpu-definitions` tens of KiB), so the cap sits far above any legitimate
 * reply while still stopping a misbehaving peer from growing our buffer without bound.
 */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Thrown by {@link LineSplitter.push} when a line grew past the cap. The whole chunk is still
 * processed first: the oversize line is skipped (up to its `\n`, even if that arrives in a later
 * chunk) and every other line the chunk completed is carried in `lines`, so nothing else is lost.
 */
export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(
    /** Bytes of the offending line seen when the cap was crossed (at least `maxLength + 1`). */
    readonly length: number,
    readonly maxLength: number,
    /** The other lines completed by the chunk that triggered the error, in order. */
    readonly lines: string[],
  ) {
    super(`line exceeds ${maxLength} bytes (at least ${length} bytes)`);
  }
}

export interface LineSplitterOptions {
  /** Maximum bytes in one line, excluding the `\n` (a trailing `\r` counts). Default 16 MiB. */
  maxLineLength?: number;
}

/**
 * Splits bytes on `\n`, strips one trailing `\r` per line (QEMU ends QMP lines with CRLF) and
 * keeps the incomplete tail for the next chunk. Lines are decoded as UTF-8 only once complete,
 * so a multi-byte character split across chunks survives.
 */
export class LineSplitter {
  readonly maxLineLength: number;
  #tail: Buffer[] = [];
  #tailLength = 0;
  /** True after an oversize line until its terminating `\n` has been skipped. */
  #discarding = false;

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineLength must be a positive integer, got ${max}`);
    this.maxLineLength = max;
  }

  /** Bytes held for an incomplete line. */
  get pendingLength(): number {
    return this.#tailLength;
  }

  /**
   * Feeds one chunk and returns the lines it completed, in order.
   * @throws {LineTooLongError} after processing the whole chunk, when a line in it exceeded
   *   `maxLineLength`; the error's `lines` replaces the return value.
   */
  push(chunk: Uint8Array): string[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: string[] = [];
    let oversize: number | undefined;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(LF, start);
      if (this.#discarding) {
        if (nl === -1) break;
        this.#discarding = false;
        start = nl + 1;
        continue;
      }
      const end = nl === -1 ? buf.length : nl;
      const total = this.#tailLength + (end - start);
      if (total > this.maxLineLength) {
        oversize ??= total;
        this.#tail = [];
        this.#tailLength = 0;
        if (nl === -1) {
          this.#discarding = true;
          break;
        }
        start = nl + 1;
        continue;
      }
      if (nl === -1) {
        // Copy: the caller may reuse its buffer after push() returns.
        this.#tail.push(Buffer.from(buf.subarray(start)));
        this.#tailLength = total;
        break;
      }
      lines.push(this.#takeLine(buf.subarray(start, end)));
      start = nl + 1;
    }
    if (oversize !== undefined) throw new LineTooLongError(oversize, this.maxLineLength, lines);
    return lines;
  }

  /**
   * Returns and clears the incomplete tail (bytes after the last `\n`), or `undefined` when there
   * is none. Call at end of stream to notice a truncated final line.
   */
  flush(): string | undefined {
    if (this.#tailLength === 0) return undefined;
    const text = stripCr(Buffer.concat(this.#tail, this.#tailLength)).toString('utf8');
    this.reset();
    return text;
  }

  /** Drops any buffered bytes and the discarding state. */
  reset(): void {
    this.#tail = [];
    this.#tailLength = 0;
    this.#discarding = false;
  }

  #takeLine(segment: Buffer): string {
    const whole = this.#tailLength === 0 ? segment : Buffer.concat([...this.#tail, segment], this.#tailLength + segment.length);
    this.#tail = [];
    this.#tailLength = 0;
    return stripCr(whole).toString('utf8');
  }
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}
