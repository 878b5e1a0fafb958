// TLS: the only place that builds HTTPS options (TLS 1.2 minimum) and makes the self-signed certificate.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** SHA-256 fingerprint, colon-separated hex, as browsers show it. */
  fingerprint256: string;
  selfSigned: boolean;
}

/** HTTPS server options: TLS 1.2 or newer only (TLS 1.0/1.1 refused even if OpenSSL allows them). */
export function httpsOptions(tls: TlsMaterial): { key: Buffer; cert: Buffer; minVersion: 'TLSv1.2' } {
  return { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' };
}

/** Loads the configured certificate, or makes (once) and loads a self-signed one in `dataDir/tls`. */
export async function loadTls(configured: { cert: string; key: string } | undefined, dataDir: string, hostnames: string[]): Promise<TlsMaterial> {
  let certPath: string;
  let keyPath: string;
  let selfSigned = false;
  if (configured) {
    ({ cert: certPath, key: keyPath } = configured);
  } else {
    const dir = join(dataDir, 'tls');
    certPath = join(dir, 'cert.pem');
    keyPath = join(dir, 'key.pem');
    selfSigned = true;
    try {
      await access(certPath);
      await access(keyPath);
    } catch {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const san = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...hostnames.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`))];
      await execFileP('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', certPath, '-days', '825', '-subj', '/CN=ttygate',
        '-addext', `subjectAltName=${[...new Set(san)].join(',')}`,
      ]);
    }
  }
  const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
  const fingerprint256 = new X509Certificate(cert).fingerprint256;
  return { key, cert, fingerprint256, selfSigned };
}
