// One console attachment from the browser: a WebSocket with binary frames straight to the
// terminal, JSON control frames through the gateway's protocol module, automatic reconnect with
// exactly-once replay (StreamPosition), and a one-time ticket per attach.

import { type ServerControlMessage, type SessionMode, type ClientControlMessage } from '../../../gateway/src/protocol/control.js';
import { CloseCode, DEFAULT_REPLAY_BYTES, decodeServerFrame, encodeControl } from '../../../gateway/src/protocol/frames.js';
import { ApiError, api, enc, getDevice } from '../api.js';
import { StreamPosition, replayFor } from './stream-position.js';

/** Close codes after which reconnecting would be wrong (the end was deliberate). */
const FINAL_CLOSES: Readonly<Record<number, string>> = {
  [CloseCode.Normal]: 'The console session ended.',
  [CloseCode.PolicyViolation]: 'The session was ended by an administrator (or the device was removed).',
  4003: 'Your access to this console was revoked.',
  4010: 'The session was closed because it was idle.',
  4011: 'The session reached its maximum length.',
};
/** Close codes that mean "try again" but deserve a word. */
const TRANSIENT_CLOSES: Readonly<Record<number, string>> = {
  [CloseCode.SlowConsumer]: 'The browser fell too far behind the device output.',
  [CloseCode.MessageTooBig]: 'A frame was too large for the gateway.',
  1006: 'The link to the gateway dropped.',
  [CloseCode.GoingAway]: 'The gateway is restarting.',
  [CloseCode.InternalError]: 'The gateway hit an error.',
};
/** Reconnect delays: quick first, then backing off to 10 s. */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
/** App-level liveness: a link that answers no ping within this is treated as dropped. */
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 10000;

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ConnectionListener {
  /** Device output not shown yet; `history`: it was produced before this attach (a replay). */
  data(bytes: Uint8Array, history: boolean): void;
  link(state: LinkState, detail: string): void;
  hello(sessionId: string, mode: SessionMode): void;
  /** `holder` null: nobody holds the lease (e.g. this session's write access was revoked). */
  lease(holder: string | null, mode: SessionMode): void;
  /** Something to know that is not an error (e.g. an idle session is about to be closed). */
  notice(code: string, message: string, secondsLeft: number | undefined): void;
  device(state: string): void;
  error(code: string, message: string): void;
  /** The gap could not be replayed and was filled from the capture (or not at all). */
  gap(from: number, to: number, filled: boolean): void;
  /** The gateway refused the attach (permission, switch off, device gone): no reconnect. */
  refused(err: ApiError): void;
}

export interface ConnectionOptions {
  deviceId: string;
  mode: SessionMode;
  reason?: string | undefined;
}

