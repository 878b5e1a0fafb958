// CPU cost per MB of the gateway's per-chunk device-output work, component by component, in-process
// and without sockets (so scheduler noise and the other processes drop out). Chunks of 4 KiB: what a
// pty hands out per read. Evidence behind bench/README.md "Where the time goes".
//
//   node --import tsx bench/experiments/components.ts [MiB=64]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Counter, Registry } from 'prom-client';
import { CaptureStore } from '../../gateway/src/capture/capture-store.js';
import { Broker, type ViewerSink } from '../../gateway/src/core/broker.js';

const CHUNK = 4096;
const total = Number(process.argv[2] ?? 64) * 1024 * 1024;
const chunks = total / CHUNK;
const mb = total / 1e6;
const data = Buffer.alloc(CHUNK, 0x61);

const nullSink = (): ViewerSink => ({ send: () => undefined, control: () => undefined, bufferedBytes: 0, close: () => undefined });

async function measure(name: string, run: () => Promise<void> | void): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  process.stdout.write(`| ${name} | ${((c.user + c.system) / 1000 / mb).toFixed(2)} | ${(wall / mb).toFixed(2)} |\n`);
}

/**
 * Yields to the event loop every `every` chunks, as a device read loop would; with `ms`, waits that
 * long instead (a rate cap: 16 chunks per ms is at most 64 MiB/s, so the capture is not outrun).
 */
async function paced(fn: (i: number) => void, every = 16, ms?: number): Promise<void> {
  for (let i = 0; i < chunks; i++) {
    fn(i);
    if (i % every === every - 1) await new Promise((r) => (ms === undefined ? setImmediate(r) : setTimeout(r, ms)));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ttygate-components-'));
  try {
    process.stdout.write(`${total / 1024 / 1024} MiB in ${CHUNK}-byte chunks; CPU = all threads of this process\n| component | CPU ms/MB | wall ms/MB |\n|---|---|---|\n`);
    await measure('loop only (yield every 16 chunks)', () => paced(() => undefined));
    await measure('copy each chunk once (new Uint8Array)', () => paced(() => void new Uint8Array(data)));
    const registry = new Registry();
    const counter = new Counter({ name: 'bytes', help: 'x', labelNames: ['device'], registers: [registry] });
    await measure('prom-client counter.inc({device}) per chunk', () => paced(() => counter.inc({ device: 'pty0' }, CHUNK)));
    {
      const broker = new Broker({ historyBytes: 1048576, viewerMaxBufferedBytes: 8388608 });
      broker.attach(nullSink(), { mode: 'write', replayBytes: 0 });
      await measure('Broker.push, 1 viewer (null sink)', () => paced(() => broker.push(data)));
      broker.dispose();
    }
    {
      const broker = new Broker({ historyBytes: 1048576, viewerMaxBufferedBytes: 8388608 });
      for (let i = 0; i < 100; i++) broker.attach(nullSink(), { mode: 'read', replayBytes: 0 });
      await measure('Broker.push, 100 viewers (null sinks)', () => paced(() => broker.push(data)));
      broker.dispose();
    }
    {
      const store = await CaptureStore.open(join(dir, 'captures'), 'pty0');
      await measure('rate cap only (setTimeout 1 ms every 16 chunks)', () => paced(() => undefined, 16, 1));
      await measure('CaptureStore.append + write + fdatasync (default options, rate cap)', async () => {
        await paced(() => store.append(data), 16, 1);
        await store.flush();
      });
      process.stdout.write(`\ncapture stats after the run (lostBytes must be 0): ${JSON.stringify(store.stats)}\n`);
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
