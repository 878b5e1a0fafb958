// SerialTransport: a Transport over one serialport 13 SerialPort (a real UART, or a pty in tests).

import type { SerialPort } from 'serialport';
import { BaseTransport } from '../base-transport.js';

/**
 * Wraps an open SerialPort. The port is read continuously (flowing mode). A vanished device
 * (serialport's `close` with `disconnected: true`, e.g. EIO when the far end of a pty dies) closes
 * the transport `disconnected`; reopening needs a new SerialPort (the old one keeps its lock).
 */
export class SerialTransport extends BaseTransport {
  private _lastError: Error | undefined;

  constructor(
    private readonly port: SerialPort,
    readonly path: string,
  ) {
    super(`serial port ${path}`);
    // Always listen for 'error': closing with writes pending emits `Canceled`, which would end the
    // process without a listener; the error is kept for the disconnect message.
    port.on('error', (err: Error) => {
      this._lastError = err;
    });
    port.on('data', (chunk: Buffer) => this._deliver(chunk));
    port.on('close', (err: (Error & { disconnected?: boolean }) | null | undefined) => {
      this._lost(err ?? this._lastError ?? new Error('the port closed'));
    });
    // EOF: the device side closed for good; nothing more will be read.
    port.on('end', () => this._lost(new Error('end of file')));
  }

  protected _write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) => (err ? reject(err) : resolve()));
    });
  }

  protected _doClose(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => this.port.close((err) => (err ? reject(err) : resolve())));
  }

  /** Sets or clears the break condition (TIOCSBRK/TIOCCBRK). Rejects on a pty: `Inappropriate ioctl for device`. */
  setBreak(on: boolean): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`${this.label} is closed`));
    return new Promise((resolve, reject) => this.port.set({ brk: on }, (err) => (err ? reject(err) : resolve())));
  }
}
