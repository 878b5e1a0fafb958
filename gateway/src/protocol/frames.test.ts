// Tests for the WebSocket frame split: binary data vs text control, size limits, payload shapes.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ClientFrame,
  CloseCode,
  DEFAULT_MAX_BINARY_FRAME_BYTES,
  MAX_CONTROL_FRAME_BYTES,
  decodeClientFrame,
  decodeServerFrame,
  encodeControl,
} from './frames.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function expectKind<K extends ClientFrame['kind']>(f: ClientFrame, kind: K): Extract<ClientFrame, { kind: K }> {
  assert.equal(f.kind, kind, JSON.stringify(f));
  return f as Extract<ClientFrame, { kind: K }>;
}

describe('CloseCode', () => {
  test('message too big is 1009 and slow consumer 4008', () => {
    assert.deepEqual([CloseCode.MessageTooBig, CloseCode.SlowConsumer], [1009, 4008]);
  });
});

describe('decodeClientFrame: binary frames are raw data', () => {
  test('bytes pass through unchanged', () => {
    const f = expectKind(decodeClientFrame(Uint8Array.from([0x1b, 0x5b, 0x41]), true), 'data');
    assert.deepEqual([...f.bytes], [0x1b, 0x5b, 0x41]);
  });

  test('a binary frame that looks like JSON is still data, not control', () => {
    const f = expectKind(decodeClientFrame(utf8('{"type":"break"}'), true), 'data');
    assert.equal(f.bytes.length, 16);
  });

  test('bytes that are not valid UTF-8 pass through', () => {
    const f = expectKind(decodeClientFrame(Uint8Array.from([0xff, 0xfe, 0x00, 0x80]), true), 'data');
    assert.deepEqual([...f.bytes], [0xff, 0xfe, 0x00, 0x80]);
  });

  test('an empty binary frame is empty data', () => {
    assert.equal(expectKind(decodeClientFrame(new Uint8Array(0), true), 'data').bytes.length, 0);
  });

  test('an ArrayBuffer payload is accepted', () => {
    const f = expectKind(decodeClientFrame(Uint8Array.from([1, 2]).buffer, true), 'data');
    assert.deepEqual([...f.bytes], [1, 2]);
  });

  test('a fragment list is joined in order', () => {
    const f = expectKind(decodeClientFrame([Uint8Array.from([1, 2]), Uint8Array.from([3])], true), 'data');
    assert.deepEqual([...f.bytes], [1, 2, 3]);
  });

  test('an empty fragment list is empty data', () => {
    assert.equal(expectKind(decodeClientFrame([], true), 'data').bytes.length, 0);
  });

  test('a Uint8Array view into a larger buffer keeps only its window', () => {
    const big = Uint8Array.from([9, 1, 2, 9]);
    const f = expectKind(decodeClientFrame(big.subarray(1, 3), true), 'data');
    assert.deepEqual([...f.bytes], [1, 2]);
  });

  test('a frame at exactly the default limit is accepted', () => {
    assert.equal(decodeClientFrame(new Uint8Array(DEFAULT_MAX_BINARY_FRAME_BYTES), true).kind, 'data');
  });

  test('a frame one byte over the default limit is tooLarge', () => {
    const f = expectKind(decodeClientFrame(new Uint8Array(DEFAULT_MAX_BINARY_FRAME_BYTES + 1), true), 'tooLarge');
    assert.deepEqual([f.size, f.limit], [DEFAULT_MAX_BINARY_FRAME_BYTES + 1, DEFAULT_MAX_BINARY_FRAME_BYTES]);
  });

  test('the limit is configurable', () => {
    assert.equal(decodeClientFrame(new Uint8Array(5), true, { maxBinaryFrameBytes: 4 }).kind, 'tooLarge');
    assert.equal(decodeClientFrame(new Uint8Array(4), true, { maxBinaryFrameBytes: 4 }).kind, 'data');
  });

  test('the limit applies to the joined size of fragments', () => {
    const parts = [new Uint8Array(3), new Uint8Array(3)];
    assert.equal(decodeClientFrame(parts, true, { maxBinaryFrameBytes: 5 }).kind, 'tooLarge');
  });

  test('the limit applies to ArrayBuffer payloads', () => {
    assert.equal(decodeClientFrame(new ArrayBuffer(5), true, { maxBinaryFrameBytes: 4 }).kind, 'tooLarge');
  });
});

