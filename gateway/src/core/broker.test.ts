// Tests for Broker: attach/replay/live order, slow consumers, pause, write lease, takeover, events, errors.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServerControlMessage } from '../protocol/control.js';
import {
  Broker,
  BrokerDisposed,
  BrokerError,
  type BrokerOptions,
  type OutputChunk,
  type SessionEndEvent,
  SessionNotFound,
  type SessionStartEvent,
  type TakeoverEvent,
  type ViewerSink,
  WriteNotAllowed,
} from './broker.js';

type Frame = { kind: 'data'; bytes: number[] } | { kind: 'control'; msg: ServerControlMessage };

/** A ViewerSink that records everything and fails the test if used after close. */
class FakeSink implements ViewerSink {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  closeCalls = 0;
  callsAfterClose = 0;
  /** When true, every send adds to bufferedBytes (a client that never reads). */
  accumulate = false;
  buffered = 0;
  onSend: ((bytes: Uint8Array) => void) | undefined;
  /** Run onSend before recording the frame (a sink that does flow control before queuing). */
  hookFirst = false;
  throwOn: 'send' | 'control' | 'close' | 'buffered' | undefined;

  get bufferedBytes(): number {
    if (this.throwOn === 'buffered') throw new Error('buffered getter broke');
    return this.buffered;
  }

  send(bytes: Uint8Array): void {
    if (this.closed) this.callsAfterClose++;
    if (this.throwOn === 'send') throw new Error('send broke');
    if (this.hookFirst) this.onSend?.(bytes);
    this.frames.push({ kind: 'data', bytes: [...bytes] });
    if (this.accumulate) this.buffered += bytes.length;
    if (!this.hookFirst) this.onSend?.(bytes);
  }

  control(msg: ServerControlMessage): void {
    if (this.closed) this.callsAfterClose++;
    if (this.throwOn === 'control') throw new Error('control broke');
    this.frames.push({ kind: 'control', msg });
  }

  close(code: number, reason: string): void {
    if (this.closed) this.callsAfterClose++;
    this.closeCalls++;
    this.closed = { code, reason };
    if (this.throwOn === 'close') throw new Error('close broke');
  }

  /** All data bytes received, concatenated. */
  get data(): number[] {
    return this.frames.flatMap((f) => (f.kind === 'data' ? f.bytes : []));
  }

  get controls(): ServerControlMessage[] {
    return this.frames.flatMap((f) => (f.kind === 'control' ? [f.msg] : []));
  }

  get dataFrames(): number[][] {
    return this.frames.flatMap((f) => (f.kind === 'data' ? [f.bytes] : []));
  }
}

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const seq = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

interface Harness {
  broker: Broker;
  errors: unknown[];
  clock: { now: number };
}

function make(options: Partial<BrokerOptions> = {}): Harness {
  const errors: unknown[] = [];
  const clock = { now: 1_000 };
  let n = 0;
  const broker = new Broker({
    historyBytes: 64,
    viewerMaxBufferedBytes: 1_000,
    createSessionId: () => `s${++n}`,
    now: () => clock.now,
    onError: (e) => errors.push(e),
    ...options,
  });
  return { broker, errors, clock };
}

describe('Broker construction', () => {
  for (const key of ['historyBytes', 'viewerMaxBufferedBytes', 'maxChunkBytes'] as const) {
    test(`rejects ${key} 0`, () => {
      assert.throws(() => make({ [key]: 0 }), RangeError);
    });
  }

  test('starts at the given initial offset', () => {
    const { broker } = make({ initialOffset: 2 ** 33 });
    assert.equal(broker.history.endOffset, 2 ** 33);
  });

  test('default session ids are unique across brokers', () => {
    const a = new Broker({ historyBytes: 8, viewerMaxBufferedBytes: 8 });
    const b = new Broker({ historyBytes: 8, viewerMaxBufferedBytes: 8 });
    const ids = [a.attach(new FakeSink(), { mode: 'read', replayBytes: 0 }).id, b.attach(new FakeSink(), { mode: 'read', replayBytes: 0 }).id];
    assert.notEqual(ids[0], ids[1]);
    a.dispose();
    b.dispose();
  });
});

