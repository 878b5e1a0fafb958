// Unit tests for LineSplitter (pure).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { LineSplitter, LineTooLongError, DEFAULT_MAX_LINE_LENGTH } from './line-splitter.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('LineSplitter', () => {
  it('returns complete lines and keeps a partial tail', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(b('{"a":1}\n{"b"')), ['{"a":1}']);
    assert.equal(s.pendingLength, 4);
    assert.deepEqual(s.push(b(':2}\n')), ['{"b":2}']);
    assert.equal(s.pendingLength, 0);
  });

  it('joins one line split over many chunks, byte by byte', () => {
    const s = new LineSplitter();
    const out: string[] = [];
    for (const byte of b('{"return": {}, "id": "x"}\r\n')) out.push(...s.push(Uint8Array.of(byte)));
    assert.deepEqual(out, ['{"return": {}, "id": "x"}']);
  });

  it('returns several lines from one chunk, in order', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(b('one\ntwo\nthree\nfour')), ['one', 'two', 'three']);
    assert.deepEqual(s.push(b('\n')), ['four']);
  });

  it('strips CR of CRLF, also when CR and LF arrive in different chunks', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(b('a\r\nb\r')), ['a']);
    assert.deepEqual(s.push(b('\nc\r\n')), ['b', 'c']);
  });

  it('keeps a CR that is not at the end of the line and empty lines', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push(b('x\ry\n\n\r\n')), ['x\ry', '', '']);
  });

  it('decodes a multi-byte UTF-8 character split across chunks', () => {
    const s = new LineSplitter();
    const bytes = b('"é€"\n');
    assert.deepEqual(s.push(bytes.subarray(0, 2)), []);
    assert.deepEqual(s.push(bytes.subarray(2, 4)), []);
    assert.deepEqual(s.push(bytes.subarray(4)), ['"é€"']);
  });

  it('does not alias the caller buffer for the tail', () => {
    const s = new LineSplitter();
    const chunk = b('abc');
    s.push(chunk);
    chunk.fill(0x7a); // 'z'
    assert.deepEqual(s.push(b('\n')), ['abc']);
  });

  it('defaults the cap to 16 MiB and rejects a bad cap', () => {
    assert.equal(new LineSplitter().maxLineLength, DEFAULT_MAX_LINE_LENGTH);
    assert.equal(DEFAULT_MAX_LINE_LENGTH, 16 * 1024 * 1024);
    assert.throws(() => new LineSplitter({ maxLineLength: 0 }), RangeError);
  });

  it('accepts a line of exactly the cap', () => {
    const s = new LineSplitter({ maxLineLength: 5 });
    assert.deepEqual(s.push(b('12345\n')), ['12345']);
  });

  it('throws LineTooLongError for an oversize line inside one chunk, keeping the other lines', () => {
    const s = new LineSplitter({ maxLineLength: 5 });
    const err = catchError(() => s.push(b('ok\n123456\nnext\n')));
    assert.ok(err instanceof LineTooLongError);
    assert.equal(err.maxLength, 5);
    assert.equal(err.length, 6);
    assert.deepEqual(err.lines, ['ok', 'next']);
    assert.deepEqual(s.push(b('after\n')), ['after']);
  });

  it('throws as soon as an unterminated line passes the cap, then skips to its newline', () => {
    const s = new LineSplitter({ maxLineLength: 8 });
    assert.deepEqual(s.push(b('12345')), []);
    const err = catchError(() => s.push(b('6789')));
    assert.ok(err instanceof LineTooLongError);
    assert.equal(err.length, 9);
    assert.equal(s.pendingLength, 0, 'an oversize line is not buffered');
    assert.deepEqual(s.push(b('more junk without newline')), []);
    assert.deepEqual(s.push(b('end of junk\ngood\n')), ['good']);
  });

  it('flush() returns the unterminated tail once', () => {
    const s = new LineSplitter();
    s.push(b('done\npart\r'));
    assert.equal(s.flush(), 'part');
    assert.equal(s.flush(), undefined);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}
