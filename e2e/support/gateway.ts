// A real gateway for the browser tests: HTTPS on port 0, a temp data dir, real QEMU guests, users
// made through the administration API with the owner's token.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../gateway/src/config.js';
import { startGateway, type RunningGateway } from '../../gateway/src/main.js';

export interface E2eGateway {
  gw: RunningGateway;
  url: string;
  ownerToken: string;
  ownerPassword: string;
  /** HTTPS JSON call with a bearer token, trusting the gateway's self-signed certificate (its CA file). */
  api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any; text: string; headers: Record<string, string | string[] | undefined> }>;
  /** Creates a user with a password and one role on `scope`, through the API as the owner. */
  addUser(name: string, role: string, scope: string): Promise<{ name: string; password: string }>;
  close(): Promise<void>;
}

export async function startE2eGateway(yaml: string): Promise<E2eGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-e2e-'));
  const config = { ...parseConfig(yaml, 'e2e.yaml', dataDir), dataDir };
  config.listen = { host: '127.0.0.1', port: 0 };
  const gw = await startGateway({ config, log: () => undefined });
  const ownerPassword = gw.adminPassword!;
  // The owner's first API token, as `ttygate tokens create admin` makes it.
  const admin = gw.identity.findUserByName('admin')!;
  const ownerToken = gw.identity.createToken(admin.id, 'e2e').secret;
  const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));

  const api = (method: string, path: string, token: string, body?: unknown) =>
    new Promise<{ status: number; body: any; text: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        `${gw.url}${path}`,
        {
          method,
          ca,
          headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // Not JSON (serial log text): keep the text.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  return {
    gw,
    url: gw.url,
    ownerToken,
    ownerPassword,
    api,
    async addUser(name, role, scope) {
      const password = `${name}-e2e-password-long-enough`;
      const r = await api('POST', '/api/v1/users', ownerToken, { name, password, role, scope });
      if (r.status !== 201) throw new Error(`adding user ${name}: ${r.status} ${r.text}`);
      return { name, password };
    },
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
