// QmpClient tests: against the fake QMP server on a real Unix socket, then against a real QEMU.

import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import {
  ConnectError,
  ExecInterruptedError,
  ExecuteError,
  NegotiationError,
  QmpClient,
  QmpError,
  QmpProtocolError,
  QmpTimeoutError,
  StateError,
  type QmpClientOptions,
  type QmpClientState,
  type QmpDisconnectInfo,
  type QmpEvent,
} from '../src/qmp/index.js';
import { FakeQmpPeer, FakeQmpServer, type FakeQmpServerOptions } from './fake-qmp-server.js';

/** Per-test deadline: a hang fails fast instead of stalling the run. */
const TEST_TIMEOUT_MS = 5_000;

interface Harness {
  server: FakeQmpServer;
  client: QmpClient;
  warnings: string[];
  states: QmpClientState[];
  disconnects: QmpDisconnectInfo[];
}

/** Starts a fake server and a client with a recording logger; both are cleaned up after the test. */
async function harness(
  t: TestContext,
  serverOptions: FakeQmpServerOptions = {},
  clientOptions: QmpClientOptions = {},
): Promise<Harness> {
  const server = await FakeQmpServer.start(serverOptions);
  const warnings: string[] = [];
  const client = new QmpClient({ logger: { warn: (m) => warnings.push(m) }, ...clientOptions });
  const states: QmpClientState[] = [];
  const disconnects: QmpDisconnectInfo[] = [];
  client.onStateChange((s) => states.push(s));
  client.onDisconnect((info) => disconnects.push(info));
  t.after(async () => {
    await client.disconnect();
    await server.close();
  });
  return { server, client, warnings, states, disconnects };
}

/** A harness already connected, plus the server side of the connection. */
async function connected(
  t: TestContext,
  serverOptions: FakeQmpServerOptions = {},
  clientOptions: QmpClientOptions = {},
): Promise<Harness & { peer: FakeQmpPeer }> {
  const h = await harness(t, serverOptions, clientOptions);
  await h.client.connect(h.server.path);
  const peer = await h.server.nextPeer();
  return { ...h, peer };
}

function isInterrupted(reason: 'requested' | 'disconnected') {
  return (err: unknown): boolean => err instanceof ExecInterruptedError && err.reason === reason && err.code === 'QMP_ERR_EXEC_INTERRUPTED';
}

const opts = { timeout: TEST_TIMEOUT_MS };