describe('Broker attach', () => {
  test('sends hello first, with session id, mode and offset', () => {
    const { broker } = make();
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    assert.deepEqual(sink.frames[0], { kind: 'control', msg: { type: 'hello', sessionId: s.id, mode: 'read', offset: 0 } });
  });

  test('hello offset is the first replayed byte', () => {
    const { broker } = make();
    broker.push(seq(0, 10));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 4 });
    assert.equal((sink.controls[0] as { offset: number }).offset, 6);
  });

  test('hello offset without replay is the end offset, beyond 2^32 too', () => {
    const { broker } = make({ initialOffset: 2 ** 32 + 5 });
    broker.push(seq(0, 3));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    assert.equal((sink.controls[0] as { offset: number }).offset, 2 ** 32 + 8);
  });

  test('replays the last replayBytes of history after hello', () => {
    const { broker } = make();
    broker.push(seq(0, 10));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 3 });
    assert.equal(sink.frames[0]?.kind, 'control');
    assert.deepEqual(sink.data, [7, 8, 9]);
  });

  test('replay is clamped to the history held', () => {
    const { broker } = make();
    broker.push(seq(0, 5));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 65536 });
    assert.deepEqual(sink.data, [0, 1, 2, 3, 4]);
  });

  test('replay after the history wrapped returns the newest bytes', () => {
    const { broker } = make({ historyBytes: 4 });
    broker.push(seq(0, 10));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 100 });
    assert.deepEqual(sink.data, [6, 7, 8, 9]);
  });

  test('replayBytes 0 sends no data', () => {
    const { broker } = make();
    broker.push(seq(0, 5));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    assert.deepEqual(sink.data, []);
  });

  test('replayBytes Infinity replays everything held', () => {
    const { broker } = make();
    broker.push(seq(0, 5));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: Infinity });
    assert.equal(sink.data.length, 5);
  });

  test('a large replay is sent in chunks of maxChunkBytes', () => {
    const { broker } = make({ maxChunkBytes: 4 });
    broker.push(seq(0, 10));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 10 });
    assert.deepEqual(sink.dataFrames.map((f) => f.length), [4, 4, 2]);
  });

  test('live output follows the replay in order', () => {
    const { broker } = make();
    broker.push(bytes(1, 2));
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 2 });
    broker.push(bytes(3));
    assert.deepEqual(sink.data, [1, 2, 3]);
  });

  test('uses createSessionId for ids', () => {
    const { broker } = make({ createSessionId: () => 'fixed-id' });
    assert.equal(broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 }).id, 'fixed-id');
  });

  test('refuses a session id already in use', () => {
    const { broker } = make({ createSessionId: () => 'same' });
    broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    assert.throws(() => broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 }), /already in use/);
  });

  test('rejects an unknown mode', () => {
    const { broker } = make();
    assert.throws(() => broker.attach(new FakeSink(), { mode: 'admin' as 'read', replayBytes: 0 }), RangeError);
  });

  test('rejects a negative replayBytes', () => {
    const { broker } = make();
    assert.throws(() => broker.attach(new FakeSink(), { mode: 'read', replayBytes: -1 }), RangeError);
  });

  test('a rejected attach leaves no session behind', () => {
    const { broker } = make();
    assert.throws(() => broker.attach(new FakeSink(), { mode: 'read', replayBytes: -1 }));
    assert.equal(broker.sessionCount, 0);
  });

  test('throws BrokerDisposed after dispose', () => {
    const { broker } = make();
    broker.dispose();
    assert.throws(() => broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 }), BrokerDisposed);
  });

  test('fires onSessionStart with the session facts', () => {
    const { broker } = make();
    broker.push(seq(0, 10));
    const starts: SessionStartEvent[] = [];
    broker.onSessionStart((e) => starts.push(e));
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 4, principal: 'alice' });
    assert.deepEqual(starts, [{ sessionId: 's1', principal: 'alice', mode: 'write', offset: 6, replayBytes: 4, startedAt: 1_000 }]);
  });

  test('onSessionStart fires before hello is sent', () => {
    const { broker } = make();
    const sink = new FakeSink();
    let framesAtStart = -1;
    broker.onSessionStart(() => {
      framesAtStart = sink.frames.length;
    });
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    assert.equal(framesAtStart, 0);
  });

  test('the session appears in sessions() and getSession()', () => {
    const { broker } = make();
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0, principal: 'bob' });
    assert.deepEqual(broker.sessions(), [
      { id: s.id, mode: 'read', principal: 'bob', startedAt: 1_000, bytesToViewer: 0, bytesToDevice: 0, paused: false },
    ]);
    assert.equal(broker.getSession(s.id), s);
  });
});

