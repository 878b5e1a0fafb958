// ListenerSet: a minimal typed event emitter that isolates listeners from each other's exceptions.

/** Returned by every subscription; `dispose()` unsubscribes and is idempotent. */
export interface QmpDisposable {
  dispose(): void;
}

/** A subscribe function in the xterm.js `Event<T>` shape: call it with a listener. */
export type QmpEventHook<T> = (listener: (value: T) => void) => QmpDisposable;

/**
 * Listeners are called synchronously in subscription order. A listener that throws does not
 * stop the others; its error goes to `onListenerError`. A listener added during a fire is first
 * called on the next fire; one disposed during a fire is not called again, not even in that fire.
 */
export class ListenerSet<T> {
  #listeners = new Set<{ fn: (value: T) => void }>();

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  get size(): number {
    return this.#listeners.size;
  }

  /** The subscribe function to expose publicly, e.g. `readonly onEvent = this.#events.hook`. */
  readonly hook: QmpEventHook<T> = (listener) => {
    // Wrapped so the same function can be subscribed twice and disposed independently.
    const entry = { fn: listener };
    this.#listeners.add(entry);
    return { dispose: () => void this.#listeners.delete(entry) };
  };

  fire(value: T): void {
    for (const entry of [...this.#listeners]) {
      if (!this.#listeners.has(entry)) continue;
      try {
        entry.fn(value);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
