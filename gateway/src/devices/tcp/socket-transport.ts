// SocketTransport: a Transport over a connected net/tls socket, raw or through a telnet codec.

import type { Socket } from 'node:net';
import { BaseTransport } from '../base-transport.js';
import type { TelnetStream } from './telnet-stream.js';

/** How long close() waits for the peer to acknowledge our FIN before destroying the socket. */
const CLOSE_GRACE_MS = 1000;

/**
 * Wraps a connected socket. With a `telnet` codec, negotiation is answered inline, data is
 * unescaped on the way in and escaped on the way out, and `sendCommand` sends raw telnet commands
 * (IAC BRK). The server closing or resetting the connection closes the transport `disconnected`.
 */
export class SocketTransport extends BaseTransport {
  private _lastError: Error | undefined;

  /**
   * `telnet`: a codec whose `start()` was already sent. `initial`: data read before the transport
   * existed (during telnet negotiation); it comes first once the driver calls `release()`.
   */
  constructor(
    private readonly socket: Socket,
    label: string,
    private readonly telnet?: TelnetStream,
    initial: Uint8Array[] = [],
  ) {
    super(label);
    for (const chunk of initial) this._deliver(chunk);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!this.telnet) {
        this._deliver(chunk);
        return;
      }
      const { data, reply } = this.telnet.receive(chunk);
      if (reply.length > 0 && this.state === 'open') socket.write(reply);
      this._deliver(data);
    });
    socket.on('error', (err) => {
      this._lastError = err;
    });
    socket.on('close', () => this._lost(this._lastError ?? new Error('the server closed the connection')));
    // negotiate() left the socket paused so nothing was lost between it and us.
    socket.resume();
  }

  protected _write(data: Uint8Array): Promise<void> {
    return this._send(this.telnet ? this.telnet.encode(data) : data);
  }

  /** Sends bytes as they are, bypassing the codec (telnet commands such as IAC BRK). */
  sendCommand(bytes: Uint8Array): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`${this.label} is closed`));
    return this._send(bytes);
  }

  private _send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  protected _doClose(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }
}
