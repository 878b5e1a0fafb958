// DeviceRuntime: keeps one device's line open (reconnecting with backoff), feeds its Broker and capture.

import { Broker } from '../core/broker.js';
import { Emitter, type Event } from '../core/event.js';
import type { CaptureStore } from '../capture/capture-store.js';
import type { DeviceSpec } from '../devices/device-spec.js';
import { AttachRefusedError, type Capabilities, type DeviceConnection, type DeviceControls, type DeviceDriver } from '../devices/transport.js';
import { GW_ERR } from '../errors.js';

export type RuntimeState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/**
 * Back-pressure toward writers: above this many bytes written but not yet taken by the device,
 * console sockets stop reading (a 115200-baud UART takes ~11 KB/s; a paste must not pile up in RAM).
 */
export const WRITE_BACKLOG_HIGH = 256 * 1024;
/** …and they read again once the backlog is below this. */
export const WRITE_BACKLOG_LOW = 64 * 1024;

/** Reconnect backoff: first retry soon (a board resetting its USB UART), then up to 10 s apart. */
const BACKOFF_MS = [250, 500, 1000, 2000, 5000, 10_000] as const;

export interface RuntimeEvents {
  /** Device went away / came back / rebooted / powered off: for audit and metrics. */
  onLineEvent: Event<{ type: 'disconnected' | 'reconnected' | 'open-failed' | 'rebooting' | 'off' | 'on'; error?: string }>;
}

export interface DeviceRuntimeOptions {
  historyBytes: number;
  viewerMaxBufferedBytes: number;
  createSessionId: () => string;
  onError: (err: unknown) => void;
  /** Counts bytes each way for metrics. */
  onBytes?: (direction: 'fromDevice' | 'toDevice', n: number) => void;
}

export class DeviceRuntime implements RuntimeEvents {
  readonly broker: Broker;
  private connection: DeviceConnection | undefined;
  private _state: RuntimeState = 'connecting';
  private lastError: string | undefined;
  /** The last open failure when it was a refusal the user must act on (VM stopped, console disabled). */
  private lastRefusal: AttachRefusedError | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private everConnected = false;
  private readonly lineEmitter = new Emitter<{ type: 'disconnected' | 'reconnected' | 'open-failed' | 'rebooting' | 'off' | 'on'; error?: string }>();
  readonly onLineEvent = this.lineEmitter.event;
  private readonly abort = new AbortController();
  private _writeBacklog = 0;
  private readonly drainEmitter = new Emitter<void>();
  /** Fires when the write backlog falls below WRITE_BACKLOG_LOW after having been above it. */
  readonly onWriteDrain = this.drainEmitter.event;

  constructor(
    readonly spec: DeviceSpec,
    private readonly driver: DeviceDriver,
    readonly capture: CaptureStore,
    private readonly opts: DeviceRuntimeOptions,
  ) {
    this.broker = new Broker({
      historyBytes: opts.historyBytes,
      viewerMaxBufferedBytes: opts.viewerMaxBufferedBytes,
      initialOffset: capture.endOffset,
      createSessionId: opts.createSessionId,
      onError: opts.onError,
    });
    this.broker.onDeviceWrite((bytes) => {
      const c = this.connection;
      if (!c) return; // The broker only forwards writes from the lease holder; with no line they are dropped (the viewer was told the device is disconnected).
      opts.onBytes?.('toDevice', bytes.length);
      this._writeBacklog += bytes.length;
      c.transport
        .write(bytes)
        .catch((err: unknown) => opts.onError(err))
        .finally(() => {
          const wasHigh = this._writeBacklog >= WRITE_BACKLOG_LOW;
          this._writeBacklog -= bytes.length;
          if (wasHigh && this._writeBacklog < WRITE_BACKLOG_LOW) this.drainEmitter.fire();
        });
    });
  }

  get state(): RuntimeState {
    return this._state;
  }

  /** A method, not a field read, so checks after an await are not narrowed away by TypeScript. */
  private stopped(): boolean {
    return this._state === 'stopped';
  }

