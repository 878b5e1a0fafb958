// What-if experiment behind bench/README.md "Where the time goes": a minimal pty ⇄ wss bridge (no
// auth, no capture, no broker) in a child process, in four variants, measured with the benchmark's
// own client logic against the direct pty in the same run. It isolates two costs of the gateway's
// device path: serialport's thread-pool reads, and one WebSocket frame (one TLS record, one send)
// per ~4 KiB pty read.
//
//   node --import tsx bench/experiments/bridge-variants.ts [--quick]
//
// The real gateway (bench/gateway-server.ts) runs alongside as a fifth path, in the same run.
//
// Variants (the bridge's device side → viewer):
//   sp        serialport 13 (as the gateway), one frame per read
//   sp+batch  serialport, reads coalesced until the next event-loop turn (setImmediate), ≤ 64 KiB
//   tty       the pty as a libuv tty stream (epoll, no thread pool), one frame per read
//   tty+batch tty stream, coalesced as above
//   tty+window tty stream; a read of ≥ 1 KiB (bulk output: the pty hands out ≤ 4 KiB per read)
//             is held up to 1 ms or 64 KiB so several go out as one frame; a smaller read (typing,
//             echo) goes out at once, with anything held

import { spawn } from 'node:child_process';
import { constants, mkdtempSync, openSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import tty from 'node:tty';
import { SerialPort } from 'serialport';
import { WebSocketServer } from 'ws';
import { httpsOptions, loadTls } from '../../gateway/src/http/tls.js';
import { type Endpoint, PtyEndpoint, WsEndpoint } from '../lib/endpoints.js';
import { echoRoundTrips, median, MiB, percentile, rateMBps, stream } from '../lib/measure.js';
import { BENCH_DIR, cleanupAll, installCleanup, type MemorySample, procCpuMs, REPO_DIR, settledMemory, sleep, spawnPtyPairs, startGatewayChild, stopChild, stopPtyPairs, trackTempDir } from '../lib/procs.js';

type Variant = 'sp' | 'sp+batch' | 'tty' | 'tty+batch' | 'tty+window';
const VARIANTS: Variant[] = ['sp', 'sp+batch', 'tty', 'tty+batch', 'tty+window'];

// ---- the bridge (child) ------------------------------------------------------------------------

async function bridge(variant: Variant, dev: string, dataDir: string): Promise<void> {
  const tls = await loadTls(undefined, dataDir, ['127.0.0.1']);
  let toViewer: ((b: Buffer) => void) | undefined;
  let writeDevice: (b: Buffer) => void;
  const onDevice = (b: Buffer): void => toViewer?.(b);
  if (variant.startsWith('sp')) {
    const port = new SerialPort({ path: dev, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    port.on('data', onDevice);
    writeDevice = (b) => void port.write(b);
  } else {
    const s = new tty.ReadStream(openSync(dev, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK));
    s.setRawMode(true);
    s.on('data', onDevice);
    writeDevice = (b) => void s.write(b);
  }
  const server = createServer(httpsOptions(tls));
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'hello' }));
    if (toViewer) return; // the first connection streams; later ones (the idle-memory test) stay idle
    if (variant.endsWith('+batch')) {
      let pending: Buffer[] = [];
      let size = 0;
      let scheduled = false;
      const flush = (): void => {
        scheduled = false;
        if (size === 0) return;
        const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
        pending = [];
        size = 0;
        ws.send(out, { binary: true });
      };
      toViewer = (b) => {
        pending.push(b);
        size += b.length;
        if (size >= 64 * 1024) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      };
    } else if (variant === 'tty+window') {
      let pending: Buffer[] = [];
      let size = 0;
      let timer: NodeJS.Timeout | undefined;
      const flush = (): void => {
        clearTimeout(timer);
        timer = undefined;
        if (size === 0) return;
        const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
        pending = [];
        size = 0;
        ws.send(out, { binary: true });
      };
      toViewer = (b) => {
        pending.push(b);
        size += b.length;
        if (b.length < 1024 || size >= 64 * 1024) flush();
        else timer ??= setTimeout(flush, 1);
      };
    } else toViewer = (b) => ws.send(b, { binary: true });
    ws.on('message', (d: Buffer, isBinary: boolean) => isBinary && writeDevice(d));
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${a.port}`, ca: tls.cert.toString() })}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('data', (d: Buffer) => {
    if (!d.toString().includes('gc')) return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  });
}

// ---- the measuring side ------------------------------------------------------------------------

interface Path {
  name: string;
  client: Endpoint;
  peer: Endpoint;
  pid?: number;
}

async function startBridge(root: string, v: Variant): Promise<{ path: Path; stop: () => Promise<void>; info: { url: string; ca: string }; mem: () => Promise<MemorySample> }> {
  const tag = v.replace('+', '-');
  const [pair] = await spawnPtyPairs(root, tag, 1);
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(BENCH_DIR, 'experiments', 'bridge-variants.ts'), '--bridge', v, pair!.dev, join(root, `tls-${tag}`)], {
    cwd: REPO_DIR,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(l: string) => void> = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const nextLine = (): Promise<string> => new Promise((res) => waiting.push(res));
  const info = JSON.parse(await nextLine()) as { url: string; ca: string };
  const client = await WsEndpoint.open({ url: info.url, device: 'x', token: 'x', ca: Buffer.from(info.ca), mode: 'write' });
  const peer = await PtyEndpoint.open(pair!.peer);
  return {
    path: { name: v, client, peer, pid: child.pid! },
    info,
    mem: async () => {
      const l = nextLine();
      child.stdin!.write('gc\n');
      return JSON.parse(await l) as MemorySample;
    },
    stop: async () => {
      await client.close();
      await peer.close();
      await stopChild(child);
      await stopPtyPairs([pair!]);
    },
  };
}

async function main(): Promise<void> {
  installCleanup();
  const quick = process.argv.includes('--quick');
  const bytes = quick ? 8 * MiB : 32 * MiB;
  const reps = quick ? 1 : 3;
  const tripsPerBlock = quick ? 100 : 250;
  const blocks = quick ? 2 : 4;
  const root = trackTempDir(mkdtempSync(join(tmpdir(), 'ttygate-bridge-')));
  const stops: Array<() => Promise<void>> = [];
  try {
    const [dp] = await spawnPtyPairs(root, 'direct', 1);
    stops.push(() => stopPtyPairs([dp!]));
    const paths: Path[] = [{ name: 'direct', client: await PtyEndpoint.open(dp!.dev), peer: await PtyEndpoint.open(dp!.peer) }];
    stops.push(async () => {
      await paths[0]!.client.close();
      await paths[0]!.peer.close();
    });
    let rssNote = '';
    for (const v of VARIANTS) {
      const b = await startBridge(root, v);
      stops.push(b.stop);
      paths.push(b.path);
      if (v === 'tty') {
        // Idle memory per connection of the bare wss bridge, same method as run.ts (settled, after GC, 0 → n).
        const n = 100;
        const settled = () => settledMemory({ rssAfterGc: b.mem }, quick ? 5000 : 20_000);
        const m0 = await settled();
        const idle: WsEndpoint[] = [];
        for (let k = 0; k < n; k += 20) idle.push(...(await Promise.all(Array.from({ length: 20 }, () => WsEndpoint.open({ url: b.info.url, device: 'x', token: 'x', ca: Buffer.from(b.info.ca), mode: 'read' })))));
        const m1 = await settled();
        rssNote = `bare wss bridge (tty variant), ${n} idle connections: ${((m1.rss - m0.rss) / n / 1024).toFixed(1)} KiB RSS, ${((m1.heapUsed - m0.heapUsed) / n / 1024).toFixed(1)} KiB JS heap per connection (RSS ${(m0.rss / MiB).toFixed(1)} → ${(m1.rss / MiB).toFixed(1)} MiB)`;
        await Promise.all(idle.map((c) => c.close()));
      }
    }
    // The real gateway, same run (child process, capture on, TLS, auth).
    const [gp] = await spawnPtyPairs(root, 'gw', 1);
    stops.push(() => stopPtyPairs([gp!]));
    const gw = await startGatewayChild({ dataDir: join(root, 'data'), devices: [{ id: 'pty0', path: gp!.dev }] });
    stops.push(() => gw.close());
    const gwPath: Path = { name: 'gateway', client: await WsEndpoint.open({ url: gw.url, device: 'pty0', token: gw.token, ca: gw.ca, mode: 'write' }), peer: await PtyEndpoint.open(gp!.peer), pid: gw.pid };
    stops.push(() => gwPath.client.close());
    stops.push(() => gwPath.peer.close());
    paths.push(gwPath);

    const echo = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const rate = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const cpu = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const frame = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    for (const p of paths) await echoRoundTrips(p.client, p.peer, 50, { deadlineMs: 30_000 }); // warm-up
    for (let b = 0; b < blocks; b++) {
      for (const p of b % 2 ? [...paths].reverse() : paths) {
        const e = await echoRoundTrips(p.client, p.peer, tripsPerBlock, { deadlineMs: 60_000 });
        if (e.error) throw new Error(`${p.name} echo: ${e.error}`);
        echo.get(p.name)!.push(...e.samples);
      }
    }
    for (let r = 0; r < reps; r++) {
      for (const p of r % 2 ? [...paths].reverse() : paths) {
        const c0 = p.pid ? procCpuMs(p.pid) : 0;
        const res = await stream(p.peer, [p.client], bytes, { deadlineMs: 120_000 });
        if (!res.completed) throw new Error(`${p.name} stream: ${res.error}`);
        rate.get(p.name)!.push(rateMBps(bytes, res.end - res.start));
        if (p.pid) cpu.get(p.name)!.push((procCpuMs(p.pid) - c0) / (bytes / 1e6));
        frame.get(p.name)!.push(bytes / res.chunks[0]!);
        await sleep(200);
      }
    }
    const d = median(rate.get('direct')!);
    const dp50 = percentile([...echo.get('direct')!].sort((a, b) => a - b), 50);
    process.stdout.write(
      [
        `bridge variants vs the gateway, one run: ${bytes / MiB} MiB device→client × ${reps} (median), ${blocks * tripsPerBlock} echoes each (p50); trials interleaved`,
        '| path      | device→client MB/s | ratio to direct | bytes per frame | process CPU ms/MB | echo p50 ms | ratio to direct |',
        '|---|---|---|---|---|---|---|',
        ...paths.map((p) => {
          const m = median(rate.get(p.name)!);
          const p50 = percentile([...echo.get(p.name)!].sort((a, b) => a - b), 50);
          return `| ${p.name} | ${m.toFixed(1)} | ${(m / d).toFixed(2)}× | ${median(frame.get(p.name)!).toFixed(0)} | ${p.pid ? median(cpu.get(p.name)!).toFixed(1) : '—'} | ${p50.toFixed(3)} | ${(p50 / dp50).toFixed(2)}× |`;
        }),
        '',
        rssNote,
      ].join('\n') + '\n',
    );
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    cleanupAll();
  }
}

const i = process.argv.indexOf('--bridge');
if (i >= 0) void bridge(process.argv[i + 1] as Variant, process.argv[i + 2]!, process.argv[i + 3]!);
else void main();
