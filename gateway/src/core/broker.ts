// One Broker per open device: keeps history, fans device output out to viewers, holds the write lease.

import { type DeviceState, ErrorCode, type ServerControlMessage, type SessionMode } from '../protocol/control.js';
import { CloseCode } from '../protocol/frames.js';
import { Emitter, type Event } from './event.js';
import type { Disposable } from './lifecycle.js';
import { type ReadonlyRingBuffer, RingBuffer, type RingCursor } from './ring-buffer.js';
import { type LeaseChange, WriteLease } from './write-lease.js';

/**
 * Where a {@link Broker} delivers one session's stream; the WebSocket layer implements it.
 *
 * Contract: every method is called synchronously by the broker and must not block.
 * `send` queues raw device bytes (one binary frame); the broker never reuses the array after
 * the call. `control` queues one control message (one text frame). `bufferedBytes` is what is
 * queued but not yet handed to the network (`ws.bufferedAmount`); the broker reads it after each
 * send and drops the viewer once it exceeds the cap. `close` ends the connection; the broker
 * calls it at most once per session and never calls anything after it. A method that throws
 * marks the viewer broken: the broker reports the error and ends the session.
 */
export interface ViewerSink {
  send(bytes: Uint8Array): void;
  control(msg: ServerControlMessage): void;
  readonly bufferedBytes: number;
  close(code: number, reason: string): void;
}

/** Options of a {@link Broker}. */
export interface BrokerOptions {
  /** Bytes of recent output kept for replay and for viewers that pause (ring capacity). */
  historyBytes: number;
  /** A viewer whose `bufferedBytes` exceeds this is sent an error and closed with 4008. */
  viewerMaxBufferedBytes: number;
  /** Offset of the first device byte (continue a capture's offsets after a restart). Default 0. */
  initialOffset?: number;
  /** Largest single `send` to a viewer (default {@link DEFAULT_MAX_CHUNK_BYTES}). */
  maxChunkBytes?: number;
  /** New session ids; default `s1`, `s2`, … unique within the process. Pass UUIDs for audit. */
  createSessionId?: () => string;
  /** Clock in ms for session timestamps and durations (default `Date.now`). */
  now?: () => number;
  /**
   * Receives errors thrown by event listeners and viewer sinks. The broker never lets them
   * reach `push()` or its other callers. Default: surfaced as an unhandled promise rejection,
   * so pass a logger in production.
   */
  onError?: (error: unknown) => void;
}

/**
 * Largest single frame sent to a viewer: big enough to amortise per-frame cost on bulk output,
 * small enough that xterm.js renders a large replay or a catch-up progressively.
 */
export const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024;

/** Options of {@link Broker.attach}. */
export interface AttachOptions {
  /** `write` takes the write lease over from any current holder; `read` only watches. */
  mode: SessionMode;
  /** Up to this many bytes of history are sent before live output (clamped to what is held). */
  replayBytes: number;
  /** Who is attached, for events and the session list. */
  principal?: string;
  /** May this session take the lease later with `takeover()`? Default: `mode === 'write'`. */
  allowWrite?: boolean;
}

/**
 * One attachment of one viewer to the device.
 *
 * Contract: `mode` changes when the lease is taken over (a demoted writer becomes `read`).
 * `dispose()` detaches (the viewer went away): the sink is not closed, the lease is released if
 * held, `onSessionEnd` fires; it is idempotent. The broker may end a session on its own (slow
 * consumer, broken sink, `closeSession`, broker disposed); `ended` tells, and every method of an
 * ended session is a no-op except `write`/`takeover`, which throw {@link SessionNotFound}.
 * `attach()` can return an already-ended session if the viewer failed during replay.
 */
export interface Session extends Disposable {
  readonly id: string;
  readonly mode: SessionMode;
  readonly principal: string | undefined;
  /** Epoch ms of the attach. */
  readonly startedAt: number;
  /** Device bytes sent to this viewer, replay included. */
  readonly bytesToViewer: number;
  /** Bytes this session wrote to the device. */
  readonly bytesToDevice: number;
  /** Absolute offset of the next device byte this viewer will receive. */
  readonly offset: number;
  readonly paused: boolean;
  readonly ended: boolean;
  /** {@link Broker.write} for this session. */
  write(bytes: Uint8Array): void;
  /** {@link Broker.takeover} for this session. */
  takeover(): TakeoverResult;
  /**
   * Stops sending to this viewer (ack-based flow control); output accrues in the history.
   * If the history overwrites bytes it has not been sent, it is dropped as a slow consumer.
   */
  pause(): void;
  /** Sends everything accrued while paused, then streams live again. */
  resume(): void;
}

