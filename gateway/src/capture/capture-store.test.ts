// Tests for CaptureStore on real files in a temp dir: one edge per test (durability, torn tail,
// rotation, retention, reads, gaps, 2^32+, disk errors, memory bound, locking).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { decodeSegment, encodeRecord, RECORD_HEADER_BYTES } from './capture-format.js';
import {
  CaptureError,
  captureDirName,
  CaptureStore,
  type CaptureStoreOptions,
  formatGapMarker,
  segmentFileName,
} from './capture-store.js';

const T0 = Date.UTC(2026, 10, 25, 23, 0, 0); // 2026-11-25T23:00:00Z
const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (s: string): Uint8Array => enc.encode(s);
/** Deterministic device output: byte at offset `off`. */
const pattern = (off: number): number => (off * 31 + 7) & 0xff;
const patterned = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => pattern(from + i));

const cleanups = new WeakMap<TestContext, (() => Promise<unknown>)[]>();

/** Registers cleanup that runs after the test, last registered first (stores close before their dir goes). */
function defer(t: TestContext, fn: () => Promise<unknown>): void {
  let stack = cleanups.get(t);
  if (!stack) {
    const s: (() => Promise<unknown>)[] = [];
    cleanups.set(t, s);
    t.after(async () => {
      for (const f of s.reverse()) await f();
    });
    stack = s;
  }
  stack.push(fn);
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ttygate-capture-'));
  defer(t, () => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock the test moves by hand. */
function clock(start = T0): { now: () => number; set: (ms: number) => void; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), advance: (ms) => (t += ms) };
}

async function open(t: TestContext, dir: string, opts: CaptureStoreOptions = {}, id = 'dev'): Promise<CaptureStore> {
  const store = await CaptureStore.open(dir, id, opts);
  defer(t, () => store.close().catch(() => undefined)); // the test may already have closed it, or broken its disk
  return store;
}

async function segmentFiles(dir: string, id = 'dev'): Promise<{ name: string; file: string; size: number }[]> {
  const d = path.join(dir, captureDirName(id));
  const names = (await fsp.readdir(d)).filter((n) => n.endsWith('.seg')).sort();
  return Promise.all(names.map(async (name) => ({ name, file: path.join(d, name), size: (await fsp.stat(path.join(d, name))).size })));
}