describe('Broker push', () => {
  test('delivers output to every viewer', () => {
    const { broker } = make();
    const a = new FakeSink();
    const b = new FakeSink();
    broker.attach(a, { mode: 'read', replayBytes: 0 });
    broker.attach(b, { mode: 'read', replayBytes: 0 });
    broker.push(bytes(1, 2));
    assert.deepEqual([a.data, b.data], [[1, 2], [1, 2]]);
  });

  test('with no viewers only records history', () => {
    const { broker } = make();
    broker.push(bytes(1, 2));
    assert.deepEqual([...broker.history.tail(10).bytes], [1, 2]);
  });

  test('an empty push does nothing', () => {
    const { broker } = make();
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    broker.push(new Uint8Array(0));
    assert.equal(sink.dataFrames.length, 0);
    assert.equal(broker.history.endOffset, 0);
  });

  test('counts bytes from the device', () => {
    const { broker } = make();
    broker.push(seq(0, 5));
    broker.push(seq(0, 7));
    assert.equal(broker.bytesFromDevice, 12);
  });

  test('counts bytes sent to each viewer, replay included', () => {
    const { broker } = make();
    broker.push(seq(0, 5));
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 3 });
    broker.push(seq(0, 4));
    assert.equal(s.bytesToViewer, 7);
  });

  test('fires onOutput with the offset and bytes', () => {
    const { broker } = make({ initialOffset: 100 });
    const out: OutputChunk[] = [];
    broker.onOutput((c) => out.push(c));
    broker.push(bytes(1, 2));
    broker.push(bytes(3));
    assert.deepEqual(out.map((c) => [c.offset, [...c.bytes]]), [[100, [1, 2]], [102, [3]]]);
  });

  test('copies the input: a transport reusing its buffer does not alter what viewers get', () => {
    const { broker } = make();
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    s.pause();
    const buf = bytes(1, 2);
    broker.push(buf);
    buf[0] = 99;
    s.resume();
    assert.deepEqual(sink.data, [1, 2]);
  });

  test('onOutput gets a copy: a transport reusing its buffer does not alter recorded chunks', () => {
    const { broker } = make();
    const out: OutputChunk[] = [];
    broker.onOutput((c) => out.push(c));
    const buf = bytes(1, 2);
    broker.push(buf);
    buf[0] = 99;
    assert.deepEqual([...(out[0]?.bytes ?? [])], [1, 2]);
  });

  test('a push larger than the history still reaches live viewers whole', () => {
    const { broker } = make({ historyBytes: 4 });
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    broker.push(seq(0, 11));
    assert.deepEqual(sink.data, [...seq(0, 11)]);
    assert.equal(sink.closed, undefined);
  });

  test('live output is chunked by maxChunkBytes', () => {
    const { broker } = make({ maxChunkBytes: 3 });
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    broker.push(seq(0, 7));
    assert.deepEqual(sink.dataFrames.map((f) => f.length), [3, 3, 1]);
  });

  test('is ignored after dispose', () => {
    const { broker } = make();
    broker.dispose();
    assert.doesNotThrow(() => broker.push(bytes(1)));
    assert.equal(broker.bytesFromDevice, 0);
  });
});

describe('Broker slow consumers', () => {
  function slowSetup(): { h: Harness; slow: FakeSink; fast: FakeSink } {
    const h = make({ viewerMaxBufferedBytes: 10 });
    const slow = new FakeSink();
    slow.accumulate = true;
    const fast = new FakeSink();
    h.broker.attach(slow, { mode: 'read', replayBytes: 0 });
    h.broker.attach(fast, { mode: 'read', replayBytes: 0 });
    return { h, slow, fast };
  }

  test('a viewer exactly at the cap is kept', () => {
    const { h, slow } = slowSetup();
    h.broker.push(seq(0, 10));
    assert.equal(slow.closed, undefined);
  });

  test('a viewer over the cap is told with an error message', () => {
    const { h, slow } = slowSetup();
    h.broker.push(seq(0, 11));
    const last = slow.controls.at(-1);
    assert.equal(last?.type, 'error');
    assert.equal(last?.type === 'error' && last.code, 'SlowConsumer');
  });

  test('a viewer over the cap is closed with 4008 "slow consumer"', () => {
    const { h, slow } = slowSetup();
    h.broker.push(seq(0, 11));
    assert.deepEqual(slow.closed, { code: 4008, reason: 'slow consumer' });
  });

  test('the error message comes before the close and nothing after it', () => {
    const { h, slow } = slowSetup();
    h.broker.push(seq(0, 11));
    h.broker.push(seq(0, 5));
    h.broker.deviceState('rebooting');
    assert.equal(slow.callsAfterClose, 0);
    assert.equal(slow.closeCalls, 1);
  });

  test('a dropped viewer is removed and its session ends as slow-consumer', () => {
    const { h } = slowSetup();
    const ends: SessionEndEvent[] = [];
    h.broker.onSessionEnd((e) => ends.push(e));
    h.broker.push(seq(0, 11));
    assert.equal(h.broker.sessionCount, 1);
    assert.deepEqual(ends.map((e) => [e.sessionId, e.reason]), [['s1', 'slow-consumer']]);
  });

  test('other viewers are unaffected by a slow one', () => {
    const { h, fast } = slowSetup();
    h.broker.push(seq(0, 11));
    h.broker.push(bytes(42));
    assert.deepEqual(fast.data, [...seq(0, 11), 42]);
    assert.equal(fast.closed, undefined);
  });

  test('a slow writer loses the lease when dropped', () => {
    const h = make({ viewerMaxBufferedBytes: 2 });
    const sink = new FakeSink();
    sink.accumulate = true;
    h.broker.attach(sink, { mode: 'write', replayBytes: 0 });
    h.broker.push(seq(0, 3));
    assert.equal(h.broker.leaseHolder, undefined);
  });

  test('a viewer over the cap during replay is dropped and attach returns an ended session', () => {
    const h = make({ viewerMaxBufferedBytes: 2 });
    h.broker.push(seq(0, 10));
    const sink = new FakeSink();
    sink.accumulate = true;
    const s = h.broker.attach(sink, { mode: 'read', replayBytes: 10 });
    assert.equal(s.ended, true);
    assert.equal(sink.closed?.code, 4008);
    assert.equal(h.broker.sessionCount, 0);
  });

  test('the device is never paused: push returns while a viewer is stuck', () => {
    const { h } = slowSetup();
    for (let i = 0; i < 100; i++) h.broker.push(seq(i, 7));
    assert.equal(h.broker.bytesFromDevice, 700);
  });
});