/** A read-only snapshot of a session (for `GET /api/v1/sessions`). */
export interface SessionInfo {
  readonly id: string;
  readonly mode: SessionMode;
  readonly principal: string | undefined;
  readonly startedAt: number;
  readonly bytesToViewer: number;
  readonly bytesToDevice: number;
  readonly paused: boolean;
}

export interface SessionStartEvent {
  readonly sessionId: string;
  readonly principal: string | undefined;
  readonly mode: SessionMode;
  /** Offset of the first byte sent to the viewer (the `hello` offset). */
  readonly offset: number;
  readonly replayBytes: number;
  readonly startedAt: number;
}

/** Why a session ended. */
export type SessionEndReason =
  /** The viewer went away (`session.dispose()`). */
  | 'detached'
  /** Ended on purpose with {@link Broker.closeSession}. */
  | 'closed'
  /** Over the buffered-bytes cap, or overrun by the history while paused. */
  | 'slow-consumer'
  /** A sink method threw. */
  | 'viewer-error'
  /** The broker was disposed (device closed or removed). */
  | 'broker-disposed';

export interface SessionEndEvent {
  readonly sessionId: string;
  readonly principal: string | undefined;
  /** Mode at the end. */
  readonly mode: SessionMode;
  readonly reason: SessionEndReason;
  readonly bytesToViewer: number;
  readonly bytesToDevice: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
}

export interface TakeoverEvent {
  /** The new writer. */
  readonly sessionId: string;
  readonly principal: string | undefined;
  /** The demoted writer. */
  readonly previous: string;
  readonly previousPrincipal: string | undefined;
}

/** Result of a takeover: the session the lease was taken from, if any. */
export interface TakeoverResult {
  readonly previous?: string;
}