export class ConsoleConnection {
  private ws: WebSocket | undefined;
  private readonly position = new StreamPosition();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongDeadline: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private _mode: SessionMode;
  private _sessionId: string | undefined;
  /** Output received while a gap is being filled from the capture, in order. */
  private held: Uint8Array[] | undefined;
  private ticketsSupported = true;
  /** The device's end offset just before this attach: bytes below it are replayed history. */
  private historyEnd = 0;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly on: ConnectionListener,
  ) {
    this._mode = opts.mode;
  }

  /** The justification sent with write attaches from now on (when the gateway requires one). */
  setReason(reason: string | undefined): void {
    this.opts.reason = reason;
  }

  get mode(): SessionMode {
    return this._mode;
  }
  get sessionId(): string | undefined {
    return this._sessionId;
  }
  /** Absolute offset of the next device byte the terminal expects. */
  get nextOffset(): number | undefined {
    return this.position.next;
  }
  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  /** Detach on purpose: no reconnect. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.ws?.close(CloseCode.Normal, 'detached by the user');
    this.ws = undefined;
    this.on.link('closed', 'Disconnected.');
  }

  /** Attach again now (after a stop, or to skip the backoff wait). */
  reconnectNow(mode?: SessionMode): void {
    if (mode) this._mode = mode;
    this.stopped = false;
    this.clearTimers();
    const old = this.ws;
    this.ws = undefined;
    old?.close(CloseCode.Normal, 'reattaching');
    void this.connect();
  }

  sendBytes(bytes: Uint8Array): boolean {
    if (!this.open || this._mode !== 'write') return false;
    this.ws!.send(bytes);
    return true;
  }

  sendControl(msg: ClientControlMessage): boolean {
    if (!this.open) return false;
    this.ws!.send(encodeControl(msg));
    return true;
  }

  /** Bytes queued in the socket but not yet sent (for paced pastes). */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pongDeadline);
  }

  /** The wss:// URL for one attach: a one-time ticket from the gateway, else the cookie alone. */
  private async urlFor(replay: number): Promise<string> {
    const body: Record<string, string> = { mode: this._mode };
    if (this.opts.reason) body['reason'] = this.opts.reason;
    if (this.ticketsSupported) {
      try {
        const { url } = await api<{ url: string }>('POST', `/api/v1/devices/${enc(this.opts.deviceId)}/console/connect`, body);
        const u = new URL(url, location.href);
        u.searchParams.set('replay', String(replay));
        return u.toString();
      } catch (err) {
        // A gateway without tickets answers 404 NotFound (no route); anything else is real.
        if (!(err instanceof ApiError && err.status === 404 && err.code === 'NotFound')) throw err;
        this.ticketsSupported = false;
      }
    }
    const u = new URL(`/api/v1/devices/${enc(this.opts.deviceId)}/console`, location.href);
    u.protocol = 'wss:';
    u.searchParams.set('mode', this._mode);
    u.searchParams.set('replay', String(replay));
    if (this.opts.reason) u.searchParams.set('reason', this.opts.reason);
    return u.toString();
  }

  private async connect(): Promise<void> {
    this.on.link(this.attempt === 0 && this.position.next === undefined ? 'connecting' : 'reconnecting', this.attempt === 0 ? 'Connecting…' : `Reconnecting (attempt ${this.attempt})…`);
    let url: string;
    try {
      const endOffset = (await getDevice(this.opts.deviceId)).capture.endOffset;
      this.historyEnd = endOffset;
      url = await this.urlFor(replayFor(this.position.next, endOffset, DEFAULT_REPLAY_BYTES));
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
        this.stopped = true;
        this.on.refused(err);
        this.on.link('closed', err.message);
        return;
      }
      this.scheduleReconnect(err instanceof ApiError ? err.message : 'The gateway cannot be reached.');
      return;
    }
    if (this.stopped) return;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      this.attempt = 0;
    });
    ws.addEventListener('message', (ev: MessageEvent<ArrayBuffer | string>) => {
      if (ws !== this.ws) return;
      const frame = decodeServerFrame(ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data) : ev.data, typeof ev.data !== 'string');
      if (frame.kind === 'data') return this.deliver(frame.bytes);
      if (frame.kind === 'invalid') return this.on.error(frame.code, `the gateway sent a control message this page does not understand: ${frame.message}`);
      this.control(frame.msg);
    });
    ws.addEventListener('close', (ev) => {
      if (ws !== this.ws) return; // replaced on purpose
      this.ws = undefined;
      clearInterval(this.pingTimer);
      clearTimeout(this.pongDeadline);
      if (this.stopped) return;
      const final = FINAL_CLOSES[ev.code];
      if (final && opened) {
        this.stopped = true;
        this.on.link('closed', ev.reason ? `${final} (${ev.reason})` : final);
        return;
      }
      const why = TRANSIENT_CLOSES[ev.code] ?? (opened ? `The link closed (code ${ev.code}).` : 'The gateway refused or dropped the connection.');
      this.scheduleReconnect(why);
    });
  }

  private scheduleReconnect(why: string): void {
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)]!;
    this.attempt++;
    this.on.link('reconnecting', `${why} Reconnecting in ${Math.round(delay / 100) / 10} s; nothing is lost: the console replays what you missed.`);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private control(msg: ServerControlMessage): void {
    switch (msg.type) {
      case 'hello': {
        this._sessionId = msg.sessionId;
        this._mode = msg.mode;
        const plan = this.position.hello(msg.offset);
        if (plan.gap) void this.fillGap(plan.gap.from, plan.gap.to);
        this.on.link('connected', 'Connected.');
        this.on.hello(msg.sessionId, msg.mode);
        this.startPing();
        return;
      }
      case 'lease':
        this._mode = msg.mode;
        return this.on.lease(msg.holder, msg.mode);
      case 'device':
        return this.on.device(msg.state);
      case 'error':
        return this.on.error(msg.code, msg.message);
      case 'pong':
        clearTimeout(this.pongDeadline);
        return;
      case 'notice':
        return this.on.notice(msg.code, msg.message, msg.secondsLeft);
      default: {
        // A newer gateway's message type: show its text when it carries one.
        const m = msg as { type: string; code?: string; message?: string };
        if (m.message) this.on.error(m.code ?? m.type, m.message);
      }
    }
  }

  private deliver(bytes: Uint8Array): void {
    const fresh = this.position.take(bytes);
    if (fresh.length === 0) return;
    const history = (this.position.next ?? 0) - fresh.length < this.historyEnd;
    if (this.held) this.held.push(fresh.slice());
    else this.on.data(fresh, history);
  }

  /** Bytes the replay no longer held: read them from the capture, then release what waited. */
  private async fillGap(from: number, to: number): Promise<void> {
    this.held = [];
    let filled = false;
    try {
      const text = await api<string>('GET', `/api/v1/devices/${enc(this.opts.deviceId)}/boot-diagnostics/serial-log?since=${from}&maxBytes=${Math.max(1, to - from)}`);
      if (text) this.on.data(new TextEncoder().encode(text), true);
      filled = true;
    } catch {
      // The capture may be off or trimmed: the gap is reported as not filled.
    }
    this.on.gap(from, to, filled);
    const held = this.held;
    this.held = undefined;
    for (const b of held) this.on.data(b, true);
  }

  private startPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.sendControl({ type: 'ping' })) return;
      clearTimeout(this.pongDeadline);
      this.pongDeadline = setTimeout(() => {
        // No answer: the link is dead even if the browser has not noticed; drop it and reattach.
        const ws = this.ws;
        this.ws = undefined;
        ws?.close();
        if (!this.stopped) this.scheduleReconnect('The gateway stopped answering.');
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }
}
