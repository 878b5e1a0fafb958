// Tests for RingBuffer and RingCursor: one edge per test (wrap, boundary, overrun, oversize, 2^32+).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type RingRead, RingBuffer } from './ring-buffer.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const seq = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

function data(r: RingRead): number[] {
  assert.equal(r.kind, 'data', `expected data, got ${JSON.stringify(r)}`);
  return r.kind === 'data' ? [...r.bytes] : [];
}

describe('RingBuffer construction', () => {
  test('starts empty at offset 0', () => {
    const rb = new RingBuffer(8);
    assert.deepEqual([rb.startOffset, rb.endOffset, rb.length, rb.capacity], [0, 0, 0, 8]);
  });

  test('starts at the given initial offset', () => {
    const rb = new RingBuffer(8, { initialOffset: 1000 });
    assert.deepEqual([rb.startOffset, rb.endOffset], [1000, 1000]);
  });

  for (const cap of [0, -1, 1.5, NaN, Infinity]) {
    test(`rejects capacity ${cap}`, () => {
      assert.throws(() => new RingBuffer(cap), RangeError);
    });
  }

  test('rejects a negative initial offset', () => {
    assert.throws(() => new RingBuffer(8, { initialOffset: -1 }), RangeError);
  });

  test('rejects an initial offset beyond 2^53', () => {
    assert.throws(() => new RingBuffer(8, { initialOffset: 2 ** 53 }), RangeError);
  });
});

describe('RingBuffer append and read', () => {
  test('reads back what was appended', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3));
    assert.deepEqual(data(rb.read(0)), [1, 2, 3]);
  });

  test('appending nothing changes nothing', () => {
    const rb = new RingBuffer(8);
    rb.append(new Uint8Array(0));
    assert.deepEqual([rb.startOffset, rb.endOffset], [0, 0]);
  });

  test('end offset advances by the bytes appended', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3));
    rb.append(bytes(4));
    assert.equal(rb.endOffset, 4);
    assert.equal(rb.length, 4);
  });

  test('reads from a middle offset', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3, 4));
    assert.deepEqual(data(rb.read(2)), [3, 4]);
  });

  test('read honours maxBytes', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3, 4));
    assert.deepEqual(data(rb.read(1, 2)), [2, 3]);
  });

  test('read with maxBytes 0 returns an empty chunk', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2));
    assert.deepEqual(data(rb.read(0, 0)), []);
  });

  test('read of an empty buffer returns an empty chunk', () => {
    assert.deepEqual(data(new RingBuffer(8).read(0)), []);
  });

  test('read at the end offset returns an empty chunk at that offset', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2));
    const r = rb.read(2);
    assert.deepEqual(data(r), []);
    assert.equal(r.offset, 2);
  });

  test('read past the end offset throws RangeError', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2));
    assert.throws(() => rb.read(3), RangeError);
  });

  test('read rejects a negative offset', () => {
    assert.throws(() => new RingBuffer(8).read(-1), RangeError);
  });

  test('read rejects a fractional offset', () => {
    assert.throws(() => new RingBuffer(8).read(0.5), RangeError);
  });

  test('read rejects a negative maxBytes', () => {
    assert.throws(() => new RingBuffer(8).read(0, -1), RangeError);
  });

  test('the chunk reports the offset it starts at', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3));
    assert.equal(rb.read(1).offset, 1);
  });

  test('read returns a copy, not a view of the storage', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2));
    const r = rb.read(0);
    rb.append(bytes(3, 4, 5, 6)); // overwrites the slots that held 1 and 2
    assert.deepEqual(data(r), [1, 2]);
  });

  test('mutating the appended array afterwards does not change the history', () => {
    const rb = new RingBuffer(4);
    const src = bytes(1, 2);
    rb.append(src);
    src[0] = 99;
    assert.deepEqual(data(rb.read(0)), [1, 2]);
  });
});

