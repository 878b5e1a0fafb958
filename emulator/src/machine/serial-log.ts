// SerialLog: reads the file QEMU's chardev `logfile=` writes, to wait for text and show the last lines.

import { open, stat } from 'node:fs/promises';

/** How often the log file is polled while waiting; QEMU writes it synchronously per output chunk. */
const POLL_MS = 40;
/** How much text a wait keeps in memory to match against (boot logs are far smaller). */
const MAX_WINDOW = 4 * 1024 * 1024;

export class SerialLog {
  constructor(readonly path: string) {}

  /** Current size in bytes (0 if the file does not exist yet). */
  async size(): Promise<number> {
    try {
      return (await stat(this.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  /** Bytes from `offset` to the current end (latin1-safe: returned as a Buffer). */
  async read(offset = 0, maxBytes = MAX_WINDOW): Promise<Buffer> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    }
    try {
      const { size } = await fh.stat();
      const len = Math.max(0, Math.min(size - offset, maxBytes));
      const buf = Buffer.alloc(len);
      if (len > 0) await fh.read(buf, 0, len, offset);
      return buf;
    } finally {
      await fh.close();
    }
  }

  /** The last `n` non-empty lines, control characters other than tab removed. */
  async lastLines(n = 15): Promise<string[]> {
    const size = await this.size();
    const tail = await this.read(Math.max(0, size - 16384));
    return tail
      .toString('utf8')
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .split(/\r?\n|\r/)
      // eslint-disable-next-line no-control-regex
      .map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trimEnd())
      .filter((l) => l.length > 0)
      .slice(-n);
  }

  /**
   * Resolves with the match once `pattern` appears in the text written after byte `from`
   * (default: the start of the file), or rejects with `onTimeout()`'s error.
   * Returns the match and the byte offset just past it, so the next wait can start there.
   */
  async waitFor(
    pattern: string | RegExp,
    opts: { from?: number; timeoutMs: number; signal?: AbortSignal; onTimeout: () => Promise<Error> | Error; abortIf?: () => Error | undefined },
  ): Promise<{ match: string; endOffset: number }> {
    const deadline = Date.now() + opts.timeoutMs;
    let offset = opts.from ?? 0;
    let window = Buffer.alloc(0);
    let windowStart = offset;
    for (;;) {
      opts.signal?.throwIfAborted();
      const chunk = await this.read(offset);
      if (chunk.length > 0) {
        offset += chunk.length;
        window = Buffer.concat([window, chunk]);
        if (window.length > MAX_WINDOW) {
          windowStart += window.length - MAX_WINDOW;
          window = window.subarray(window.length - MAX_WINDOW);
        }
        const text = window.toString('latin1');
        const found = typeof pattern === 'string' ? indexOfString(text, pattern) : indexOfRegExp(text, pattern);
        if (found) return { match: found.match, endOffset: windowStart + found.end };
      }
      const abort = opts.abortIf?.();
      if (abort) throw abort;
      if (Date.now() >= deadline) throw await opts.onTimeout();
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

function indexOfString(text: string, s: string): { match: string; end: number } | undefined {
  const i = text.indexOf(s);
  return i === -1 ? undefined : { match: s, end: i + s.length };
}

function indexOfRegExp(text: string, re: RegExp): { match: string; end: number } | undefined {
  const m = new RegExp(re.source, re.flags.replace('g', '')).exec(text);
  return m ? { match: m[0], end: m.index + m[0].length } : undefined;
}
