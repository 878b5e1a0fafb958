// Expect-style helper for tests: collects console output and waits for text in it (no sleeps).

import type { Event } from '../../src/util/event.js';

export class GuestSession {
  private text = '';
  private waiters: Array<() => void> = [];
  /** Where the next expect() starts looking; advanced past each match. */
  cursor = 0;

  constructor(
    onData: Event<Uint8Array>,
    private readonly write: (s: string) => Promise<void>,
  ) {
    onData((d) => {
      this.text += Buffer.from(d).toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Everything received so far. */
  get output(): string {
    return this.text;
  }

  /** Moves the cursor to the end: later expects only see new output. */
  mark(): void {
    this.cursor = this.text.length;
  }

  /** Waits until `pattern` appears after the cursor; returns the match and moves the cursor past it. */
  async expect(pattern: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.cursor);
      const m = typeof pattern === 'string' ? (rest.includes(pattern) ? { index: rest.indexOf(pattern), 0: pattern } : null) : pattern.exec(rest);
      if (m) {
        this.cursor += m.index + m[0].length;
        return m[0];
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}; last output:\n${rest.slice(-800)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(s: string): Promise<void> {
    return this.write(s);
  }

  /** Logs in at a `login:` prompt and waits for the shell prompt. */
  async login(user: string, password: string, timeoutMs = 30_000): Promise<void> {
    await this.expect(/login: $/m, timeoutMs);
    await this.send(`${user}\r`);
    await this.expect('Password: ', 10_000);
    await this.send(`${password}\r`);
    await this.expect(/\$ /, 10_000);
  }

  /** Runs a shell command and returns its output (between the echoed command and the next prompt). */
  async run(command: string, timeoutMs = 10_000): Promise<string> {
    const id = Math.random().toString(36).slice(2, 8);
    const marker = `__done_${id}__`;
    // The command line spells the marker with quotes ('__done_'ID__), so its echo never contains
    // the marker itself: only the shell's output does, and the match cannot complete early.
    const quoted = `'__done_'${id}__`;
    await this.send(`${command}; echo ${quoted}\r`);
    // The terminal echoes the command line — sometimes twice: the tty echoes it before ash's line
    // editor takes over, then ash redraws it — so the output follows the LAST echo, up to the
    // marker on a line of its own.
    const re = new RegExp(`[\\s\\S]*echo ${quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\n]*\\n([\\s\\S]*?)^${marker}\\r?$`, 'm');
    const out = re.exec(await this.expect(re, timeoutMs))?.[1] ?? '';
    return out.replace(/\r/g, '').replace(/\n$/, '');
  }
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.readUInt32BE(12) !== 0x49484452) throw new Error('not a PNG: no IHDR chunk');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