describe('QmpClient against the fake QMP server', () => {
  it('goes connecting → running → disconnecting → idle and exposes the greeting', opts, async (t) => {
    const { client, server, states, disconnects } = await harness(t);
    assert.equal(client.state, 'idle');
    const before = client.greeting;
    assert.equal(before, undefined);
    await client.connect(server.path);
    assert.equal(client.state, 'running');
    assert.deepEqual(client.greeting?.version, { qemu: { major: 9, minor: 1, micro: 42 }, package: 'fake-qmp-server' });
    const peer = await server.nextPeer();
    assert.deepEqual(
      peer.received.map((c) => [c.execute, c.id]),
      [['qmp_capabilities', 'ttygate#00001']],
    );
    await client.disconnect();
    assert.deepEqual(states, ['connecting', 'running', 'disconnecting', 'idle']);
    assert.deepEqual(disconnects, [{ reason: 'requested' }]);
    await peer.closed;
  });

  it('routes out-of-order replies by id; ids are monotonic ttygate#NNNNN', opts, async (t) => {
    const { client, peer } = await connected(t);
    const pa = client.execute('cmd-a');
    const pb = client.execute('cmd-b', { x: 1 });
    const pc = client.execute('cmd-c');
    const [a, b, c] = [await peer.nextCommand(), await peer.nextCommand(), await peer.nextCommand()];
    assert.deepEqual(
      [a, b, c].map((cmd) => [cmd.execute, cmd.id, cmd.arguments]),
      [
        ['cmd-a', 'ttygate#00002', undefined],
        ['cmd-b', 'ttygate#00003', { x: 1 }],
        ['cmd-c', 'ttygate#00004', undefined],
      ],
    );
    peer.reply(c, 'C');
    peer.reply(a, 'A');
    peer.reply(b, { value: 'B' });
    assert.deepEqual(await Promise.all([pa, pb, pc]), ['A', { value: 'B' }, 'C']);
  });

  it('handles several messages in one chunk and one message split across many chunks', opts, async (t) => {
    const { client, peer } = await connected(t);
    const seen: string[] = [];
    client.onEvent((e) => seen.push(e.event));
    const p1 = client.execute('one');
    const p2 = client.execute('two');
    const [c1, c2] = [await peer.nextCommand(), await peer.nextCommand()];
    const line = (m: object): string => `${JSON.stringify(m)}\r\n`;
    peer.write(line({ return: 1, id: c1.id }) + line(FakeQmpPeer.eventMessage('STOP')) + line({ return: 2, id: c2.id }));
    assert.deepEqual(await Promise.all([p1, p2]), [1, 2]);
    assert.deepEqual(seen, ['STOP']);

    const p3 = client.execute('three');
    const c3 = await peer.nextCommand();
    await peer.writeSplit(line(FakeQmpPeer.eventMessage('RESUME', { note: 'é€ split' })) + line({ return: 'é€', id: c3.id }), 3, 1);
    assert.equal(await p3, 'é€');
    assert.deepEqual(seen, ['STOP', 'RESUME']);
  });

  it('drops replies with an unknown id or no id with a warning, and keeps routing', opts, async (t) => {
    const { client, peer, warnings } = await connected(t);
    const p = client.execute('real');
    const cmd = await peer.nextCommand();
    peer.sendJson({ return: 'stray', id: 'somebody-else#1' });
    peer.sendJson({ error: { class: 'GenericError', desc: 'JSON parse error' } });
    peer.reply(cmd, 'mine');
    assert.equal(await p, 'mine');
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /unknown id "somebody-else#1"/);
    assert.match(warnings[1] ?? '', /without an id/);
    assert.match(warnings[1] ?? '', /JSON parse error/);
    assert.equal(client.state, 'running');
  });

  it('rejects an error reply with ExecuteError carrying class, desc and command', opts, async (t) => {
    const { client, peer } = await connected(t);
    const p = client.execute('device_del', { id: 'nope' });
    peer.replyError(await peer.nextCommand(), 'DeviceNotFound', "Device 'nope' not found");
    const err = await p.then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ExecuteError);
    assert.ok(err instanceof QmpError);
    assert.equal(err.code, 'QMP_ERR_EXECUTE');
    assert.equal(err.command, 'device_del');
    assert.equal(err.errorClass, 'DeviceNotFound');
    assert.equal(err.desc, "Device 'nope' not found");
    assert.match(err.message, /device_del.*DeviceNotFound.*Device 'nope' not found/);
    assert.equal(client.state, 'running', 'an error reply does not end the session');
  });

  it('rejects every pending call with ExecInterruptedError when the peer closes mid-call', opts, async (t) => {
    const { client, peer, states, disconnects } = await connected(t);
    const p1 = client.execute('slow-1');
    const p2 = client.execute('slow-2');
    const ev = client.waitForEvent('NEVER');
    await peer.nextCommand();
    await peer.nextCommand();
    peer.end();
    await assert.rejects(p1, isInterrupted('disconnected'));
    await assert.rejects(p2, (e: unknown) => isInterrupted('disconnected')(e) && (e as ExecInterruptedError).command === 'slow-2');
    await assert.rejects(ev, isInterrupted('disconnected'));
    assert.equal(client.state, 'idle');
    assert.deepEqual(states, ['connecting', 'running', 'disconnecting', 'idle']);
    assert.deepEqual(disconnects, [{ reason: 'disconnected' }]);
  });

  it('reports a message cut off by the peer closing as a protocol error', opts, async (t) => {
    const { client, peer, disconnects } = await connected(t);
    const p = client.execute('x');
    await peer.nextCommand();
    peer.write('{"return": {}, "id"');
    peer.end();
    await assert.rejects(p, (e: unknown) => isInterrupted('disconnected')(e) && (e as Error).cause instanceof QmpProtocolError);
    assert.equal(disconnects.length, 1);
    assert.ok(disconnects[0]?.error instanceof QmpProtocolError);
  });

  it('disconnect() interrupts pending calls with reason requested and is idempotent', opts, async (t) => {
    const { client, peer, disconnects, states } = await connected(t);
    const p = client.execute('pending');
    await peer.nextCommand();
    const d1 = client.disconnect();
    const d2 = client.disconnect();
    assert.equal(client.state, 'disconnecting');
    await assert.rejects(p, isInterrupted('requested'));
    await Promise.all([d1, d2]);
    await client.disconnect();
    assert.equal(client.state, 'idle');
    assert.equal(disconnects.length, 1);
    assert.deepEqual(states, ['connecting', 'running', 'disconnecting', 'idle']);
    await peer.closed;
  });

  it('refuses calls in the wrong state with StateError naming the state and method', opts, async (t) => {
    const { client, server } = await harness(t);
    const err = await client.execute('query-status').then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StateError);
    assert.equal(err.code, 'QMP_ERR_STATE');
    assert.equal(err.state, 'idle');
    assert.equal(err.method, 'execute');
    assert.match(err.message, /execute\(\).*'idle'/);
    await assert.rejects(client.waitForEvent('STOP'), (e: unknown) => e instanceof StateError && e.method === 'waitForEvent');
    await assert.rejects(client.queryStatus(), StateError);

    await client.connect(server.path);
    await assert.rejects(
      client.connect(server.path),
      (e: unknown) => e instanceof StateError && e.state === 'running' && e.method === 'connect',
    );
    assert.equal(client.state, 'running', 'a refused connect() leaves the session alone');
  });

  const negotiationFailures: Array<{
    name: string;
    server: FakeQmpServerOptions;
    timeoutMs?: number;
    cause: (c: unknown) => boolean;
  }> = [
    {
      name: 'an error reply to qmp_capabilities',
      server: { capabilities: 'error' },
      cause: (c) => c instanceof ExecuteError && c.command === 'qmp_capabilities',
    },
    {
      name: 'a greeting that is not JSON',
      server: { greeting: 'Welcome to not-QMP' },
      cause: (c) => c instanceof QmpProtocolError && c.message.includes('Welcome to not-QMP'),
    },
    {
      name: 'a first message that is not a greeting',
      server: { greeting: { return: {} } },
      cause: (c) => c instanceof QmpProtocolError && /expected a QMP greeting/.test(c.message),
    },
    {
      name: 'qmp_capabilities never answered',
      server: { capabilities: 'ignore' },
      timeoutMs: 200,
      cause: (c) => c instanceof QmpTimeoutError && c.timeoutMs === 200,
    },
    {
      name: 'no greeting at all',
      server: { greeting: null },
      timeoutMs: 200,
      cause: (c) => c instanceof QmpTimeoutError,
    },
    {
      name: 'the peer closing on qmp_capabilities',
      server: { capabilities: 'close' },
      cause: (c) => c instanceof ExecInterruptedError && c.command === 'qmp_capabilities',
    },
  ];
  for (const scenario of negotiationFailures) {
    it(`rolls back to idle with NegotiationError on ${scenario.name}`, opts, async (t) => {
      const { client, server, states, disconnects } = await harness(t, scenario.server);
      const connectOptions = scenario.timeoutMs === undefined ? {} : { timeoutMs: scenario.timeoutMs };
      const err = await client.connect(server.path, connectOptions).then(
        () => assert.fail('connect should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof NegotiationError, String(err));
      assert.equal(err.code, 'QMP_ERR_NEGOTIATION');
      assert.ok(scenario.cause(err.cause), `unexpected cause: ${String(err.cause)}`);
      assert.equal(client.state, 'idle');
      assert.deepEqual(states, ['connecting', 'idle']);
      assert.deepEqual(disconnects, [], 'onDisconnect fires only for sessions that ran');
      const peer = await server.nextPeer();
      await peer.closed; // the client destroyed its socket
    });
  }

  it('fails with ConnectError (cause ENOENT) when the socket does not exist', opts, async (t) => {
    const dir = await FakeQmpServer.makeTempDir();
    t.after(() => rm(dir, { recursive: true, force: true }));
    const client = new QmpClient({ logger: { warn: () => undefined } });
    const states: QmpClientState[] = [];
    client.onStateChange((s) => states.push(s));
    const path = join(dir, 'missing.sock');
    const err = await client.connect(path).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, 'QMP_ERR_CONNECT');
    assert.equal(err.path, path);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
    assert.deepEqual(states, ['connecting', 'idle']);
  });

  it('retries until the socket appears when retryUntilMs is given', opts, async (t) => {
    const dir = await FakeQmpServer.makeTempDir();
    const path = join(dir, 'late.sock');
    let server: FakeQmpServer | undefined;
    const client = new QmpClient({ logger: { warn: () => undefined } });
    t.after(async () => {
      await client.disconnect();
      await server?.close();
      await rm(dir, { recursive: true, force: true });
    });
    const started = Date.now();
    const appear = new Promise<void>((resolve) =>
      setTimeout(() => void FakeQmpServer.start({ path }).then((s) => ((server = s), resolve())), 200),
    );
    await client.connect(path, { retryUntilMs: 3000 });
    await appear;
    assert.equal(client.state, 'running');
    assert.ok(Date.now() - started >= 190, 'connected only after the socket appeared');
  });

  it('gives up after retryUntilMs with the last connect error', opts, async (t) => {
    const dir = await FakeQmpServer.makeTempDir();
    t.after(() => rm(dir, { recursive: true, force: true }));
    const client = new QmpClient({ logger: { warn: () => undefined } });
    const started = Date.now();
    await assert.rejects(
      client.connect(join(dir, 'never.sock'), { retryUntilMs: 150 }),
      (e: unknown) => e instanceof ConnectError && (e.cause as NodeJS.ErrnoException).code === 'ENOENT',
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 1500, `elapsed ${elapsed} ms`);
    assert.equal(client.state, 'idle');
  });

  it('connect() honours an abort signal, and disconnect() cancels a connect in progress', opts, async (t) => {
    const h = await harness(t, { capabilities: 'ignore' });
    const { client, server } = h;
    const ac = new AbortController();
    const reason = new Error('caller gave up');
    setTimeout(() => ac.abort(reason), 50);
    await assert.rejects(client.connect(server.path, { signal: ac.signal }), (e: unknown) => e instanceof NegotiationError && e.cause === reason);
    assert.equal(client.state, 'idle');

    const pending = client.connect(server.path);
    const outcome = pending.then(
      () => assert.fail('connect should be cancelled'),
      (e: unknown) => e,
    );
    await server.nextPeer(); // the first, aborted connection
    // The client is in negotiation once the (ignoring) fake has its qmp_capabilities.
    await (await server.nextPeer()).untilReceived('qmp_capabilities');
    await client.disconnect();
    assert.equal(client.state, 'idle', `state ${client.state} states ${JSON.stringify(h.states)}`);
    const err = await outcome;
    assert.ok(err instanceof NegotiationError, String(err));
    assert.ok(err.cause instanceof ExecInterruptedError && err.cause.reason === 'requested', String(err.cause));
  });

  it('waitForEvent rejects with QmpTimeoutError after timeoutMs', opts, async (t) => {
    const { client, peer } = await connected(t);
    const started = Date.now();
    const wait = client.waitForEvent('RESUME', { timeoutMs: 100 });
    peer.event('STOP'); // a different event does not settle it
    const err = await wait.then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof QmpTimeoutError);
    assert.equal(err.code, 'QMP_ERR_TIMEOUT');
    assert.equal(err.timeoutMs, 100);
    assert.ok(Date.now() - started >= 95);
  });

  it('waitForEvent matches a list of names and a predicate; every listener sees every event', opts, async (t) => {
    const { client, peer, warnings } = await connected(t);
    const a: string[] = [];
    const b: string[] = [];
    const late: string[] = [];
    client.onEvent((e) => a.push(e.event));
    client.onEvent(() => {
      throw new Error('listener bug');
    });
    const disposable = client.onEvent((e) => late.push(e.event));
    client.onEvent((e) => b.push(e.event));
    const wait = client.waitForEvent(['RESET', 'SHUTDOWN'], { predicate: (e: QmpEvent) => e.data?.guest === true });
    peer.event('STOP');
    peer.event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    peer.event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
    const got = await wait;
    assert.equal(got.event, 'SHUTDOWN');
    assert.deepEqual(got.data, { guest: true, reason: 'guest-shutdown' });
    disposable.dispose();
    const resumed = client.waitForEvent('RESUME');
    peer.event('RESUME');
    await resumed;
    assert.deepEqual(a, ['STOP', 'SHUTDOWN', 'SHUTDOWN', 'RESUME']);
    assert.deepEqual(b, a);
    assert.deepEqual(late, ['STOP', 'SHUTDOWN', 'SHUTDOWN']);
    assert.equal(warnings.filter((w) => w.includes('listener bug')).length, 4);
  });

  it('execute() times out with QmpTimeoutError and a late reply is dropped with a warning', opts, async (t) => {
    const { client, peer, warnings } = await connected(t);
    const p = client.execute('slow', undefined, { timeoutMs: 80 });
    const cmd = await peer.nextCommand();
    await assert.rejects(p, (e: unknown) => e instanceof QmpTimeoutError && e.operation === 'execute(slow)');
    peer.reply(cmd, 'too late');
    const next = client.execute('after');
    peer.reply(await peer.nextCommand(), 'ok');
    assert.equal(await next, 'ok');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /timed-out call ttygate#00002/);
  });

  it('ends the session on a line longer than maxLineLength or on malformed JSON', opts, async (t) => {
    for (const bad of ['{"return": "' + 'x'.repeat(2000) + '"}\r\n', 'this is not json\r\n']) {
      const { client, peer, disconnects } = await connected(t, {}, { maxLineLength: 1024 });
      const p = client.execute('x');
      await peer.nextCommand();
      peer.write(bad);
      await assert.rejects(p, (e: unknown) => isInterrupted('disconnected')(e) && (e as Error).cause instanceof QmpProtocolError);
      assert.equal(client.state, 'idle');
      assert.ok(disconnects[0]?.error instanceof QmpProtocolError);
      await peer.closed;
    }
  });

  it('connects again after a disconnect; ids keep counting', opts, async (t) => {
    const { client, server } = await harness(t);
    await client.connect(server.path);
    await client.disconnect();
    await client.connect(server.path);
    await server.nextPeer();
    const peer2 = await server.nextPeer();
    const p = client.queryStatus();
    const cmd = await peer2.nextCommand();
    assert.equal(cmd.execute, 'query-status');
    assert.equal(cmd.id, 'ttygate#00003');
    peer2.reply(cmd, { status: 'paused', singlestep: false, running: false });
    assert.deepEqual(await p, { status: 'paused', running: false });
  });
});

