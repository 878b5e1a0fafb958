// Capture segment record format (pure): encode and decode records, detect a torn or corrupt tail.
//
// A segment file is a plain sequence of records, nothing else (no file header: every record is
// self-describing, so a file torn anywhere decodes up to its last complete record).
//
// Record layout, little-endian, RECORD_HEADER_BYTES = 28 bytes of header then the payload:
//
//   off size field
//    0   1   magic    0xC1 ("capture, format 1"); a new layout gets a new magic
//    1   1   type     1 = data, 2 = gap, 3 = open
//    2   1   flags    bit 0 (open only): the store resumed an existing capture
//    3   1   reserved 0
//    4   4   length   payload length in bytes
//    8   8   at       wall-clock time, ms since the Unix epoch (integer, <= 2^53 - 1)
//   16   8   offset   absolute device byte offset (integer, <= 2^53 - 1): of the first payload
//                     byte for data; the position of the event for gap and open
//   24   4   crc      CRC-32 (IEEE, as zlib) of header bytes 0..23 followed by the payload
//
// Payloads: data = the device bytes; gap = 8-byte `lost` count (device bytes that were never
// written, so the next data record starts `lost` bytes later) then the UTF-8 reason;
// open = the UTF-8 reason.

import * as zlib from 'node:zlib';

export type CaptureRecordType = 'data' | 'gap' | 'open';

/** One decoded or to-be-encoded record. */
export interface CaptureRecord {
  readonly type: CaptureRecordType;
  /** Wall-clock ms of the first byte (data) or of the event (gap, open). */
  readonly at: number;
  /** Absolute device byte offset, see the module header. */
  readonly offset: number;
  /** {@link OPEN_FLAG_RESUMED} or 0. */
  readonly flags: number;
  readonly payload: Uint8Array;
}

/** A record and where it sits in the decoded buffer. */
export interface LocatedRecord {
  readonly record: CaptureRecord;
  /** Byte position of the record's header in the buffer. */
  readonly pos: number;
  /** Byte position just after the record. */
  readonly end: number;
}

/** Why the bytes at some position are not a valid record. */
export type DamageKind =
  /** Fewer bytes remain than the header or its declared payload needs: an interrupted write. */
  | 'torn'
  /** A complete record whose magic, fields or CRC are wrong (garbage, zero fill, bit rot). */
  | 'corrupt';

/** A byte range of a segment that holds no valid record. */
export interface Damage {
  /** First byte of the damaged range. */
  readonly start: number;
  /** First byte after it: the next valid record, or the end of the buffer. */
  readonly end: number;
  /** What was found at `start`. */
  readonly kind: DamageKind;
  /** Human-readable detail for logs (e.g. "crc mismatch"). */
  readonly detail: string;
}

/** Result of {@link decodeSegment}. */
export interface DecodedSegment {
  /** Every valid record, in file order (including ones found after mid-file damage). */
  readonly records: LocatedRecord[];
  /** Damaged ranges between valid records (mid-file corruption that the decoder skipped). */
  readonly damage: Damage[];
  /**
   * Damage that runs to the end of the buffer with no valid record after it — a torn final
   * write after a crash, or a corrupt tail. `undefined` when the buffer ends cleanly.
   */
  readonly tail: Damage | undefined;
  /**
   * Where the valid content ends: the end of the last valid record when there is a damaged tail
   * (truncate the file here), otherwise the buffer length.
   */
  readonly validEnd: number;
}

export const RECORD_MAGIC = 0xc1;
export const RECORD_HEADER_BYTES = 28;
/** Flag of an `open` record written when a store reopened an existing capture. */
export const OPEN_FLAG_RESUMED = 0x01;
/**
 * Largest payload the decoder accepts. Writers use far smaller records (the store caps data
 * records at 64 KiB); the bound only keeps a corrupt length field from being trusted.
 */
export const MAX_RECORD_PAYLOAD = 16 * 1024 * 1024;
/** Bytes of the `lost` count in front of a gap's reason. */
export const GAP_LOST_BYTES = 8;