async function pollFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('CaptureStore basics', () => {
  test('a new capture starts empty at offset 0 with one segment', async (t) => {
    const store = await open(t, await tempDir(t));
    assert.deepEqual([store.startOffset, store.endOffset, store.recovery.resumed], [0, 0, false]);
    const files = await segmentFiles(path.dirname(store.directory));
    assert.deepEqual(files.map((f) => f.name), [segmentFileName(0)]);
  });

  test('appended bytes read back with offsets', async (t) => {
    const store = await open(t, await tempDir(t));
    store.append(text('hello '));
    store.append(text('world'));
    assert.equal(store.endOffset, 11);
    await store.flush();
    const r = await store.read();
    assert.equal(dec.decode(r.bytes), 'hello world');
    assert.deepEqual([r.startOffset, r.endOffset, r.truncated, r.more, r.gaps.length], [0, 11, false, false, 0]);
  });

  test('append copies its input: the caller may reuse the buffer', async (t) => {
    const store = await open(t, await tempDir(t));
    const buf = text('abc');
    store.append(buf);
    buf.fill(0x78);
    assert.equal(dec.decode((await store.read()).bytes), 'abc');
  });

  test('append copies a Buffer too (Buffer#slice is a view, not a copy)', async (t) => {
    const store = await open(t, await tempDir(t));
    const buf = Buffer.from('abc');
    store.append(buf);
    buf.fill(0x78);
    assert.equal(dec.decode((await store.read()).bytes), 'abc');
  });

  test('read sees appended bytes before they are written', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { flushIntervalMs: 60_000 });
    store.append(text('not yet on disk'));
    const [seg] = await segmentFiles(dir);
    const onDisk = decodeSegment(await fsp.readFile(seg!.file)).records.map((r) => r.record.type);
    assert.deepEqual(onDisk, ['open']);
    assert.equal(dec.decode((await store.read()).bytes), 'not yet on disk');
  });

  test('flush() resolves only once the bytes are in the segment file', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { flushIntervalMs: 60_000 });
    store.append(text('durable'));
    await store.flush();
    const [seg] = await segmentFiles(dir);
    const recs = decodeSegment(await fsp.readFile(seg!.file)).records;
    assert.deepEqual(recs.map((r) => [r.record.type, dec.decode(r.record.type === 'data' ? r.record.payload : new Uint8Array())]), [['open', ''], ['data', 'durable']]);
  });

  test('queued bytes are written by the timer without flush()', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { flushIntervalMs: 20 });
    store.append(text('tick'));
    await pollFor(async () => (await segmentFiles(dir))[0]!.size > 60, 'the timer write');
    assert.equal(store.stats.pendingBytes, 0);
  });

  test('64 KiB queued are written at once, without waiting for the timer', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { flushIntervalMs: 60_000 });
    store.append(new Uint8Array(64 * 1024));
    await pollFor(async () => (await segmentFiles(dir))[0]!.size > 64 * 1024, 'the size-triggered write');
  });

  test('appends within the merge window share one record; spaced ones do not', async (t) => {
    const dir = await tempDir(t);
    const c = clock();
    const store = await open(t, dir, { now: c.now, flushIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) store.append(text('x'));
    for (let i = 0; i < 3; i++) {
      c.advance(50);
      store.append(text('y'));
    }
    await store.flush();
    const [seg] = await segmentFiles(dir);
    const data = decodeSegment(await fsp.readFile(seg!.file)).records.filter((r) => r.record.type === 'data');
    assert.deepEqual(data.map((r) => [r.record.offset, r.record.payload.length, r.record.at - T0]), [[0, 100, 0], [100, 1, 50], [101, 1, 100], [102, 1, 150]]);
  });

  test('append and markGap never throw after close; the drop is reported once', async (t) => {
    const store = await open(t, await tempDir(t));
    const errors: CaptureError[] = [];
    store.onError((e) => errors.push(e));
    await store.close();
    assert.doesNotThrow(() => store.append(text('late')));
    assert.doesNotThrow(() => store.markGap('late'));
    assert.deepEqual(errors.map((e) => e.code), []); // the emitter is disposed with the store
    assert.equal(store.state, 'closed');
    await assert.rejects(store.read(), (e: unknown) => e instanceof CaptureError && e.code === 'closed');
  });

  test('append during close is dropped and reported, not thrown', async (t) => {
    const store = await open(t, await tempDir(t));
    const errors: string[] = [];
    store.onError((e) => errors.push(e.code));
    store.append(text('before'));
    const closing = store.close();
    store.append(text('during'));
    await closing;
    assert.deepEqual(errors, ['closed']);
  });

  test('rejects bad options', async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(CaptureStore.open(dir, 'dev', { segmentBytes: 10 }), RangeError);
    await assert.rejects(CaptureStore.open(dir, 'dev', { maxBytes: 0 }), RangeError);
    await assert.rejects(CaptureStore.open(dir, 'dev', { initialOffset: -1 }), RangeError);
  });
});

