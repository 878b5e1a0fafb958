// ttygate console benchmark: the gateway path side by side with a direct pty, in one run.
//
//   node --import tsx bench/run.ts [--quick] [--only echo,d2c,c2d,fanout,sessions] [--profile DIR]
//                                  [--gateway-flags "NODE FLAGS"] [--out FILE]
//
// --profile DIR runs the gateway child under `node --cpu-prof` (a .cpuprofile per gateway in DIR;
// summarise one with bench/profile-summary.ts). --gateway-flags adds node flags to the gateway child
// (e.g. "--perf-basic-prof" for `perf record`). --only runs some scenarios (default: all).
//
// The gateway runs in a child process (bench/gateway-server.ts) so that it and the benchmark's
// clients have an event loop each; its RSS and CPU time are read from /proc/PID. Devices are socat
// pty pairs: the gateway (or, for the direct baseline, the same client logic on the pty itself)
// opens `dev`, the benchmark drives `peer`. Direct and gateway trials alternate, so drift on this
// shared machine hits both; the figures to compare are the ratios and the medians of one run.

import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Endpoint, PtyEndpoint, WsEndpoint } from './lib/endpoints.js';
import { echoRoundTrips, median, MiB, MB, percentile, rateMBps, stream, type StreamResult } from './lib/measure.js';
import {
  BENCH_DIR,
  cleanupAll,
  installCleanup,
  procCpuMs,
  procStatus,
  selfCpuMs,
  settledMemory,
  sleep,
  spawnPtyPairs,
  startGatewayChild,
  stopPtyPairs,
  trackTempDir,
  type GatewayChild,
  type MemorySample,
} from './lib/procs.js';