const TYPE_CODES: Readonly<Record<CaptureRecordType, number>> = { data: 1, gap: 2, open: 3 };
const TYPES_BY_CODE: readonly (CaptureRecordType | undefined)[] = [undefined, 'data', 'gap', 'open'];
const KNOWN_FLAGS: Readonly<Record<CaptureRecordType, number>> = { data: 0, gap: 0, open: OPEN_FLAG_RESUMED };

// ---------------------------------------------------------------------------------------------
// CRC-32

let crcTable: Uint32Array | undefined;

/** Table-driven CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib computes it. */
export function crc32Table(data: Uint8Array, initial = 0): number {
  const table = (crcTable ??= makeCrcTable());
  let c = (initial ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = (table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function makeCrcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

// zlib.crc32 arrived in Node 20.15 / 22.2; it is native and much faster than the table.
const nativeCrc32: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? zlib.crc32 : undefined;

/** CRC-32 of `data`, continuing from `initial` (the CRC of the bytes before it). */
export function crc32(data: Uint8Array, initial = 0): number {
  // Node 20.20's zlib.crc32 answers 0 for an empty array whose ArrayBuffer is empty (e.g.
  // TextEncoder's output for ''), dropping `initial`; the CRC of nothing is `initial`.
  if (data.length === 0) return initial >>> 0;
  return nativeCrc32 ? nativeCrc32(data, initial) >>> 0 : crc32Table(data, initial);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Encodes one record (header + payload). Throws RangeError on out-of-range fields. */
export function encodeRecord(r: CaptureRecord): Uint8Array {
  const code = TYPE_CODES[r.type];
  if (code === undefined) throw new RangeError(`unknown record type ${String(r.type)}`);
  assertU53('at', r.at);
  assertU53('offset', r.offset);
  if (!Number.isInteger(r.flags) || (r.flags & ~KNOWN_FLAGS[r.type]) !== 0) {
    throw new RangeError(`invalid flags ${r.flags} for a ${r.type} record`);
  }
  if (r.payload.length > MAX_RECORD_PAYLOAD) {
    throw new RangeError(`payload of ${r.payload.length} bytes exceeds ${MAX_RECORD_PAYLOAD}`);
  }
  const out = new Uint8Array(RECORD_HEADER_BYTES + r.payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, RECORD_MAGIC);
  view.setUint8(1, code);
  view.setUint8(2, r.flags);
  view.setUint8(3, 0);
  view.setUint32(4, r.payload.length, true);
  view.setBigUint64(8, BigInt(r.at), true);
  view.setBigUint64(16, BigInt(r.offset), true);
  out.set(r.payload, RECORD_HEADER_BYTES);
  const crc = crc32(r.payload, crc32(out.subarray(0, 24)));
  view.setUint32(24, crc, true);
  return out;
}

/** Payload of a gap record: the lost byte count, then the UTF-8 reason. */
export function encodeGapPayload(reason: string, lost = 0): Uint8Array {
  assertU53('lost', lost);
  const text = new TextEncoder().encode(reason);
  const out = new Uint8Array(GAP_LOST_BYTES + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lost), true);
  out.set(text, GAP_LOST_BYTES);
  return out;
}

/** Inverse of {@link encodeGapPayload}. Throws RangeError if the payload is too short. */
export function decodeGapPayload(payload: Uint8Array): { reason: string; lost: number } {
  if (payload.length < GAP_LOST_BYTES) throw new RangeError(`gap payload of ${payload.length} bytes is too short`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const lost = view.getBigUint64(0, true);
  if (lost > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('gap lost count beyond 2^53');
  return { lost: Number(lost), reason: new TextDecoder().decode(payload.subarray(GAP_LOST_BYTES)) };
}

/** Payload of an open record: the UTF-8 reason. */
export function encodeOpenPayload(reason: string): Uint8Array {
  return new TextEncoder().encode(reason);
}

/** Inverse of {@link encodeOpenPayload}. */
export function decodeOpenPayload(payload: Uint8Array): { reason: string } {
  return { reason: new TextDecoder().decode(payload) };
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Result of {@link decodeRecordAt}. */
export type RecordAt =
  | { readonly ok: true; readonly record: CaptureRecord; readonly end: number }
  | { readonly ok: false; readonly kind: DamageKind; readonly detail: string };

/**
 * Decodes the record whose header starts at `pos`. Never throws on bad input: it answers
 * `torn` when the buffer ends inside the record and `corrupt` when the record is complete but
 * invalid. The returned payload is a view into `buf` (copy it to keep it past `buf`'s lifetime).
 */
export function decodeRecordAt(buf: Uint8Array, pos: number): RecordAt {
  const avail = buf.length - pos;
  if (avail <= 0) return { ok: false, kind: 'torn', detail: 'no bytes' };
  if (buf[pos] !== RECORD_MAGIC) return { ok: false, kind: 'corrupt', detail: `bad magic 0x${hex2(buf[pos]!)}` };
  // Check what is there of the header before calling it torn, so garbage is not mistaken for
  // an interrupted write (the distinction is informational; both end a segment's valid part).
  if (avail >= 2 && TYPES_BY_CODE[buf[pos + 1]!] === undefined) {
    return { ok: false, kind: 'corrupt', detail: `unknown type ${buf[pos + 1]!}` };
  }
  if (avail < RECORD_HEADER_BYTES) return { ok: false, kind: 'torn', detail: `header cut after ${avail} bytes` };
  const view = new DataView(buf.buffer, buf.byteOffset + pos, RECORD_HEADER_BYTES);
  const type = TYPES_BY_CODE[view.getUint8(1)]!;
  const flags = view.getUint8(2);
  if ((flags & ~KNOWN_FLAGS[type]) !== 0) return { ok: false, kind: 'corrupt', detail: `invalid flags ${flags}` };
  if (view.getUint8(3) !== 0) return { ok: false, kind: 'corrupt', detail: 'reserved byte set' };
  const length = view.getUint32(4, true);
  if (length > MAX_RECORD_PAYLOAD) return { ok: false, kind: 'corrupt', detail: `length ${length} too large` };
  const at = view.getBigUint64(8, true);
  const offset = view.getBigUint64(16, true);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (at > max || offset > max) return { ok: false, kind: 'corrupt', detail: 'time or offset beyond 2^53' };
  const end = pos + RECORD_HEADER_BYTES + length;
  if (end > buf.length) {
    return { ok: false, kind: 'torn', detail: `payload cut: ${buf.length - pos - RECORD_HEADER_BYTES} of ${length} bytes` };
  }
  const payload = buf.subarray(pos + RECORD_HEADER_BYTES, end);
  const crc = crc32(payload, crc32(buf.subarray(pos, pos + 24)));
  if (crc !== view.getUint32(24, true)) return { ok: false, kind: 'corrupt', detail: 'crc mismatch' };
  if (type === 'gap' && length < GAP_LOST_BYTES) return { ok: false, kind: 'corrupt', detail: 'gap payload too short' };
  return { ok: true, record: { type, at: Number(at), offset: Number(offset), flags, payload }, end };
}

/**
 * Decodes a whole segment. Stops cleanly at a torn or corrupt tail and reports where
 * ({@link DecodedSegment.tail}, {@link DecodedSegment.validEnd}). Damage in the middle (a valid
 * record follows it) is skipped by scanning for the next record whose magic, fields and CRC
 * check out, and is reported in {@link DecodedSegment.damage}.
 */
export function decodeSegment(buf: Uint8Array): DecodedSegment {
  const records: LocatedRecord[] = [];
  const damage: Damage[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = decodeRecordAt(buf, pos);
    if (r.ok) {
      records.push({ record: r.record, pos, end: r.end });
      pos = r.end;
      continue;
    }
    const next = findNextRecord(buf, pos + 1);
    if (next === -1) {
      const tail: Damage = { start: pos, end: buf.length, kind: r.kind, detail: r.detail };
      return { records, damage, tail, validEnd: pos };
    }
    damage.push({ start: pos, end: next, kind: r.kind, detail: r.detail });
    pos = next;
  }
  return { records, damage, tail: undefined, validEnd: buf.length };
}

/** Position of the next valid record at or after `from`, or -1. */
export function findNextRecord(buf: Uint8Array, from: number): number {
  for (let p = buf.indexOf(RECORD_MAGIC, from); p !== -1; p = buf.indexOf(RECORD_MAGIC, p + 1)) {
    if (decodeRecordAt(buf, p).ok) return p;
  }
  return -1;
}

function assertU53(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be an integer in [0, 2^53), got ${v}`);
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}
