#!/usr/bin/env node
// Entry point of the ttygate CLI: runs the compiled CLI (`make build` first).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error('ttygate: not built yet; run `make build` (or `npm run build`) in the repository first');
  process.exit(1);
}
const { main } = await import(compiled.href);
process.exitCode = await main(process.argv.slice(2));
