// Tests for the capture record format: one edge per test (round trip, torn tail, CRC, resync, 2^32+).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CaptureRecord,
  crc32,
  crc32Table,
  decodeGapPayload,
  decodeOpenPayload,
  decodeRecordAt,
  decodeSegment,
  encodeGapPayload,
  encodeOpenPayload,
  encodeRecord,
  MAX_RECORD_PAYLOAD,
  OPEN_FLAG_RESUMED,
  RECORD_HEADER_BYTES,
} from './capture-format.js';

const enc = new TextEncoder();
const data = (offset: number, text: string, at = 1_700_000_000_000): CaptureRecord => ({ type: 'data', at, offset, flags: 0, payload: enc.encode(text) });
const gap = (offset: number, reason: string, lost = 0, at = 1_700_000_000_500): CaptureRecord => ({ type: 'gap', at, offset, flags: 0, payload: encodeGapPayload(reason, lost) });
const open = (offset: number, resumed: boolean): CaptureRecord => ({ type: 'open', at: 1_700_000_000_900, offset, flags: resumed ? OPEN_FLAG_RESUMED : 0, payload: encodeOpenPayload('x') });

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function plain(r: CaptureRecord): object {
  return { ...r, payload: [...r.payload] };
}

describe('crc32', () => {
  test('matches the standard check value of "123456789"', () => {
    assert.equal(crc32(enc.encode('123456789')), 0xcbf43926);
    assert.equal(crc32Table(enc.encode('123456789')), 0xcbf43926);
  });

  test('table implementation equals the native one, also when continued', () => {
    const buf = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    assert.equal(crc32Table(buf), crc32(buf));
    assert.equal(crc32Table(buf.subarray(500), crc32Table(buf.subarray(0, 500))), crc32(buf));
  });


  test('an empty input continues the given value (zlib.crc32 drops it for an empty ArrayBuffer)', () => {
    assert.equal(crc32(new TextEncoder().encode(''), 12345), 12345);
    assert.equal(crc32(new Uint8Array(0), 0xcbf43926), 0xcbf43926);
  });
});

describe('record round trip', () => {
  test('a data record decodes to what was encoded', () => {
    const r = data(42, 'hello\r\n');
    const buf = encodeRecord(r);
    assert.equal(buf.length, RECORD_HEADER_BYTES + 7);
    const d = decodeRecordAt(buf, 0);
    assert.ok(d.ok);
    assert.deepEqual(plain(d.record), plain(r));
    assert.equal(d.end, buf.length);
  });

  test('a gap record carries its reason and lost count', () => {
    const d = decodeRecordAt(encodeRecord(gap(7, 'device disconnected — ünïcode', 1234)), 0);
    assert.ok(d.ok);
    assert.equal(d.record.type, 'gap');
    assert.deepEqual(decodeGapPayload(d.record.payload), { reason: 'device disconnected — ünïcode', lost: 1234 });
  });

  test('an open record keeps its resumed flag and reason', () => {
    const d = decodeRecordAt(encodeRecord(open(9, true)), 0);
    assert.ok(d.ok);
    assert.equal(d.record.flags, OPEN_FLAG_RESUMED);
    assert.equal(decodeOpenPayload(d.record.payload).reason, 'x');
  });

  test('an empty data payload round-trips', () => {
    const d = decodeRecordAt(encodeRecord(data(0, '')), 0);
    assert.ok(d.ok);
    assert.equal(d.record.payload.length, 0);
  });

  test('offsets and times beyond 2^32 round-trip exactly', () => {
    const r = data(2 ** 32 + 5, 'x', 2 ** 41 + 3);
    const d = decodeRecordAt(encodeRecord(r), 0);
    assert.ok(d.ok);
    assert.equal(d.record.offset, 2 ** 32 + 5);
    assert.equal(d.record.at, 2 ** 41 + 3);
  });

  test('the largest safe offset round-trips', () => {
    const d = decodeRecordAt(encodeRecord(data(Number.MAX_SAFE_INTEGER, '')), 0);
    assert.ok(d.ok);
    assert.equal(d.record.offset, Number.MAX_SAFE_INTEGER);
  });

  for (const [name, r] of [
    ['a negative offset', data(-1, 'x')],
    ['an offset beyond 2^53', data(2 ** 53, 'x')],
    ['a fractional time', data(0, 'x', 1.5)],
    ['flags on a data record', { ...data(0, 'x'), flags: 1 }],
  ] as const) {
    test(`encoding rejects ${name}`, () => {
      assert.throws(() => encodeRecord(r), RangeError);
    });
  }

  test('encoding rejects a payload beyond the maximum', () => {
    assert.throws(() => encodeRecord({ ...data(0, ''), payload: new Uint8Array(MAX_RECORD_PAYLOAD + 1) }), RangeError);
  });
});

