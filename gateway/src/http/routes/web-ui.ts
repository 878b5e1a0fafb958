// The browser UI: web/dist served over the gateway's own TLS listener, with strict security headers.
//
// Content-Security-Policy, and why each part is what it is:
// - scripts: `script-src 'self'` only — no inline script, no eval; the page is one bundled file.
// - style elements: `'self'` plus a nonce made fresh for every page load. xterm.js's DOM renderer
//   creates three <style> elements (theme, cell dimensions, scrollbar) at `terminal.open()`; the
//   page reads the nonce from <meta name="ttygate-style-nonce"> and gives it to exactly those.
// - style attributes: `style-src-attr 'unsafe-inline'`. xterm.js sets a `style` attribute on cells
//   with true-colour or contrast-adjusted colours. An attribute can only style its own element (no
//   selectors, so no CSS-based data exfiltration); scripts stay strict.
// - `connect-src 'self'` covers fetch and the same-origin wss:// console.
// Only files present in web/dist when the gateway starts are served, by exact name.

import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The placeholder in web/dist/index.html that each response replaces with its nonce. */
export const STYLE_NONCE_PLACEHOLDER = '__TTYGATE_STYLE_NONCE__';

export function pageCsp(styleNonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `style-src-elem 'self' 'nonce-${styleNonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function webUiRoutes(app: FastifyInstance, opts: { root: string | undefined }): Promise<void> {
  const root = opts.root;
  const indexFile = root ? join(root, 'index.html') : undefined;
  const built = indexFile !== undefined && existsSync(indexFile);
  const indexTemplate = built ? readFileSync(indexFile, 'utf8') : undefined;
  // Exact names only: no path is built from the request beyond a lookup in this map.
  const assets = new Map<string, { body: Buffer; type: string }>();
  if (built) {
    const dir = join(root!, 'assets');
    if (existsSync(dir)) {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        const type = CONTENT_TYPES[extname(name)];
        if (type && statSync(full).isFile()) assets.set(name, { body: readFileSync(full), type });
      }
    }
  }

  const page = async (_request: unknown, reply: FastifyReply) => {
    if (!indexTemplate) {
      return reply.status(503).type('text/plain; charset=utf-8').send('The web console is not built: run `npm run build` (or `make run`), then restart the gateway.\n');
    }
    const nonce = randomBytes(18).toString('base64');
    return reply
      .header('content-security-policy', pageCsp(nonce))
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(indexTemplate.replaceAll(STYLE_NONCE_PLACEHOLDER, nonce));
  };
  app.get('/', { config: { permission: 'public' } }, page);

  app.get('/assets/:file', { config: { permission: 'public' } }, async (request, reply) => {
    const asset = assets.get((request.params as { file: string }).file);
    if (!asset) return reply.status(404).send({ error: { code: 'NotFound', message: 'no such asset' } });
    // Names are stable (not content-hashed): revalidate rather than cache for long.
    return reply.header('cache-control', 'no-cache').type(asset.type).send(asset.body);
  });
}