describe('RingBuffer wrap-around and boundaries', () => {
  test('fills to exactly the capacity without losing anything', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2, 3, 4));
    assert.deepEqual([rb.startOffset, rb.endOffset], [0, 4]);
    assert.deepEqual(data(rb.read(0)), [1, 2, 3, 4]);
  });

  test('one byte past the capacity drops exactly the oldest byte', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2, 3, 4));
    rb.append(bytes(5));
    assert.deepEqual([rb.startOffset, rb.endOffset], [1, 5]);
    assert.deepEqual(data(rb.read(1)), [2, 3, 4, 5]);
  });

  test('an append that straddles the physical end reads back in order', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2, 3));
    rb.append(bytes(4, 5, 6)); // physical slots 3, 0, 1
    assert.deepEqual(data(rb.read(rb.startOffset)), [3, 4, 5, 6]);
  });

  test('a read that straddles the physical end reads back in order', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2, 3));
    rb.append(bytes(4, 5));
    assert.deepEqual(data(rb.read(2, 3)), [3, 4, 5]);
  });

  test('many small appends wrap repeatedly and keep the newest bytes', () => {
    const rb = new RingBuffer(5);
    for (let i = 0; i < 23; i++) rb.append(bytes(i));
    assert.deepEqual(data(rb.read(rb.startOffset)), [18, 19, 20, 21, 22]);
    assert.equal(rb.startOffset, 18);
  });

  test('an append that ends exactly at the physical end', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2));
    rb.append(bytes(3, 4));
    rb.append(bytes(5, 6, 7, 8)); // starts at physical 0 and ends at the physical end
    assert.deepEqual(data(rb.read(4)), [5, 6, 7, 8]);
  });

  test('an append of exactly the capacity replaces everything', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2, 3));
    rb.append(bytes(5, 6, 7, 8));
    assert.deepEqual([rb.startOffset, rb.endOffset], [3, 7]);
    assert.deepEqual(data(rb.read(3)), [5, 6, 7, 8]);
  });

  test('an append larger than the capacity keeps its tail, not its head', () => {
    const rb = new RingBuffer(4);
    rb.append(seq(0, 10));
    assert.deepEqual(data(rb.read(rb.startOffset)), [6, 7, 8, 9]);
  });

  test('an append larger than the capacity still advances the end by its full length', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1));
    rb.append(seq(0, 10));
    assert.deepEqual([rb.startOffset, rb.endOffset], [7, 11]);
  });

  test('an oversized append at an unaligned position keeps the tail in order', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2, 3)); // next write position is physical 3
    rb.append(seq(100, 9));
    assert.deepEqual(data(rb.read(rb.startOffset)), [105, 106, 107, 108]);
  });

  test('capacity 1 keeps only the newest byte', () => {
    const rb = new RingBuffer(1);
    rb.append(bytes(1, 2, 3));
    rb.append(bytes(4));
    assert.deepEqual(data(rb.read(3)), [4]);
  });
});

describe('RingBuffer overrun', () => {
  test('reading before the start offset reports an overrun', () => {
    const rb = new RingBuffer(4);
    rb.append(seq(0, 6));
    const r = rb.read(0);
    assert.deepEqual(r, { kind: 'overrun', offset: 0, startOffset: 2, lost: 2 });
  });

  test('reading exactly at the start offset is not an overrun', () => {
    const rb = new RingBuffer(4);
    rb.append(seq(0, 6));
    assert.equal(rb.read(2).kind, 'data');
  });

  test('one byte before the start offset is an overrun of one byte', () => {
    const rb = new RingBuffer(4);
    rb.append(seq(0, 6));
    const r = rb.read(1);
    assert.equal(r.kind === 'overrun' && r.lost, 1);
  });
});