describe('decodeSegment', () => {
  const recs = [open(0, false), data(0, 'abc'), gap(3, 'device disconnected'), data(3, 'defgh')];
  const file = cat(...recs.map(encodeRecord));

  test('decodes every record of a clean segment in order', () => {
    const d = decodeSegment(file);
    assert.deepEqual(d.records.map((r) => plain(r.record)), recs.map(plain));
    assert.equal(d.tail, undefined);
    assert.deepEqual(d.damage, []);
    assert.equal(d.validEnd, file.length);
  });

  test('an empty buffer is a clean, empty segment', () => {
    assert.deepEqual(decodeSegment(new Uint8Array(0)), { records: [], damage: [], tail: undefined, validEnd: 0 });
  });

  test('a final record cut at any byte is a torn tail; everything before it is intact', () => {
    const lastStart = file.length - encodeRecord(recs[3]!).length;
    for (let cut = lastStart + 1; cut < file.length; cut++) {
      const d = decodeSegment(file.subarray(0, cut));
      assert.equal(d.records.length, 3, `cut at ${cut}`);
      assert.equal(d.validEnd, lastStart, `cut at ${cut}`);
      assert.equal(d.tail?.kind, 'torn', `cut at ${cut}`);
      assert.deepEqual([d.tail?.start, d.tail?.end], [lastStart, cut]);
    }
  });

  test('a flipped payload bit in the last record is a corrupt tail (crc mismatch)', () => {
    const bad = file.slice();
    bad[bad.length - 1]! ^= 0x01;
    const d = decodeSegment(bad);
    assert.equal(d.records.length, 3);
    assert.equal(d.tail?.kind, 'corrupt');
    assert.equal(d.tail?.detail, 'crc mismatch');
    assert.equal(d.validEnd, file.length - encodeRecord(recs[3]!).length);
  });

  test('a flipped header bit (the offset) is caught by the crc too', () => {
    const bad = file.slice();
    const lastStart = file.length - encodeRecord(recs[3]!).length;
    bad[lastStart + 16]! ^= 0x80;
    const d = decodeSegment(bad);
    assert.equal(d.records.length, 3);
    assert.equal(d.tail?.detail, 'crc mismatch');
  });

  test('a zero-filled tail (file extended, data never written) is a corrupt tail', () => {
    const d = decodeSegment(cat(file, new Uint8Array(100)));
    assert.equal(d.records.length, 4);
    assert.equal(d.tail?.kind, 'corrupt');
    assert.equal(d.validEnd, file.length);
  });

  test('damage in the middle is skipped: later records are found again and the range reported', () => {
    const bad = file.slice();
    const secondStart = encodeRecord(recs[0]!).length;
    bad[secondStart + RECORD_HEADER_BYTES]! ^= 0xff; // payload of the 'abc' record
    const d = decodeSegment(bad);
    assert.deepEqual(d.records.map((r) => r.record.type), ['open', 'gap', 'data']);
    assert.equal(d.tail, undefined);
    assert.equal(d.damage.length, 1);
    assert.deepEqual([d.damage[0]!.start, d.damage[0]!.end], [secondStart, secondStart + encodeRecord(recs[1]!).length]);
    assert.equal(d.validEnd, bad.length);
  });

  test('a garbage length field is not trusted beyond the maximum', () => {
    const bad = encodeRecord(data(0, 'abc'));
    new DataView(bad.buffer).setUint32(4, 0xffffffff, true);
    const r = decodeRecordAt(bad, 0);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.kind === 'corrupt');
  });

  test('an unknown type byte is corrupt, not torn', () => {
    const bad = encodeRecord(data(0, 'abc'));
    bad[1] = 9;
    const r = decodeRecordAt(bad.subarray(0, 5), 0);
    assert.ok(!r.ok && r.kind === 'corrupt');
  });

  test('a record embedded in a payload is not mistaken for one while the outer record is valid', () => {
    const inner = encodeRecord(data(999, 'fake'));
    const outer = encodeRecord({ ...data(0, ''), payload: inner });
    const d = decodeSegment(outer);
    assert.equal(d.records.length, 1);
    assert.equal(d.records[0]!.record.offset, 0);
  });
});
