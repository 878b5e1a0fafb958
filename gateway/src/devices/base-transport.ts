// BaseTransport: the Transport lifecycle (states, exactly-once onClose, canceled writes) shared by every device kind.

import { Emitter } from '../core/event.js';
import type { Event } from '../core/event.js';
import { TransportError, type Transport, type TransportState } from './transport.js';

export type CloseEvent = { reason: 'requested' | 'disconnected'; error?: TransportError };

/**
 * Reports an error thrown by a consumer's listener. Transports fire events from I/O callbacks, where
 * a throw would end the process; a consumer bug is reported as a process warning instead.
 */
export function reportListenerError(where: string): (error: unknown) => void {
  return (error) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.emitWarning(`a ${where} listener threw: ${detail}`, { code: 'TTYGATE_LISTENER_ERROR' });
  };
}

interface PendingWrite {
  reject(err: TransportError): void;
}

/**
 * Implements the lifecycle half of {@link Transport}; subclasses supply the I/O:
 * `_write` (resolve when the bytes left for the device) and `_doClose` (release the resource).
 * Output is held until `release()`, which drivers call as the last step of `open`.
 *
 * Contract kept here: a transport starts `open`; `close()` goes `closing → closed` and fires
 * `onClose {requested}`; a subclass calling `_lost()` goes straight to `closed` and fires
 * `onClose {disconnected}` (ignored while closing: the close was asked for). `onClose` fires exactly
 * once. Writes pending at close reject with kind `canceled` (after a loss: `disconnected`), and so
 * does every later write. Data is delivered only while `open`.
 */
export abstract class BaseTransport implements Transport {
  private _state: TransportState = 'open';
  private _closePromise: Promise<void> | undefined;
  private _closedBy: 'requested' | 'disconnected' | undefined;
  private readonly _pending = new Set<PendingWrite>();
  /** Output kept until `release()` (see there); undefined once released. */
  private _held: Uint8Array[] | undefined = [];
  private _releaseScheduled = false;
  private readonly _dataEmitter: Emitter<Uint8Array>;
  private readonly _closeEmitter: Emitter<CloseEvent>;

  readonly onData: Event<Uint8Array>;
  readonly onClose: Event<CloseEvent>;

  /** `label` names the device in error messages, e.g. `serial port /dev/ttyUSB0`. */
  protected constructor(readonly label: string) {
    this._dataEmitter = new Emitter<Uint8Array>({ onListenerError: reportListenerError(`${label} onData`) });
    this._closeEmitter = new Emitter<CloseEvent>({ onListenerError: reportListenerError(`${label} onClose`) });
    this.onData = this._dataEmitter.event;
    this.onClose = this._closeEmitter.event;
  }

  get state(): TransportState {
    return this._state;
  }

  /** Sends `data` to the device; see the class contract for rejections. */
  protected abstract _write(data: Uint8Array): Promise<void>;
  /** Releases the underlying resource. Also called (errors ignored) after `_lost()`. */
  protected abstract _doClose(): Promise<void>;

  write(data: Uint8Array): Promise<void> {
    if (this._state !== 'open') return Promise.reject(this._closedError());
    if (data.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const pending: PendingWrite = { reject };
      this._pending.add(pending);
      let sent: Promise<void>;
      try {
        sent = this._write(data);
      } catch (err) {
        sent = Promise.reject(err);
      }
      sent.then(
        () => {
          if (this._pending.delete(pending)) resolve();
        },
        (err: unknown) => {
          if (!this._pending.delete(pending)) return;
          reject(err instanceof TransportError ? err : new TransportError('write-failed', `cannot write to ${this.label}: ${messageOf(err)}`, { cause: err }));
        },
      );
    });
  }

  close(): Promise<void> {
    if (this._closePromise) return this._closePromise;
    if (this._state === 'closed') return Promise.resolve();
    this._state = 'closing';
    this._closedBy = 'requested';
    this._cancelPending(new TransportError('canceled', `${this.label} was closed before the write completed`));
    this._closePromise = (async () => {
      let failure: unknown;
      try {
        await this._doClose();
      } catch (err) {
        failure = err;
      }
      this._finish(
        failure === undefined
          ? { reason: 'requested' }
          : { reason: 'requested', error: new TransportError('canceled', `closing ${this.label} failed: ${messageOf(failure)}`, { cause: failure }) },
      );
    })();
    return this._closePromise;
  }

  dispose(): void {
    // close() never rejects: a failure to release is reported in the onClose event.
    void this.close();
  }

  /**
   * Starts delivering output. Until then (from construction) every byte is kept: a driver may need
   * more I/O after connecting (QMP, telnet negotiation) before `open` resolves, and nobody has
   * subscribed yet. The kept bytes, then live ones, are delivered from the next macrotask on, so
   * whoever receives the transport from `open` can subscribe first. Drivers call this last in `open`.
   */
  release(): void {
    if (this._releaseScheduled) return;
    this._releaseScheduled = true;
    setImmediate(() => {
      const held = this._held ?? [];
      this._held = undefined;
      for (const chunk of held) this._deliver(chunk);
    });
  }

  /** Subclasses: the device sent bytes. */
  protected _deliver(data: Uint8Array): void {
    if (this._state !== 'open' || data.length === 0) return;
    if (this._held) {
      this._held.push(data);
      return;
    }
    this._dataEmitter.fire(data);
  }

  /** Subclasses: the device or its connection went away (EOF, I/O error, process exit). */
  protected _lost(cause?: unknown): void {
    if (this._state !== 'open') return;
    this._state = 'closed';
    this._closedBy = 'disconnected';
    const error = new TransportError('disconnected', `${this.label} went away${cause === undefined ? '' : `: ${messageOf(cause)}`}`, cause === undefined ? undefined : { cause });
    this._cancelPending(error);
    this._doClose().catch(() => {
      // The resource is already gone (that is why we are here); a failing release has nothing left to free.
    });
    this._finish({ reason: 'disconnected', error });
  }

  private _cancelPending(err: TransportError): void {
    const pending = [...this._pending];
    this._pending.clear();
    for (const p of pending) p.reject(err);
  }

  private _finish(e: CloseEvent): void {
    this._state = 'closed';
    this._held = undefined;
    this._dataEmitter.dispose();
    this._closeEmitter.fire(e);
    this._closeEmitter.dispose();
  }

  private _closedError(): TransportError {
    return this._closedBy === 'disconnected'
      ? new TransportError('disconnected', `${this.label} has gone away`)
      : new TransportError('canceled', `${this.label} is closed`);
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