describe('Broker pause and resume', () => {
  test('a paused viewer receives nothing', () => {
    const { broker } = make();
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    s.pause();
    broker.push(bytes(1, 2));
    assert.deepEqual(sink.data, []);
    assert.equal(s.paused, true);
  });

  test('resume delivers what accrued, in order, then live', () => {
    const { broker } = make();
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    s.pause();
    broker.push(bytes(1, 2));
    broker.push(bytes(3));
    s.resume();
    broker.push(bytes(4));
    assert.deepEqual(sink.data, [1, 2, 3, 4]);
  });

  test('a paused viewer overrun by the history is dropped as slow', () => {
    const { broker } = make({ historyBytes: 4 });
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    s.pause();
    broker.push(seq(0, 5));
    assert.equal(sink.closed?.code, 4008);
    assert.equal(s.ended, true);
  });

  test('a paused viewer behind by exactly the history size is kept', () => {
    const { broker } = make({ historyBytes: 4 });
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    s.pause();
    broker.push(seq(0, 4));
    assert.equal(s.ended, false);
    s.resume();
    assert.deepEqual(sink.data, [0, 1, 2, 3]);
  });

  test('pausing from inside send stops the rest of the chunks', () => {
    const { broker } = make({ maxChunkBytes: 2 });
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    sink.onSend = () => s.pause();
    broker.push(seq(0, 6));
    assert.deepEqual(sink.dataFrames, [[0, 1]]);
  });

  test('resuming from inside send neither duplicates nor reorders bytes', () => {
    const { broker } = make({ maxChunkBytes: 2 });
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    sink.onSend = () => {
      s.pause();
      s.resume();
    };
    broker.push(seq(0, 6));
    assert.deepEqual(sink.data, [0, 1, 2, 3, 4, 5]);
  });

  test('a sink that resumes before queuing its frame still gets the bytes in order', () => {
    const { broker } = make({ maxChunkBytes: 1 });
    const sink = new FakeSink();
    sink.hookFirst = true;
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    sink.onSend = () => {
      s.pause();
      s.resume();
    };
    broker.push(seq(0, 4));
    assert.deepEqual(sink.data, [0, 1, 2, 3]);
  });

  test('resume of a viewer that is not paused is a no-op', () => {
    const { broker } = make();
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    s.resume();
    assert.equal(sink.dataFrames.length, 0);
  });

  test('pause and resume of an ended session do nothing', () => {
    const { broker } = make();
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    s.dispose();
    s.pause();
    assert.equal(s.paused, false);
    assert.doesNotThrow(() => s.resume());
  });

  test('the session offset tracks what was sent', () => {
    const { broker } = make();
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    s.pause();
    broker.push(seq(0, 5));
    assert.equal(s.offset, 0);
    s.resume();
    assert.equal(s.offset, 5);
  });
});