describe('CaptureStore restart', () => {
  test('close then reopen: every byte is there and offsets continue', async (t) => {
    const dir = await tempDir(t);
    const a = await CaptureStore.open(dir, 'dev');
    a.append(patterned(0, 5000));
    await a.close();
    const b = await open(t, dir);
    assert.equal(b.recovery.resumed, true);
    assert.deepEqual([b.startOffset, b.endOffset], [0, 5000]);
    b.append(patterned(5000, 10));
    const r = await b.read({ since: 0 });
    assert.deepEqual(r.bytes, patterned(0, 5010));
  });

  test('a reopen writes an open record that reads as a reopen gap', async (t) => {
    const dir = await tempDir(t);
    const c = clock();
    const a = await CaptureStore.open(dir, 'dev', { now: c.now });
    a.append(text('first life\r\n'));
    await a.close();
    c.advance(60_000);
    const b = await open(t, dir, { now: c.now });
    b.append(text('second life'));
    const r = await b.read();
    assert.deepEqual(r.gaps.map((g) => [g.kind, g.offset, g.at, g.lost]), [['reopen', 12, T0 + 60_000, 0]]);
    const txt = (await b.readText()).text;
    assert.match(txt, /^first life\r\n\r\n\[ttygate: gap at 2026-11-25T23:01:00Z: capture resumed; [^\]]*\]\r\nsecond life$/);
  });

  test('flush() then SIGKILL of the writing process: the reopened capture has every acknowledged byte', async (t) => {
    const dir = await tempDir(t);
    const storeUrl = pathToFileURL(path.join(import.meta.dirname, 'capture-store.ts')).href;
    // The child keeps appending after the ack, so the kill lands during writes (a torn tail is likely).
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
        const { CaptureStore } = await import(${JSON.stringify(storeUrl)});
        const store = await CaptureStore.open(${JSON.stringify(dir)}, 'dev', { flushIntervalMs: 2, segmentBytes: 8192 });
        const pattern = (off) => (off * 31 + 7) & 0xff;
        let off = 0;
        const chunk = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = pattern(off + i); off += n; return b; };
        for (let i = 0; i < 300; i++) store.append(chunk(97));
        await store.flush();
        process.stdout.write('acked ' + store.endOffset + '\\n');
        setInterval(() => { for (let i = 0; i < 20; i++) store.append(chunk(101)); }, 1);
        `,
      ],
      { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const acked = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /acked (\d+)\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before acking: ${err}`)));
    });
    await new Promise((r) => setTimeout(r, 30)); // let it write (unacknowledged) past the ack
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    assert.equal(acked, 300 * 97);
    const store = await open(t, dir); // takes over the dead child's lock
    assert.ok(store.endOffset >= acked, `end ${store.endOffset} < acked ${acked}`);
    const r = await store.read({ since: 0, maxBytes: 64 * 1024 * 1024 });
    assert.equal(r.bytes.length, store.endOffset);
    assert.deepEqual(r.bytes, patterned(0, store.endOffset)); // every byte, in place, nothing invented
    assert.deepEqual(r.gaps.filter((g) => g.kind !== 'reopen'), []);
  });

  test('a torn final record is truncated on reopen; earlier records intact, offsets continue', async (t) => {
    const dir = await tempDir(t);
    const a = await CaptureStore.open(dir, 'dev');
    a.append(text('hello '));
    await a.flush();
    a.append(text('world'));
    await a.close();
    const [seg] = await segmentFiles(dir);
    await fsp.truncate(seg!.file, seg!.size - 3); // crash in the middle of writing 'world'

    const b = await open(t, dir);
    assert.equal(b.recovery.truncatedBytes, RECORD_HEADER_BYTES + 5 - 3);
    assert.equal(b.endOffset, 6);
    b.append(text('there'));
    await b.close();
    const c = await open(t, dir);
    const r = await c.read();
    assert.equal(dec.decode(r.bytes), 'hello there');
    assert.equal(c.endOffset, 11);
    assert.match(r.gaps[0]?.reason ?? '', /discarded/);
    assert.equal(decodeSegment(await fsp.readFile((await segmentFiles(dir))[0]!.file)).tail, undefined);
  });

  test('a corrupt (crc mismatch) final record is cut off on reopen', async (t) => {
    const dir = await tempDir(t);
    const a = await CaptureStore.open(dir, 'dev');
    a.append(text('keep '));
    await a.flush();
    a.append(text('rot'));
    await a.close();
    const [seg] = await segmentFiles(dir);
    const buf = await fsp.readFile(seg!.file);
    buf[buf.length - 1]! ^= 0x40;
    await fsp.writeFile(seg!.file, buf);

    const b = await open(t, dir);
    assert.equal(b.recovery.truncatedBytes, RECORD_HEADER_BYTES + 3);
    assert.equal(dec.decode((await b.read()).bytes), 'keep ');
    assert.equal(b.endOffset, 5);
  });

  test('damage in the middle of a segment: later data is kept and the hole reads as missing', async (t) => {
    const dir = await tempDir(t);
    const a = await CaptureStore.open(dir, 'dev');
    a.append(text('AAAA'));
    await a.flush();
    a.append(text('BBBB'));
    await a.flush();
    a.append(text('CCCC'));
    await a.close();
    const [seg] = await segmentFiles(dir);
    const buf = await fsp.readFile(seg!.file);
    const bPos = buf.indexOf('BBBB');
    buf[bPos]! ^= 0xff;
    await fsp.writeFile(seg!.file, buf);

    const b = await open(t, dir);
    assert.deepEqual(b.recovery.damagedSegments, [seg!.name]);
    assert.equal(b.recovery.truncatedBytes, 0);
    assert.equal(b.endOffset, 12);
    b.append(text('DD'));
    const r = await b.read();
    assert.equal(dec.decode(r.bytes), 'AAAACCCCDD');
    assert.deepEqual(r.gaps.map((g) => [g.kind, g.offset, g.lost]), [['missing', 4, 4], ['reopen', 12, 0]]);
    // The damaged segment is left alone; writing goes on in a new one.
    assert.deepEqual((await segmentFiles(dir)).map((f) => f.name), [segmentFileName(0), segmentFileName(12)]);
  });
});

