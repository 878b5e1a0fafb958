// Typed events: `Event<T>` subscriptions returning a Disposable, fired by an `Emitter<T>`.

import { type Disposable, NONE_DISPOSABLE } from './lifecycle.js';

/**
 * Subscribes `listener` to an event. Dispose the returned handle to unsubscribe.
 *
 * Contract: listeners run synchronously inside `fire()`, in subscription order. A listener
 * added during a `fire()` first hears the next one; a listener removed during a `fire()` is
 * not called for the rest of it.
 */
export type Event<T> = (listener: (e: T) => void) => Disposable;

/** Options of an {@link Emitter}. */
export interface EmitterOptions {
  /**
   * Called with each error a listener throws (after the remaining listeners ran as usual).
   * Without it, `fire()` rethrows once every listener has run: the single error as is, several
   * as an `AggregateError`, so a failure is never silent.
   */
  onListenerError?: (error: unknown) => void;
}

interface Entry<T> {
  readonly fn: (e: T) => void;
  active: boolean;
}

/**
 * The producer side of an {@link Event}. Keep the emitter private and expose `emitter.event`
 * as a public `readonly onX: Event<T>`.
 *
 * Contract: one listener throwing never prevents the others from running; errors go to
 * {@link EmitterOptions.onListenerError} or are rethrown after all listeners ran. After
 * `dispose()` all listeners are dropped, `fire()` does nothing and subscribing is a no-op.
 */
export class Emitter<T> implements Disposable {
  private _entries: Entry<T>[] = [];
  private _disposed = false;
  private _event: Event<T> | undefined;
  private readonly _options: EmitterOptions;

  constructor(options: EmitterOptions = {}) {
    this._options = options;
  }

  /** The subscribe function to expose to consumers. */
  get event(): Event<T> {
    this._event ??= (listener: (e: T) => void): Disposable => {
      if (this._disposed) return NONE_DISPOSABLE;
      const entry: Entry<T> = { fn: listener, active: true };
      // Copy-on-write, so a fire() in progress keeps iterating its own snapshot.
      this._entries = [...this._entries, entry];
      return {
        dispose: (): void => {
          if (!entry.active) return;
          entry.active = false;
          this._entries = this._entries.filter((x) => x !== entry);
        },
      };
    };
    return this._event;
  }

  /** Number of subscribed listeners. */
  get listenerCount(): number {
    return this._entries.length;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Delivers `e` to every current listener; see the class contract for errors. */
  fire(e: T): void {
    if (this._disposed || this._entries.length === 0) return;
    // Snapshot: listeners added during this fire wait for the next one.
    const snapshot = this._entries;
    let errors: unknown[] | undefined;
    for (const entry of snapshot) {
      if (!entry.active) continue;
      try {
        entry.fn(e);
      } catch (err) {
        // Not swallowed: reported to the handler below, or rethrown after the loop.
        if (this._options.onListenerError) {
          this._options.onListenerError(err);
        } else {
          (errors ??= []).push(err);
        }
      }
    }
    if (errors?.length === 1) throw errors[0];
    if (errors && errors.length > 1) throw new AggregateError(errors, 'several event listeners threw');
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const entry of this._entries) entry.active = false;
    this._entries = [];
  }
}

/** Subscribes to `event` for its next occurrence only. */
export function once<T>(event: Event<T>): Event<T> {
  return (listener) => {
    let fired = false;
    let sub: Disposable | undefined = undefined;
    sub = event((e) => {
      if (fired) return;
      fired = true;
      sub?.dispose();
      listener(e);
    });
    // An event that fires during subscription leaves `sub` unset inside the listener.
    if (fired) sub.dispose();
    return sub;
  };
}
