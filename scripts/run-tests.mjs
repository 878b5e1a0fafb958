#!/usr/bin/env node
// Runs every *.test.ts below the given folders (or the given files) (relative to the current workspace) with Node's
// own test runner, TypeScript loaded through tsx. Node 20's `--test` takes no globs, so the
// files are listed here. Extra arguments after `--` pass through to node (e.g. --test-name-pattern).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const sep = process.argv.indexOf('--');
const roots = process.argv.slice(2, sep === -1 ? undefined : sep);
const passthrough = sep === -1 ? [] : process.argv.slice(sep + 1);

/** @param {string} dir @returns {string[]} */
function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const files = roots.flatMap((r) => (statSync(r).isFile() ? [r] : findTests(r))).sort();
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files under ${roots.join(', ')}`);
  process.exit(1);
}
// TTYGATE_TAP_OUT: also write a TAP report there (scripts/test.sh sums them into one closing line).
const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout'];
if (process.env.TTYGATE_TAP_OUT) reporters.push('--test-reporter=tap', `--test-reporter-destination=${process.env.TTYGATE_TAP_OUT}`);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', ...reporters, ...passthrough, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
