// ConsoleProbe: collects a device's output and waits for text or bytes in it (expect-style, for tests; no sleeps).

import type { Event } from '../../core/event.js';
import type { Disposable } from '../../core/lifecycle.js';

/**
 * Subscribes to `onData` and keeps everything received as latin1 text (one char per byte, so
 * binary data round-trips). `expect` waits for a pattern after the cursor and moves the cursor
 * past the match; `mark` skips everything received so far.
 */
export class ConsoleProbe implements Disposable {
  private _text = '';
  private _waiters: Array<() => void> = [];
  private readonly _sub: Disposable;
  /** Where the next `expect` starts looking. */
  cursor = 0;

  constructor(onData: Event<Uint8Array>) {
    this._sub = onData((d) => {
      this._text += Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1');
      for (const w of this._waiters.splice(0)) w();
    });
  }

  /** Everything received so far, as latin1 text. */
  get text(): string {
    return this._text;
  }

  /** Everything received so far, as bytes. */
  get bytes(): Buffer {
    return Buffer.from(this._text, 'latin1');
  }

  /** Later `expect` calls only see output that arrives from now on. */
  mark(): void {
    this.cursor = this._text.length;
  }

  /** Waits until `pattern` appears after the cursor; returns the match and moves the cursor past it. */
  async expect(pattern: string | RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this._text.slice(this.cursor);
      let index = -1;
      let match = '';
      if (typeof pattern === 'string') {
        index = rest.indexOf(pattern);
        match = pattern;
      } else {
        const m = pattern.exec(rest);
        if (m) {
          index = m.index;
          match = m[0];
        }
      }
      if (index >= 0) {
        this.cursor += index + match.length;
        return match;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern)}; the last output was:\n${JSON.stringify(rest.slice(-600))}`);
      }
      await this._next(left);
    }
  }

  /** Waits until `bytes` appear, contiguous, after the cursor. */
  async expectBytes(bytes: Uint8Array, timeoutMs = 10_000): Promise<void> {
    await this.expect(Buffer.from(bytes).toString('latin1'), timeoutMs);
  }

  /** Waits until at least `n` bytes arrived after the cursor (does not move it). */
  async waitForLength(n: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this._text.length - this.cursor < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms: ${this._text.length - this.cursor} of ${n} bytes arrived`);
      await this._next(left);
    }
  }

  private _next(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this._waiters.push(done);
    });
  }

  dispose(): void {
    this._sub.dispose();
    for (const w of this._waiters.splice(0)) w();
  }
}