describe('RingBuffer tail', () => {
  test('returns the last n bytes', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3, 4));
    assert.deepEqual([...rb.tail(2).bytes], [3, 4]);
  });

  test('reports the offset of its first byte', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3, 4));
    assert.equal(rb.tail(2).offset, 2);
  });

  test('returns everything held when n exceeds the length', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2));
    const t = rb.tail(100);
    assert.deepEqual([...t.bytes], [1, 2]);
    assert.equal(t.offset, 0);
  });

  test('returns the newest bytes after a wrap', () => {
    const rb = new RingBuffer(4);
    rb.append(seq(0, 7));
    assert.deepEqual([...rb.tail(3).bytes], [4, 5, 6]);
  });

  test('tail(0) is empty at the end offset', () => {
    const rb = new RingBuffer(4);
    rb.append(bytes(1, 2));
    const t = rb.tail(0);
    assert.deepEqual([t.bytes.length, t.offset], [0, 2]);
  });

  test('tail of an empty buffer is empty', () => {
    assert.equal(new RingBuffer(4).tail(10).bytes.length, 0);
  });

  test('tail(Infinity) returns everything held', () => {
    const rb = new RingBuffer(4);
    rb.append(seq(0, 6));
    assert.deepEqual([...rb.tail(Infinity).bytes], [2, 3, 4, 5]);
  });

  test('tail rejects a negative count', () => {
    assert.throws(() => new RingBuffer(4).tail(-1), RangeError);
  });
});

describe('RingBuffer offsets beyond 2^32', () => {
  const high = 2 ** 32 - 3; // the 32-bit boundary falls inside the first append

  test('offsets continue past 2^32 without wrapping', () => {
    const rb = new RingBuffer(8, { initialOffset: high });
    rb.append(bytes(1, 2, 3, 4, 5));
    assert.equal(rb.endOffset, 2 ** 32 + 2);
    assert.equal(rb.startOffset, high);
  });

  test('reads across the 2^32 boundary return the right bytes', () => {
    const rb = new RingBuffer(8, { initialOffset: high });
    rb.append(bytes(1, 2, 3, 4, 5));
    assert.deepEqual(data(rb.read(2 ** 32, 2)), [4, 5]);
  });

  test('wrap-around works at offsets beyond 2^32', () => {
    const rb = new RingBuffer(4, { initialOffset: high });
    rb.append(seq(0, 10));
    assert.deepEqual(data(rb.read(rb.startOffset)), [6, 7, 8, 9]);
    assert.equal(rb.startOffset, high + 6);
  });

  test('overrun loss is computed exactly beyond 2^32', () => {
    const rb = new RingBuffer(4, { initialOffset: 2 ** 40 });
    rb.append(seq(0, 9));
    const r = rb.read(2 ** 40);
    assert.equal(r.kind === 'overrun' && r.lost, 5);
  });

  test('offsets near 2^53 still work', () => {
    const start = Number.MAX_SAFE_INTEGER - 10;
    const rb = new RingBuffer(4, { initialOffset: start });
    rb.append(seq(0, 6));
    assert.deepEqual(data(rb.read(start + 2)), [2, 3, 4, 5]);
  });

  test('an append that would pass 2^53 throws instead of losing precision', () => {
    const rb = new RingBuffer(4, { initialOffset: Number.MAX_SAFE_INTEGER - 1 });
    assert.throws(() => rb.append(bytes(1, 2, 3)), RangeError);
  });
});

