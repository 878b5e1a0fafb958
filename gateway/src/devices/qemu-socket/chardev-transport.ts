// ChardevTransport: a Transport over the emulator's ChardevConsole (QEMU's telnet-mode serial socket), with BREAK.

import type { ChardevConsole } from '@ttygate/emulator';
import { BaseTransport } from '../base-transport.js';

/**
 * Wraps a connected ChardevConsole: QEMU's opening negotiation is stripped, a data 0xff is sent as
 * `ff ff`, guest output passes untouched (QEMU does not escape it). QEMU closing the socket (it
 * exited, or the chardev was changed) closes the transport `disconnected`.
 */
export class ChardevTransport extends BaseTransport {
  constructor(private readonly console: ChardevConsole) {
    super(`QEMU serial socket ${console.path}`);
    console.onData((d) => this._deliver(d));
    console.onClose((e) => {
      if (e.reason === 'disconnected') this._lost(e.error ?? new Error('QEMU closed the serial socket'));
    });
  }

  protected _write(data: Uint8Array): Promise<void> {
    return this.console.write(data);
  }

  protected _doClose(): Promise<void> {
    return this.console.close();
  }

  /** Telnet IAC BREAK, which QEMU turns into a BREAK on the guest's UART. */
  sendBreak(): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`${this.label} is closed`));
    return this.console.sendBreak();
  }
}