describe('Broker write', () => {
  test('the lease holder\'s bytes go to onDeviceWrite unchanged', () => {
    const { broker } = make();
    const writes: Uint8Array[] = [];
    broker.onDeviceWrite((b) => writes.push(b));
    const s = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const typed = bytes(0x6c, 0x73, 0x0d);
    broker.write(s.id, typed);
    assert.deepEqual(writes, [typed]);
  });

  test('session.write is the same as broker.write', () => {
    const { broker } = make();
    const writes: number[][] = [];
    broker.onDeviceWrite((b) => writes.push([...b]));
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 }).write(bytes(1));
    assert.deepEqual(writes, [[1]]);
  });

  test('a read-only session\'s write throws WriteNotAllowed', () => {
    const { broker } = make();
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    assert.throws(() => broker.write(s.id, bytes(1)), WriteNotAllowed);
  });

  test('a refused write fires nothing and counts nothing', () => {
    const { broker } = make();
    let fired = 0;
    broker.onDeviceWrite(() => fired++);
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    assert.throws(() => s.write(bytes(1)));
    assert.deepEqual([fired, s.bytesToDevice, broker.bytesToDevice], [0, 0, 0]);
  });

  test('WriteNotAllowed carries a stable code and the holder', () => {
    const { broker } = make();
    const w = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const r = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    assert.throws(
      () => r.write(bytes(1)),
      (e: unknown) => e instanceof WriteNotAllowed && e instanceof BrokerError && e.code === 'WriteNotAllowed' && e.holder === w.id,
    );
  });

  test('an unknown session\'s write throws SessionNotFound', () => {
    const { broker } = make();
    assert.throws(() => broker.write('nope', bytes(1)), SessionNotFound);
  });

  test('an ended session\'s write throws SessionNotFound', () => {
    const { broker } = make();
    const s = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    s.dispose();
    assert.throws(() => s.write(bytes(1)), SessionNotFound);
  });

  test('counts bytes to the device per session and in total', () => {
    const { broker } = make();
    const s = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    s.write(seq(0, 3));
    s.write(seq(0, 4));
    assert.deepEqual([s.bytesToDevice, broker.bytesToDevice], [7, 7]);
  });

  test('an empty write by the holder is accepted and fires nothing', () => {
    const { broker } = make();
    let fired = 0;
    broker.onDeviceWrite(() => fired++);
    const s = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    assert.doesNotThrow(() => s.write(new Uint8Array(0)));
    assert.equal(fired, 0);
  });

  test('an empty write by a reader is still refused', () => {
    const { broker } = make();
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    assert.throws(() => s.write(new Uint8Array(0)), WriteNotAllowed);
  });

  test('a throwing onDeviceWrite listener is reported, not thrown at the writer', () => {
    const { broker, errors } = make();
    broker.onDeviceWrite(() => {
      throw new Error('transport gone');
    });
    const s = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    assert.doesNotThrow(() => s.write(bytes(1)));
    assert.equal(errors.length, 1);
  });
});