// --- real QEMU -----------------------------------------------------------------------------

const QEMU_BINARY = 'qemu-system-x86_64';

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not in this PATH entry (or not executable): keep looking.
    }
  }
  return undefined;
}

const qemuPath = findOnPath(QEMU_BINARY);
/** Each test carries the skip (not just the suite) so runners count the skipped tests. */
const realQemuOptions =
  qemuPath === undefined
    ? { ...opts, skip: `${QEMU_BINARY} is not on PATH: install the qemu-system-x86 apt package to run the real-QEMU QMP tests` }
    : opts;

describe('QmpClient against a real QEMU (paused, no guest)', () => {
  let dir: string | undefined;
  let qemu: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let stderr = '';
  const warnings: string[] = [];
  const client = new QmpClient({ logger: { warn: (m) => warnings.push(m) } });

  before(async () => {
    if (qemuPath === undefined) return; // every test below is skipped
    dir = await mkdtemp(join(tmpdir(), 'ttygate-qmp-qemu-'));
    const socketPath = join(dir, 'qmp.sock');
    const child = spawn(
      qemuPath,
      ['-S', '-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'pc,accel=tcg', '-m', '64',
        '-qmp', `unix:${socketPath},server=on,wait=off`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    qemu = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => (stderr += s));
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const connecting = client.connect(socketPath, { retryUntilMs: 5000 });
    // If QEMU dies first, fail with its stderr instead of waiting out the retries; after()'s
    // disconnect() then cancels the connect, whose rejection is observed here.
    connecting.catch(() => undefined);
    await Promise.race([
      connecting,
      exited.then(({ code, signal }) => {
        throw new Error(`QEMU exited early (code ${code}, signal ${signal}): ${stderr}`);
      }),
    ]);
  });

  after(async () => {
    await client.disconnect();
    if (qemu?.pid !== undefined && qemu.exitCode === null && qemu.signalCode === null) {
      process.kill(qemu.pid, 'SIGKILL');
      await exited;
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('greets with QEMU 7 or newer', realQemuOptions, () => {
    const version = client.greeting?.version;
    assert.ok(version !== undefined);
    assert.ok(version.qemu.major >= 7, `QEMU ${version.qemu.major}.${version.qemu.minor}`);
    assert.equal(client.state, 'running');
  });

  it('reports prelaunch, not running, under -S', realQemuOptions, async () => {
    assert.deepEqual(await client.queryStatus(), { status: 'prelaunch', running: false });
  });

  it('cont → RESUME event and status running', realQemuOptions, async () => {
    const resumed = client.waitForEvent('RESUME', { timeoutMs: 3000 });
    assert.deepEqual(await client.execute('cont'), {});
    const event = await resumed;
    assert.ok(event.timestamp.seconds > 0);
    assert.deepEqual(await client.queryStatus(), { status: 'running', running: true });
  });

  it('stop → STOP event and status paused', realQemuOptions, async () => {
    const stopped = client.waitForEvent('STOP', { timeoutMs: 3000 });
    await client.execute('stop');
    await stopped;
    assert.deepEqual(await client.queryStatus(), { status: 'paused', running: false });
  });

  it('an unknown command is an ExecuteError with class CommandNotFound', realQemuOptions, async () => {
    await assert.rejects(
      client.execute('no-such-command'),
      (e: unknown) => e instanceof ExecuteError && e.errorClass === 'CommandNotFound' && e.desc.includes('no-such-command'),
    );
  });

  it('quit → SHUTDOWN, disconnect seen, pending calls interrupted, QEMU exits', realQemuOptions, async () => {
    const shutdown = client.waitForEvent('SHUTDOWN', { timeoutMs: 3000 });
    const never = client.waitForEvent('NEVER_SENT');
    const disconnected = new Promise<QmpDisconnectInfo>((resolve) => client.onDisconnect(resolve));
    const quit = client.execute('quit');
    // Sent right behind quit: QEMU exits without reading or answering it.
    const behind = client.execute('query-status');
    const event = await shutdown;
    assert.deepEqual(event.data, { guest: false, reason: 'host-qmp-quit' });
    assert.deepEqual(await quit, {});
    await assert.rejects(behind, isInterrupted('disconnected'));
    await assert.rejects(never, isInterrupted('disconnected'));
    const info = await disconnected;
    assert.equal(info.reason, 'disconnected');
    assert.equal(client.state, 'idle');
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
    assert.deepEqual(warnings, []);
  });
});
