// Typed events in the shape xterm.js uses: `readonly onX: Event<T>`, subscribe returns a Disposable.

/** Something that holds a resource until `dispose()` is called. Idempotent. */
export interface Disposable {
  dispose(): void;
}

/** Subscribe to an event; the returned Disposable unsubscribes. */
export type Event<T> = (listener: (e: T) => void) => Disposable;

/**
 * Owns the listener list behind an `Event<T>`. A listener that throws does not stop the others:
 * the error goes to `onListenerError` (default: rethrown asynchronously so it is not lost).
 */
export class Emitter<T> implements Disposable {
  private listeners: Array<(e: T) => void> = [];
  private disposed = false;

  constructor(private readonly onListenerError: (err: unknown) => void = (err) => queueMicrotask(() => { throw err; })) {}

  readonly event: Event<T> = (listener) => {
    if (this.disposed) return { dispose() {} };
    this.listeners.push(listener);
    return {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  };

  fire(e: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  dispose(): void {
    this.disposed = true;
    this.listeners = [];
  }
}

/** Resolves with the first event that matches, or rejects after `timeoutMs` / on abort. */
export function nextEvent<T>(event: Event<T>, opts: { timeoutMs: number; predicate?: (e: T) => boolean; what?: string }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'an event'}`));
    }, opts.timeoutMs);
    const sub = event((e) => {
      if (opts.predicate && !opts.predicate(e)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(e);
    });
  });
}
