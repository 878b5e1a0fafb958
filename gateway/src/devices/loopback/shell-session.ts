// ShellSession: expect-style login and command runs on a Unix serial console (for tests of real guests and boards).

import type { Transport } from '../transport.js';
import { ConsoleProbe } from './console-probe.js';

/**
 * Drives a getty/login/shell over a transport. Tolerates what busybox ash sends at each prompt
 * (`ESC[6n`, a cursor position query): it only looks for the texts it waits for.
 */
export class ShellSession {
  readonly probe: ConsoleProbe;

  constructor(private readonly transport: Transport) {
    this.probe = new ConsoleProbe(transport.onData);
  }

  send(text: string): Promise<void> {
    return this.transport.write(Buffer.from(text, 'latin1'));
  }

  expect(pattern: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.probe.expect(pattern, timeoutMs);
  }

  /** Logs in at a `login:` prompt (waited for, not prompted) and waits for the shell prompt. */
  async login(user: string, password: string, timeoutMs = 30_000): Promise<void> {
    await this.expect(/login: $|login: /, timeoutMs);
    await this.send(`${user}\r`);
    await this.expect('Password: ', 10_000);
    await this.send(`${password}\r`);
    await this.expect(/[$#] /, 10_000);
  }

  /** Runs `command` and returns its output (between the echoed command line and the end marker). */
  async run(command: string, timeoutMs = 10_000): Promise<string> {
    const marker = `__done_${Math.random().toString(36).slice(2, 8)}__`;
    // The marker is printed by `echo` from two quoted halves, so the echoed command line never matches it.
    const half = Math.floor(marker.length / 2);
    await this.send(`${command}; echo '${marker.slice(0, half)}''${marker.slice(half)}'\r`);
    // After the echoed command line (it holds the two quoted halves) and its newline: the output,
    // then the marker on a line of its own. The line can be echoed twice (the tty echoes it before
    // ash's line editor takes over, then ash redraws prompt and line), so anchor on the LAST echo.
    const re = new RegExp(`[\\s\\S]*'${marker.slice(0, half)}''${marker.slice(half)}'[^\\n]*\\n([\\s\\S]*?)${marker}\\r?\\n`);
    const out = re.exec(await this.expect(re, timeoutMs))?.[1] ?? '';
    return out.replace(/\r/g, '').replace(/\n$/, '');
  }

  dispose(): void {
    this.probe.dispose();
  }
}