describe('Broker write lease and takeover', () => {
  test('a write attach on a free lease takes it without lease messages', () => {
    const { broker } = make();
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'write', replayBytes: 0 });
    assert.equal(broker.leaseHolder, s.id);
    assert.deepEqual(sink.controls.map((m) => m.type), ['hello']);
  });

  test('a read attach does not take the lease', () => {
    const { broker } = make();
    broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    assert.equal(broker.leaseHolder, undefined);
  });

  test('a second write attach takes over from the first', () => {
    const { broker } = make();
    const a = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const b = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    assert.equal(broker.leaseHolder, b.id);
    assert.deepEqual([a.mode, b.mode], ['read', 'write']);
  });

  test('the old writer is told it is now read-only', () => {
    const { broker } = make();
    const oldSink = new FakeSink();
    broker.attach(oldSink, { mode: 'write', replayBytes: 0 });
    const b = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    assert.deepEqual(oldSink.controls.at(-1), { type: 'lease', holder: b.id, mode: 'read' });
  });

  test('the new writer gets hello, then the lease message', () => {
    const { broker } = make();
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const newSink = new FakeSink();
    const b = broker.attach(newSink, { mode: 'write', replayBytes: 0 });
    assert.deepEqual(newSink.controls, [
      { type: 'hello', sessionId: b.id, mode: 'write', offset: 0 },
      { type: 'lease', holder: b.id, mode: 'write' },
    ]);
  });

  test('revokeWrite releases the lease, tells the writer, and bars a later takeover', () => {
    const { broker } = make();
    const sink = new FakeSink();
    const a = broker.attach(sink, { mode: 'write', replayBytes: 0 });
    assert.equal(broker.revokeWrite(a.id), true);
    assert.equal(broker.leaseHolder, undefined);
    assert.equal(a.mode, 'read');
    assert.deepEqual(sink.controls.at(-1), { type: 'lease', holder: null, mode: 'read' });
    assert.throws(() => a.write(bytes(1)), WriteNotAllowed);
    assert.throws(() => a.takeover(), WriteNotAllowed);
    assert.equal(a.ended, false, 'the session keeps viewing');
    assert.equal(broker.revokeWrite('nope'), false);
  });

  test('revokeWrite on a viewer changes no lease and sends nothing', () => {
    const { broker } = make();
    const w = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const viewerSink = new FakeSink();
    const v = broker.attach(viewerSink, { mode: 'read', replayBytes: 0, allowWrite: true });
    broker.revokeWrite(v.id);
    assert.equal(broker.leaseHolder, w.id);
    assert.deepEqual(viewerSink.controls.map((m) => m.type), ['hello']);
    assert.throws(() => v.takeover(), WriteNotAllowed);
  });

  test('the demoted writer can no longer write', () => {
    const { broker } = make();
    const a = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    assert.throws(() => a.write(bytes(1)), WriteNotAllowed);
  });

  test('onTakeover names both sessions and principals', () => {
    const { broker } = make();
    const events: TakeoverEvent[] = [];
    broker.onTakeover((e) => events.push(e));
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0, principal: 'alice' });
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0, principal: 'bob' });
    assert.deepEqual(events, [{ sessionId: 's2', principal: 'bob', previous: 's1', previousPrincipal: 'alice' }]);
  });

  test('takeover() by a reader allowed to write moves the lease and tells both', () => {
    const { broker } = make();
    const wSink = new FakeSink();
    const rSink = new FakeSink();
    const w = broker.attach(wSink, { mode: 'write', replayBytes: 0 });
    const r = broker.attach(rSink, { mode: 'read', replayBytes: 0, allowWrite: true });
    assert.deepEqual(broker.takeover(r.id), { previous: w.id });
    assert.deepEqual(wSink.controls.at(-1), { type: 'lease', holder: r.id, mode: 'read' });
    assert.deepEqual(rSink.controls.at(-1), { type: 'lease', holder: r.id, mode: 'write' });
    assert.deepEqual([w.mode, r.mode], ['read', 'write']);
  });

  test('takeover() fires onTakeover', () => {
    const { broker } = make();
    const events: TakeoverEvent[] = [];
    broker.onTakeover((e) => events.push(e));
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0, allowWrite: true }).takeover();
    assert.deepEqual(events.map((e) => [e.sessionId, e.previous]), [['s2', 's1']]);
  });

  test('takeover() by a session attached read-only without allowWrite is refused', () => {
    const { broker } = make();
    const w = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const r = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    assert.throws(() => r.takeover(), WriteNotAllowed);
    assert.equal(broker.leaseHolder, w.id);
  });

  test('a demoted writer may take the lease back', () => {
    const { broker } = make();
    const a = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const b = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    assert.deepEqual(a.takeover(), { previous: b.id });
    assert.equal(broker.leaseHolder, a.id);
  });

  test('takeover() of a free lease confirms to the taker only and fires no onTakeover', () => {
    const { broker } = make();
    let takeovers = 0;
    broker.onTakeover(() => takeovers++);
    const sink = new FakeSink();
    const r = broker.attach(sink, { mode: 'read', replayBytes: 0, allowWrite: true });
    assert.deepEqual(r.takeover(), {});
    assert.deepEqual(sink.controls.at(-1), { type: 'lease', holder: r.id, mode: 'write' });
    assert.equal(takeovers, 0);
  });

  test('takeover() by the current holder only re-confirms', () => {
    const { broker } = make();
    let leaseChanges = 0;
    broker.onLeaseChange(() => leaseChanges++);
    const sink = new FakeSink();
    const w = broker.attach(sink, { mode: 'write', replayBytes: 0 });
    leaseChanges = 0;
    assert.deepEqual(w.takeover(), {});
    assert.deepEqual(sink.controls.at(-1), { type: 'lease', holder: w.id, mode: 'write' });
    assert.equal(leaseChanges, 0);
  });

  test('takeover() of an unknown session throws SessionNotFound', () => {
    const { broker } = make();
    assert.throws(() => broker.takeover('nope'), SessionNotFound);
  });

  test('plain viewers are not sent lease messages on takeover', () => {
    const { broker } = make();
    const viewer = new FakeSink();
    broker.attach(viewer, { mode: 'read', replayBytes: 0 });
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    assert.deepEqual(viewer.controls.map((m) => m.type), ['hello']);
  });

  test('the holder detaching frees the lease and promotes nobody', () => {
    const { broker } = make();
    const w = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const r = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0, allowWrite: true });
    w.dispose();
    assert.equal(broker.leaseHolder, undefined);
    assert.equal(r.mode, 'read');
  });

  test('a demoted writer detaching keeps the new holder\'s lease', () => {
    const { broker } = make();
    const a = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const b = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    a.dispose();
    assert.equal(broker.leaseHolder, b.id);
  });

  test('onLeaseChange reports acquire, takeover and release', () => {
    const { broker } = make();
    const reasons: string[] = [];
    broker.onLeaseChange((c) => reasons.push(c.reason));
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    const b = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    b.dispose();
    assert.deepEqual(reasons, ['acquire', 'takeover', 'release']);
  });
});

