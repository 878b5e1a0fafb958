// FAKE QMP server for tests only: a scripted stand-in for QEMU's QMP peer on a real Unix socket.

import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A greeting shaped like QEMU's, but with a version no real QEMU here reports (tests can tell). */
export const FAKE_GREETING = {
  QMP: { version: { qemu: { major: 9, minor: 1, micro: 42 }, package: 'fake-qmp-server' }, capabilities: ['oob'] },
};

export interface FakeQmpServerOptions {
  /** Socket path. Default: `qmp.sock` in a fresh temp dir that `close()` removes. */
  path?: string;
  /**
   * What to send on accept: an object (sent as one JSON line), a string (sent raw, newline
   * added: for bad greetings), or `null` (send nothing). Default {@link FAKE_GREETING}.
   */
  greeting?: object | string | null;
  /**
   * How to treat `qmp_capabilities`: `answer` with `{"return": {}}` (default), answer with an
   * `error`, `ignore` it (never answer), or `close` the connection on receipt.
   */
  capabilities?: 'answer' | 'error' | 'ignore' | 'close';
}

/** A command as the fake received it. */
export interface ReceivedCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
  /** The raw line as received. */
  raw: string;
}

/** One accepted client connection, driven by the test. */
export class FakeQmpPeer {
  /** Every command received, `qmp_capabilities` included, in order. */
  readonly received: ReceivedCommand[] = [];
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  #queue: ReceivedCommand[] = [];
  #waiters: Array<(cmd: ReceivedCommand) => void> = [];
  #tail = '';
  #isClosed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly options: Required<Pick<FakeQmpServerOptions, 'capabilities'>>,
  ) {
    socket.setEncoding('utf8');
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => (this.#isClosed = true));
    // The client may reset the connection; a test peer must not crash the test process.
    socket.on('error', () => undefined);
    socket.on('data', (text: string) => {
      const parts = (this.#tail + text).split('\n');
      this.#tail = parts.pop() ?? '';
      for (const raw of parts) if (raw.trim() !== '') this.#onCommand(raw);
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** The next command other than `qmp_capabilities` (which the fake handles itself). */
  nextCommand(timeoutMs = 2000): Promise<ReceivedCommand> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`fake QMP peer: no command within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (cmd: ReceivedCommand): void => {
        clearTimeout(timer);
        resolve(cmd);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves once a command named `execute` has been received (`qmp_capabilities` included). */
  async untilReceived(execute: string, timeoutMs = 2000): Promise<ReceivedCommand> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((c) => c.execute === execute);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`fake QMP peer: no '${execute}' within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Answers `cmd` with `{"return": value, "id": cmd.id}`. */
  reply(cmd: ReceivedCommand, value: unknown = {}): void {
    this.sendJson({ return: value, id: cmd.id });
  }

  /** Answers `cmd` with `{"error": {"class", "desc"}, "id": cmd.id}`. */
  replyError(cmd: ReceivedCommand, errorClass: string, desc: string): void {
    this.sendJson({ id: cmd.id, error: { class: errorClass, desc } });
  }

  /** Sends an event with a current timestamp. */
  event(name: string, data?: Record<string, unknown>): void {
    this.sendJson(FakeQmpPeer.eventMessage(name, data));
  }

  static eventMessage(name: string, data?: Record<string, unknown>): object {
    const now = Date.now();
    const ts = { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 };
    return data === undefined ? { timestamp: ts, event: name } : { timestamp: ts, event: name, data };
  }

  /** Sends one JSON line, CRLF-terminated like QEMU. */
  sendJson(message: object): void {
    this.write(`${JSON.stringify(message)}\r\n`);
  }

  /** Writes raw text or bytes. */
  write(data: string | Uint8Array): void {
    if (!this.#isClosed) this.socket.write(data);
  }

  /** Writes `text` in pieces of `pieceSize` bytes, pausing `delayMs` between them. */
  async writeSplit(text: string, pieceSize: number, delayMs = 2): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i += pieceSize) {
      this.write(bytes.subarray(i, i + pieceSize));
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }

  /** Closes gracefully (FIN), like QEMU exiting cleanly. */
  end(): void {
    this.socket.end();
  }

  /** Closes abruptly. */
  destroy(): void {
    this.socket.destroy();
  }

  #onCommand(raw: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // The fake answers like QEMU does to unparseable input: an error without an id.
      this.sendJson({ error: { class: 'GenericError', desc: `JSON parse error (fake): ${raw.slice(0, 40)}` } });
      return;
    }
    const obj = parsed as Record<string, unknown>;
    const cmd: ReceivedCommand = { execute: String(obj.execute), raw };
    if ('arguments' in obj) cmd.arguments = obj.arguments as Record<string, unknown>;
    if ('id' in obj) cmd.id = obj.id;
    this.received.push(cmd);
    if (cmd.execute === 'qmp_capabilities') {
      switch (this.options.capabilities) {
        case 'answer':
          this.reply(cmd);
          return;
        case 'error':
          this.replyError(cmd, 'GenericError', 'fake refuses capabilities');
          return;
        case 'ignore':
          return;
        case 'close':
          this.end();
          return;
      }
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(cmd);
    else this.#queue.push(cmd);
  }
}

/** The fake server: accepts connections, greets them, and hands each to the test as a peer. */
export class FakeQmpServer {
  /** Every peer accepted so far. */
  readonly peers: FakeQmpPeer[] = [];
  #unclaimed: FakeQmpPeer[] = [];
  #peerWaiters: Array<(p: FakeQmpPeer) => void> = [];

  private constructor(
    readonly server: net.Server,
    readonly path: string,
    /** Temp dir we created (removed by close()), or undefined when the caller chose `path`. */
    private readonly ownDir: string | undefined,
  ) {}

  /** Creates a temp dir for sockets; the caller removes it. */
  static makeTempDir(): Promise<string> {
    return mkdtemp(join(tmpdir(), 'ttygate-fake-qmp-'));
  }

  static async start(options: FakeQmpServerOptions = {}): Promise<FakeQmpServer> {
    const ownDir = options.path === undefined ? await FakeQmpServer.makeTempDir() : undefined;
    const path = options.path ?? join(ownDir as string, 'qmp.sock');
    const greeting = options.greeting === undefined ? FAKE_GREETING : options.greeting;
    const capabilities = options.capabilities ?? 'answer';
    const server = net.createServer();
    const fake = new FakeQmpServer(server, path, ownDir);
    server.on('connection', (socket) => {
      const peer = new FakeQmpPeer(socket, { capabilities });
      fake.peers.push(peer);
      if (greeting !== null) {
        peer.write(typeof greeting === 'string' ? `${greeting}\r\n` : `${JSON.stringify(greeting)}\r\n`);
      }
      const waiter = fake.#peerWaiters.shift();
      if (waiter !== undefined) waiter(peer);
      else fake.#unclaimed.push(peer);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return fake;
  }

  /** The next accepted peer not yet handed out. */
  nextPeer(timeoutMs = 2000): Promise<FakeQmpPeer> {
    const peer = this.#unclaimed.shift();
    if (peer !== undefined) return Promise.resolve(peer);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake QMP server: no connection within ${timeoutMs} ms`)), timeoutMs);
      this.#peerWaiters.push((p) => {
        clearTimeout(timer);
        resolve(p);
      });
    });
  }

  /** Destroys every peer, stops listening and removes the temp dir it created. */
  async close(): Promise<void> {
    for (const peer of this.peers) peer.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownDir !== undefined) await rm(this.ownDir, { recursive: true, force: true });
  }
}
