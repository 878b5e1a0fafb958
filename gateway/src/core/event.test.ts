// Tests for Emitter/Event: delivery order, unsubscribe, re-entrancy, listener errors, dispose, once.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Emitter, once } from './event.js';

describe('Emitter', () => {
  test('delivers the fired value to a listener', () => {
    const em = new Emitter<number>();
    const got: number[] = [];
    em.event((e) => got.push(e));
    em.fire(7);
    assert.deepEqual(got, [7]);
  });

  test('delivers to listeners in subscription order', () => {
    const em = new Emitter<void>();
    const order: string[] = [];
    em.event(() => order.push('a'));
    em.event(() => order.push('b'));
    em.fire();
    assert.deepEqual(order, ['a', 'b']);
  });

  test('fire with no listeners does nothing', () => {
    const em = new Emitter<number>();
    assert.doesNotThrow(() => em.fire(1));
  });

  test('the event getter returns the same function each time', () => {
    const em = new Emitter<number>();
    assert.equal(em.event, em.event);
  });

  test('disposing a subscription stops delivery', () => {
    const em = new Emitter<number>();
    const got: number[] = [];
    const sub = em.event((e) => got.push(e));
    em.fire(1);
    sub.dispose();
    em.fire(2);
    assert.deepEqual(got, [1]);
  });

  test('disposing a subscription twice removes only that subscription', () => {
    const em = new Emitter<number>();
    const fn = (): void => {};
    const a = em.event(fn);
    em.event(fn);
    a.dispose();
    a.dispose();
    assert.equal(em.listenerCount, 1);
  });

  test('the same function subscribed twice is called twice', () => {
    const em = new Emitter<void>();
    let n = 0;
    const fn = (): void => {
      n++;
    };
    em.event(fn);
    em.event(fn);
    em.fire();
    assert.equal(n, 2);
  });

  test('listenerCount follows subscribe and unsubscribe', () => {
    const em = new Emitter<void>();
    const a = em.event(() => {});
    em.event(() => {});
    assert.equal(em.listenerCount, 2);
    a.dispose();
    assert.equal(em.listenerCount, 1);
  });

  test('a listener added during fire is not called in that fire', () => {
    const em = new Emitter<number>();
    const late: number[] = [];
    em.event(() => {
      em.event((e) => late.push(e));
    });
    em.fire(1);
    assert.deepEqual(late, []);
  });

  test('a listener added during fire hears the next fire', () => {
    const em = new Emitter<number>();
    const late: number[] = [];
    let added = false;
    em.event(() => {
      if (!added) {
        added = true;
        em.event((e) => late.push(e));
      }
    });
    em.fire(1);
    em.fire(2);
    assert.deepEqual(late, [2]);
  });

  test('a listener removed during fire is not called for the rest of it', () => {
    const em = new Emitter<void>();
    let secondCalled = false;
    // eslint-disable-next-line prefer-const -- assigned after the first subscription uses it
    let second: { dispose(): void } | undefined;
    em.event(() => second?.dispose());
    second = em.event(() => {
      secondCalled = true;
    });
    em.fire();
    assert.equal(secondCalled, false);
  });

  test('a throwing listener does not stop later listeners', () => {
    const errors: unknown[] = [];
    const em = new Emitter<void>({ onListenerError: (e) => errors.push(e) });
    let reached = false;
    em.event(() => {
      throw new Error('boom');
    });
    em.event(() => {
      reached = true;
    });
    em.fire();
    assert.equal(reached, true);
  });

  test('errors go to onListenerError and fire does not throw', () => {
    const errors: unknown[] = [];
    const em = new Emitter<void>({ onListenerError: (e) => errors.push(e) });
    const boom = new Error('boom');
    em.event(() => {
      throw boom;
    });
    assert.doesNotThrow(() => em.fire());
    assert.deepEqual(errors, [boom]);
  });

  test('without a handler, fire rethrows a single error after all listeners ran', () => {
    const em = new Emitter<void>();
    const boom = new Error('boom');
    let reached = false;
    em.event(() => {
      throw boom;
    });
    em.event(() => {
      reached = true;
    });
    assert.throws(() => em.fire(), (e) => e === boom);
    assert.equal(reached, true);
  });

  test('without a handler, several errors are rethrown as an AggregateError', () => {
    const em = new Emitter<void>();
    em.event(() => {
      throw new Error('a');
    });
    em.event(() => {
      throw new Error('b');
    });
    assert.throws(() => em.fire(), (e: unknown) => e instanceof AggregateError && e.errors.length === 2);
  });

  test('dispose drops all listeners', () => {
    const em = new Emitter<number>();
    const got: number[] = [];
    em.event((e) => got.push(e));
    em.dispose();
    em.fire(1);
    assert.deepEqual(got, []);
    assert.equal(em.listenerCount, 0);
    assert.equal(em.isDisposed, true);
  });

  test('subscribing after dispose is a harmless no-op', () => {
    const em = new Emitter<number>();
    em.dispose();
    const got: number[] = [];
    const sub = em.event((e) => got.push(e));
    em.fire(1);
    sub.dispose();
    assert.deepEqual(got, []);
    assert.equal(em.listenerCount, 0);
  });

  test('disposing the emitter during fire stops the remaining listeners', () => {
    const em = new Emitter<void>();
    let secondCalled = false;
    em.event(() => em.dispose());
    em.event(() => {
      secondCalled = true;
    });
    em.fire();
    assert.equal(secondCalled, false);
  });
});

describe('once', () => {
  test('delivers only the first occurrence', () => {
    const em = new Emitter<number>();
    const got: number[] = [];
    once(em.event)((e) => got.push(e));
    em.fire(1);
    em.fire(2);
    assert.deepEqual(got, [1]);
  });

  test('unsubscribes itself after firing', () => {
    const em = new Emitter<number>();
    once(em.event)(() => {});
    em.fire(1);
    assert.equal(em.listenerCount, 0);
  });

  test('can be cancelled before it fires', () => {
    const em = new Emitter<number>();
    const got: number[] = [];
    once(em.event)((e) => got.push(e)).dispose();
    em.fire(1);
    assert.deepEqual(got, []);
  });

  test('copes with an event that fires during subscription', () => {
    const got: number[] = [];
    // An Event that calls back synchronously, twice, before returning its handle.
    const eager = (listener: (e: number) => void): { dispose(): void } => {
      listener(1);
      listener(2);
      return { dispose: () => {} };
    };
    once(eager)((e) => got.push(e));
    assert.deepEqual(got, [1]);
  });
});