describe('CaptureStore rotation and retention', () => {
  test('segments rotate at segmentBytes and are named by their first byte offset', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { segmentBytes: 1024 });
    for (let off = 0; off < 10_000; off += 100) store.append(patterned(off, 100));
    await store.flush();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 10, `${files.length} segments`);
    for (const f of files) {
      assert.ok(f.size <= 1024, `${f.name} has ${f.size} bytes`);
      const first = decodeSegment(await fsp.readFile(f.file)).records.find((r) => r.record.type === 'data');
      assert.equal(segmentFileName(first!.record.offset), f.name);
    }
    assert.deepEqual((await store.read({ since: 0 })).bytes, patterned(0, 10_000));
  });

  test('retention by size keeps at least maxBytes and at most maxBytes plus one segment', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { segmentBytes: 1024, maxBytes: 4096 });
    for (let off = 0; off < 20_000; off += 100) {
      store.append(patterned(off, 100));
      if (off % 2000 === 0) await store.flush();
    }
    await store.flush();
    await store.enforceRetention(); // queued behind the batch's own retention run, so both are done
    const files = await segmentFiles(dir);
    const total = files.reduce((n, f) => n + f.size, 0);
    assert.ok(total >= 4096 && total <= 4096 + 1024, `total ${total}`);
    assert.equal(segmentFileName(store.startOffset), files[0]!.name);
    assert.equal(store.stats.diskBytes, total);
    const r = await store.read({ since: 0 });
    assert.equal(r.truncated, true);
    assert.equal(r.startOffset, store.startOffset);
    assert.deepEqual(r.bytes, patterned(store.startOffset, 20_000 - store.startOffset));
  });

  test('retention by age deletes segments whose newest record is older than maxAgeSeconds', async (t) => {
    const dir = await tempDir(t);
    const c = clock();
    const store = await open(t, dir, { segmentBytes: 1024, maxAgeSeconds: 60, now: c.now });
    store.append(patterned(0, 3000));
    await store.flush();
    c.advance(30_000);
    store.append(patterned(3000, 100)); // lands in the segment that also holds T0 bytes
    await store.flush();
    const before = await segmentFiles(dir);
    c.advance(31_000); // T0 + 61 s: the pure-T0 segments expired, the mixed one did not
    await store.enforceRetention();
    const after = await segmentFiles(dir);
    assert.ok(after.length < before.length);
    assert.equal(after[0]!.name, before[before.length - 1]!.name);
    const r = await store.read({ since: 0 });
    assert.equal(r.truncated, true);
    assert.deepEqual(r.bytes, patterned(store.startOffset, 3100 - store.startOffset));
  });

  test('retention by age empties an idle capture but keeps its offsets', async (t) => {
    const dir = await tempDir(t);
    const c = clock();
    const store = await open(t, dir, { segmentBytes: 1024, maxAgeSeconds: 60, now: c.now });
    store.append(patterned(0, 500));
    await store.flush();
    c.advance(61_000);
    await store.enforceRetention();
    assert.deepEqual((await segmentFiles(dir)).map((f) => f.name), [segmentFileName(500)]);
    assert.deepEqual([store.startOffset, store.endOffset], [500, 500]);
    assert.equal((await store.read()).bytes.length, 0);
    store.append(text('new'));
    assert.equal(dec.decode((await store.read()).bytes), 'new');
  });

  test('retention runs on open', async (t) => {
    const dir = await tempDir(t);
    const c = clock();
    const a = await CaptureStore.open(dir, 'dev', { segmentBytes: 1024, now: c.now });
    a.append(patterned(0, 5000));
    await a.close();
    c.advance(2 * 86_400_000);
    const b = await open(t, dir, { segmentBytes: 1024, maxAgeSeconds: 86_400, now: c.now });
    assert.deepEqual([b.startOffset, b.endOffset], [5000, 5000]);
  });
});

