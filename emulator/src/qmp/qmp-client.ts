// QmpClient: a QMP runstate machine over a Unix socket (greeting, negotiation, id-routed execute, events).

import * as net from 'node:net';

import { LineSplitter, LineTooLongError, DEFAULT_MAX_LINE_LENGTH } from './line-splitter.js';
import { ListenerSet, type QmpEventHook, type QmpDisposable } from './listener-set.js';
import {
  ConnectError,
  ExecInterruptedError,
  ExecuteError,
  NegotiationError,
  QmpProtocolError,
  QmpTimeoutError,
  StateError,
} from './qmp-errors.js';
import { parseQmpMessage, serializeQmpCommand, type QmpEvent, type QmpGreeting, type QmpMessage } from './qmp-messages.js';

/**
 * Lifecycle of a {@link QmpClient}: `idle → connecting → running → disconnecting → idle`.
 * A failed `connect()` goes `connecting → idle` directly (nothing was established to tear down).
 */
export type QmpClientState = 'idle' | 'connecting' | 'running' | 'disconnecting';

/** Where the client reports things it drops or survives (unknown reply ids, throwing listeners). */
export interface QmpLogger {
  warn(msg: string): void;
  /** Optional: told about events that arrived while nobody was subscribed. */
  debug?(msg: string): void;
}

export interface QmpClientOptions {
  /** Default: `console.warn` for warnings, no debug output. */
  logger?: QmpLogger;
  /** Prefix of command ids (`<prefix>#00001`). Default `ttygate`. */
  idPrefix?: string;
  /** Default per-command deadline for `execute()`; `Infinity` disables it. Default 30 000 ms. */
  executeTimeoutMs?: number;
  /** Longest accepted QMP line in bytes; a longer one ends the session. Default 16 MiB. */
  maxLineLength?: number;
}

export interface QmpConnectOptions {
  /**
   * Deadline for the whole `connect()` (retries, greeting and negotiation included).
   * Default 10 000 ms, or `retryUntilMs + 10 000` when `retryUntilMs` is given.
   */
  timeoutMs?: number;
  /** Aborting rolls back to `idle`; `connect()` rejects with the reason as `cause`. */
  signal?: AbortSignal;
  /**
   * Keep retrying while the socket is missing or refuses (`ENOENT`, `ECONNREFUSED`, `EAGAIN`)
   * for up to this many milliseconds after the call, every {@link CONNECT_RETRY_INTERVAL_MS} ms:
   * for a caller that has just spawned QEMU. Default 0 (one attempt).
   */
  retryUntilMs?: number;
}

export interface QmpExecuteOptions {
  /** Overrides the client's `executeTimeoutMs` for this call; `Infinity` disables it. */
  timeoutMs?: number;
}

export interface QmpWaitForEventOptions {
  /** Give up after this many ms with {@link QmpTimeoutError}. Default: wait indefinitely. */
  timeoutMs?: number;
  /** Aborting rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Only an event whose name matches and for which this returns true settles the wait. */
  predicate?: (event: QmpEvent) => boolean;
}

/** Passed to `onDisconnect` listeners. */
export interface QmpDisconnectInfo {
  /** `requested`: `disconnect()` was called. `disconnected`: the peer closed or failed. */
  reason: 'requested' | 'disconnected';
  /**
   * Set when the session ended on an error: a socket error (QEMU resets the socket after
   * `quit`, so expect `ECONNRESET` there), a {@link QmpProtocolError}. Unset for a clean EOF or
   * a requested disconnect.
   */
  error?: Error;
}

/** The part of `query-status` every caller needs. */
export interface QmpStatus {
  /** QEMU's RunState, e.g. `prelaunch`, `running`, `paused`, `shutdown`, `guest-panicked`. */
  status: string;
  running: boolean;
}

