// TcpDriver: device kind `tcp` — a remote console server (ser2net, another gateway) over TCP or TLS, raw or telnet.

import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { messageOf } from '../base-transport.js';
import type { TcpDeviceSpec } from '../device-spec.js';
import { SimpleConnection } from '../simple-connection.js';
import { TransportError, type DeviceConnection, type DeviceDriver } from '../transport.js';
import { SocketTransport } from './socket-transport.js';
import { TcpControls } from './tcp-controls.js';
import { TelnetStream } from './telnet-stream.js';

export interface TcpDriverOptions {
  /** How long a connection (and TLS handshake) may take (default 10 s). */
  connectTimeoutMs?: number;
  /** TCP keepalive delay, so a vanished server is noticed on an idle line (default 30 s). */
  keepAliveMs?: number;
  /**
   * Telnet: how long `open` waits for the server to answer our BINARY offers (default 1 s). A
   * server that never answers is then spoken to as a plain NVT (CR sent as CR NUL).
   */
  telnetNegotiationMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_KEEPALIVE_MS = 30_000;
/** ser2net and QEMU negotiate within milliseconds of accepting; a second means the server will not. */
const DEFAULT_TELNET_NEGOTIATION_MS = 1000;

/**
 * Opens `tcp` devices: `net.connect`, or `tls.connect` when `tls` is set (`true`: system CAs;
 * `{ca, servername, rejectUnauthorized}`: a CA file to trust, the name to check). TLS 1.2 minimum.
 * `protocol: telnet` runs the {@link TelnetStream} codec and offers BREAK (IAC BRK).
 */
export class TcpDriver implements DeviceDriver<TcpDeviceSpec> {
  readonly kind = 'tcp' as const;

  constructor(private readonly options: TcpDriverOptions = {}) {}

  async open(spec: TcpDeviceSpec, signal?: AbortSignal): Promise<DeviceConnection> {
    signal?.throwIfAborted();
    const telnet = (spec.protocol ?? 'raw') === 'telnet';
    const what = `${spec.host}:${spec.port} (${telnet ? 'telnet' : 'raw'}${spec.tls ? ' over TLS' : ''})`;
    let socket: net.Socket;
    try {
      socket = await this.connect(spec, signal);
    } catch (err) {
      throw new TransportError('open-failed', `cannot connect to ${what}: ${messageOf(err)}`, { cause: err });
    }
    socket.setKeepAlive(true, this.options.keepAliveMs ?? DEFAULT_KEEPALIVE_MS);
    const codec = telnet ? new TelnetStream() : undefined;
    let initial: Uint8Array[] = [];
    if (codec) {
      try {
        initial = await negotiate(socket, codec, this.options.telnetNegotiationMs ?? DEFAULT_TELNET_NEGOTIATION_MS, signal);
      } catch (err) {
        socket.destroy();
        throw new TransportError('open-failed', `telnet negotiation with ${what} failed: ${messageOf(err)}`, { cause: err });
      }
    }
    const transport = new SocketTransport(socket, `console server ${what}`, codec, initial);
    const connection = new SimpleConnection(transport, new TcpControls(transport, telnet));
    transport.release();
    return connection;
  }

  private async connect(spec: TcpDeviceSpec, signal?: AbortSignal): Promise<net.Socket> {
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    let socket: net.Socket;
    let ready: string;
    if (spec.tls) {
      const o = spec.tls === true ? {} : spec.tls;
      const ca = o.ca !== undefined ? await readFile(o.ca).catch((err: unknown) => Promise.reject(new Error(`cannot read the CA file ${o.ca}: ${messageOf(err)}`))) : undefined;
      const servername = o.servername ?? (net.isIP(spec.host) ? undefined : spec.host);
      socket = tls.connect({
        host: spec.host,
        port: spec.port,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: o.rejectUnauthorized ?? true,
        ...(ca ? { ca } : {}),
        ...(servername ? { servername } : {}),
      });
      ready = 'secureConnect';
    } else {
      socket = net.connect({ host: spec.host, port: spec.port });
      ready = 'connect';
    }
    return new Promise<net.Socket>((resolve, reject) => {
      const fail = (err: unknown): void => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onAbort = (): void => fail(signal?.reason);
      const timer = setTimeout(() => fail(new Error(`no connection within ${timeoutMs / 1000} s`)), timeoutMs);
      const onReady = (): void => {
        cleanup();
        resolve(socket);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('error', fail);
        socket.off(ready, onReady);
      };
      socket.once('error', fail);
      socket.once(ready, onReady);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Sends our telnet offers and answers the server's until BINARY is settled both ways (or `timeoutMs`
 * passed). Returns the data bytes that arrived meanwhile. Leaves the socket paused, listeners removed.
 */
function negotiate(socket: net.Socket, codec: TelnetStream, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array[]> {
  const data: Uint8Array[] = [];
  return new Promise<Uint8Array[]>((resolve, reject) => {
    const finish = (err?: unknown): void => {
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      socket.off('error', finish);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve(data);
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      const r = codec.receive(chunk);
      if (r.reply.length > 0) socket.write(r.reply);
      if (r.data.length > 0) data.push(r.data);
      if (!codec.negotiating) finish();
    };
    const onClose = (): void => finish(new Error('the server closed the connection'));
    const onAbort = (): void => finish(signal?.reason);
    const timer = setTimeout(() => finish(), timeoutMs);
    socket.on('data', onData);
    socket.once('error', finish);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.write(codec.start());
  });
}