// ---- options -----------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag('--quick');
const profileDir = option('--profile') ? resolve(option('--profile')!) : undefined;
const ALL_SCENARIOS = ['echo', 'd2c', 'c2d', 'fanout', 'sessions'] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];
const only = new Set<Scenario>((option('--only')?.split(',') as Scenario[] | undefined) ?? ALL_SCENARIOS);
for (const s of only) if (!ALL_SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(', ')})`);
const fullRun = !quick && only.size === ALL_SCENARIOS.length;
/** Only a full run updates results/latest.json; others write JSON only when asked (--out). */
const outFile = option('--out') ? resolve(option('--out')!) : fullRun ? join(BENCH_DIR, 'results', 'latest.json') : undefined;

const P = quick
  ? { echoWarmup: 20, echoTrips: 200, echoBlocks: 2, bulkBytes: 8 * MiB, bulkReps: 1, sessions: 100, perSessionBytes: 256 * 1024, sessionReps: 1, viewers: 100, fanoutBytes: 2 * MiB, memQuietMs: 5000, memSteps: 2 }
  : { echoWarmup: 100, echoTrips: 2000, echoBlocks: 8, bulkBytes: 64 * MiB, bulkReps: 5, sessions: 100, perSessionBytes: 2 * MiB, sessionReps: 5, viewers: 100, fanoutBytes: 16 * MiB, memQuietMs: 20_000, memSteps: 2 };

/** Deadlines: generous (a 64 MiB transfer at 5 MB/s), but finite. */
const BULK_DEADLINE_MS = 120_000;
const ECHO_DEADLINE_MS = 120_000;
const FANOUT_DEADLINE_MS = 300_000;

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');

// ---- helpers -----------------------------------------------------------------------------------

interface PathPair {
  client: Endpoint;
  peer: Endpoint;
}

/** Gateway-side cost of one trial: CPU ms of the gateway process, its RSS peak (sampled). */
async function observed<T>(gw: GatewayChild | undefined, fn: () => Promise<T>): Promise<{ value: T; gwCpuMs: number; benchCpuMs: number; gwPeakRss: number }> {
  const cpu0 = gw ? procCpuMs(gw.pid) : 0;
  const self0 = selfCpuMs();
  let peak = gw ? procStatus(gw.pid).rss : 0;
  const sampler = gw
    ? setInterval(() => {
        try {
          peak = Math.max(peak, procStatus(gw.pid).rss);
        } catch {
          // exited
        }
      }, 100)
    : undefined;
  try {
    const value = await fn();
    return { value, gwCpuMs: gw ? procCpuMs(gw.pid) - cpu0 : 0, benchCpuMs: selfCpuMs() - self0, gwPeakRss: peak };
  } finally {
    clearInterval(sampler);
  }
}

function check(r: StreamResult, what: string): StreamResult {
  if (!r.completed) throw new Error(`${what}: ${r.error}`);
  return r;
}

async function openInBatches<T>(n: number, batch: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => open(i + k)))));
  }
  return out;
}

/** Gateway memory after GC, settled (see settledMemory). */
const memSample = (gw: GatewayChild): Promise<MemorySample & { waitedS: number }> => settledMemory(gw, P.memQuietMs);

// ---- results -----------------------------------------------------------------------------------

interface Row {
  metric: string;
  unit: string;
  direct?: number;
  gateway: number;
  ratio?: number;
  target?: string;
  pass?: boolean;
  note?: string;
}

const results: {
  when: string;
  quick: boolean;
  machine: { cpus: number; model: string; node: string; loadavgAtStart: number[] };
  setup: string;
  params: typeof P;
  rows: Row[];
  detail: Record<string, unknown>;
  errors: string[];
} = {
  when: new Date().toISOString(),
  quick,
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version, loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))) },
  setup:
    'gateway in a child process (bench/gateway-server.ts, production composition root, capture on, TLS wss, token auth); devices are socat pty pairs; the benchmark drives the device side (peer) as a libuv tty stream; direct = the same client logic on the pty (dev) as a tty stream; direct and gateway trials alternate; MB = 10^6 bytes',
  params: P,
  rows: [],
  detail: {},
  errors: [],
};

/** 1. Keystroke echo: blocks of round trips, alternating direct and gateway. */
async function echoScenario(paths: Record<'direct' | 'gateway', PathPair>): Promise<void> {
  const echo: Record<'direct' | 'gateway', number[]> = { direct: [], gateway: [] };
  for (const name of ['direct', 'gateway'] as const) {
    const w = await echoRoundTrips(paths[name].client, paths[name].peer, P.echoWarmup, { deadlineMs: ECHO_DEADLINE_MS });
    if (w.error) throw new Error(`echo warm-up ${name}: ${w.error}`);
  }
  const perBlock = Math.ceil(P.echoTrips / P.echoBlocks);
  for (let b = 0; b < P.echoBlocks; b++) {
    for (const name of b % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)) {
      const r = await echoRoundTrips(paths[name].client, paths[name].peer, perBlock, { deadlineMs: ECHO_DEADLINE_MS / P.echoBlocks });
      if (r.error) throw new Error(`echo ${name}: ${r.error}`);
      echo[name].push(...r.samples);
    }
  }
  const eStats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
  };
  const ed = eStats(echo.direct);
  const eg = eStats(echo.gateway);
  results.detail.echo = { direct: ed, gateway: eg };
  results.rows.push(
    { metric: 'keystroke echo p50', unit: 'ms', direct: ed.p50, gateway: eg.p50, ratio: eg.p50 / ed.p50, target: '≤ 2.5×', pass: eg.p50 / ed.p50 <= 2.5 },
    { metric: 'keystroke echo p99', unit: 'ms', direct: ed.p99, gateway: eg.p99, ratio: eg.p99 / ed.p99 },
  );
  log(`  echo p50 direct ${fmt(ed.p50, 3)} ms, gateway ${fmt(eg.p50, 3)} ms; p99 ${fmt(ed.p99, 3)} / ${fmt(eg.p99, 3)} ms (n=${ed.n}/${eg.n})`);
}

// ---- phase A: one device -----------------------------------------------------------------------

async function phaseA(root: string, nodeFlags: string[]): Promise<void> {
  log('phase A: one device — echo, device→client, client→device, fan-out');
  const [directPair] = await spawnPtyPairs(root, 'a-direct', 1);
  const [gwPair] = await spawnPtyPairs(root, 'a-gw', 1);
  const gw = await startGatewayChild({ dataDir: join(root, 'data-a'), devices: [{ id: 'pty0', path: gwPair!.dev }], nodeFlags });
  const endpoints: Endpoint[] = [];
  const keep = <T extends Endpoint>(e: T): T => (endpoints.push(e), e);
  try {
    const direct: PathPair = { client: keep(await PtyEndpoint.open(directPair!.dev, 'direct:dev')), peer: keep(await PtyEndpoint.open(directPair!.peer, 'direct:peer')) };
    const gateway: PathPair = {
      client: keep(await WsEndpoint.open({ url: gw.url, device: 'pty0', token: gw.token, ca: gw.ca, mode: 'write' })),
      peer: keep(await PtyEndpoint.open(gwPair!.peer, 'gw:peer')),
    };
    const paths = { direct, gateway } as const;
    const rssStart = procStatus(gw.pid).rss;

    // 1. Keystroke echo.
    if (only.has('echo')) await echoScenario(paths);

    // 2. Bulk, each direction, alternating direct and gateway.
    for (const dir of ['device→client', 'client→device'] as const) {
      if (!only.has(dir === 'device→client' ? 'd2c' : 'c2d')) continue;
      const trials: Record<'direct' | 'gateway', Array<{ mbps: number; gwCpuMsPerMB: number; benchCpuMsPerMB: number; gwPeakRss: number; meanChunk: number; sentS: number; doneS: number }>> = { direct: [], gateway: [] };
      for (let rep = 0; rep < P.bulkReps; rep++) {
        for (const name of rep % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)) {
          const { client, peer } = paths[name];
          const o = await observed(name === 'gateway' ? gw : undefined, () =>
            dir === 'device→client' ? stream(peer, [client], P.bulkBytes, { deadlineMs: BULK_DEADLINE_MS }) : stream(client, [peer], P.bulkBytes, { deadlineMs: BULK_DEADLINE_MS }),
          );
          const r = check(o.value, `${dir} ${name}`);
          const mb = P.bulkBytes / MB;
          const meanChunk = P.bulkBytes / r.chunks[0]!;
          const sentS = (r.sentAt - r.start) / 1000;
          trials[name].push({ mbps: rateMBps(P.bulkBytes, r.end - r.start), gwCpuMsPerMB: o.gwCpuMs / mb, benchCpuMsPerMB: o.benchCpuMs / mb, gwPeakRss: o.gwPeakRss, meanChunk, sentS, doneS: (r.end - r.start) / 1000 });
          log(
            `  ${dir} ${name} rep ${rep + 1}: ${fmt(trials[name].at(-1)!.mbps, 1)} MB/s (sender done ${fmt(sentS, 2)} s, receiver ${fmt((r.end - r.start) / 1000, 2)} s), receiver got ${r.chunks[0]} chunks of ${fmt(meanChunk, 0)} B on average` +
              (name === 'gateway' ? `; gateway CPU ${fmt(o.gwCpuMs / mb, 2)} ms/MB, peak RSS ${fmt(o.gwPeakRss / MiB, 0)} MiB` : ''),
          );
          await sleep(200);
        }
      }
      const d = median(trials.direct.map((t) => t.mbps));
      const g = median(trials.gateway.map((t) => t.mbps));
      results.detail[dir] = trials;
      results.rows.push(
        dir === 'device→client'
          ? { metric: `${dir} (${P.bulkBytes / MiB} MiB)`, unit: 'MB/s', direct: d, gateway: g, ratio: g / d, target: '≥ 0.6×', pass: g / d >= 0.6 }
          : { metric: `${dir} (${P.bulkBytes / MiB} MiB)`, unit: 'MB/s', direct: d, gateway: g, ratio: g / d },
        {
          metric: `  gateway CPU per MB, ${dir}`,
          unit: 'ms/MB',
          gateway: median(trials.gateway.map((t) => t.gwCpuMsPerMB)),
          note:
            `bench process: direct ${fmt(median(trials.direct.map((t) => t.benchCpuMsPerMB)))}, gateway path ${fmt(median(trials.gateway.map((t) => t.benchCpuMsPerMB)))} ms/MB; ` +
            `mean chunk at the receiver: direct ${fmt(median(trials.direct.map((t) => t.meanChunk)), 0)} B, gateway ${fmt(median(trials.gateway.map((t) => t.meanChunk)), 0)} B`,
        },
        {
          metric: `  gateway peak RSS, ${dir}`,
          unit: 'MiB',
          gateway: Math.max(...trials.gateway.map((t) => t.gwPeakRss)) / MiB,
          note: `${fmt(rssStart / MiB, 0)} MiB at gateway start; gateway path: sender done after ${fmt(median(trials.gateway.map((t) => t.sentS)))} s, receiver after ${fmt(median(trials.gateway.map((t) => t.doneS)))} s (median)`,
        },
      );
    }

    // 4. Fan-out: one device, many read-only viewers.
    if (!only.has('fanout')) return;
    await gateway.client.close();
    const viewers = await openInBatches(P.viewers, 20, (i) =>
      WsEndpoint.open({ url: gw.url, device: 'pty0', token: gw.token, ca: gw.ca, mode: 'read' }).then((v) => keep(Object.assign(v, { name: `viewer${i}` }))),
    );
    await sleep(500);
    const o = await observed(gw, () => stream(gateway.peer, viewers, P.fanoutBytes, { deadlineMs: FANOUT_DEADLINE_MS, tolerateReceiverEnd: true }));
    const r = check(o.value, 'fan-out');
    const per = r.doneAt.filter((t) => Number.isFinite(t)).map((t) => rateMBps(P.fanoutBytes, t - r.start));
    const delivered = per.length * P.fanoutBytes;
    const aggregate = rateMBps(delivered, r.end - r.start);
    const d2cTrials = results.detail['device→client'] as { direct: Array<{ mbps: number }> } | undefined;
    const directD2c = d2cTrials ? median(d2cTrials.direct.map((t) => t.mbps)) : NaN;
    const sortedPer = [...per].sort((a, b) => a - b);
    results.detail.fanout = {
      viewers: P.viewers,
      completed: per.length,
      dropped: r.dropped.slice(0, 5),
      droppedCount: r.dropped.length,
      perViewerMBps: { min: sortedPer[0], median: median(per), max: sortedPer.at(-1) },
      gwCpuMs: o.gwCpuMs,
      gwPeakRss: o.gwPeakRss,
    };
    results.rows.push(
      {
        metric: `fan-out ${P.viewers} viewers, per viewer (${P.fanoutBytes / MiB} MiB)`,
        unit: 'MB/s',
        direct: directD2c,
        gateway: median(per),
        ratio: median(per) / directD2c,
        note: `median of the viewers that finished (${per.length}/${P.viewers}; ${r.dropped.length} dropped); direct = one reader (device→client)`,
      },
      { metric: `fan-out ${P.viewers} viewers, aggregate`, unit: 'MB/s', direct: directD2c, gateway: aggregate, ratio: aggregate / directD2c, note: 'bytes delivered to all viewers / time until the last one finished' },
      { metric: '  gateway peak RSS, fan-out', unit: 'MiB', gateway: o.gwPeakRss / MiB, note: `gateway CPU ${fmt(o.gwCpuMs / ((P.fanoutBytes * per.length) / MB), 3)} ms per MB delivered` },
    );
    log(`  fan-out: ${per.length}/${P.viewers} viewers done, per-viewer median ${fmt(median(per), 1)} MB/s, aggregate ${fmt(aggregate, 1)} MB/s, dropped ${r.dropped.length}`);
    if (r.dropped.length) log(`    dropped e.g. ${r.dropped.slice(0, 3).join('; ')}`);
  } finally {
    await Promise.all(endpoints.map((e) => e.close().catch(() => undefined)));
    await gw.close();
    await stopPtyPairs([directPair!, gwPair!]);
  }
}

// ---- phase B: many devices ---------------------------------------------------------------------

async function phaseB(root: string, nodeFlags: string[]): Promise<void> {
  const n = P.sessions;
  log(`phase B: ${n} devices — idle RSS per session, aggregate device→client`);
  const directPairs = await spawnPtyPairs(root, 'b-direct', n);
  const gwPairs = await spawnPtyPairs(root, 'b-gw', n);
  const ids = gwPairs.map((_, i) => `d${String(i).padStart(3, '0')}`);
  const gw = await startGatewayChild({ dataDir: join(root, 'data-b'), devices: gwPairs.map((p, i) => ({ id: ids[i]!, path: p.dev })), nodeFlags, readyTimeoutMs: 60_000 });
  const endpoints: Endpoint[] = [];
  const keep = <T extends Endpoint>(e: T): T => (endpoints.push(e), e);
  try {
    // 3b. RSS per idle session: devices open, 0 sessions → n idle sessions, attached in steps
    // (a middle point shows whether the growth is linear; the target uses the ends).
    const steps: Array<{ sessions: number; waitedS: number } & MemorySample> = [{ sessions: 0, ...(await memSample(gw)) }];
    const clients: WsEndpoint[] = [];
    const stepSize = Math.ceil(n / P.memSteps);
    for (let at = 0; at < n; at += stepSize) {
      const k = Math.min(stepSize, n - at);
      clients.push(...(await openInBatches(k, 20, (i) => WsEndpoint.open({ url: gw.url, device: ids[at + i]!, token: gw.token, ca: gw.ca, mode: 'write' }).then(keep))));
      steps.push({ sessions: clients.length, ...(await memSample(gw)) });
    }
    const m0 = steps[0]!;
    const mN = steps.at(-1)!;
    const slope = (key: 'rss' | 'heapUsed'): number => {
      const xs = steps.map((p) => p.sessions);
      const ys = steps.map((p) => p[key]);
      const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
      const my = ys.reduce((a, b) => a + b, 0) / ys.length;
      return xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    };
    const perSession = (mN.rss - m0.rss) / n;
    const heapPer = (mN.heapUsed - m0.heapUsed) / n;
    results.detail.rss = {
      devices: n,
      steps: steps.map((p) => ({ sessions: p.sessions, settledAfterS: p.waitedS, rssKiB: Math.round(p.rss / 1024), heapTotalKiB: Math.round(p.heapTotal / 1024), heapUsedKiB: Math.round(p.heapUsed / 1024), externalKiB: Math.round(p.external / 1024) })),
      perSessionKiB: perSession / 1024,
      rssSlopeKiB: slope('rss') / 1024,
      heapUsedPerSessionKiB: heapPer / 1024,
      heapUsedSlopeKiB: slope('heapUsed') / 1024,
    };
    results.rows.push({
      metric: `RSS per idle session (${n} sessions)`,
      unit: 'KiB',
      gateway: perSession / 1024,
      target: '≤ 64 KiB',
      pass: perSession / 1024 <= 64,
      note:
        `gateway RSS after GC: ${fmt(m0.rss / MiB, 1)} MiB with ${n} devices open and 0 sessions, ${fmt(mN.rss / MiB, 1)} MiB with ${n}; ` +
        `least-squares slope over ${steps.length} steps ${fmt(slope('rss') / 1024, 1)} KiB; of which JS heap (live, after GC) ${fmt(heapPer / 1024, 1)} KiB`,
    });
    log(
      `  RSS ${steps.map((p) => `${p.sessions}:${fmt(p.rss / MiB, 1)}`).join(' ')} MiB → ${fmt(perSession / 1024, 1)} KiB per idle session ` +
        `(slope ${fmt(slope('rss') / 1024, 1)} KiB; live JS heap ${fmt(heapPer / 1024, 1)} KiB)`,
    );

    // 3a. Aggregate device→client, one client per device, all at once.
    const gwPeers = await openInBatches(n, 20, (i) => PtyEndpoint.open(gwPairs[i]!.peer, `gw:peer${i}`).then(keep));
    const directClients = await openInBatches(n, 20, (i) => PtyEndpoint.open(directPairs[i]!.dev, `direct:dev${i}`).then(keep));
    const directPeers = await openInBatches(n, 20, (i) => PtyEndpoint.open(directPairs[i]!.peer, `direct:peer${i}`).then(keep));
    const sets = { direct: { clients: directClients, peers: directPeers }, gateway: { clients, peers: gwPeers } } as const;
    const trials: Record<'direct' | 'gateway', Array<{ mbps: number; gwCpuMsPerMB: number; gwPeakRss: number; slowest: number }>> = { direct: [], gateway: [] };
    for (let rep = 0; rep < P.sessionReps; rep++) {
      for (const name of rep % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)) {
        const { clients: cs, peers: ps } = sets[name];
        const o = await observed(name === 'gateway' ? gw : undefined, () =>
          Promise.all(cs.map((c, i) => stream(ps[i]!, [c], P.perSessionBytes, { deadlineMs: BULK_DEADLINE_MS }))),
        );
        o.value.forEach((r, i) => check(r, `${n} sessions ${name} #${i}`));
        const start = Math.min(...o.value.map((r) => r.start));
        const end = Math.max(...o.value.map((r) => r.end));
        const total = n * P.perSessionBytes;
        const slowest = Math.min(...o.value.map((r) => rateMBps(P.perSessionBytes, r.end - r.start)));
        trials[name].push({ mbps: rateMBps(total, end - start), gwCpuMsPerMB: o.gwCpuMs / (total / MB), gwPeakRss: o.gwPeakRss, slowest });
        log(`  ${n} sessions ${name} rep ${rep + 1}: aggregate ${fmt(trials[name].at(-1)!.mbps, 1)} MB/s (slowest session ${fmt(slowest, 2)} MB/s)`);
        await sleep(300);
      }
    }
    const d = median(trials.direct.map((t) => t.mbps));
    const g = median(trials.gateway.map((t) => t.mbps));
    results.detail.sessions = trials;
    results.rows.push(
      { metric: `${n} sessions, aggregate device→client (${P.perSessionBytes / MiB} MiB each)`, unit: 'MB/s', direct: d, gateway: g, ratio: g / d, target: '≥ 0.5×', pass: g / d >= 0.5 },
      { metric: `  gateway CPU per MB, ${n} sessions`, unit: 'ms/MB', gateway: median(trials.gateway.map((t) => t.gwCpuMsPerMB)) },
      { metric: `  gateway peak RSS, ${n} sessions`, unit: 'MiB', gateway: Math.max(...trials.gateway.map((t) => t.gwPeakRss)) / MiB },
    );
  } finally {
    await Promise.all(endpoints.map((e) => e.close().catch(() => undefined)));
    await gw.close();
    await stopPtyPairs([...directPairs, ...gwPairs]);
  }
}