/** Interval between connection attempts while retrying: short, since QEMU makes the socket within ~50 ms. */
export const CONNECT_RETRY_INTERVAL_MS = 25;
/** Default `connect()` deadline: QEMU greets within milliseconds; seconds means it is stuck. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * Default `execute()` deadline. QMP commands answer in milliseconds (long jobs such as
 * migration return at once and report through events), and a stopped QEMU (SIGSTOP) stalls
 * silently: only our own deadline notices it.
 */
export const DEFAULT_EXECUTE_TIMEOUT_MS = 30_000;
/** How long `disconnect()` waits for the peer to close after our FIN before destroying the socket. */
const CLOSE_GRACE_MS = 1_000;
/** Ids of timed-out calls remembered so their late replies can be named in the warning. */
const MAX_ABANDONED_IDS = 256;
const RETRYABLE_CONNECT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

interface PendingCall {
  command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

/** One socket's worth of state; a stale session's socket callbacks are ignored. */
interface Session {
  socket: net.Socket;
  splitter: LineSplitter;
  /** Set while connect() waits for the greeting. */
  greetingWaiter?: { resolve(g: QmpGreeting): void; reject(e: Error): void };
  /** Socket error seen before 'close'. */
  error?: Error;
  /** True once this session is being torn down: no more dispatching. */
  closed: boolean;
  /** True while writes of the current tick are being batched. */
  corked: boolean;
}

/**
 * A client for the QEMU Machine Protocol over a Unix socket, modelled on QEMU's python
 * `qemu.qmp` `QMPClient`.
 *
 * Lifecycle: `connect()` (idle → connecting → running), then any number of `execute()` and
 * `waitForEvent()` calls, then `disconnect()` (running → disconnecting → idle) — or the peer
 * closes (QEMU exited), which takes the same path and fires `onDisconnect`. The client can then
 * `connect()` again. Every pending call is rejected with {@link ExecInterruptedError} when the
 * session ends, however it ends.
 *
 * Events are fanned out to every `onEvent` listener, synchronously and in arrival order. To
 * wait for an event caused by a command, start waiting before executing it:
 * ```ts
 * const resumed = client.waitForEvent('RESUME', { timeoutMs: 5000 });
 * await client.execute('cont');
 * await resumed;
 * ```
 */
export class QmpClient {
  #state: QmpClientState = 'idle';
  #session: Session | undefined;
  #greeting: QmpGreeting | undefined;
  #nextId = 1;
  readonly #pending = new Map<string, PendingCall>();
  readonly #abandonedIds = new Set<string>();
  /** Interrupt callbacks of pending waitForEvent() calls. */
  readonly #eventWaiters = new Set<(reason: 'requested' | 'disconnected', cause?: Error) => void>();
  #connectAbort: AbortController | undefined;
  #connectSettled: Promise<void> | undefined;
  #disconnecting: Promise<void> | undefined;

  readonly #logger: QmpLogger;
  readonly #idPrefix: string;
  readonly #executeTimeoutMs: number;
  readonly #maxLineLength: number;

  readonly #stateChanges = new ListenerSet<QmpClientState>((err) => this.#listenerThrew('onStateChange', err));
  readonly #events = new ListenerSet<QmpEvent>((err) => this.#listenerThrew('onEvent', err));
  readonly #disconnects = new ListenerSet<QmpDisconnectInfo>((err) => this.#listenerThrew('onDisconnect', err));

  /** Fires with the new state on every transition (synchronously, during the transition). */
  readonly onStateChange: QmpEventHook<QmpClientState> = this.#stateChanges.hook;
  /**
   * Fires for every QMP event, for every listener; a throwing listener is reported to the
   * logger and does not affect the others. Subscriptions survive reconnects.
   */
  readonly onEvent: QmpEventHook<QmpEvent> = this.#events.hook;
  /**
   * Fires once per session that reached `running`, after the state is back to `idle` (so a
   * listener may `connect()` again): when the peer closes or fails, or after `disconnect()`.
   */
  readonly onDisconnect: QmpEventHook<QmpDisconnectInfo> = this.#disconnects.hook;