describe('CaptureStore.read ranges', () => {
  async function tenBytes(t: TestContext): Promise<CaptureStore> {
    const store = await open(t, await tempDir(t));
    store.append(text('abcdefghij'));
    return store;
  }

  test('since inside the range reads from there', async (t) => {
    const r = await (await tenBytes(t)).read({ since: 3 });
    assert.deepEqual([dec.decode(r.bytes), r.startOffset, r.endOffset, r.truncated], ['defghij', 3, 10, false]);
  });

  test('since at or beyond the end reads nothing', async (t) => {
    const store = await tenBytes(t);
    for (const since of [10, 100]) {
      const r = await store.read({ since });
      assert.deepEqual([r.bytes.length, r.startOffset, r.endOffset, r.truncated], [0, 10, 10, false]);
    }
  });

  test('since older than the retained start reads from the start, truncated', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { segmentBytes: 1024, maxBytes: 2048 });
    store.append(patterned(0, 8000));
    await store.flush();
    await store.enforceRetention();
    assert.ok(store.startOffset > 0);
    const r = await store.read({ since: 5 });
    assert.deepEqual([r.startOffset, r.truncated], [store.startOffset, true]);
  });

  test('tail N returns the last N bytes', async (t) => {
    const r = await (await tenBytes(t)).read({ tail: 4 });
    assert.deepEqual([dec.decode(r.bytes), r.startOffset, r.endOffset, r.truncated], ['ghij', 6, 10, false]);
  });

  test('tail beyond everything ever written returns all, not truncated', async (t) => {
    const r = await (await tenBytes(t)).read({ tail: 1000 });
    assert.deepEqual([dec.decode(r.bytes), r.truncated], ['abcdefghij', false]);
  });

  test('tail beyond what retention kept is truncated', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { segmentBytes: 1024, maxBytes: 2048 });
    store.append(patterned(0, 8000));
    await store.flush();
    await store.enforceRetention();
    const r = await store.read({ tail: 8000 });
    assert.deepEqual([r.startOffset, r.truncated], [store.startOffset, true]);
  });

  test('tail 0 returns nothing at the end', async (t) => {
    const r = await (await tenBytes(t)).read({ tail: 0 });
    assert.deepEqual([r.bytes.length, r.startOffset, r.endOffset], [0, 10, 10]);
  });

  test('maxBytes with since cuts the end and says there is more', async (t) => {
    const store = await tenBytes(t);
    const r = await store.read({ since: 0, maxBytes: 4 });
    assert.deepEqual([dec.decode(r.bytes), r.startOffset, r.endOffset, r.truncated, r.more], ['abcd', 0, 4, true, true]);
    const next = await store.read({ since: r.endOffset, maxBytes: 4 });
    assert.equal(dec.decode(next.bytes), 'efgh');
  });

  test('maxBytes without since keeps the newest bytes', async (t) => {
    const r = await (await tenBytes(t)).read({ maxBytes: 4 });
    assert.deepEqual([dec.decode(r.bytes), r.startOffset, r.truncated, r.more], ['ghij', 6, true, false]);
  });

  test('the default cap is 4 MiB', async (t) => {
    const store = await open(t, await tempDir(t), { maxBytes: 64 * 1024 * 1024 });
    store.append(new Uint8Array(5 * 1024 * 1024));
    const r = await store.read({ since: 0 });
    assert.deepEqual([r.bytes.length, r.more], [4 * 1024 * 1024, true]);
  });

  test('rejects negative or fractional arguments', async (t) => {
    const store = await tenBytes(t);
    await assert.rejects(store.read({ since: -1 }), RangeError);
    await assert.rejects(store.read({ tail: 1.5 }), RangeError);
  });

  test('a read spanning many segments and the queue is contiguous', async (t) => {
    const store = await open(t, await tempDir(t), { segmentBytes: 512, flushIntervalMs: 60_000 });
    store.append(patterned(0, 3000));
    await store.flush();
    store.append(patterned(3000, 77)); // still queued
    const r = await store.read({ since: 1000 });
    assert.deepEqual(r.bytes, patterned(1000, 2077));
  });
});

