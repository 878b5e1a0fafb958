// A throwaway CA-less self-signed certificate for the fake Azure endpoints, made with openssl in a temp dir.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeCert {
  key: Buffer;
  cert: Buffer;
  /** The certificate's path: what a gateway config names as `caFile` to trust the fake. */
  certPath: string;
  dir: string;
  remove(): void;
}

/** One self-signed certificate valid for every loopback address the fake listens on (`ips`). */
export function makeFakeCert(ips: string[]): FakeCert {
  const dir = mkdtempSync(join(tmpdir(), 'tg-fake-azure-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=fake-azure.test', '-addext', `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}`,
    '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert), certPath: cert, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
