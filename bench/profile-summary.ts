// Summarises a V8 .cpuprofile (from `run.ts --profile DIR`): where the gateway's CPU time went.
//
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP=25] [--from SEC] [--to SEC]
//
// --from/--to keep only the samples in that window (seconds since the profile started), e.g. to
// leave out the gateway's start-up.
//
// Prints self time by function and by area (gateway source folder, or node_modules package, or
// node internals / GC / idle), and inclusive ("total") time of the gateway's own functions.

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const opt = (name: string): number | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const from = opt('--from') ?? 0;
const to = opt('--to') ?? Infinity;
const file = args[0];
if (!file) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [TOP] [--from SEC] [--to SEC]\n');
  process.exit(2);
}
const top = Number(args[1] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
let t = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (t / 1e6 < from || t / 1e6 > to) return;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
});
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

function area(f: CallFrame): string {
  const u = f.url;
  if (!u) return f.functionName.startsWith('(') ? f.functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return `npm:${nm[1]}`;
  const gw = /\/gateway\/src\/([^/]+)(?:\/([^/]+))?/.exec(u);
  if (gw) return `gateway/${gw[1]}${gw[2] && !gw[2].endsWith('.ts') ? `/${gw[2]}` : ''}`;
  if (u.startsWith('node:')) return u.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  return u.replace(/^file:\/\/.*\//, '');
}
const label = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\/.*?\/(gateway\/src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;

const bySelf = new Map<string, number>();
const byArea = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  bySelf.set(label(f), (bySelf.get(label(f)) ?? 0) + us);
  byArea.set(area(f), (byArea.get(area(f)) ?? 0) + us);
}

// Inclusive time of gateway functions (each counted once per sample even if recursive).
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const f = byId.get(n)!.callFrame;
    if (!f.url.includes('/gateway/src/')) continue;
    const l = label(f);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + us);
  }
}

const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const print = (title: string, m: Map<string, number>, n: number): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${ms(v)} ${pct(v)}  ${k}\n`);
};
const idle = byArea.get('(idle)') ?? 0;
process.stdout.write(`${file}\nwall ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, window ${from}–${to} s, sampled ${(totalUs / 1e6).toFixed(1)} s, busy ${((totalUs - idle) / 1e6).toFixed(1)} s\n`);
print('self time by area', byArea, top);
print('self time by function', bySelf, top);
print('inclusive time, gateway functions', inclusive, top);
