// CaptureRegistry: the open CaptureStore of each device, opened on first use, closed together.

import { Emitter, type Event } from '../core/event.js';
import { CaptureError, CaptureStore, type CaptureStoreOptions } from './capture-store.js';

/**
 * Opens each device's capture under one data directory, once.
 *
 * Contract: `get()` opens lazily; concurrent calls for one id share one open. A store that was
 * closed by its user (a device runtime stopping) is reopened by the next `get()`, after its close
 * settled. A failed open is not cached. Store errors are forwarded on `onError` (each names its
 * device in `deviceId` and in its message). After
 * `closeAll()` the registry is closed and `get()` rejects with `closed`.
 */
export class CaptureRegistry {
  readonly onError: Event<CaptureError>;
  private readonly _onError = new Emitter<CaptureError>({
    // A throwing listener must not break a store's writer; surfaced as an unhandled rejection.
    onListenerError: (e) => void Promise.reject(e),
  });
  private readonly _stores = new Map<string, Promise<CaptureStore>>();
  private _closed = false;

  /**
   * @param directory the capture root (e.g. `DATA/captures`); each device gets a subdirectory.
   * @param defaults options of every store; `get()` may override some per device.
   */
  constructor(
    readonly directory: string,
    private readonly defaults: CaptureStoreOptions = {},
  ) {
    this.onError = this._onError.event;
  }

  /** The open store of `deviceId`, opening it if needed (with `defaults` overridden by `opts`). */
  get(deviceId: string, opts: CaptureStoreOptions = {}): Promise<CaptureStore> {
    if (this._closed) return Promise.reject(new CaptureError('closed', 'the capture registry is closed'));
    const cached = this._stores.get(deviceId);
    const p = cached ? cached.then((s) => (s.state === 'open' ? s : this._reopen(deviceId, s, opts))) : this._open(deviceId, opts);
    this._stores.set(deviceId, p);
    p.catch(() => {
      // Not cached: the next get() tries again. (The caller sees the rejection itself.)
      if (this._stores.get(deviceId) === p) this._stores.delete(deviceId);
    });
    return p;
  }

  /** Ids with a store opened (or opening) through this registry. */
  get deviceIds(): string[] {
    return [...this._stores.keys()];
  }

  /** Closes every store (each flushes). Rejects with the error, or an AggregateError, of those that failed. */
  async closeAll(): Promise<void> {
    this._closed = true;
    const pending = [...this._stores.values()];
    this._stores.clear();
    const results = await Promise.allSettled(
      pending.map(async (p) => {
        const store = await p.catch(() => undefined); // its open failed: nothing to close
        await store?.close();
      }),
    );
    this._onError.dispose();
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several captures failed to close');
  }

  private async _reopen(deviceId: string, old: CaptureStore, opts: CaptureStoreOptions): Promise<CaptureStore> {
    // Its user closed it; its close error (if any) was theirs to handle.
    await old.close().catch(() => undefined);
    return this._open(deviceId, opts);
  }

  private async _open(deviceId: string, opts: CaptureStoreOptions): Promise<CaptureStore> {
    const store = await CaptureStore.open(this.directory, deviceId, { ...this.defaults, ...stripUndefined(opts) });
    store.onError((error) => this._onError.fire(error));
    return store;
  }
}

function stripUndefined(o: CaptureStoreOptions): CaptureStoreOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as CaptureStoreOptions;
}
