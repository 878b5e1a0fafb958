// Test harness: a real gateway (HTTPS, SQLite, devices) on port 0 in a temp data dir, users with
// roles and tokens, a TLS-checking WebSocket client, and socat pty pairs as UARTs.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SerialPort } from 'serialport';
import { parseConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/main.js';
import type { ServerControlMessage } from '../../src/protocol/control.js';

export interface TestGateway extends RunningGateway {
  dataDir: string;
  ca: Buffer;
  /** Creates a user with `role` on `scope` and returns an API token acting as them. */
  tokenFor(name: string, role: string, scope?: string): Promise<string>;
  /** HTTPS request with a bearer token; JSON in and out. */
  api(method: string, path: string, token: string | undefined, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined>; text: string }>;
  /** Opens the console WebSocket; resolves once open (or rejects with the HTTP status and error). */
  connect(device: string, token: string | undefined, query?: string, headers?: Record<string, string>): Promise<ConsoleClient>;
}

/** Starts a gateway with `yaml` as its config (dataDir, port and listen host are filled in). */
export async function startTestGateway(yaml = 'devices: []', opts: { dataDir?: string; keepData?: boolean; clock?: () => number } = {}): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tg-gw-'));
  const config = { ...parseConfig(yaml, 'test-config.yaml', dataDir), dataDir };
  config.listen = { host: '127.0.0.1', port: 0 };
  const gw = await startGateway({ config, log: () => undefined, ...(opts.clock ? { clock: opts.clock } : {}) });
  const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
  const { request } = await import('node:https');
  const closeGateway = gw.close.bind(gw);
  const test: TestGateway = Object.assign(gw, {
    dataDir,
    ca,
    async tokenFor(name: string, role: string, scope = '/') {
      const user = gw.identity.findUserByName(name) ?? (await gw.identity.addUser(name, `pw-${name}-long-enough`));
      gw.identity.assignRole(user.id, role, scope);
      return gw.identity.createToken(user.id, 'test').secret;
    },
    api(method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) {
      return new Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
        const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = request(
          `${gw.url}${path}`,
          {
            method,
            ca,
            headers: {
              ...(token ? { authorization: `Bearer ${token}` } : {}),
              ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
              ...headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = text;
              try {
                parsed = JSON.parse(text);
              } catch {
                // Not JSON (serial log text, PNG): keep the text.
              }
              resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers, text });
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    connect(device: string, token: string | undefined, query = '', headers: Record<string, string> = {}) {
      return ConsoleClient.open(`${gw.url.replace('https', 'wss')}/api/v1/devices/${encodeURIComponent(device)}/console${query}`, ca, {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      });
    },
    async close() {
      await closeGateway();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  });
  return test;
}

/** A console WebSocket client that collects bytes and control messages, with waits (no sleeps). */
export class ConsoleClient {
  private chunks: Buffer[] = [];
  /** Bytes received so far (counted without joining the chunks). */
  byteCount = 0;
  controls: ServerControlMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.chunks.push(data);
        this.byteCount += data.length;
      }
      else this.controls.push(JSON.parse(data.toString('utf8')) as ServerControlMessage);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static open(url: string, ca: Buffer, headers: Record<string, string>): Promise<ConsoleClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca, headers });
      const client = new ConsoleClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString()}`), { status: res.statusCode, body: Buffer.concat(chunks).toString() })));
      });
      ws.once('error', reject);
    });
  }

  /** All bytes received, joined (once per call: keep bulk tests on byteCount). */
  get bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  get text(): string {
    return this.bytes.toString('latin1');
  }

  sendBytes(data: string | Uint8Array): void {
    this.ws.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, { binary: true });
  }

  sendControl(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Waits until `pred()` holds, re-checking on every message. */
  async until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; text so far: ${JSON.stringify(this.text.slice(-300))}; controls: ${JSON.stringify(this.controls.slice(-5))}; closed: ${JSON.stringify(this.closed)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  untilText(pattern: string | RegExp, timeoutMs?: number, from = 0): Promise<void> {
    return this.until(() => (typeof pattern === 'string' ? this.text.indexOf(pattern, from) !== -1 : pattern.test(this.text.slice(from))), `text ${String(pattern)}`, timeoutMs);
  }

  untilControl<T extends ServerControlMessage['type']>(type: T, pred: (m: Extract<ServerControlMessage, { type: T }>) => boolean = () => true, timeoutMs?: number): Promise<Extract<ServerControlMessage, { type: T }>> {
    let found: Extract<ServerControlMessage, { type: T }> | undefined;
    return this.until(
      () => (found = this.controls.find((m): m is Extract<ServerControlMessage, { type: T }> => m.type === type && pred(m as Extract<ServerControlMessage, { type: T }>))) !== undefined,
      `a ${type} control message`,
      timeoutMs,
    ).then(() => found!);
  }

  untilClosed(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed !== undefined, 'close', timeoutMs).then(() => this.closed!);
  }

  close(): void {
    this.ws.close();
  }
}

/** A socat null-modem pair: the gateway opens `device`, the test drives `peer` with serialport. */
export class PtyPair {
  private proc: ChildProcess | undefined;
  peer: SerialPort | undefined;
  peerBytes = Buffer.alloc(0);

  constructor(readonly dir: string) {}

  get device(): string {
    return join(this.dir, 'dev');
  }
  get peerPath(): string {
    return join(this.dir, 'peer');
  }

  async start(): Promise<void> {
    this.proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.device}`, `pty,raw,echo=0,link=${this.peerPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const deadline = Date.now() + 5000;
    while (!(existsSync(this.device) && existsSync(this.peerPath))) {
      if (Date.now() > deadline) throw new Error('socat did not create the pty links within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    this.peer = new SerialPort({ path: this.peerPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => this.peer!.open((e) => (e ? rej(e) : res())));
    this.peer.on('data', (d: Buffer) => (this.peerBytes = Buffer.concat([this.peerBytes, d])));
    this.peer.on('error', () => undefined); // closing with pending writes emits "Canceled"
  }

  /** Writes from the "device" side: what the board prints. */
  print(s: string | Buffer): Promise<void> {
    return new Promise((res, rej) => this.peer!.write(s, (e) => (e ? rej(e) : this.peer!.drain(() => res()))));
  }

  /** Kills socat as a vanished USB UART would (SIGKILL leaves the link dangling). */
  async kill(): Promise<void> {
    if (this.peer?.isOpen) await new Promise<void>((r) => this.peer!.close(() => r()));
    this.proc?.kill('SIGKILL');
    await new Promise((r) => this.proc?.once('exit', r));
    rmSync(this.device, { force: true });
    rmSync(this.peerPath, { force: true });
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) await this.kill();
  }
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `tg-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `fn` until it returns something other than undefined (for state outside a stream). */
export async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'a condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