describe('CaptureStore gaps', () => {
  test('a gap appears in readText exactly where it happened', async (t) => {
    const c = clock();
    const store = await open(t, await tempDir(t), { now: c.now });
    store.append(text('boot 1\r\n'));
    store.markGap('device disconnected');
    c.advance(1500);
    store.append(text('boot 2\r\n'));
    const r = await store.readText();
    assert.equal(r.text, 'boot 1\r\n\r\n[ttygate: gap at 2026-11-25T23:00:00Z: device disconnected]\r\nboot 2\r\n');
  });

  test('read() lists gaps with offset, time and reason', async (t) => {
    const c = clock();
    const store = await open(t, await tempDir(t), { now: c.now });
    store.append(text('abc'));
    c.advance(10);
    store.markGap('device disconnected');
    c.advance(10);
    store.markGap('device reconnected');
    store.append(text('de'));
    const r = await store.read();
    assert.deepEqual(r.gaps.map((g) => [g.offset, g.at - T0, g.reason, g.kind]), [[3, 10, 'device disconnected', 'gap'], [3, 20, 'device reconnected', 'gap']]);
    assert.equal(dec.decode(r.bytes), 'abcde');
  });

  test('a gap at the very end is shown', async (t) => {
    const store = await open(t, await tempDir(t), { now: clock().now });
    store.append(text('last words'));
    store.markGap('device disconnected');
    assert.match((await store.readText()).text, /^last words\r\n\[ttygate: gap at .*: device disconnected\]\r\n$/);
  });

  test('a gap before the requested range is not shown', async (t) => {
    const store = await open(t, await tempDir(t));
    store.append(text('ab'));
    store.markGap('x');
    store.append(text('cd'));
    assert.equal((await store.readText({ since: 3 })).text, 'd');
  });

  test('gaps survive a restart in the right place', async (t) => {
    const dir = await tempDir(t);
    const c = clock();
    const a = await CaptureStore.open(dir, 'dev', { now: c.now });
    a.append(text('one'));
    a.markGap('device disconnected');
    a.append(text('two'));
    await a.close();
    const b = await open(t, dir, { now: c.now });
    const r = await b.read();
    assert.deepEqual(r.gaps.map((g) => [g.kind, g.offset]), [['gap', 3], ['reopen', 6]]);
  });

  test('a multi-byte character split across appends decodes whole', async (t) => {
    const store = await open(t, await tempDir(t));
    store.append(Uint8Array.of(0xe2, 0x82));
    store.append(Uint8Array.of(0xac));
    assert.equal((await store.readText()).text, '€');
  });

  test('a reason with line breaks stays one marker line', async (t) => {
    const store = await open(t, await tempDir(t), { now: clock().now });
    store.markGap('bad\r\nthing');
    assert.equal((await store.readText()).text, formatGapMarker({ at: T0, reason: 'bad thing' }));
  });
});

describe('CaptureStore offsets beyond 2^32', () => {
  test('a crafted segment at 2^32 + 10 is continued', async (t) => {
    const dir = await tempDir(t);
    const base = 2 ** 32 + 10;
    const d = path.join(dir, captureDirName('dev'));
    await fsp.mkdir(d, { recursive: true });
    await fsp.writeFile(path.join(d, segmentFileName(base)), encodeRecord({ type: 'data', at: T0, offset: base, flags: 0, payload: text('xyz') }));
    const store = await open(t, dir);
    assert.deepEqual([store.startOffset, store.endOffset], [base, base + 3]);
    store.append(text('abc'));
    const r = await store.read({ since: base + 1 });
    assert.deepEqual([dec.decode(r.bytes), r.startOffset, r.endOffset], ['yzabc', base + 1, base + 6]);
    await store.close();
    const again = await open(t, dir);
    assert.equal(again.endOffset, base + 6);
  });

  test('initialOffset starts a new capture at 2^40', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { initialOffset: 2 ** 40, segmentBytes: 512 });
    assert.deepEqual([store.startOffset, store.endOffset], [2 ** 40, 2 ** 40]);
    store.append(patterned(0, 2000));
    await store.flush();
    const files = await segmentFiles(dir);
    assert.equal(files[0]!.name, '0001099511627776.seg');
    const r = await store.read({ tail: 10 });
    assert.deepEqual([r.startOffset, r.endOffset], [2 ** 40 + 1990, 2 ** 40 + 2000]);
    assert.deepEqual(r.bytes, patterned(1990, 10));
  });
});

