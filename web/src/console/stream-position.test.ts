import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_REPLAY_BYTES, REPLAY_SLACK_BYTES, StreamPosition, replayFor } from './stream-position.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('StreamPosition', () => {
  it('first session: everything is shown and the position follows the bytes', () => {
    const p = new StreamPosition();
    assert.deepEqual(p.hello(100), { skip: 0, gap: undefined });
    assert.equal(text(p.take(bytes('hello'))), 'hello');
    assert.equal(p.next, 105);
  });

  it('a reconnect whose replay overlaps drops exactly the bytes already shown, across chunks', () => {
    const p = new StreamPosition();
    p.hello(0);
    p.take(bytes('abcdef')); // shown: 0..5
    assert.deepEqual(p.hello(2), { skip: 4, gap: undefined }); // replay from 2: "cdef" again, then new
    assert.equal(text(p.take(bytes('cd'))), '');
    assert.equal(text(p.take(bytes('efGH'))), 'GH');
    assert.equal(text(p.take(bytes('IJ'))), 'IJ');
    assert.equal(p.next, 10);
  });

  it('a replay that starts exactly at the next byte drops nothing', () => {
    const p = new StreamPosition();
    p.hello(0);
    p.take(bytes('abc'));
    assert.deepEqual(p.hello(3), { skip: 0, gap: undefined });
    assert.equal(text(p.take(bytes('d'))), 'd');
  });

  it('a replay that starts after the next byte reports the gap', () => {
    const p = new StreamPosition();
    p.hello(0);
    p.take(bytes('abc'));
    assert.deepEqual(p.hello(10), { skip: 0, gap: { from: 3, to: 10 } });
    assert.equal(text(p.take(bytes('k'))), 'k');
    assert.equal(p.next, 11);
  });
});

describe('replayFor', () => {
  it('asks for the initial replay on the first attach', () => assert.equal(replayFor(undefined, 500, 65536), 65536));
  it('asks for the missing bytes plus slack on a reconnect', () => assert.equal(replayFor(1000, 5000, 65536), 4000 + REPLAY_SLACK_BYTES));
  it('asks for everything when the end is unknown', () => assert.equal(replayFor(1000, undefined, 65536), MAX_REPLAY_BYTES));
  it('never asks for more than the endpoint accepts', () => assert.equal(replayFor(0, 10 * MAX_REPLAY_BYTES, 65536), MAX_REPLAY_BYTES));
});
