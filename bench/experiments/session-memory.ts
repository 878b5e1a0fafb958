// What does one idle console session cost the gateway? Evidence behind bench/README.md: RSS after GC
// at 0, n and 2n sessions (is it linear?), and a V8 heap-snapshot diff (which JS objects each
// session keeps, measured on a second batch so one-time costs such as compiled code drop out), on the
// real gateway child with n socat devices.
//
//   node --import tsx bench/experiments/session-memory.ts [N=100]

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WsEndpoint } from '../lib/endpoints.js';
import { cleanupAll, installCleanup, settledMemory, sleep, spawnPtyPairs, startGatewayChild, stopPtyPairs, trackTempDir } from '../lib/procs.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per `type:name` (objects by constructor, closures by function name). */
function aggregate(file: string): Map<string, { count: number; size: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const name = s.strings[s.nodes[i + iName]!]!;
    const key = type === 'object' || type === 'closure' || type === 'native' || type === 'array' ? `${type}:${name.slice(0, 60)}` : `(${type})`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

async function main(): Promise<void> {
  installCleanup();
  const n = Number(process.argv[2] ?? 100);
  const root = trackTempDir(mkdtempSync(join(tmpdir(), 'ttygate-mem-')));
  const pairs = await spawnPtyPairs(root, 'm', n);
  const ids = pairs.map((_, i) => `d${String(i).padStart(3, '0')}`);
  const gw = await startGatewayChild({ dataDir: join(root, 'data'), devices: pairs.map((p, i) => ({ id: ids[i]!, path: p.dev })), readyTimeoutMs: 60_000 });
  const sessions: WsEndpoint[] = [];
  try {
    const attach = async (mode: 'read' | 'write'): Promise<WsEndpoint[]> => {
      const opened: WsEndpoint[] = [];
      for (let i = 0; i < n; i += 20) {
        opened.push(...(await Promise.all(ids.slice(i, i + 20).map((device) => WsEndpoint.open({ url: gw.url, device, token: gw.token, ca: gw.ca, mode })))));
      }
      sessions.push(...opened);
      await sleep(1000);
      return opened;
    };
    // RSS first (a heap snapshot itself grows the RSS), then snapshots around a second batch.
    const settled = () => settledMemory(gw, 20_000);
    const m0 = await settled();
    await attach('write');
    const m1 = await settled();
    const viewers = await attach('read');
    const m2 = await settled();
    await Promise.all(viewers.map((v) => v.close()));
    const m3 = await settled();
    const kib = (b: number): string => (b / 1024).toFixed(1);
    process.stdout.write(
      `RSS after GC: 0 sessions ${kib(m0.rss)} KiB, ${n}: ${kib(m1.rss)} KiB, ${2 * n}: ${kib(m2.rss)} KiB, back to ${n}: ${kib(m3.rss)} KiB\n` +
        `per session: first ${n} (write) ${kib((m1.rss - m0.rss) / n)} KiB RSS / ${kib((m1.heapUsed - m0.heapUsed) / n)} KiB heap; ` +
        `next ${n} (read-only) ${kib((m2.rss - m1.rss) / n)} KiB RSS / ${kib((m2.heapUsed - m1.heapUsed) / n)} KiB heap\n`,
    );
    const s0 = await gw.heapSnapshot(join(root, 's0.heapsnapshot'));
    await attach('read');
    const s1 = await gw.heapSnapshot(join(root, 's1.heapsnapshot'));
    const a = aggregate(s0);
    const b = aggregate(s1);
    const rows = [...b]
      .map(([k, v]) => {
        const o = a.get(k) ?? { count: 0, size: 0 };
        return { k, count: (v.count - o.count) / n, size: (v.size - o.size) / n };
      })
      .sort((x, y) => y.size - x.size);
    const total = rows.reduce((t, r) => t + r.size, 0);
    process.stdout.write(`\nJS heap per session (snapshot diff: ${n} more read-only sessions on a warm gateway): ${(total / 1024).toFixed(1)} KiB\n| bytes/session | objects/session | type:constructor |\n|---|---|---|\n`);
    for (const r of rows.slice(0, 30)) process.stdout.write(`| ${r.size.toFixed(0)} | ${r.count.toFixed(1)} | ${r.k} |\n`);
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    await gw.close();
    await stopPtyPairs(pairs);
    cleanupAll();
  }
}

void main();