describe('CaptureStore write errors and memory bound', () => {
  test('an unwritable directory is reported on onError; append does not throw; writing resumes when it is back', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { segmentBytes: 512, flushIntervalMs: 60_000 });
    const errors: CaptureError[] = [];
    store.onError((e) => errors.push(e));
    store.append(patterned(0, 100));
    await store.flush();

    // 1. The directory is replaced by a file: the next segment cannot be created.
    await fsp.rm(store.directory, { recursive: true });
    await fsp.writeFile(store.directory, 'not a directory');
    assert.doesNotThrow(() => store.append(patterned(100, 2000)));
    await assert.rejects(store.flush(), (e: unknown) => e instanceof CaptureError && e.code === 'write-failed');
    assert.equal(errors[0]?.code, 'write-failed');
    assert.match(errors[0]!.message, /ENOTDIR|EEXIST|ENOENT/);
    assert.equal(store.endOffset, 2100);

    // 2. The directory comes back: the retry writes what is still queued.
    await fsp.rm(store.directory);
    await fsp.mkdir(store.directory);
    await pollFor(() => store.stats.pendingBytes === 0, 'the retry');
    await store.flush();
    assert.ok(store.stats.writeFailures >= 1);
    const r = await store.read({ since: 0 });
    assert.equal(r.endOffset, 2100);
    assert.deepEqual(r.bytes.subarray(r.bytes.length - 100), patterned(2000, 100));
  });

  test('after a failed write the segment is cut back to its last good size before the retry', async (t) => {
    const dir = await tempDir(t);
    let fail = false;
    const store = await open(t, dir, {
      flushIntervalMs: 60_000,
      beforeWrite: async () => {
        if (!fail) return;
        fail = false;
        // A write that got half-way before failing (ENOSPC, EIO) leaves bytes behind.
        await fsp.appendFile((await segmentFiles(dir))[0]!.file, new Uint8Array(50).fill(0xc1));
        throw Object.assign(new Error('simulated I/O error'), { code: 'EIO' });
      },
    });
    fail = true;
    store.append(text('abc'));
    await assert.rejects(store.flush(), /EIO/);
    await pollFor(() => store.stats.pendingBytes === 0, 'the retry');
    await store.flush();
    const d = decodeSegment(await fsp.readFile((await segmentFiles(dir))[0]!.file));
    assert.deepEqual([d.tail, d.damage.length], [undefined, 0]);
    assert.deepEqual(d.records.map((r) => r.record.type), ['open', 'data']);
  });

  test('a segment deleted behind the store\'s back: the head reads as truncated, a middle one as missing', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, { segmentBytes: 512 });
    store.append(patterned(0, 3000));
    await store.flush();
    const files = await segmentFiles(dir);
    await fsp.rm(files[0]!.file);
    await fsp.rm(files[2]!.file);
    const r = await store.read({ since: 0 });
    assert.equal(r.truncated, true);
    assert.equal(r.startOffset, Number(files[1]!.name.slice(0, 16)));
    const missing = r.gaps.filter((g) => g.kind === 'missing');
    assert.equal(missing.length, 1);
    assert.equal(missing[0]!.offset, Number(files[2]!.name.slice(0, 16)));
    assert.equal(r.bytes.length + missing[0]!.lost, 3000 - r.startOffset);
  });

  test('opening where the capture directory is a file fails cleanly', async (t) => {
    const dir = await tempDir(t);
    await fsp.writeFile(path.join(dir, captureDirName('dev')), 'x');
    await assert.rejects(CaptureStore.open(dir, 'dev'), /EEXIST|ENOTDIR/);
    await fsp.rm(path.join(dir, captureDirName('dev')));
    const store = await open(t, dir); // nothing half-open was left behind (no in-process lock)
    assert.equal(store.endOffset, 0);
  });

  test('a stalled disk: memory stays bounded, the oldest queued bytes are dropped and a gap counts them', async (t) => {
    const c = clock();
    let stalled = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = await open(t, await tempDir(t), {
      now: c.now,
      maxPendingBytes: 64 * 1024,
      flushIntervalMs: 5,
      beforeWrite: () => (stalled ? gate : Promise.resolve()),
    });
    const errors: CaptureError[] = [];
    store.onError((e) => errors.push(e));
    stalled = true;
    store.append(patterned(0, 1000));
    await pollFor(() => store.stats.pendingBytes === 0, 'the first batch to be taken (and stall)');
    let maxPending = 0;
    for (let off = 1000; off < 301_000; off += 1000) {
      c.advance(20);
      store.append(patterned(off, 1000));
      maxPending = Math.max(maxPending, store.stats.pendingBytes);
    }
    assert.ok(maxPending <= 64 * 1024, `pending reached ${maxPending}`);
    assert.ok(errors.some((e) => e.code === 'data-lost'));
    release();
    await store.flush();

    const r = await store.read({ since: 0 });
    assert.equal(r.endOffset, 301_000); // lost bytes keep their offsets: the broker's offsets still match
    const lost = r.gaps.filter((g) => g.kind === 'lost');
    const lostTotal = lost.reduce((n, g) => n + g.lost, 0);
    assert.ok(lostTotal > 0);
    assert.equal(r.bytes.length + lostTotal, 301_000);
    assert.equal(store.stats.lostBytes, lostTotal);
    assert.deepEqual(r.bytes.subarray(0, 1000), patterned(0, 1000)); // the batch being written is kept
    assert.deepEqual(r.bytes.subarray(r.bytes.length - 1000), patterned(300_000, 1000)); // the newest are kept
    assert.equal(lost[0]!.offset, 1000); // the oldest queued bytes went first
    assert.match((await store.readText({ since: 0 })).text, /\[ttygate: gap at [^:]+:\d\d:\d\dZ: \d+ bytes lost: /);
  });

  test('flush() rejects with data-lost if bytes it covers are dropped while it waits', async (t) => {
    let stalled = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = await open(t, await tempDir(t), { maxPendingBytes: 16 * 1024, flushIntervalMs: 5, beforeWrite: () => (stalled ? gate : Promise.resolve()) });
    stalled = true;
    store.append(patterned(0, 100));
    await pollFor(() => store.stats.pendingBytes === 0, 'the first batch to stall');
    store.append(patterned(100, 8 * 1024));
    const covered = store.flush();
    store.append(patterned(8292, 16 * 1024)); // pushes the covered bytes out
    release();
    await assert.rejects(covered, (e: unknown) => e instanceof CaptureError && e.code === 'data-lost');
    await store.flush(); // later flushes are fine
  });
});

