// ChardevConsole: a client of QEMU's telnet-mode serial socket — raw bytes in and out, BREAK and SysRq.

import net from 'node:net';
import { Emitter, type Event } from '../util/event.js';
import { escapeTelnetData, IAC_BREAK, sysrqSequence, TelnetNegotiationStripper } from './telnet-codec.js';

export type ConsoleCloseReason = 'requested' | 'disconnected';

/** How long to wait between the keys of a SysRq sequence, so each command finishes (e.g. `s` sync). */
const SYSRQ_KEY_GAP_MS = 100;

/**
 * One connection to a QEMU serial chardev socket (`telnet=on`). QEMU serves one client at a time;
 * a second connection waits in the listen backlog until the first closes.
 *
 * Lifecycle: `ChardevConsole.connect()` resolves once connected (retrying while the socket file does
 * not exist yet or refuses, until `timeoutMs`). `onData` carries guest output with the telnet
 * negotiation stripped. `onClose` fires once: `requested` after `close()`, `disconnected` when QEMU
 * closed the socket (it exited, or the chardev was changed).
 */
export class ChardevConsole {
  private readonly dataEmitter = new Emitter<Uint8Array>();
  private readonly closeEmitter = new Emitter<{ reason: ConsoleCloseReason; error?: Error }>();
  private readonly stripper = new TelnetNegotiationStripper();
  private closing = false;
  private closed = false;

  readonly onData: Event<Uint8Array> = this.dataEmitter.event;
  readonly onClose: Event<{ reason: ConsoleCloseReason; error?: Error }> = this.closeEmitter.event;

  private constructor(
    private readonly socket: net.Socket,
    readonly path: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const data = this.stripper.push(chunk);
      if (data.length > 0) this.dataEmitter.fire(data);
    });
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () => {
      this.closed = true;
      const reason: ConsoleCloseReason = this.closing ? 'requested' : 'disconnected';
      this.closeEmitter.fire(lastError ? { reason, error: lastError } : { reason });
      this.dataEmitter.dispose();
      this.closeEmitter.dispose();
    });
  }

  static async connect(path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ChardevConsole> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      opts.signal?.throwIfAborted();
      try {
        const socket = await connectOnce(path);
        return new ChardevConsole(socket, path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const retryable = code === 'ENOENT' || code === 'ECONNREFUSED';
        if (!retryable || Date.now() >= deadline) {
          throw new Error(`cannot connect to the serial socket ${path}: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Writes raw bytes to the guest's UART (0xff is escaped for the telnet chardev). */
  write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return this.writeRaw(escapeTelnetData(bytes));
  }

  /** Sends a serial BREAK (telnet IAC BREAK, which QEMU turns into a UART break). */
  sendBreak(): Promise<void> {
    return this.writeRaw(IAC_BREAK);
  }

  /** Sends Magic SysRq `keys`: each key right after its own BREAK, with a short gap between keys. */
  async sysrq(keys: string): Promise<void> {
    const seq = sysrqSequence(keys);
    for (let i = 0; i < seq.length; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, SYSRQ_KEY_GAP_MS));
      await this.writeRaw(seq[i]!);
    }
  }

  private writeRaw(bytes: Uint8Array): Promise<void> {
    if (this.closed || this.closing) return Promise.reject(new Error(`serial console ${this.path} is closed`));
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Closes the connection; `onClose` fires with reason `requested`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A peer that never acknowledges the FIN must not hold us up.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}

function connectOnce(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
