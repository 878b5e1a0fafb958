// One interface for both ends the measurements drive: a pty (the device side, or the direct client)
// and a console WebSocket through the gateway. The measuring code only sees `Endpoint`, so the
// direct and the gateway paths run the same client logic.

import { constants, open } from 'node:fs';
import tty from 'node:tty';
import WebSocket from 'ws';

export interface Endpoint {
  readonly name: string;
  /** Queues bytes; `cb` runs once they were handed to the kernel (pty fd / TCP socket). */
  write(bytes: Buffer, cb: (err?: Error | null) => void): void;
  /** The current receiver of incoming bytes (one at a time; the measurements swap it). */
  ondata: ((bytes: Buffer) => void) | undefined;
  /** Why it ended, once it did. */
  readonly ended: string | undefined;
  close(): Promise<void>;
}

/**
 * A pty opened non-blocking as a libuv tty stream (epoll, no thread pool): the fastest plain way a
 * program reads and writes a tty, like a terminal program on the serial device. Used for the device
 * side (`peer`) of every path and for the direct client (`dev`). (Measured here: serialport's
 * writes, a thread-pool `fs.write` per chunk with EAGAIN retries, top out near 40–50 MB/s on a pty,
 * so a serialport device side would be the bottleneck of both paths; its reads keep up.)
 */
export class PtyEndpoint implements Endpoint {
  ondata: ((bytes: Buffer) => void) | undefined;
  ended: string | undefined;

  private constructor(
    readonly name: string,
    private readonly stream: tty.ReadStream,
  ) {
    stream.on('data', (b: Buffer) => this.ondata?.(b));
    stream.on('error', (e: Error) => (this.ended ??= `error: ${e.message}`));
    stream.on('close', () => (this.ended ??= 'closed'));
  }

  static async open(path: string, name = path): Promise<PtyEndpoint> {
    const fd = await new Promise<number>((resolve, reject) =>
      open(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    const stream = new tty.ReadStream(fd);
    stream.setRawMode(true); // socat made it raw already; this also covers the direct client's `dev`
    return new PtyEndpoint(name, stream);
  }

  write(bytes: Buffer, cb: (err?: Error | null) => void): void {
    this.stream.write(bytes, cb);
  }

  close(): Promise<void> {
    if (this.stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
  }
}

export interface ConsoleOpenOptions {
  url: string;
  device: string;
  token: string;
  ca: Buffer;
  mode: 'read' | 'write';
  timeoutMs?: number;
}

export class WsEndpoint implements Endpoint {
  ondata: ((bytes: Buffer) => void) | undefined;
  ended: string | undefined;
  readonly controls: Array<Record<string, unknown>> = [];

  private constructor(
    readonly name: string,
    readonly ws: WebSocket,
  ) {}

  /** Opens the console WebSocket and resolves after the `hello` control frame. */
  static open(o: ConsoleOpenOptions): Promise<WsEndpoint> {
    const url = `${o.url.replace(/^https:/, 'wss:')}/api/v1/devices/${encodeURIComponent(o.device)}/console?mode=${o.mode}&replay=0`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca: o.ca, headers: { authorization: `Bearer ${o.token}` }, perMessageDeflate: false });
      const ep = new WsEndpoint(`ws:${o.device}`, ws);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`console ${o.device}: no hello within ${o.timeoutMs ?? 15_000} ms`));
      }, o.timeoutMs ?? 15_000);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          ep.ondata?.(data);
          return;
        }
        const msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
        ep.controls.push(msg);
        if (msg.type === 'hello') {
          clearTimeout(timer);
          resolve(ep);
        }
      });
      ws.on('close', (code, reason) => {
        ep.ended ??= `closed ${code} ${reason.toString()}`;
        clearTimeout(timer);
        reject(new Error(`console ${o.device}: closed ${code} ${reason.toString()} before hello`));
      });
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`console ${o.device}: HTTP ${res.statusCode}`));
      });
      ws.on('error', (err) => {
        ep.ended ??= `error: ${err.message}`;
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  write(bytes: Buffer, cb: (err?: Error | null) => void): void {
    this.ws.send(bytes, { binary: true }, cb);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 3000);
      this.ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.ws.close(1000, 'bench done');
    });
  }
}