describe('Broker device state', () => {
  test('broadcasts the state to every viewer', () => {
    const { broker } = make();
    const a = new FakeSink();
    const b = new FakeSink();
    broker.attach(a, { mode: 'read', replayBytes: 0 });
    broker.attach(b, { mode: 'write', replayBytes: 0 });
    broker.deviceState('disconnected');
    for (const s of [a, b]) assert.deepEqual(s.controls.at(-1), { type: 'device', state: 'disconnected' });
  });

  test('remembers the last state', () => {
    const { broker } = make();
    broker.deviceState('rebooting');
    assert.equal(broker.currentDeviceState, 'rebooting');
  });

  test('a newcomer is told an unhealthy state right after hello', () => {
    const { broker } = make();
    broker.push(bytes(1));
    broker.deviceState('disconnected');
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 1 });
    assert.deepEqual(sink.frames.map((f) => (f.kind === 'control' ? f.msg.type : 'data')), ['hello', 'device', 'data']);
  });

  for (const healthy of ['connected', 'reconnected'] as const) {
    test(`a newcomer is not told the healthy state "${healthy}"`, () => {
      const { broker } = make();
      broker.deviceState(healthy);
      const sink = new FakeSink();
      broker.attach(sink, { mode: 'read', replayBytes: 0 });
      assert.deepEqual(sink.controls.map((m) => m.type), ['hello']);
    });
  }
});

describe('Broker session end', () => {
  test('dispose ends the session with bytes each way and its duration', () => {
    const { broker, clock } = make();
    const ends: SessionEndEvent[] = [];
    broker.onSessionEnd((e) => ends.push(e));
    broker.push(seq(0, 4));
    const s = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 4, principal: 'alice' });
    s.write(seq(0, 3));
    clock.now += 2_500;
    s.dispose();
    assert.deepEqual(ends, [
      {
        sessionId: s.id,
        principal: 'alice',
        mode: 'write',
        reason: 'detached',
        bytesToViewer: 4,
        bytesToDevice: 3,
        startedAt: 1_000,
        endedAt: 3_500,
        durationMs: 2_500,
      },
    ]);
  });

  test('dispose twice ends the session once', () => {
    const { broker } = make();
    let ends = 0;
    broker.onSessionEnd(() => ends++);
    const s = broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    s.dispose();
    s.dispose();
    assert.equal(ends, 1);
  });

  test('dispose does not close the sink (the viewer already left)', () => {
    const { broker } = make();
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 }).dispose();
    assert.equal(sink.closed, undefined);
  });

  test('an ended session receives no more output', () => {
    const { broker } = make();
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 }).dispose();
    broker.push(bytes(1));
    assert.deepEqual(sink.data, []);
    assert.equal(broker.sessionCount, 0);
  });

  test('the end event reports the mode at the end (a demoted writer ends as read)', () => {
    const { broker } = make();
    const ends: SessionEndEvent[] = [];
    broker.onSessionEnd((e) => ends.push(e));
    const a = broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    broker.attach(new FakeSink(), { mode: 'write', replayBytes: 0 });
    a.dispose();
    assert.equal(ends[0]?.mode, 'read');
  });

  test('closeSession closes the sink with the code and reason and ends as closed', () => {
    const { broker } = make();
    const ends: SessionEndEvent[] = [];
    broker.onSessionEnd((e) => ends.push(e));
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    assert.equal(broker.closeSession(s.id, 4000, 'ended by owner'), true);
    assert.deepEqual(sink.closed, { code: 4000, reason: 'ended by owner' });
    assert.equal(ends[0]?.reason, 'closed');
    assert.equal(s.ended, true);
  });

  test('closeSession defaults to 1000', () => {
    const { broker } = make();
    const sink = new FakeSink();
    broker.closeSession(broker.attach(sink, { mode: 'read', replayBytes: 0 }).id);
    assert.equal(sink.closed?.code, 1000);
  });

  test('closeSession of an unknown session returns false', () => {
    assert.equal(make().broker.closeSession('nope'), false);
  });

  test('a viewer that disposes its session from inside send gets nothing more; others still do', () => {
    const { broker } = make({ maxChunkBytes: 1 });
    const quitter = new FakeSink();
    const other = new FakeSink();
    const q = broker.attach(quitter, { mode: 'read', replayBytes: 0 });
    broker.attach(other, { mode: 'read', replayBytes: 0 });
    quitter.onSend = () => q.dispose();
    broker.push(seq(0, 3));
    assert.deepEqual([quitter.data, other.data], [[0], [0, 1, 2]]);
  });
});

