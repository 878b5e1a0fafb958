import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { installSecurityHeaders } from '../security-headers.js';
import { STYLE_NONCE_PLACEHOLDER, webUiRoutes } from './web-ui.js';

describe('web UI route', () => {
  let root: string;
  let app: FastifyInstance;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tg-webui-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), `<meta name="ttygate-style-nonce" content="${STYLE_NONCE_PLACEHOLDER}"><script type="module" src="/assets/app.js"></script>`);
    writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(root, 'assets', 'notes.txt'), 'not a served type');
    app = Fastify();
    installSecurityHeaders(app);
    await webUiRoutes(app, { root });
    app.get('/api/v1/x', async () => ({ ok: true }));
  });
  after(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the page with a strict CSP: scripts from self only, a fresh style nonce per response', async () => {
    const a = await app.inject({ url: '/' });
    const b = await app.inject({ url: '/' });
    assert.equal(a.statusCode, 200);
    assert.match(String(a.headers['content-type']), /^text\/html/);
    const csp = String(a.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /default-src 'none'/);
    const nonceA = /'nonce-([^']+)'/.exec(csp)?.[1];
    const nonceB = /'nonce-([^']+)'/.exec(String(b.headers['content-security-policy']))?.[1];
    assert.ok(nonceA && nonceB && nonceA !== nonceB, 'a new nonce each time');
    assert.ok(a.body.includes(`content="${nonceA}"`), 'the page carries its own nonce');
    assert.ok(!a.body.includes(STYLE_NONCE_PLACEHOLDER));
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
    assert.equal(a.headers['referrer-policy'], 'no-referrer');
    assert.equal(a.headers['x-frame-options'], 'DENY');
    assert.equal(a.headers['cache-control'], 'no-store');
  });

  it('serves built assets by exact name with their type, and nothing else', async () => {
    const js = await app.inject({ url: '/assets/app.js' });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.equal((await app.inject({ url: '/assets/notes.txt' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/assets/..%2Findex.html' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/assets/missing.js' })).statusCode, 404);
  });

  it('API answers and 404s get the base headers and a CSP that allows nothing', async () => {
    for (const url of ['/api/v1/x', '/no/such/route']) {
      const r = await app.inject({ url });
      assert.equal(r.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", url);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(r.headers['x-frame-options'], 'DENY', url);
    }
  });

  it('says so when the UI is not built', async () => {
    const bare = Fastify();
    await webUiRoutes(bare, { root: undefined });
    const r = await bare.inject({ url: '/' });
    assert.equal(r.statusCode, 503);
    assert.match(r.body, /not built: run `npm run build`/);
    await bare.close();
  });
});