  constructor(options: QmpClientOptions = {}) {
    this.#logger = options.logger ?? { warn: (msg) => console.warn(msg) };
    this.#idPrefix = options.idPrefix ?? 'ttygate';
    this.#executeTimeoutMs = options.executeTimeoutMs ?? DEFAULT_EXECUTE_TIMEOUT_MS;
    this.#maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  }

  /** Current lifecycle state. */
  get state(): QmpClientState {
    return this.#state;
  }

  /** Greeting of the current or most recent session (QEMU version); `undefined` before the first. */
  get greeting(): QmpGreeting | undefined {
    return this.#greeting;
  }

  /**
   * Connects to the QMP Unix socket at `path`, reads the greeting, sends `qmp_capabilities`
   * and waits for its reply; the state is then `running`.
   *
   * Any failure rolls back to `idle` (socket destroyed) before rejecting:
   * - {@link StateError} when not `idle`;
   * - {@link ConnectError} when the socket cannot be opened (`cause`: the system error, a
   *   {@link QmpTimeoutError}, the abort reason, or an {@link ExecInterruptedError} when
   *   `disconnect()` was called meanwhile);
   * - {@link NegotiationError} when it opened but the greeting or `qmp_capabilities` failed
   *   (`cause`: {@link QmpProtocolError}, {@link ExecuteError}, {@link QmpTimeoutError}, …).
   */
  async connect(path: string, options: QmpConnectOptions = {}): Promise<void> {
    this.#assertState('connect', ['idle']);
    const retryUntilMs = options.retryUntilMs ?? 0;
    const timeoutMs = options.timeoutMs ?? Math.max(0, retryUntilMs) + DEFAULT_CONNECT_TIMEOUT_MS;
    const retryDeadline = Date.now() + retryUntilMs;

    const abort = new AbortController();
    const cleanups: Array<() => void> = [];
    if (Number.isFinite(timeoutMs)) {
      const timer = setTimeout(() => abort.abort(new QmpTimeoutError('connect', timeoutMs)), timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    const userSignal = options.signal;
    if (userSignal !== undefined) {
      if (userSignal.aborted) abort.abort(userSignal.reason);
      const onAbort = (): void => abort.abort(userSignal.reason);
      userSignal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => userSignal.removeEventListener('abort', onAbort));
    }
    let settle!: () => void;
    this.#connectSettled = new Promise((resolve) => (settle = resolve));
    this.#connectAbort = abort;
    this.#greeting = undefined;
    this.#setState('connecting');

    let phase: 'socket' | 'negotiation' = 'socket';
    try {
      const socket = await openSocket(path, abort.signal, retryDeadline);
      phase = 'negotiation';
      const greeting = this.#startSession(socket);
      this.#greeting = await raceAbort(greeting, abort.signal);
      await raceAbort(this.#send('qmp_capabilities', undefined, Infinity), abort.signal);
      this.#setState('running');
    } catch (err) {
      this.#rollbackConnect(err);
      if (phase === 'socket') {
        throw new ConnectError(`cannot connect to QMP socket ${path}: ${messageOf(err)}`, path, { cause: err });
      }
      throw new NegotiationError(`QMP negotiation on ${path} failed: ${messageOf(err)}`, { cause: err });
    } finally {
      for (const cleanup of cleanups) cleanup();
      this.#connectAbort = undefined;
      this.#connectSettled = undefined;
      settle();
    }
  }

  /**
   * Sends `command` with optional `args` and resolves with QEMU's `return` value.
   *
   * Rejects with {@link StateError} unless `running`; {@link ExecuteError} when QEMU answers with
   * an error; {@link QmpTimeoutError} after the deadline (a late reply is then dropped with a
   * warning); {@link ExecInterruptedError} when the session ends first.
   */
  async execute<T = unknown>(command: string, args?: object, options: QmpExecuteOptions = {}): Promise<T> {
    this.#assertState('execute', ['running']);
    return (await this.#send(command, args, options.timeoutMs ?? this.#executeTimeoutMs)) as T;
  }

  /**
   * `query-status`, reduced to `{status, running}`. Rejects like {@link execute}, or with
   * {@link QmpProtocolError} if the reply lacks those fields.
   */
  async queryStatus(options: QmpExecuteOptions = {}): Promise<QmpStatus> {
    const reply = await this.execute<unknown>('query-status', undefined, options);
    if (typeof reply !== 'object' || reply === null) {
      throw new QmpProtocolError('query-status reply is not an object', JSON.stringify(reply));
    }
    const { status, running } = reply as Record<string, unknown>;
    if (typeof status !== 'string' || typeof running !== 'boolean') {
      throw new QmpProtocolError('query-status reply lacks status/running', JSON.stringify(reply));
    }
    return { status, running };
  }

  /**
   * Resolves with the next event named `name` (or any of the names) that satisfies `predicate`.
   * Only events arriving after the call count. Rejects with {@link StateError} unless `running`,
   * {@link QmpTimeoutError} after `timeoutMs`, {@link ExecInterruptedError} when the session
   * ends, `signal.reason` on abort, or whatever `predicate` throws.
   */
  waitForEvent(name: string | readonly string[], options: QmpWaitForEventOptions = {}): Promise<QmpEvent> {
    try {
      this.#assertState('waitForEvent', ['running']);
    } catch (err) {
      return Promise.reject(err);
    }
    const names = typeof name === 'string' ? [name] : [...name];
    const label = `event:${names.join(',')}`;
    const { timeoutMs, signal, predicate } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);

    return new Promise<QmpEvent>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let subscription: QmpDisposable | undefined;
      const finish = (): void => {
        subscription?.dispose();
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#eventWaiters.delete(interrupt);
      };
      const onAbort = (): void => {
        finish();
        reject(signal?.reason);
      };
      const interrupt = (reason: 'requested' | 'disconnected', cause?: Error): void => {
        finish();
        reject(new ExecInterruptedError(label, reason, { cause }));
      };
      subscription = this.onEvent((event) => {
        if (!names.includes(event.event)) return;
        if (predicate !== undefined) {
          let matches: boolean;
          try {
            matches = predicate(event);
          } catch (err) {
            finish();
            reject(err);
            return;
          }
          if (!matches) return;
        }
        finish();
        resolve(event);
      });
      this.#eventWaiters.add(interrupt);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          finish();
          reject(new QmpTimeoutError(`waitForEvent(${names.join(',')})`, timeoutMs));
        }, timeoutMs);
      }
    });
  }

  /**
   * Ends the session: `running → disconnecting → idle`. Pending calls reject with
   * {@link ExecInterruptedError} (reason `requested`), then the socket is closed and
   * `onDisconnect` fires. Idempotent: resolves at once when `idle`, returns the same promise while
   * disconnecting, and cancels an in-progress `connect()` (which rejects). Never rejects.
   */
  async disconnect(): Promise<void> {
    switch (this.#state) {
      case 'idle':
        return;
      case 'connecting': {
        const settled = this.#connectSettled;
        this.#connectAbort?.abort(new ExecInterruptedError('connect', 'requested'));
        await settled;
        return this.disconnect();
      }
      case 'disconnecting':
        if (this.#disconnecting !== undefined) return this.#disconnecting;
        // A peer-initiated teardown is synchronous; we only get here from a listener inside it.
        return;
      case 'running':
        this.#disconnecting = this.#closeRequested();
        return this.#disconnecting;
    }
  }

  // --- internals -------------------------------------------------------------------------

  #assertState(method: string, allowed: readonly QmpClientState[]): void {
    if (!allowed.includes(this.#state)) throw new StateError(this.#state, method, allowed);
  }

  #setState(state: QmpClientState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#stateChanges.fire(state);
  }

  #listenerThrew(hook: string, err: unknown): void {
    this.#logger.warn(`QmpClient: an ${hook} listener threw: ${messageOf(err)}`);
  }

  /** Wires a freshly opened socket; resolves with the greeting. */
  #startSession(socket: net.Socket): Promise<QmpGreeting> {
    const session: Session = {
      socket,
      splitter: new LineSplitter({ maxLineLength: this.#maxLineLength }),
      closed: false,
      corked: false,
    };
    const greeting = new Promise<QmpGreeting>((resolve, reject) => {
      session.greetingWaiter = { resolve, reject };
    });
    this.#session = session;
    socket.on('data', (chunk: Buffer) => this.#onData(session, chunk));
    socket.on('error', (err) => {
      session.error ??= err;
    });
    socket.on('close', () => {
      let error = session.error;
      const tail = session.splitter.flush();
      if (error === undefined && tail !== undefined && tail.trim() !== '') {
        error = new QmpProtocolError('QMP peer closed the connection in the middle of a message', tail.slice(0, 200));
      }
      this.#sessionLost(session, error);
    });
    return greeting;
  }

  #onData(session: Session, chunk: Buffer): void {
    if (session.closed) return;
    let lines: string[];
    let tooLong: QmpProtocolError | undefined;
    try {
      lines = session.splitter.push(chunk);
    } catch (err) {
      if (!(err instanceof LineTooLongError)) throw err;
      lines = err.lines;
      tooLong = new QmpProtocolError(`QMP peer sent a line longer than ${err.maxLength} bytes`, undefined, {
        cause: err,
      });
    }
    for (const line of lines) {
      // A listener may have disconnected, or a bad line ended the session.
      if (session.closed) return;
      if (line.trim() === '') continue;
      let message: QmpMessage;
      try {
        message = parseQmpMessage(line);
      } catch (err) {
        this.#sessionLost(session, err as Error);
        return;
      }
      this.#dispatch(session, message);
    }
    if (tooLong !== undefined && !session.closed) this.#sessionLost(session, tooLong);
  }

  #dispatch(session: Session, message: QmpMessage): void {
    const waiter = session.greetingWaiter;
    if (waiter !== undefined) {
      session.greetingWaiter = undefined;
      if (message.kind === 'greeting') waiter.resolve(message);
      else waiter.reject(new QmpProtocolError(`expected a QMP greeting, got a '${message.kind}' message`));
      return;
    }
    switch (message.kind) {
      case 'greeting':
        this.#sessionLost(session, new QmpProtocolError('unexpected second QMP greeting'));
        return;
      case 'return':
      case 'error':
        this.#routeReply(message);
        return;
      case 'event':
        if (this.#events.size === 0) this.#logger.debug?.(`QmpClient: event ${message.event} with no listener`);
        this.#events.fire(message);
        return;
    }
  }

  #routeReply(message: Extract<QmpMessage, { kind: 'return' | 'error' }>): void {
    const id = typeof message.id === 'string' ? message.id : undefined;
    const call = id === undefined ? undefined : this.#pending.get(id);
    if (id === undefined || call === undefined) {
      const what = message.kind === 'error' ? `error reply (${message.error.class}: ${message.error.desc})` : 'reply';
      const which =
        !('id' in message) ? 'without an id'
        : id !== undefined && this.#abandonedIds.delete(id) ? `for timed-out call ${id}`
        : `with unknown id ${JSON.stringify(message.id)}`;
      this.#logger.warn(`QmpClient: dropping ${what} ${which}`);
      return;
    }
    this.#pending.delete(id);
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (message.kind === 'return') call.resolve(message.return);
    else call.reject(new ExecuteError(call.command, message.error.class, message.error.desc));
  }

  /** Writes one command and returns its reply promise. Used by execute() and by negotiation. */
  #send(command: string, args: object | undefined, timeoutMs: number): Promise<unknown> {
    const session = this.#session;
    if (session === undefined || session.closed) {
      return Promise.reject(new ExecInterruptedError(command, 'disconnected', { cause: session?.error }));
    }
    const id = `${this.#idPrefix}#${String(this.#nextId++).padStart(5, '0')}`;
    const line = serializeQmpCommand(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id });
    return new Promise((resolve, reject) => {
      const call: PendingCall = { command, resolve, reject };
      if (Number.isFinite(timeoutMs)) {
        call.timer = setTimeout(() => {
          this.#pending.delete(id);
          this.#abandonedIds.add(id);
          if (this.#abandonedIds.size > MAX_ABANDONED_IDS) {
            const oldest = this.#abandonedIds.values().next().value;
            if (oldest !== undefined) this.#abandonedIds.delete(oldest);
          }
          reject(new QmpTimeoutError(`execute(${command})`, timeoutMs));
        }, timeoutMs);
      }
      this.#pending.set(id, call);
      // Commands issued in the same tick leave in one write. This matters after `quit`: a
      // later, separate write fails with EPIPE once QEMU has closed, and Node then destroys the
      // socket before reading replies QEMU sent first (measured: about 1 run in 40 lost the
      // `quit` reply that way when a command was written right behind it).
      if (!session.corked) {
        session.corked = true;
        session.socket.cork();
        process.nextTick(() => {
          session.corked = false;
          session.socket.uncork();
        });
      }
      // A failed write surfaces as the socket's 'error' then 'close', which rejects this call.
      session.socket.write(line);
    });
  }

  #rejectPending(reason: 'requested' | 'disconnected', cause?: Error): void {
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) {
      if (call.timer !== undefined) clearTimeout(call.timer);
      call.reject(new ExecInterruptedError(call.command, reason, { cause }));
    }
    for (const interrupt of [...this.#eventWaiters]) interrupt(reason, cause);
  }

  /** The socket closed, failed, or sent something fatal. */
  #sessionLost(session: Session, error: Error | undefined): void {
    if (session.closed) return;
    session.closed = true;
    session.socket.destroy();
    if (this.#session !== session) return;
    if (this.#state === 'connecting') {
      // connect() owns the rollback: just fail whatever it is waiting for.
      const cause = error ?? new Error('QMP peer closed the connection');
      session.greetingWaiter?.reject(cause);
      session.greetingWaiter = undefined;
      this.#rejectPending('disconnected', cause);
      return;
    }
    // running: tear down synchronously.
    this.#setState('disconnecting');
    this.#rejectPending('disconnected', error);
    this.#session = undefined;
    this.#setState('idle');
    this.#disconnects.fire(error === undefined ? { reason: 'disconnected' } : { reason: 'disconnected', error });
  }

  #rollbackConnect(err: unknown): void {
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) {
      session.closed = true;
      session.greetingWaiter = undefined;
      session.socket.destroy();
    }
    this.#rejectPending('disconnected', err instanceof Error ? err : undefined);
    this.#setState('idle');
  }

  async #closeRequested(): Promise<void> {
    const session = this.#session;
    this.#setState('disconnecting');
    if (session !== undefined) {
      session.closed = true;
      this.#rejectPending('requested');
      await endGracefully(session.socket, CLOSE_GRACE_MS);
    }
    this.#session = undefined;
    this.#disconnecting = undefined;
    this.#setState('idle');
    this.#disconnects.fire({ reason: 'requested' });
  }
}

/** Opens the socket, retrying missing/refusing sockets until `retryDeadline` (epoch ms). */
async function openSocket(path: string, signal: AbortSignal, retryDeadline: number): Promise<net.Socket> {
  for (;;) {
    signal.throwIfAborted();
    try {
      return await connectOnce(path, signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = (err as NodeJS.ErrnoException).code;
      const remaining = retryDeadline - Date.now();
      if (code === undefined || !RETRYABLE_CONNECT_CODES.has(code) || remaining <= 0) throw err;
      await sleep(Math.min(CONNECT_RETRY_INTERVAL_MS, remaining), signal);
    }
  }
}

function connectOnce(path: string, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    const onError = (err: Error): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settles like `promise`, or rejects with the abort reason first. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      // Still observe `promise` so its later rejection is not reported as unhandled.
      promise.then(undefined, () => undefined);
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Half-closes, then waits for the peer's close for up to `graceMs` before destroying. */
function endGracefully(socket: net.Socket, graceMs: number): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
