// Fake Azure Blob storage for boot diagnostics: the serial log and screenshot blobs behind SAS URIs.
//
// Rules and their sources: a SAS URI carries its authorization in the query (`sv`, `se`, `sr`, `sp`,
// `sig`); a request with a wrong or missing signature is 403 `AuthenticationFailed`, an expired one 403
// (learn.microsoft.com/rest/api/storageservices/create-service-sas). The client sends no bearer token:
// the fake refuses one, so a gateway leaking its ARM token here fails the test.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeVm } from './fake-arm.js';

export class FakeStorage {
  private readonly blobs = new Map<string, { vm: FakeVm; which: 'serial' | 'screenshot'; sig: string; expires: number }>();

  constructor(private readonly origin: () => string) {}

  sasUri(vm: FakeVm, which: 'serial' | 'screenshot', minutes = 5): string {
    const path = `/bootdiagnostics-${vm.name.toLowerCase()}/${vm.name}.${which === 'serial' ? 'serialconsole.log' : 'screenshot.bmp'}`;
    const sig = randomBytes(16).toString('base64url');
    const expires = Date.now() + minutes * 60_000;
    this.blobs.set(path, { vm, which, sig, expires });
    const q = new URLSearchParams({ sv: '2021-08-06', se: new Date(expires).toISOString(), sr: 'b', sp: 'r', sig });
    return `${this.origin()}${path}?${q}`;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.origin());
    const blob = this.blobs.get(decodeURIComponent(url.pathname));
    const fail = (status: number, code: string) => {
      const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(body.length) });
      res.end(body);
    };
    if (req.headers.authorization) return fail(400, 'InvalidAuthenticationInfo');
    if (!blob) return fail(404, 'BlobNotFound');
    if (url.searchParams.get('sig') !== blob.sig || Date.now() > blob.expires) return fail(403, 'AuthenticationFailed');
    const bytes = blob.which === 'serial' ? blob.vm.serialLog : blob.vm.screenshot;
    res.writeHead(200, { 'content-type': blob.which === 'serial' ? 'text/plain' : 'image/bmp', 'content-length': String(bytes.length), 'x-ms-blob-type': 'BlockBlob' });
    res.end(bytes);
  }
}
