// ApiClient: the CLI's HTTPS client for a remote gateway (bearer token; CA file or pinned fingerprint).

import { X509Certificate } from 'node:crypto';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';

export interface ApiClientOptions {
  url: string;
  token: string;
  /** PEM CA file to trust (e.g. the gateway's self-signed cert.pem). */
  caFile?: string;
  /** SHA-256 fingerprint to pin (as `ttygate serve` prints it); accepts colons or not, any case. */
  fingerprint?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const normalise = (fp: string) => fp.replace(/:/g, '').toUpperCase();

/**
 * TLS options shared by HTTPS requests and the console WebSocket. With a pinned fingerprint the
 * chain is not checked (a self-signed gateway), so callers MUST run `checkPin` on `secureConnect`:
 * Node does not call checkServerIdentity for a certificate it could not verify.
 */
export function tlsOptions(o: ApiClientOptions): Pick<RequestOptions, 'ca' | 'rejectUnauthorized' | 'minVersion'> {
  if (o.fingerprint) return { minVersion: 'TLSv1.2', rejectUnauthorized: false };
  return { minVersion: 'TLSv1.2', ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}) };
}

/** Compares the peer certificate with the pinned fingerprint; an Error when they differ. */
export function checkPin(o: ApiClientOptions, socket: TLSSocket): Error | undefined {
  if (!o.fingerprint) return undefined;
  const got = socket.getPeerCertificate().fingerprint256 ?? '';
  return normalise(got) === normalise(o.fingerprint) ? undefined : new Error(`the gateway's certificate fingerprint ${got} is not the pinned ${o.fingerprint}`);
}

export class ApiClient {
  constructor(readonly options: ApiClientOptions) {}

  /** Sends one request; resolves with the parsed JSON (or text / bytes), rejects with ApiError. */
  async request<T = unknown>(method: string, path: string, body?: unknown, accept: 'json' | 'text' | 'bytes' = 'json'): Promise<{ data: T; headers: Record<string, string | string[] | undefined> }> {
    const url = new URL(path, this.options.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          // The TLS handshake (and the pin check) completes before the request, and with it the
          // bearer token, is written to the socket.
          createConnection: (_opts: unknown, oncreate: (err: Error | null, socket?: TLSSocket) => void) => {
            connectVerified(this.options, url).then((s) => oncreate(null, s), (e: Error) => oncreate(e));
            return undefined;
          },
        } as RequestOptions,
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const buf = Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              let code = 'HttpError';
              let message = `${method} ${url.pathname}: HTTP ${status}`;
              try {
                const e = JSON.parse(buf.toString('utf8')) as { error?: { code: string; message: string } };
                if (e.error) ({ code, message } = e.error);
              } catch {
                // Not JSON: keep the generic message.
              }
              return reject(new ApiError(status, code, message));
            }
            const data = accept === 'bytes' ? buf : accept === 'text' ? buf.toString('utf8') : buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
            resolve({ data: data as T, headers: res.headers });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** A TLS connection to the gateway whose certificate passed the CA check or the pin. */
export function connectVerified(o: ApiClientOptions, url: URL): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      ALPNProtocols: ['http/1.1'],
      ...tlsOptions(o),
    } as ConnectionOptions);
    socket.once('secureConnect', () => {
      const err = checkPin(o, socket);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The SHA-256 fingerprint of a PEM certificate file (what `ttygate serve` prints). */
export function fingerprintOf(pemFile: string): string {
  return new X509Certificate(readFileSync(pemFile)).fingerprint256;
}
