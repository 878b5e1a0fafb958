// LoopbackTransport: a real in-memory device that echoes what is written and can play scripted output.

import { BaseTransport } from '../base-transport.js';

export interface LoopbackOptions {
  /** Echo every written byte back (default true), like a terminal with echo on. */
  echo?: boolean;
  /** Sent by the device right after open (e.g. a banner or `login: `). */
  greeting?: Uint8Array | string;
  /**
   * Scripted replies: called with each written chunk; what it returns is sent by the device after
   * the echo. Use it for a fake shell or a device that answers commands.
   */
  respond?: (written: Uint8Array) => Uint8Array | string | undefined;
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/**
 * An in-memory device. Output is delivered asynchronously (never inside `write`), in order, as a
 * real device would. Tests of other layers drive it with `inject` (the device prints), read what the
 * gateway wrote with `written`, and simulate the device vanishing with `disconnect`.
 */
export class LoopbackTransport extends BaseTransport {
  private readonly _written: Uint8Array[] = [];
  private readonly _outbox: Uint8Array[] = [];
  private _flushScheduled = false;

  constructor(
    private readonly options: LoopbackOptions = {},
    label = 'loopback device',
  ) {
    super(label);
    this.release();
    if (options.greeting !== undefined) this.inject(options.greeting);
  }

  /** Everything written to the device so far, concatenated. */
  get written(): Uint8Array {
    return Buffer.concat(this._written);
  }

  /**
   * The device sends `data`: delivered in a later macrotask (as socket or tty data would be, so a
   * consumer subscribing right after `open` resolves sees it), in order with echoes.
   */
  inject(data: Uint8Array | string): void {
    this._outbox.push(Uint8Array.from(bytesOf(data)));
    if (this._flushScheduled) return;
    this._flushScheduled = true;
    setImmediate(() => {
      this._flushScheduled = false;
      for (const chunk of this._outbox.splice(0)) this._deliver(chunk);
    });
  }

  /** Simulates the device going away: onClose fires `disconnected`. */
  disconnect(cause: unknown = new Error('loopback device unplugged')): void {
    this._lost(cause);
  }

  protected _write(data: Uint8Array): Promise<void> {
    // Copied: the caller may reuse its buffer once the write resolved.
    const copy = Uint8Array.from(data);
    this._written.push(copy);
    if (this.options.echo ?? true) this.inject(copy);
    const reply = this.options.respond?.(copy);
    if (reply !== undefined) this.inject(reply);
    return Promise.resolve();
  }

  protected _doClose(): Promise<void> {
    return Promise.resolve();
  }
}
