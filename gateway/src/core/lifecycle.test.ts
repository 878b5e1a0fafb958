// Tests for Disposable, DisposableStore, toDisposable, disposeAll and DisposableObject.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Disposable, DisposableObject, DisposableStore, NONE_DISPOSABLE, disposeAll, toDisposable } from './lifecycle.js';

function counter(): { d: Disposable; count: () => number } {
  let n = 0;
  return { d: toDisposable(() => n++), count: () => n };
}

describe('toDisposable', () => {
  test('runs the function on dispose', () => {
    const c = counter();
    c.d.dispose();
    assert.equal(c.count(), 1);
  });

  test('does not run the function before dispose', () => {
    const c = counter();
    assert.equal(c.count(), 0);
  });

  test('runs the function only once when disposed twice', () => {
    const c = counter();
    c.d.dispose();
    c.d.dispose();
    assert.equal(c.count(), 1);
  });
});

describe('NONE_DISPOSABLE', () => {
  test('can be disposed repeatedly without effect', () => {
    NONE_DISPOSABLE.dispose();
    NONE_DISPOSABLE.dispose();
    assert.ok(Object.isFrozen(NONE_DISPOSABLE));
  });
});

describe('disposeAll', () => {
  test('disposes every item', () => {
    const a = counter();
    const b = counter();
    disposeAll([a.d, b.d]);
    assert.deepEqual([a.count(), b.count()], [1, 1]);
  });

  test('keeps going after a throwing item and rethrows its error', () => {
    const b = counter();
    const boom = new Error('boom');
    assert.throws(() => disposeAll([toDisposable(() => { throw boom; }), b.d]), (e) => e === boom);
    assert.equal(b.count(), 1);
  });

  test('throws an AggregateError when several items throw', () => {
    const items = [1, 2].map((i) => toDisposable(() => { throw new Error(`e${i}`); }));
    assert.throws(() => disposeAll(items), (e: unknown) => e instanceof AggregateError && e.errors.length === 2);
  });
});

describe('DisposableStore', () => {
  test('add returns the item it was given', () => {
    const store = new DisposableStore();
    const c = counter();
    assert.equal(store.add(c.d), c.d);
  });

  test('dispose disposes every added item', () => {
    const store = new DisposableStore();
    const a = counter();
    const b = counter();
    store.add(a.d);
    store.add(b.d);
    store.dispose();
    assert.deepEqual([a.count(), b.count()], [1, 1]);
  });

  test('disposes items in insertion order', () => {
    const store = new DisposableStore();
    const order: number[] = [];
    for (const i of [1, 2, 3]) store.add(toDisposable(() => order.push(i)));
    store.dispose();
    assert.deepEqual(order, [1, 2, 3]);
  });

  test('dispose twice disposes items only once', () => {
    const store = new DisposableStore();
    let n = 0;
    store.add({ dispose: () => n++ });
    store.dispose();
    store.dispose();
    assert.equal(n, 1);
  });

  test('adding after dispose disposes the item immediately', () => {
    const store = new DisposableStore();
    store.dispose();
    const c = counter();
    store.add(c.d);
    assert.equal(c.count(), 1);
    assert.equal(store.size, 0);
  });

  test('isDisposed flips on dispose', () => {
    const store = new DisposableStore();
    assert.equal(store.isDisposed, false);
    store.dispose();
    assert.equal(store.isDisposed, true);
  });

  test('size counts held items', () => {
    const store = new DisposableStore();
    store.add(counter().d);
    store.add(counter().d);
    assert.equal(store.size, 2);
  });

  test('the same item added twice is held once', () => {
    const store = new DisposableStore();
    let n = 0;
    const d = { dispose: () => n++ };
    store.add(d);
    store.add(d);
    store.dispose();
    assert.equal(n, 1);
  });

  test('delete removes an item without disposing it', () => {
    const store = new DisposableStore();
    const c = counter();
    store.add(c.d);
    assert.equal(store.delete(c.d), true);
    store.dispose();
    assert.equal(c.count(), 0);
  });

  test('delete of an unknown item returns false', () => {
    assert.equal(new DisposableStore().delete(counter().d), false);
  });

  test('clear disposes items but keeps the store usable', () => {
    const store = new DisposableStore();
    const a = counter();
    store.add(a.d);
    store.clear();
    assert.equal(a.count(), 1);
    assert.equal(store.isDisposed, false);
    const b = counter();
    store.add(b.d);
    assert.equal(b.count(), 0, 'added after clear: held, not disposed');
  });

  test('a throwing item does not stop the others and its error is rethrown', () => {
    const store = new DisposableStore();
    const boom = new Error('boom');
    store.add(toDisposable(() => { throw boom; }));
    const c = counter();
    store.add(c.d);
    assert.throws(() => store.dispose(), (e) => e === boom);
    assert.equal(c.count(), 1);
    assert.equal(store.isDisposed, true);
  });

  test('refuses to contain itself', () => {
    const store = new DisposableStore();
    assert.throws(() => store.add(store), /cannot contain itself/);
  });
});

describe('DisposableObject', () => {
  class Owner extends DisposableObject {
    register(d: Disposable): Disposable {
      return this._register(d);
    }
  }

  test('disposes registered items with the owner', () => {
    const owner = new Owner();
    const c = counter();
    owner.register(c.d);
    owner.dispose();
    assert.equal(c.count(), 1);
    assert.equal(owner.isDisposed, true);
  });

  test('registering after dispose disposes immediately', () => {
    const owner = new Owner();
    owner.dispose();
    const c = counter();
    owner.register(c.d);
    assert.equal(c.count(), 1);
  });
});
