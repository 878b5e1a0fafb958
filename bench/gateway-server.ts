// The gateway under test, in its own process (so the benchmark's clients and the gateway do not
// share one event loop). Same composition root as production: parseConfig + startGateway.
//
// Usage: node --expose-gc --import tsx bench/gateway-server.ts '<json>'
//   json = { dataDir, devices: [{ id, path }], historyBytes?, viewerMaxBufferedBytes?, readyTimeoutMs? }
// Prints one JSON line per event on stdout:
//   {"type":"ready", url, token, ca, pid}      once every device is `connected`
//   {"type":"gc", rss, heapTotal, heapUsed, external, arrayBuffers}     answer to the stdin command {"cmd":"gc"}
//   {"type":"heapsnapshot", path}               answer to {"cmd":"heapsnapshot","path":FILE}
//   {"type":"closed"}                           answer to {"cmd":"close"}, then exits
//   {"type":"fatal", message}                   then exits 1
// Exits when stdin ends (the benchmark died), so it never outlives its parent.

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeHeapSnapshot } from 'node:v8';
import { parseConfig } from '../gateway/src/config.js';
import { startGateway, type RunningGateway } from '../gateway/src/main.js';

interface ServerArgs {
  dataDir: string;
  devices: Array<{ id: string; path: string }>;
  historyBytes?: number;
  viewerMaxBufferedBytes?: number;
  readyTimeoutMs?: number;
}

const emit = (msg: object): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);

let gw: RunningGateway | undefined;
let exiting = false;

async function shutdown(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    // Bounded: a close that hangs must not keep the process alive.
    const timer = setTimeout(() => process.exit(code), 10_000);
    timer.unref();
    await gw?.close().catch(() => undefined);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ServerArgs;
  const yaml = [
    `console: { historyBytes: ${args.historyBytes ?? 1048576}, viewerMaxBufferedBytes: ${args.viewerMaxBufferedBytes ?? 8388608} }`,
    'devices:',
    ...args.devices.map((d) => `  - { id: ${d.id}, kind: serial, path: ${JSON.stringify(d.path)} }`),
  ].join('\n');
  const config = parseConfig(yaml, 'bench.yaml', args.dataDir);
  config.dataDir = args.dataDir;
  config.listen = { host: '127.0.0.1', port: 0 };
  gw = await startGateway({ config, log: (l) => process.stderr.write(`[gateway] ${l}\n`) });
  const user = await gw.identity.addUser('bench', 'bench-password-123');
  gw.identity.assignRole(user.id, 'owner', '/');
  const token = gw.identity.createToken(user.id, 'bench').secret;

  const deadline = Date.now() + (args.readyTimeoutMs ?? 30_000);
  for (;;) {
    const waiting = args.devices.filter((d) => gw!.devices.get(d.id)?.state !== 'connected');
    if (waiting.length === 0) break;
    if (Date.now() > deadline) throw new Error(`devices not connected in time: ${waiting.map((d) => `${d.id}=${gw!.devices.get(d.id)?.state}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  emit({ type: 'ready', url: gw.url, token, ca: join(args.dataDir, 'tls', 'cert.pem'), pid: process.pid });

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let cmd: { cmd?: string };
    try {
      cmd = JSON.parse(line) as { cmd?: string };
    } catch {
      return;
    }
    if (cmd.cmd === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      emit({ type: 'gc', rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
    } else if (cmd.cmd === 'heapsnapshot' && typeof (cmd as { path?: unknown }).path === 'string') {
      const file = writeHeapSnapshot((cmd as { path: string }).path);
      emit({ type: 'heapsnapshot', path: file });
    } else if (cmd.cmd === 'close') {
      void (async () => {
        await gw?.close().catch(() => undefined);
        gw = undefined;
        emit({ type: 'closed' });
        await shutdown(0);
      })();
    }
  });
  rl.on('close', () => void shutdown(0));
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
main().catch((err: unknown) => {
  emit({ type: 'fatal', message: (err as Error).stack ?? String(err) });
  void shutdown(1);
});