describe('Broker viewer and listener failures', () => {
  test('a sink whose send throws is ended as viewer-error and reported', () => {
    const { broker, errors } = make();
    const ends: SessionEndEvent[] = [];
    broker.onSessionEnd((e) => ends.push(e));
    const bad = new FakeSink();
    broker.attach(bad, { mode: 'read', replayBytes: 0 });
    bad.throwOn = 'send';
    broker.push(bytes(1));
    assert.equal(ends[0]?.reason, 'viewer-error');
    assert.equal(errors.length, 1);
  });

  test('a broken sink is closed with 1011', () => {
    const { broker } = make();
    const bad = new FakeSink();
    broker.attach(bad, { mode: 'read', replayBytes: 0 });
    bad.throwOn = 'send';
    broker.push(bytes(1));
    assert.equal(bad.closed?.code, 1011);
  });

  test('a broken sink does not keep others from getting output', () => {
    const { broker } = make();
    const bad = new FakeSink();
    const good = new FakeSink();
    broker.attach(bad, { mode: 'read', replayBytes: 0 });
    broker.attach(good, { mode: 'read', replayBytes: 0 });
    bad.throwOn = 'send';
    assert.doesNotThrow(() => broker.push(bytes(1)));
    assert.deepEqual(good.data, [1]);
  });

  test('a sink that throws on hello yields an ended session, not a throw', () => {
    const { broker } = make();
    const bad = new FakeSink();
    bad.throwOn = 'control';
    const s = broker.attach(bad, { mode: 'write', replayBytes: 0 });
    assert.equal(s.ended, true);
    assert.equal(broker.leaseHolder, undefined);
  });

  test('a close that throws still removes the slow viewer, and is reported', () => {
    const { broker, errors } = make({ viewerMaxBufferedBytes: 1 });
    const bad = new FakeSink();
    bad.accumulate = true;
    broker.attach(bad, { mode: 'read', replayBytes: 0 });
    bad.throwOn = 'close';
    broker.push(seq(0, 2));
    assert.equal(broker.sessionCount, 0);
    assert.equal(errors.length, 1);
  });

  test('a bufferedBytes getter that throws ends the session as viewer-error', () => {
    const { broker } = make();
    const ends: SessionEndEvent[] = [];
    broker.onSessionEnd((e) => ends.push(e));
    const bad = new FakeSink();
    broker.attach(bad, { mode: 'read', replayBytes: 0 });
    bad.throwOn = 'buffered';
    broker.push(bytes(1));
    assert.equal(ends[0]?.reason, 'viewer-error');
  });

  test('a throwing onSessionStart listener is reported and the attach still works', () => {
    const { broker, errors } = make();
    broker.onSessionStart(() => {
      throw new Error('audit listener');
    });
    const sink = new FakeSink();
    const s = broker.attach(sink, { mode: 'read', replayBytes: 0 });
    assert.equal(s.ended, false);
    assert.equal(sink.controls[0]?.type, 'hello');
    assert.equal(errors.length, 1);
  });

  test('a throwing onOutput listener does not stop delivery', () => {
    const { broker, errors } = make();
    broker.onOutput(() => {
      throw new Error('recorder');
    });
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    broker.push(bytes(1));
    assert.deepEqual(sink.data, [1]);
    assert.equal(errors.length, 1);
  });

  test('an onError handler that throws does not break push', () => {
    const { broker } = make({
      onError: () => {
        throw new Error('logger broke');
      },
    });
    broker.onOutput(() => {
      throw new Error('recorder');
    });
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    assert.doesNotThrow(() => broker.push(bytes(1)));
    assert.deepEqual(sink.data, [1]);
  });
});

describe('Broker dispose', () => {
  test('closes every viewer with 1001 "device closed"', () => {
    const { broker } = make();
    const a = new FakeSink();
    const b = new FakeSink();
    broker.attach(a, { mode: 'read', replayBytes: 0 });
    broker.attach(b, { mode: 'write', replayBytes: 0 });
    broker.dispose();
    assert.deepEqual([a.closed, b.closed], [
      { code: 1001, reason: 'device closed' },
      { code: 1001, reason: 'device closed' },
    ]);
  });

  test('ends every session with reason broker-disposed', () => {
    const { broker } = make();
    const reasons: string[] = [];
    broker.onSessionEnd((e) => reasons.push(e.reason));
    broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    broker.attach(new FakeSink(), { mode: 'read', replayBytes: 0 });
    broker.dispose();
    assert.deepEqual(reasons, ['broker-disposed', 'broker-disposed']);
    assert.deepEqual(broker.sessions(), []);
  });

  test('is idempotent', () => {
    const { broker } = make();
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    broker.dispose();
    broker.dispose();
    assert.equal(sink.closeCalls, 1);
    assert.equal(broker.isDisposed, true);
  });

  test('deviceState after dispose sends nothing', () => {
    const { broker } = make();
    const sink = new FakeSink();
    broker.attach(sink, { mode: 'read', replayBytes: 0 });
    broker.dispose();
    broker.deviceState('off');
    assert.equal(sink.callsAfterClose, 0);
  });
});
