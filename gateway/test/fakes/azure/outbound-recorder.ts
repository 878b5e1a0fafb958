// OutboundRecorder: every HTTP(S) request this process starts (node:http/https, hence the Azure SDK,
// MSAL through @azure/identity, and ws upgrades), via node:diagnostics_channel, whatever library made it.
// Lets a test prove that no request went to public Azure, or anywhere but the fakes.

import diagnostics_channel from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

export class OutboundRecorder {
  readonly requests: Array<{ host: string; path: string; authorization: boolean }> = [];
  private readonly onRequest = (msg: unknown) => {
    const r = (msg as { request: ClientRequest }).request;
    this.requests.push({ host: String(r.getHeader('host') ?? r.host), path: r.path, authorization: r.hasHeader('authorization') });
  };

  start(): this {
    diagnostics_channel.subscribe('http.client.request.start', this.onRequest);
    return this;
  }

  stop(): void {
    diagnostics_channel.unsubscribe('http.client.request.start', this.onRequest);
  }
}
