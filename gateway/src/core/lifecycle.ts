// Disposable lifecycle primitives in the shape of xterm.js's common/Lifecycle.ts.

/**
 * Something that holds a resource (a listener, a cursor, a timer, a session) and releases it
 * when `dispose()` is called.
 *
 * Contract: `dispose()` is idempotent — calling it again is a no-op and never throws for that
 * reason. After `dispose()` the object must not deliver further callbacks.
 */
export interface Disposable {
  dispose(): void;
}

/** Wraps a cleanup function as a {@link Disposable} that runs `fn` at most once. */
export function toDisposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose(): void {
      if (done) return;
      done = true;
      fn();
    },
  };
}

/** A {@link Disposable} that does nothing; for APIs that must return one in a no-op case. */
export const NONE_DISPOSABLE: Disposable = Object.freeze({ dispose(): void {} });

/**
 * Runs every disposable in `items`, even if some throw. Throws the single error if exactly one
 * failed, an `AggregateError` if several did, nothing otherwise.
 */
export function disposeAll(items: Iterable<Disposable>): void {
  const errors: unknown[] = [];
  for (const d of items) {
    try {
      d.dispose();
    } catch (err) {
      // Collected, not swallowed: rethrown below once every item has had its chance to clean up.
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'several disposables failed to dispose');
}

/**
 * A set of disposables released together.
 *
 * Contract: `dispose()` disposes every item exactly once, in insertion order, then marks the
 * store disposed; a later `add()` disposes the new item immediately (so nothing registered late
 * can leak). `clear()` disposes the current items but keeps the store usable.
 * If items throw while disposing, the others still run and the error(s) are rethrown (see
 * {@link disposeAll}).
 */
export class DisposableStore implements Disposable {
  private readonly _items = new Set<Disposable>();
  private _isDisposed = false;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Number of items currently held. */
  get size(): number {
    return this._items.size;
  }

  /** Adds `item` and returns it (for `const x = store.add(new X())`). */
  add<T extends Disposable>(item: T): T {
    if ((item as Disposable) === this) throw new Error('a DisposableStore cannot contain itself');
    if (this._isDisposed) {
      item.dispose();
    } else {
      this._items.add(item);
    }
    return item;
  }

  /** Removes `item` without disposing it; returns whether it was held. */
  delete(item: Disposable): boolean {
    return this._items.delete(item);
  }

  /** Disposes the current items; the store stays usable. */
  clear(): void {
    const items = [...this._items];
    this._items.clear();
    disposeAll(items);
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    this.clear();
  }
}

/**
 * Base class for objects that own other disposables (xterm.js `Disposable` + `_register`):
 * everything passed to `_register` is disposed with the owner.
 */
export abstract class DisposableObject implements Disposable {
  protected readonly _store = new DisposableStore();

  get isDisposed(): boolean {
    return this._store.isDisposed;
  }

  protected _register<T extends Disposable>(item: T): T {
    return this._store.add(item);
  }

  dispose(): void {
    this._store.dispose();
  }
}