describe('CaptureStore directory and locking', () => {
  test('device ids map to safe, distinct directory names', () => {
    assert.equal(captureDirName('web-vmss/0'), 'web-vmss%2F0');
    assert.equal(captureDirName('..'), '%2E.');
    assert.equal(captureDirName('.hidden'), '%2Ehidden');
    assert.equal(captureDirName('a.b_c-D9'), 'a.b_c-D9');
    assert.equal(captureDirName('é'), '%C3%A9');
    assert.notEqual(captureDirName('a/b'), captureDirName('a%2Fb'));
    assert.throws(() => captureDirName(''), RangeError);
  });

  test('very long ids are shortened with a hash and stay distinct', () => {
    const a = captureDirName('x'.repeat(300));
    const b = captureDirName(`${'x'.repeat(299)}y`);
    assert.ok(a.length <= 200 && b.length <= 200);
    assert.notEqual(a, b);
  });

  test('a scale-set id opens in its own directory, not a nested path', async (t) => {
    const dir = await tempDir(t);
    const store = await open(t, dir, {}, 'web-vmss/0');
    assert.equal(path.dirname(store.directory), dir);
  });

  test('a second open of the same capture in this process is refused until the first closes', async (t) => {
    const dir = await tempDir(t);
    const a = await CaptureStore.open(dir, 'dev');
    await assert.rejects(CaptureStore.open(dir, 'dev'), (e: unknown) => e instanceof CaptureError && e.code === 'locked');
    await a.close();
    await open(t, dir);
  });

  test('a lock held by another live process is refused', async (t) => {
    const dir = await tempDir(t);
    const d = path.join(dir, captureDirName('dev'));
    await fsp.mkdir(d, { recursive: true });
    await fsp.writeFile(path.join(d, 'lock'), `${process.ppid}\n`);
    await assert.rejects(CaptureStore.open(dir, 'dev'), (e: unknown) => e instanceof CaptureError && e.code === 'locked');
  });

  test('a lock left by a dead process is taken over', async (t) => {
    const dir = await tempDir(t);
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid!;
    await new Promise((r) => child.once('exit', r));
    const d = path.join(dir, captureDirName('dev'));
    await fsp.mkdir(d, { recursive: true });
    await fsp.writeFile(path.join(d, 'lock'), `${pid}\n`);
    const store = await open(t, dir);
    assert.equal((await fsp.readFile(path.join(d, 'lock'), 'utf8')).trim(), String(process.pid));
    await store.close();
    await assert.rejects(fsp.access(path.join(d, 'lock')));
  });
});
