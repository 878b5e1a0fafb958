// The single write lease of a device: a new writer takes it over from the old holder (Azure semantics).

import { Emitter, type EmitterOptions, type Event } from './event.js';
import type { Disposable } from './lifecycle.js';

/** What happened to the lease. */
export type LeaseChangeReason = 'acquire' | 'takeover' | 'release';

/** Fired by {@link WriteLease.onChange} after every change of holder. */
export interface LeaseChange {
  readonly reason: LeaseChangeReason;
  /** The holder after the change; undefined after a release. */
  readonly holder: string | undefined;
  /** The holder before the change; undefined after an acquire of a free lease. */
  readonly previous: string | undefined;
}

/** Result of {@link WriteLease.acquire}. */
export interface AcquireResult {
  /** The session the lease was taken from; absent if the lease was free or already ours. */
  readonly previous?: string;
}

/**
 * At most one session holds the write lease of a device.
 *
 * Contract: `acquire(id)` always succeeds — a new writer takes the lease over and the caller
 * gets the previous holder back so it can tell and demote it. Acquiring a lease one already
 * holds changes nothing and fires nothing. `release(id)` only releases if `id` is the holder,
 * so a demoted session's late release cannot free its successor's lease. Authorization (who
 * may acquire) is the caller's job. `onChange` fires synchronously after the state changed.
 */
export class WriteLease implements Disposable {
  private _holder: string | undefined;
  private readonly _onChange: Emitter<LeaseChange>;
  readonly onChange: Event<LeaseChange>;

  constructor(options: EmitterOptions = {}) {
    this._onChange = new Emitter<LeaseChange>(options);
    this.onChange = this._onChange.event;
  }

  /** The session holding the lease, if any. */
  get holder(): string | undefined {
    return this._holder;
  }

  isHeldBy(sessionId: string): boolean {
    return this._holder !== undefined && this._holder === sessionId;
  }

  acquire(sessionId: string): AcquireResult {
    if (sessionId === '') throw new RangeError('session id must not be empty');
    const previous = this._holder;
    if (previous === sessionId) return {};
    this._holder = sessionId;
    this._onChange.fire({ reason: previous === undefined ? 'acquire' : 'takeover', holder: sessionId, previous });
    return previous === undefined ? {} : { previous };
  }

  /** Releases the lease if `sessionId` holds it; returns whether it did. */
  release(sessionId: string): boolean {
    if (!this.isHeldBy(sessionId)) return false;
    this._holder = undefined;
    this._onChange.fire({ reason: 'release', holder: undefined, previous: sessionId });
    return true;
  }

  dispose(): void {
    this._onChange.dispose();
  }
}
