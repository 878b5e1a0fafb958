// Tests for FlowControl: watermark transitions, clamping, the hard cap and option validation.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_HARD_LIMIT, DEFAULT_HIGH_WATERMARK, DEFAULT_LOW_WATERMARK, FlowControl } from './flow-control.js';

const small = (): FlowControl => new FlowControl({ lowWatermark: 10, highWatermark: 100, hardLimit: 1000 });

describe('FlowControl', () => {
  test('starts with nothing pending and not paused', () => {
    const fc = small();
    assert.deepEqual([fc.pending, fc.paused, fc.overLimit], [0, false, false]);
  });

  test('uses documented defaults', () => {
    const fc = new FlowControl();
    assert.deepEqual(
      [fc.lowWatermark, fc.highWatermark, fc.hardLimit],
      [DEFAULT_LOW_WATERMARK, DEFAULT_HIGH_WATERMARK, DEFAULT_HARD_LIMIT],
    );
  });

  test('account adds to pending', () => {
    const fc = small();
    fc.account(30);
    fc.account(12);
    assert.equal(fc.pending, 42);
  });

  test('account below the high watermark does not pause', () => {
    assert.equal(small().account(50), false);
  });

  test('reaching exactly the high watermark does not pause', () => {
    const fc = small();
    assert.equal(fc.account(100), false);
    assert.equal(fc.paused, false);
  });

  test('crossing the high watermark pauses', () => {
    const fc = small();
    fc.account(100);
    assert.equal(fc.account(1), true);
    assert.equal(fc.paused, true);
  });

  test('one large account that jumps the high watermark pauses', () => {
    assert.equal(small().account(500), true);
  });

  test('pause is reported once, not on every later account', () => {
    const fc = small();
    fc.account(101);
    assert.equal(fc.account(5), false);
    assert.equal(fc.paused, true);
  });

  test('commit subtracts from pending', () => {
    const fc = small();
    fc.account(50);
    fc.commit(20);
    assert.equal(fc.pending, 30);
  });

  test('commit while not paused never asks to resume', () => {
    const fc = small();
    fc.account(50);
    assert.equal(fc.commit(50), false);
  });

  test('commit that leaves pending above the low watermark does not resume', () => {
    const fc = small();
    fc.account(150);
    assert.equal(fc.commit(100), false);
    assert.equal(fc.paused, true);
  });

  test('commit down to exactly the low watermark resumes', () => {
    const fc = small();
    fc.account(150);
    assert.equal(fc.commit(140), true);
    assert.equal(fc.paused, false);
  });

  test('resume is reported once', () => {
    const fc = small();
    fc.account(150);
    fc.commit(145);
    assert.equal(fc.commit(5), false);
  });

  test('between the watermarks a paused viewer stays paused (hysteresis)', () => {
    const fc = small();
    fc.account(150);
    fc.commit(100); // 50 pending: below high, above low
    assert.equal(fc.paused, true);
    assert.equal(fc.account(10), false);
  });

  test('can pause again after resuming', () => {
    const fc = small();
    fc.account(150);
    fc.commit(150);
    assert.equal(fc.account(101), true);
  });

  test('acknowledging more than pending clamps at zero', () => {
    const fc = small();
    fc.account(5);
    fc.commit(50);
    assert.equal(fc.pending, 0);
  });

  test('over-acknowledging buys no credit for later sends', () => {
    const fc = small();
    fc.commit(1000);
    assert.equal(fc.account(101), true);
  });

  test('overLimit is false at exactly the hard limit', () => {
    const fc = small();
    fc.account(1000);
    assert.equal(fc.overLimit, false);
  });

  test('overLimit is true past the hard limit', () => {
    const fc = small();
    fc.account(1001);
    assert.equal(fc.overLimit, true);
  });

  test('overLimit clears when acknowledgements bring pending back', () => {
    const fc = small();
    fc.account(1001);
    fc.commit(1);
    assert.equal(fc.overLimit, false);
  });

  test('account(0) and commit(0) change nothing', () => {
    const fc = small();
    fc.account(150);
    assert.equal(fc.account(0), false);
    assert.equal(fc.commit(0), false);
    assert.deepEqual([fc.pending, fc.paused], [150, true]);
  });

  test('reset clears pending and pause', () => {
    const fc = small();
    fc.account(500);
    fc.reset();
    assert.deepEqual([fc.pending, fc.paused], [0, false]);
  });

  for (const bad of [-1, 1.5, NaN, Infinity]) {
    test(`account rejects ${bad}`, () => {
      assert.throws(() => small().account(bad), RangeError);
    });
    test(`commit rejects ${bad}`, () => {
      assert.throws(() => small().commit(bad), RangeError);
    });
  }

  test('rejects a low watermark equal to the high one', () => {
    assert.throws(() => new FlowControl({ lowWatermark: 100, highWatermark: 100 }), RangeError);
  });

  test('rejects a high watermark above the hard limit', () => {
    assert.throws(() => new FlowControl({ lowWatermark: 1, highWatermark: 100, hardLimit: 99 }), RangeError);
  });

  test('accepts a high watermark equal to the hard limit', () => {
    assert.doesNotThrow(() => new FlowControl({ lowWatermark: 1, highWatermark: 100, hardLimit: 100 }));
  });

  test('rejects a negative low watermark', () => {
    assert.throws(() => new FlowControl({ lowWatermark: -1 }), RangeError);
  });
});
