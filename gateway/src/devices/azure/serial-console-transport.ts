// SerialConsoleTransport: a Transport over Azure's serial console WebSocket, frames treated as raw bytes.

import WebSocket from 'ws';
import { BaseTransport, messageOf } from '../base-transport.js';

/** How long the socket may take to open and answer the token (Azure's CLI shows a spinner for several seconds). */
const DEFAULT_HANDSHAKE_MS = 15_000;
/** How long close() waits for Azure's close frame before dropping the socket. */
const CLOSE_GRACE_MS = 1000;

export interface SerialConsoleConnectOptions {
  ca?: Buffer;
  handshakeTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The socket protocol, as Azure's own client speaks it (azure-cli-extensions,
 * src/serial-console/azext_serialconsole/custom.py, `SerialConsole.connect`):
 * 1. open the `connectionString` (`wss://…/client`) with no credentials in the URL;
 * 2. send the ARM access token as the first (text) frame;
 * 3. the service's first frame answers the handshake and is not console output (the CLI discards it);
 * 4. after that every frame, text or binary, is console bytes. Text frames may hold bytes that are not
 *    UTF-8 (a serial line is 8-bit), so validation is off and frames are never decoded as strings;
 * 5. bytes to the VM go as text frames carrying the raw bytes (the CLI's `send(c)` uses the text opcode).
 */
export class SerialConsoleTransport extends BaseTransport {
  private constructor(
    private readonly ws: WebSocket,
    label: string,
  ) {
    super(label);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this._deliver(toBuffer(data)));
    ws.on('close', (code: number, reason: Buffer) => this._lost(new Error(`Azure closed the serial console socket (code ${code}${reason.length ? `, ${reason.toString('latin1')}` : ''})`)));
    ws.on('error', () => {
      // 'close' follows every 'error' in ws; the loss is reported there.
    });
  }

  /** Opens `url`, authenticates with `token`, and returns an open transport (or rejects leaving nothing open). */
  static connect(url: string, token: string, label: string, o: SerialConsoleConnectOptions = {}): Promise<SerialConsoleTransport> {
    const timeoutMs = o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_MS;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        skipUTF8Validation: true,
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        maxPayload: 1024 * 1024,
        ...(o.ca ? { ca: o.ca } : {}),
      });
      let done = false;
      const fail = (err: Error): void => {
        if (done) return;
        done = true;
        cleanup();
        ws.removeAllListeners();
        ws.on('error', () => undefined); // terminate() on a connecting socket emits one last error
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`the serial console did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      const onAbort = (): void => fail(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
      const cleanup = (): void => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      ws.once('unexpected-response', (_req, res) => fail(new Error(`the serial console refused the WebSocket upgrade (HTTP ${res.statusCode})`)));
      ws.once('error', (err) => fail(new Error(`cannot open the serial console socket: ${messageOf(err)}`)));
      ws.once('close', (code, reason) => fail(new Error(`the serial console closed the socket during the token handshake (code ${code}${reason.length ? `: ${reason.toString('latin1')}` : ''})`)));
      ws.once('open', () => ws.send(token, { binary: false }));
      ws.once('message', () => {
        if (done) return;
        done = true;
        cleanup();
        ws.removeAllListeners();
        const t = new SerialConsoleTransport(ws, label);
        resolve(t);
      });
    });
  }

  protected _write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, { binary: false }, (err) => (err ? reject(err) : resolve())));
  }

  protected _doClose(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000, 'gateway closed the console');
    });
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
