// Child processes of the benchmark — socat pty pairs and the gateway — tracked by pid and stopped on
// every exit path (normal end, error, SIGINT/SIGTERM).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const REPO_DIR = dirname(BENCH_DIR);

/** Upper bound on any child's life (s): an orphan left by a SIGKILLed benchmark dies on its own. */
const CHILD_MAX_LIFE_S = 1800;

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleanedUp = false;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kills every child still running (by its pid) and removes temp dirs. Idempotent, synchronous. */
export function cleanupAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        // TERM, not KILL: `timeout` forwards TERM to its socat (a KILL would orphan the socat).
        process.kill(c.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

/** Installs the exit hooks once. */
export function installCleanup(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children\n`);
      cleanupAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: uncaught: ${err.stack ?? String(err)}\n`);
    cleanupAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection: ${(err as Error)?.stack ?? String(err)}\n`);
    cleanupAll();
    process.exit(1);
  });
}

export function trackTempDir(dir: string): string {
  tempDirs.add(dir);
  return dir;
}

function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

/** Sends SIGTERM, waits up to `ms`, then SIGKILL. */
export async function stopChild(c: ChildProcess, ms = 3000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  try {
    process.kill(c.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, ms);
  await exited;
  clearTimeout(t);
}

// ---- socat pty pairs ---------------------------------------------------------------------------

export interface PtyPair {
  /** The side a UART client opens (the gateway, or the direct client). */
  dev: string;
  /** The device side the benchmark drives. */
  peer: string;
  proc: ChildProcess;
}

/** Starts `n` socat pty pairs under `root/NAME-i/`, waits until all links exist. */
export async function spawnPtyPairs(root: string, name: string, n: number, timeoutMs = 20_000): Promise<PtyPair[]> {
  const pairs: PtyPair[] = [];
  for (let i = 0; i < n; i++) {
    const dir = join(root, `${name}-${String(i).padStart(3, '0')}`);
    await mkdir(dir, { recursive: true });
    const dev = join(dir, 'dev');
    const peer = join(dir, 'peer');
    // `timeout` bounds an orphan's life; it forwards our SIGTERM to socat.
    const proc = track(
      spawn('timeout', ['--signal=TERM', String(CHILD_MAX_LIFE_S), 'socat', `pty,raw,echo=0,link=${dev}`, `pty,raw,echo=0,link=${peer}`], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.once('exit', (code) => {
      if (code !== 0 && code !== null && code !== 143 && code !== 124) process.stderr.write(`bench: socat ${dir} exited ${code}: ${err}\n`);
    });
    pairs.push({ dev, peer, proc });
  }
  const deadline = Date.now() + timeoutMs;
  while (!pairs.every((p) => existsSync(p.dev) && existsSync(p.peer))) {
    if (Date.now() > deadline) throw new Error(`socat pty pairs not ready after ${timeoutMs} ms`);
    await sleep(10);
  }
  return pairs;
}

export async function stopPtyPairs(pairs: PtyPair[]): Promise<void> {
  await Promise.all(pairs.map((p) => stopChild(p.proc)));
}

// ---- the gateway child -------------------------------------------------------------------------

export interface GatewayChild {
  url: string;
  token: string;
  ca: Buffer;
  pid: number;
  proc: ChildProcess;
  /** GC in the child, then VmRSS from /proc and the child's heap figures (bytes). */
  rssAfterGc(): Promise<MemorySample>;
  /** Writes a V8 heap snapshot of the gateway to `path` (for bench/experiments/session-memory.ts). */
  heapSnapshot(path: string): Promise<string>;
  close(): Promise<void>;
}

export interface MemorySample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface GatewayChildOptions {
  dataDir: string;
  devices: Array<{ id: string; path: string }>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

export async function startGatewayChild(opts: GatewayChildOptions): Promise<GatewayChild> {
  const args = { dataDir: opts.dataDir, devices: opts.devices, historyBytes: 1048576, viewerMaxBufferedBytes: 8388608, readyTimeoutMs: opts.readyTimeoutMs ?? 30_000 };
  const proc = track(
    spawn(process.execPath, ['--expose-gc', ...(opts.nodeFlags ?? []), '--import', 'tsx', join(BENCH_DIR, 'gateway-server.ts'), JSON.stringify(args)], {
      cwd: REPO_DIR,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = createInterface({ input: proc.stdout! });
  const waiters: Array<(msg: Record<string, unknown>) => boolean> = [];
  lines.on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      process.stderr.write(`[gateway stdout] ${line}\n`);
      return;
    }
    const i = waiters.findIndex((w) => w(msg));
    if (i >= 0) waiters.splice(i, 1);
  });
  const next = (type: string, timeoutMs: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`gateway child: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      const onExit = (code: number | null): void => {
        clearTimeout(t);
        reject(new Error(`gateway child exited (${code}) while waiting for "${type}"`));
      };
      proc.once('exit', onExit);
      waiters.push((msg) => {
        if (msg.type === 'fatal') {
          clearTimeout(t);
          proc.off('exit', onExit);
          reject(new Error(`gateway child failed: ${String(msg.message)}`));
          return true;
        }
        if (msg.type !== type) return false;
        clearTimeout(t);
        proc.off('exit', onExit);
        resolve(msg);
        return true;
      });
    });
  const ready = await next('ready', (opts.readyTimeoutMs ?? 30_000) + 30_000);
  const pid = ready.pid as number;
  const send = (cmd: object): void => void proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
  return {
    url: ready.url as string,
    token: ready.token as string,
    ca: readFileSync(ready.ca as string),
    pid,
    proc,
    async rssAfterGc() {
      const p = next('gc', 10_000);
      send({ cmd: 'gc' });
      const m = await p;
      return { rss: procStatus(pid).rss, heapTotal: m.heapTotal as number, heapUsed: m.heapUsed as number, external: m.external as number, arrayBuffers: m.arrayBuffers as number };
    },
    async heapSnapshot(path: string) {
      const p = next('heapsnapshot', 120_000);
      send({ cmd: 'heapsnapshot', path });
      return (await p).path as string;
    },
    async close() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      send({ cmd: 'close' });
      const t = setTimeout(() => void stopChild(proc), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Memory after GC, once it has settled. V8's memory reducer and the tsx loader thread hand freed
 * pages back some seconds after activity (measured on an idle gateway: −20 MiB about 5 s after
 * start, −9 MiB about 15 s after), which a forced GC does not do; so: a GC and a sample every
 * second, for at least `minQuietMs`, until six samples in a row are within 256 KiB; at most 60 s.
 * Returns the median of those six.
 */
export async function settledMemory(gw: Pick<GatewayChild, 'rssAfterGc'>, minQuietMs: number): Promise<MemorySample & { waitedS: number }> {
  const xs: MemorySample[] = [];
  const t0 = Date.now();
  const mid = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  for (;;) {
    xs.push(await gw.rssAfterGc());
    const last = xs.slice(-6);
    const rss = last.map((x) => x.rss);
    const waited = Date.now() - t0;
    if ((waited >= minQuietMs && last.length === 6 && Math.max(...rss) - Math.min(...rss) <= 256 * 1024) || waited > 60_000) {
      return {
        rss: mid(rss),
        heapTotal: mid(last.map((x) => x.heapTotal)),
        heapUsed: mid(last.map((x) => x.heapUsed)),
        external: mid(last.map((x) => x.external)),
        arrayBuffers: mid(last.map((x) => x.arrayBuffers)),
        waitedS: Math.round(waited / 1000),
      };
    }
    await sleep(1000);
  }
}

// ---- /proc -------------------------------------------------------------------------------------

/** VmRSS and VmHWM (peak) in bytes. */
export function procStatus(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const CLK_TCK = 100;

/** User + system CPU time of a process in ms (from /proc/PID/stat; 10 ms resolution). */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** This process's CPU time in ms (all threads). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