describe('RingCursor', () => {
  test('defaults to the end offset (live only)', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2));
    const c = rb.createCursor();
    assert.equal(c.offset, 2);
    assert.equal(c.pending, 0);
  });

  test('reads from its start position', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3));
    const c = rb.createCursor(1);
    assert.deepEqual(data(c.read()), [2, 3]);
  });

  test('advances by what it read', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3));
    const c = rb.createCursor(0);
    c.read(2);
    assert.equal(c.offset, 2);
    assert.deepEqual(data(c.read()), [3]);
  });

  test('pending counts unread bytes', () => {
    const rb = new RingBuffer(8);
    const c = rb.createCursor(0);
    rb.append(bytes(1, 2, 3));
    assert.equal(c.pending, 3);
    c.read(1);
    assert.equal(c.pending, 2);
  });

  test('an empty read at the end leaves the cursor where it was', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1));
    const c = rb.createCursor();
    assert.deepEqual(data(c.read()), []);
    assert.equal(c.offset, 1);
  });

  test('sees bytes appended after it was created', () => {
    const rb = new RingBuffer(8);
    const c = rb.createCursor();
    rb.append(bytes(9, 8));
    assert.deepEqual(data(c.read()), [9, 8]);
  });

  test('cursors are independent of each other', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3));
    const a = rb.createCursor(0);
    const b = rb.createCursor(0);
    a.read();
    assert.deepEqual(data(b.read()), [1, 2, 3]);
    assert.equal(a.pending, 0);
  });

  test('a cursor exactly one capacity behind is not overrun', () => {
    const rb = new RingBuffer(4);
    const c = rb.createCursor(0);
    rb.append(seq(0, 4));
    assert.equal(c.overrun, false);
    assert.deepEqual(data(c.read()), [0, 1, 2, 3]);
  });

  test('a lapped cursor reports overrun', () => {
    const rb = new RingBuffer(4);
    const c = rb.createCursor(0);
    rb.append(seq(0, 5));
    assert.equal(c.overrun, true);
  });

  test('reading a lapped cursor reports how many bytes were lost', () => {
    const rb = new RingBuffer(4);
    const c = rb.createCursor(0);
    rb.append(seq(0, 7));
    const r = c.read();
    assert.equal(r.kind, 'overrun');
    assert.equal(r.kind === 'overrun' && r.lost, 3);
    assert.equal(c.lost, 3);
  });

  test('after an overrun the cursor resumes at the oldest byte held', () => {
    const rb = new RingBuffer(4);
    const c = rb.createCursor(0);
    rb.append(seq(0, 7));
    c.read();
    assert.equal(c.offset, 3);
    assert.equal(c.overrun, false);
    assert.deepEqual(data(c.read()), [3, 4, 5, 6]);
  });

  test('lost accumulates over several overruns', () => {
    const rb = new RingBuffer(4);
    const c = rb.createCursor(0);
    rb.append(seq(0, 6));
    c.read();
    c.read();
    rb.append(seq(0, 5));
    c.read();
    assert.equal(c.lost, 2 + 1);
  });

  test('a partially read cursor is lapped only by bytes it has not read', () => {
    const rb = new RingBuffer(4);
    const c = rb.createCursor(0);
    rb.append(seq(0, 4));
    c.read(2);
    rb.append(seq(4, 3)); // start moves to 3; the cursor is at 2
    const r = c.read();
    assert.equal(r.kind === 'overrun' && r.lost, 1);
  });

  test('pending after an overrun counts only bytes still readable', () => {
    const rb = new RingBuffer(4);
    const c = rb.createCursor(0);
    rb.append(seq(0, 10));
    assert.equal(c.pending, 4);
  });

  test('a cursor created before the start offset reports an overrun first', () => {
    const rb = new RingBuffer(4);
    rb.append(seq(0, 6));
    const c = rb.createCursor(0);
    assert.equal(c.read().kind, 'overrun');
  });

  test('a cursor cannot start beyond the end offset', () => {
    const rb = new RingBuffer(4);
    assert.throws(() => rb.createCursor(1), RangeError);
  });

  test('skipToEnd jumps to the end and returns the bytes skipped', () => {
    const rb = new RingBuffer(8);
    rb.append(bytes(1, 2, 3));
    const c = rb.createCursor(0);
    assert.equal(c.skipToEnd(), 3);
    assert.equal(c.pending, 0);
    assert.equal(c.lost, 0);
  });

  test('a cursor works across the 2^32 boundary', () => {
    const rb = new RingBuffer(4, { initialOffset: 2 ** 32 - 2 });
    const c = rb.createCursor();
    rb.append(seq(0, 3));
    assert.deepEqual(data(c.read()), [0, 1, 2]);
    assert.equal(c.offset, 2 ** 32 + 1);
  });
});
