// OutboundRecorder: every HTTP(S) request and TCP connection this process starts, via node:diagnostics_channel.
// Lets a test prove that no request went to public Azure (or anywhere but the fakes), whatever library made it.

import diagnostics_channel from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';

export class OutboundRecorder {
  readonly requests: Array<{ host: string; path: string; authorization: boolean }> = [];
  readonly sockets: string[] = [];
  private readonly onRequest = (msg: unknown) => {
    const r = (msg as { request: ClientRequest }).request;
    this.requests.push({ host: String(r.getHeader('host') ?? r.host), path: r.path, authorization: r.hasHeader('authorization') });
  };
  private readonly onSocket = (msg: unknown) => {
    const s = (msg as { socket: Socket & { _host?: string } }).socket;
    s.once('connect', () => this.sockets.push(`${s.remoteAddress}:${s.remotePort}`));
  };

  start(): this {
    diagnostics_channel.subscribe('http.client.request.start', this.onRequest);
    diagnostics_channel.subscribe('net.client.socket', this.onSocket);
    return this;
  }

  stop(): void {
    diagnostics_channel.unsubscribe('http.client.request.start', this.onRequest);
    diagnostics_channel.unsubscribe('net.client.socket', this.onSocket);
  }
}
