#!/usr/bin/env node
// Bundles the browser UI into dist/: index.html, assets/app.js, assets/app.css (xterm.css
// included), assets/favicon.svg. No inline script or style anywhere (see the gateway's CSP).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

await build({
  entryPoints: { app: join(here, 'src/main.ts'), 'app-style': join(here, 'src/styles.css') },
  outdir: join(dist, 'assets'),
  entryNames: '[name]',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
copyFileSync(join(here, 'src/index.html'), join(dist, 'index.html'));
copyFileSync(join(here, 'src/favicon.svg'), join(dist, 'assets/favicon.svg'));