/** Device output as appended to the history. `bytes` are a copy that listeners must not modify. */
export interface OutputChunk {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** Base of the broker's typed errors; `code` is stable and safe to show to the client. */
export class BrokerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A session that does not hold the write lease tried to write or to take a control it may not. */
export class WriteNotAllowed extends BrokerError {
  readonly sessionId: string;
  readonly holder: string | undefined;
  constructor(sessionId: string, holder: string | undefined, message?: string) {
    super(ErrorCode.WriteNotAllowed, message ?? 'this session does not hold the write lease');
    this.sessionId = sessionId;
    this.holder = holder;
  }
}

/** No such session on this broker (never attached, or already ended). */
export class SessionNotFound extends BrokerError {
  readonly sessionId: string;
  constructor(sessionId: string) {
    super('SessionNotFound', `no session ${JSON.stringify(sessionId)} on this device`);
    this.sessionId = sessionId;
  }
}

/** The broker was disposed. */
export class BrokerDisposed extends BrokerError {
  constructor() {
    super('BrokerDisposed', 'the device console is closed');
  }
}

interface SessionState {
  readonly id: string;
  readonly principal: string | undefined;
  allowWrite: boolean;
  readonly sink: ViewerSink;
  readonly cursor: RingCursor;
  readonly startedAt: number;
  mode: SessionMode;
  paused: boolean;
  pumping: boolean;
  ended: boolean;
  bytesToViewer: number;
  bytesToDevice: number;
  handle: Session | undefined;
}

let sessionSeq = 0;
const defaultSessionId = (): string => `s${++sessionSeq}`;

const defaultOnError = (error: unknown): void => {
  // Surfaces as an unhandled rejection (logged, or fatal under Node's default policy) instead
  // of vanishing, without throwing into the caller of push()/attach().
  void Promise.reject(error);
};

function assertPositiveInt(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${n}`);
}

/**
 * Connects one device to any number of viewers. Pure: the I/O layer feeds `push()` from the
 * transport and writes what `onDeviceWrite` fires to it.
 *
 * Contract:
 * - `push()` never blocks and never throws because of a viewer: a slow viewer (over
 *   `viewerMaxBufferedBytes`, or overrun while paused) gets `{type:"error", code:"SlowConsumer"}`
 *   and is closed with 4008 "slow consumer"; the others are unaffected.
 * - `attach()` sends `hello`, then up to `replayBytes` of history, then live output, in order.
 * - One write lease: a `write` attach or `takeover()` takes it over; the old and the new writer
 *   both get `{type:"lease", holder, mode}`; `write()` from anyone else throws
 *   {@link WriteNotAllowed}.
 * - Events fire synchronously, after the state changed. `onSessionEnd` fires once per session
 *   that `onSessionStart` announced.
 */
export class Broker implements Disposable {
  private readonly _ring: RingBuffer;
  private readonly _lease: WriteLease;
  private readonly _sessions = new Map<string, SessionState>();
  private readonly _maxBuffered: number;
  private readonly _maxChunk: number;
  private readonly _createSessionId: () => string;
  private readonly _now: () => number;
  private readonly _onError: (error: unknown) => void;
  private _deviceState: DeviceState | undefined;
  private _disposed = false;
  private _bytesFromDevice = 0;
  private _bytesToDevice = 0;

  private readonly _onSessionStart: Emitter<SessionStartEvent>;
  private readonly _onSessionEnd: Emitter<SessionEndEvent>;
  private readonly _onTakeover: Emitter<TakeoverEvent>;
  private readonly _onDeviceWrite: Emitter<Uint8Array>;
  private readonly _onOutput: Emitter<OutputChunk>;

  /** A session attached (fires before its `hello` is sent). */
  readonly onSessionStart: Event<SessionStartEvent>;
  /** A session ended, with its byte counts and duration. */
  readonly onSessionEnd: Event<SessionEndEvent>;
  /** A writer took the lease from another one. */
  readonly onTakeover: Event<TakeoverEvent>;
  /** Every change of lease holder, including acquiring a free lease and releasing it. */
  readonly onLeaseChange: Event<LeaseChange>;
  /** Bytes the lease holder wrote; the I/O layer writes them to the transport, in order. */
  readonly onDeviceWrite: Event<Uint8Array>;
  /** Device output as it is appended to the history (for the capture/recorder). */
  readonly onOutput: Event<OutputChunk>;

  constructor(options: BrokerOptions) {
    assertPositiveInt('historyBytes', options.historyBytes);
    assertPositiveInt('viewerMaxBufferedBytes', options.viewerMaxBufferedBytes);
    const maxChunk = options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    assertPositiveInt('maxChunkBytes', maxChunk);
    this._ring = new RingBuffer(options.historyBytes, { initialOffset: options.initialOffset ?? 0 });
    this._maxBuffered = options.viewerMaxBufferedBytes;
    this._maxChunk = maxChunk;
    this._createSessionId = options.createSessionId ?? defaultSessionId;
    this._now = options.now ?? Date.now;
    this._onError = options.onError ?? defaultOnError;

    const emitterOptions = { onListenerError: (e: unknown): void => this._report(e) };
    this._lease = new WriteLease(emitterOptions);
    this._onSessionStart = new Emitter(emitterOptions);
    this._onSessionEnd = new Emitter(emitterOptions);
    this._onTakeover = new Emitter(emitterOptions);
    this._onDeviceWrite = new Emitter(emitterOptions);
    this._onOutput = new Emitter(emitterOptions);
    this.onSessionStart = this._onSessionStart.event;
    this.onSessionEnd = this._onSessionEnd.event;
    this.onTakeover = this._onTakeover.event;
    this.onLeaseChange = this._lease.onChange;
    this.onDeviceWrite = this._onDeviceWrite.event;
    this.onOutput = this._onOutput.event;
  }

  /** Recent output, read-only (offsets, `tail`, cursors for extra consumers). */
  get history(): ReadonlyRingBuffer {
    return this._ring;
  }

  /** Session id holding the write lease, if any. */
  get leaseHolder(): string | undefined {
    return this._lease.holder;
  }

  /** Last state passed to {@link deviceState}. */
  get currentDeviceState(): DeviceState | undefined {
    return this._deviceState;
  }

  get sessionCount(): number {
    return this._sessions.size;
  }

  /** Total bytes the device sent. */
  get bytesFromDevice(): number {
    return this._bytesFromDevice;
  }

  /** Total bytes written to the device by all sessions. */
  get bytesToDevice(): number {
    return this._bytesToDevice;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Snapshots of the live sessions, in attach order. */
  sessions(): SessionInfo[] {
    return [...this._sessions.values()].map((s) => ({
      id: s.id,
      mode: s.mode,
      principal: s.principal,
      startedAt: s.startedAt,
      bytesToViewer: s.bytesToViewer,
      bytesToDevice: s.bytesToDevice,
      paused: s.paused,
    }));
  }

  /** The live session with this id. */
  getSession(sessionId: string): Session | undefined {
    return this._sessions.get(sessionId)?.handle;
  }

  /**
   * Attaches a viewer: registers it, fires `onSessionStart`, sends `hello` (then, for a
   * `write` attach that displaced a writer, the `lease` messages; then the device state if it
   * is not healthy), replays history and from then on streams live output.
   * Throws {@link BrokerDisposed} after `dispose()`, `RangeError` on bad options.
   */
  attach(sink: ViewerSink, options: AttachOptions): Session {
    if (this._disposed) throw new BrokerDisposed();
    const { mode, replayBytes } = options;
    if (mode !== 'read' && mode !== 'write') throw new RangeError(`mode must be "read" or "write", got ${String(mode)}`);
    if (!(replayBytes === Infinity || (Number.isSafeInteger(replayBytes) && replayBytes >= 0))) {
      throw new RangeError(`replayBytes must be a non-negative integer, got ${replayBytes}`);
    }
    const id = this._createSessionId();
    if (this._sessions.has(id)) throw new Error(`session id ${JSON.stringify(id)} is already in use`);

    const replay = Math.min(replayBytes, this._ring.length);
    const offset = this._ring.endOffset - replay;
    const state: SessionState = {
      id,
      principal: options.principal,
      allowWrite: options.allowWrite ?? mode === 'write',
      sink,
      cursor: this._ring.createCursor(offset),
      startedAt: this._now(),
      mode: 'read',
      paused: false,
      pumping: false,
      ended: false,
      bytesToViewer: 0,
      bytesToDevice: 0,
      handle: undefined,
    };
    state.handle = this._makeHandle(state);
    this._sessions.set(id, state);

    // 1. Take the lease first so the start event and hello carry the final mode.
    let previous: SessionState | undefined;
    if (mode === 'write') previous = this._takeLease(state);
    // 2. Announce, then greet.
    this._onSessionStart.fire({ sessionId: id, principal: state.principal, mode, offset, replayBytes: replay, startedAt: state.startedAt });
    this._control(state, { type: 'hello', sessionId: id, mode, offset });
    // 3. A displaced writer is told (and so is the new one), then the takeover is announced.
    if (previous) this._announceTakeover(state, previous);
    // 4. A newcomer learns that the device is down before it sees (old) output.
    const ds = this._deviceState;
    if (ds !== undefined && ds !== 'connected' && ds !== 'reconnected') this._control(state, { type: 'device', state: ds });
    // 5. Replay, then live.
    this._pump(state);
    return state.handle;
  }

  /**
   * Device output from the transport reader. Appends to the history, fires `onOutput`, and sends
   * to every viewer that is not paused. Never blocks; ignored after `dispose()`.
   */
  push(bytes: Uint8Array): void {
    if (this._disposed || bytes.length === 0) return;
    // Pieces no larger than the history, so a caught-up viewer can never be lapped by one push.
    const step = this._ring.capacity;
    for (let at = 0; at < bytes.length; at += step) {
      const piece = new Uint8Array(bytes.subarray(at, Math.min(bytes.length, at + step))); // a copy
      const offset = this._ring.endOffset;
      this._ring.append(piece);
      this._bytesFromDevice += piece.length;
      this._onOutput.fire({ offset, bytes: piece });
      for (const state of [...this._sessions.values()]) {
        if (state.ended) continue;
        if (state.paused) {
          if (state.cursor.overrun) this._dropSlow(state, 'output overran the history while paused');
        } else {
          this._pump(state);
        }
      }
    }
  }

  /**
   * Bytes typed by a session, for the device. Throws {@link SessionNotFound} for an unknown or
   * ended session and {@link WriteNotAllowed} unless it holds the lease. Fires `onDeviceWrite`
   * with the same array (not copied); empty writes are accepted and ignored.
   */
  write(sessionId: string, bytes: Uint8Array): void {
    const state = this._sessions.get(sessionId);
    if (!state) throw new SessionNotFound(sessionId);
    if (!this._lease.isHeldBy(sessionId)) throw new WriteNotAllowed(sessionId, this._lease.holder);
    if (bytes.length === 0) return;
    state.bytesToDevice += bytes.length;
    this._bytesToDevice += bytes.length;
    this._onDeviceWrite.fire(bytes);
  }

  /**
   * Gives the write lease to `sessionId`. The previous holder is demoted to `read`; both get
   * `{type:"lease", holder, mode}` and `onTakeover` fires. Taking a free lease tells only the
   * new holder; asking while holding it re-sends the confirmation and changes nothing.
   * Throws {@link SessionNotFound}, or {@link WriteNotAllowed} if the session was attached
   * without `allowWrite`.
   */
  takeover(sessionId: string): TakeoverResult {
    const state = this._sessions.get(sessionId);
    if (!state) throw new SessionNotFound(sessionId);
    if (!state.allowWrite) throw new WriteNotAllowed(sessionId, this._lease.holder, 'this session may not write');
    const previous = this._takeLease(state);
    if (previous) {
      this._announceTakeover(state, previous);
      return { previous: previous.id };
    }
    this._control(state, { type: 'lease', holder: state.id, mode: 'write' });
    return {};
  }

  /**
   * Takes the right to write away from a session (its user lost write access): it may no longer
   * take the lease, and if it holds the lease it is released and the session is told
   * `{type:"lease", holder: null, mode: "read"}`. The session keeps viewing. Returns false if
   * there is no such session.
   */
  revokeWrite(sessionId: string): boolean {
    const state = this._sessions.get(sessionId);
    if (!state) return false;
    state.allowWrite = false;
    if (this._lease.isHeldBy(sessionId)) {
      state.mode = 'read';
      this._lease.release(sessionId);
      this._control(state, { type: 'lease', holder: null, mode: 'read' });
    }
    return true;
  }

  /**
   * Ends a session on purpose (e.g. an owner's `DELETE /sessions/{id}`): closes its sink with
   * `code`/`reason`, releases its lease, fires `onSessionEnd` with reason `closed`.
   * Returns false if there is no such session.
   */
  closeSession(sessionId: string, code: number = CloseCode.Normal, reason = 'session ended'): boolean {
    const state = this._sessions.get(sessionId);
    if (!state) return false;
    this._closeSink(state, code, reason);
    this._end(state, 'closed');
    return true;
  }

  /** Tells every viewer, and later newcomers while it is not healthy, the device's state. */
  deviceState(state: DeviceState): void {
    if (this._disposed) return;
    this._deviceState = state;
    for (const s of [...this._sessions.values()]) {
      if (!s.ended) this._control(s, { type: 'device', state });
    }
  }

  /** Closes every viewer with 1001 "device closed", ends their sessions, drops all listeners. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const s of [...this._sessions.values()]) {
      this._closeSink(s, CloseCode.GoingAway, 'device closed');
      this._end(s, 'broker-disposed');
    }
    this._lease.dispose();
    this._onSessionStart.dispose();
    this._onSessionEnd.dispose();
    this._onTakeover.dispose();
    this._onDeviceWrite.dispose();
    this._onOutput.dispose();
  }

  // ---- internals ----------------------------------------------------------------------------

  private _makeHandle(state: SessionState): Session {
    return {
      get id() {
        return state.id;
      },
      get mode() {
        return state.mode;
      },
      get principal() {
        return state.principal;
      },
      get startedAt() {
        return state.startedAt;
      },
      get bytesToViewer() {
        return state.bytesToViewer;
      },
      get bytesToDevice() {
        return state.bytesToDevice;
      },
      get offset() {
        return state.cursor.offset;
      },
      get paused() {
        return state.paused;
      },
      get ended() {
        return state.ended;
      },
      write: (bytes: Uint8Array): void => this.write(state.id, bytes),
      takeover: (): TakeoverResult => this.takeover(state.id),
      pause: (): void => {
        if (!state.ended) state.paused = true;
      },
      resume: (): void => {
        if (state.ended || !state.paused) return;
        state.paused = false;
        this._pump(state);
      },
      dispose: (): void => this._end(state, 'detached'),
    };
  }

  /** Moves the lease to `state`; returns the displaced holder's state (already demoted). */
  private _takeLease(state: SessionState): SessionState | undefined {
    const { previous } = this._lease.acquire(state.id);
    state.mode = 'write';
    if (previous === undefined) return undefined;
    const prev = this._sessions.get(previous);
    if (prev) prev.mode = 'read';
    return prev;
  }

  private _announceTakeover(state: SessionState, previous: SessionState): void {
    this._control(previous, { type: 'lease', holder: state.id, mode: 'read' });
    this._control(state, { type: 'lease', holder: state.id, mode: 'write' });
    this._onTakeover.fire({
      sessionId: state.id,
      principal: state.principal,
      previous: previous.id,
      previousPrincipal: previous.principal,
    });
  }

  /** Sends what the cursor has, in chunks, until caught up, paused or ended. */
  private _pump(state: SessionState): void {
    // A sink may resume from inside send(); the outer loop then simply continues.
    if (state.pumping) return;
    state.pumping = true;
    try {
      while (!state.ended && !state.paused) {
        const r = state.cursor.read(this._maxChunk);
        if (r.kind === 'overrun') {
          this._dropSlow(state, `${r.lost} bytes of output were lost`);
          return;
        }
        if (r.bytes.length === 0) return;
        try {
          state.sink.send(r.bytes);
        } catch (err) {
          this._broken(state, err);
          return;
        }
        state.bytesToViewer += r.bytes.length;
        if (this._overCap(state)) {
          this._dropSlow(state, `more than ${this._maxBuffered} bytes queued`);
          return;
        }
      }
    } finally {
      state.pumping = false;
    }
  }

  private _overCap(state: SessionState): boolean {
    try {
      return state.sink.bufferedBytes > this._maxBuffered;
    } catch (err) {
      // A getter that throws means a broken sink, not a slow one: report it and end it there.
      this._broken(state, err);
      return false;
    }
  }

  private _dropSlow(state: SessionState, detail: string): void {
    if (state.ended) return;
    this._control(state, { type: 'error', code: ErrorCode.SlowConsumer, message: `viewer too slow: ${detail}` });
    this._closeSink(state, CloseCode.SlowConsumer, 'slow consumer');
    this._end(state, 'slow-consumer');
  }

  /** A sink method threw: report, try to close with 1011, end the session. */
  private _broken(state: SessionState, err: unknown): void {
    this._report(err);
    if (state.ended) return;
    this._closeSink(state, CloseCode.InternalError, 'viewer error');
    this._end(state, 'viewer-error');
  }

  private _control(state: SessionState, msg: ServerControlMessage): void {
    if (state.ended) return;
    try {
      state.sink.control(msg);
    } catch (err) {
      this._broken(state, err);
    }
  }

  private _closeSink(state: SessionState, code: number, reason: string): void {
    if (state.ended) return;
    try {
      state.sink.close(code, reason);
    } catch (err) {
      // The session ends anyway; the failure is still reported.
      this._report(err);
    }
  }

  private _end(state: SessionState, reason: SessionEndReason): void {
    if (state.ended) return;
    state.ended = true;
    state.paused = false;
    this._sessions.delete(state.id);
    this._lease.release(state.id);
    const endedAt = this._now();
    this._onSessionEnd.fire({
      sessionId: state.id,
      principal: state.principal,
      mode: state.mode,
      reason,
      bytesToViewer: state.bytesToViewer,
      bytesToDevice: state.bytesToDevice,
      startedAt: state.startedAt,
      endedAt,
      durationMs: Math.max(0, endedAt - state.startedAt),
    });
  }

  private _report(err: unknown): void {
    try {
      this._onError(err);
    } catch {
      // The error handler itself failed; there is nowhere left to report to, and throwing here
      // would break push() for every other viewer.
    }
  }
}