// ---- output ------------------------------------------------------------------------------------

function table(rows: Row[]): string {
  const head = ['metric', 'unit', 'direct pty', 'gateway', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.metric,
    r.unit,
    r.direct === undefined ? '—' : fmt(r.direct, r.unit === 'ms' ? 3 : 1),
    fmt(r.gateway, r.unit === 'ms' ? 3 : r.unit === 'ms/MB' ? 2 : 1),
    r.ratio === undefined ? '' : `${fmt(r.ratio, 2)}×`,
    r.target ?? '',
    r.pass === undefined ? '' : r.pass ? 'PASS' : 'MISS',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  installCleanup();
  const root = trackTempDir(mkdtempSync(join(tmpdir(), 'ttygate-bench-')));
  const nodeFlags = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(option('--gateway-flags')?.split(' ').filter(Boolean) ?? [])];
  const t0 = performance.now();
  log(`ttygate bench${quick ? ' (quick)' : ''}: ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
  try {
    if (only.has('echo') || only.has('d2c') || only.has('c2d') || only.has('fanout')) await phaseA(root, nodeFlags);
    if (only.has('sessions')) await phaseB(root, nodeFlags);
  } catch (err) {
    results.errors.push((err as Error).stack ?? String(err));
    log(`bench: FAILED: ${(err as Error).stack ?? String(err)}`);
  }
  results.detail.durationS = Number(((performance.now() - t0) / 1000).toFixed(1));
  results.detail.loadavgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  const out = table(results.rows);
  const notes = results.rows.filter((r) => r.note).map((r) => `- ${r.metric.trim()}: ${r.note}`);
  process.stdout.write(`\n${out}\n\n${notes.join('\n')}\n\n`);
  const missed = results.rows.filter((r) => r.pass === false).map((r) => r.metric.trim());
  process.stdout.write(results.errors.length ? `ERRORS: ${results.errors.length}\n` : missed.length ? `MISSED: ${missed.join('; ')}\n` : 'all targets met\n');
  if (outFile) {
    mkdirSync(join(outFile, '..'), { recursive: true });
    const round = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v);
    writeFileSync(outFile, `${JSON.stringify({ ...results, table: out.split('\n') }, round, 1)}\n`);
    log(`wrote ${outFile}`);
  }
  cleanupAll();
  process.exitCode = results.errors.length ? 1 : 0;
}

void main();