  /** Bytes written toward the device that it has not taken yet. */
  get writeBacklog(): number {
    return this._writeBacklog;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** Opens the line in the background; returns at once. */
  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this._state === 'stopped') return;
    try {
      const conn = await this.driver.open(this.spec, this.abort.signal);
      if (this.stopped()) {
        conn.dispose();
        return;
      }
      this.connection = conn;
      this.attempt = 0;
      this.lastError = undefined;
      this.lastRefusal = undefined;
      conn.transport.onData((bytes) => {
        this.opts.onBytes?.('fromDevice', bytes.length);
        this.capture.append(bytes);
        this.broker.push(bytes);
      });
      conn.onDeviceEvent((e) => {
        if (e.type === 'rebooting' || e.type === 'off') this.broker.deviceState(e.type);
        this.lineEmitter.fire({ type: e.type });
      });
      conn.transport.onClose(({ reason, error }) => {
        this.connection = undefined;
        if (reason === 'requested' || this.stopped()) return;
        this.lastError = error?.message ?? 'the device closed the line';
        this._state = 'disconnected';
        this.capture.markGap(`device disconnected: ${this.lastError}`);
        this.broker.deviceState('disconnected');
        this.lineEmitter.fire({ type: 'disconnected', error: this.lastError });
        this.scheduleRetry();
      });
      const wasConnected = this.everConnected;
      this.everConnected = true;
      this._state = 'connected';
      if (wasConnected) {
        this.broker.deviceState('reconnected');
        this.lineEmitter.fire({ type: 'reconnected' });
      }
    } catch (err) {
      if (this.stopped()) return;
      this.lastError = (err as Error).message;
      this.lastRefusal = err instanceof AttachRefusedError ? err : undefined;
      this._state = this.everConnected ? 'disconnected' : 'connecting';
      if (this.attempt === 0) this.lineEmitter.fire({ type: 'open-failed', error: this.lastError });
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)]!;
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * The open line's controls. While it is down: the driver's offline controls if it has them (a cloud
   * VM's power on), else DeviceUnavailable (503). A power action through offline controls retries the
   * line at once (the VM was just started), instead of waiting out the backoff.
   */
  controls(): DeviceControls {
    if (this.connection) return this.connection.controls;
    let offline: DeviceControls | undefined;
    try {
      offline = this.driver.offlineControls?.(this.spec);
    } catch (err) {
      // E.g. a cloud credential that cannot be built: the device is unavailable, for that reason.
      throw GW_ERR.deviceUnavailable(this.spec.id, `${this._state} (${(err as Error).message})`);
    }
    if (!offline) throw GW_ERR.deviceUnavailable(this.spec.id, this.lastError ? `${this._state} (${this.lastError})` : this._state);
    return {
      capabilities: () => offline.capabilities(),
      sendBreak: () => offline.sendBreak(),
      sysrq: (keys) => offline.sysrq(keys),
      nmi: () => offline.nmi(),
      screenshot: () => offline.screenshot(),
      ...(offline.serialLog ? { serialLog: () => offline.serialLog!() } : {}),
      power: async (action, options) => {
        const outcome = await offline.power(action, options);
        this.retryNow();
        return outcome;
      },
    };
  }

  capabilities(): Capabilities | undefined {
    if (this.connection) return this.connection.controls.capabilities();
    try {
      return this.driver.offlineControls?.(this.spec).capabilities();
    } catch {
      // The driver cannot build offline controls (e.g. a misconfigured cloud): the view shows none, the error field says why.
      return undefined;
    }
  }

  /** Why attach is refused while the line is down, when the driver said it needs the user (VM stopped…). */
  get refusal(): AttachRefusedError | undefined {
    return this.connection ? undefined : this.lastRefusal;
  }

  /** What the driver reports about the device's platform (e.g. an Azure VM's power state). */
  info(): Record<string, unknown> | undefined {
    return this.driver.info?.(this.spec);
  }

  /** Reconnects now if the line is down and waiting for its next retry. */
  retryNow(): void {
    if (this.connection || this.stopped() || this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.connect();
  }

  /** Closes the line, stops what the driver runs for it, ends every session, flushes the capture. */
  async stop(): Promise<void> {
    if (this._state === 'stopped') return;
    this._state = 'stopped';
    clearTimeout(this.retryTimer);
    this.abort.abort();
    const conn = this.connection;
    this.connection = undefined;
    await conn?.transport.close().catch((err: unknown) => this.opts.onError(err));
    conn?.dispose();
    await this.driver.shutdown?.(this.spec).catch((err: unknown) => this.opts.onError(err));
    this.broker.dispose();
    this.lineEmitter.dispose();
    this.drainEmitter.dispose();
    await this.capture.close();
  }
}