describe('decodeClientFrame: text frames are control', () => {
  test('a UTF-8 text frame (ws hands text over as bytes) is parsed', () => {
    const f = expectKind(decodeClientFrame(utf8('{"type":"sysrq","keys":"reisub"}'), false), 'control');
    assert.deepEqual(f.msg, { type: 'sysrq', keys: 'reisub' });
  });

  test('a string payload is parsed', () => {
    assert.deepEqual(expectKind(decodeClientFrame('{"type":"ping"}', false), 'control').msg, { type: 'ping' });
  });

  test('a string payload is text even if flagged binary', () => {
    assert.equal(decodeClientFrame('{"type":"ping"}', true).kind, 'control');
  });

  test('a fragmented text frame is joined before parsing', () => {
    const f = decodeClientFrame([utf8('{"type":'), utf8('"takeover"}')], false);
    assert.deepEqual(expectKind(f, 'control').msg, { type: 'takeover' });
  });

  test('an unknown control type is invalid with UnknownControl', () => {
    assert.equal(expectKind(decodeClientFrame('{"type":"resize","cols":80}', false), 'invalid').code, 'UnknownControl');
  });

  test('bad JSON is invalid with MalformedControl', () => {
    assert.equal(expectKind(decodeClientFrame(utf8('ls -la\r'), false), 'invalid').code, 'MalformedControl');
  });

  test('an ill-typed field is invalid with InvalidControl', () => {
    assert.equal(expectKind(decodeClientFrame('{"type":"sysrq","keys":1}', false), 'invalid').code, 'InvalidControl');
  });

  test('invalid UTF-8 in a text frame is MalformedControl, not a throw', () => {
    const f = decodeClientFrame(Uint8Array.from([0x7b, 0xff, 0x7d]), false);
    assert.equal(expectKind(f, 'invalid').code, 'MalformedControl');
  });

  test('a text frame over the byte bound is rejected without decoding', () => {
    const f = decodeClientFrame(new Uint8Array(MAX_CONTROL_FRAME_BYTES + 1).fill(0x20), false);
    assert.equal(expectKind(f, 'invalid').code, 'MalformedControl');
  });

  test('an oversized text frame is invalid, not tooLarge (the session survives)', () => {
    assert.equal(decodeClientFrame('x'.repeat(100_000), false, { maxBinaryFrameBytes: 10 }).kind, 'invalid');
  });

  test('a text frame with multi-byte characters near the limit is still decoded', () => {
    // 4000 three-byte characters: 12000 bytes, under the byte bound; 4000+ characters of JSON.
    const text = JSON.stringify({ type: 'ping', pad: '€'.repeat(4000) });
    const f = decodeClientFrame(utf8(text), false);
    // Decoded and parsed (then rejected for the extra field), not cut off as malformed.
    assert.equal(expectKind(f, 'invalid').code, 'InvalidControl');
  });

  test('an ArrayBuffer text payload is decoded', () => {
    const buf = utf8('{"type":"break"}');
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    assert.deepEqual(expectKind(decodeClientFrame(ab, false), 'control').msg, { type: 'break' });
  });
});

describe('decodeServerFrame', () => {
  test('binary is data', () => {
    const f = decodeServerFrame(Uint8Array.from([0x41]), true);
    assert.equal(f.kind, 'data');
    assert.deepEqual(f.kind === 'data' && [...f.bytes], [0x41]);
  });

  test('a browser ArrayBuffer is data', () => {
    assert.equal(decodeServerFrame(new ArrayBuffer(3), true).kind, 'data');
  });

  test('text is a server control message', () => {
    const f = decodeServerFrame('{"type":"lease","holder":"s2","mode":"read"}', false);
    assert.deepEqual(f.kind === 'control' && f.msg, { type: 'lease', holder: 's2', mode: 'read' });
  });

  test('an unknown server type is invalid, not a throw', () => {
    const f = decodeServerFrame('{"type":"nope"}', false);
    assert.deepEqual(f.kind === 'invalid' && f.code, 'UnknownControl');
  });
});

describe('encodeControl', () => {
  test('produces one JSON object that the matching parser accepts', () => {
    const text = encodeControl({ type: 'hello', sessionId: 's1', mode: 'write', offset: 5 });
    const f = decodeServerFrame(text, false);
    assert.deepEqual(f.kind === 'control' && f.msg, { type: 'hello', sessionId: 's1', mode: 'write', offset: 5 });
  });

  test('round-trips a client message', () => {
    const text = encodeControl({ type: 'sysrq', keys: 'b' });
    assert.deepEqual(expectKind(decodeClientFrame(text, false), 'control').msg, { type: 'sysrq', keys: 'b' });
  });
});
