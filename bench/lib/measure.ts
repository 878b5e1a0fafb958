// The measurements, written against `Endpoint` only: keystroke echo and bulk streams (one source to
// one or many receivers). Every loop is bounded by a count and by a deadline.

import { performance } from 'node:perf_hooks';
import type { Endpoint } from './endpoints.js';

export const MiB = 1024 * 1024;
/** Throughput unit: 1 MB = 10^6 bytes (as in FACTS.md). */
export const MB = 1e6;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- keystroke echo ----------------------------------------------------------------------------

export interface EchoOptions {
  /** Give up on the whole batch after this long (samples so far are kept). */
  deadlineMs: number;
  /** One round trip longer than this is a failure. */
  tripTimeoutMs?: number;
}

/**
 * `n` sequential round trips of one byte: the client sends it, `peer` echoes it, the client times
 * until it is back. Returns the round-trip times in ms (fewer than `n` if the deadline hit).
 */
export async function echoRoundTrips(client: Endpoint, peer: Endpoint, n: number, o: EchoOptions): Promise<{ samples: number[]; error?: string }> {
  const samples: number[] = [];
  const deadline = performance.now() + o.deadlineMs;
  const tripTimeout = o.tripTimeoutMs ?? 2000;
  peer.ondata = (b) => peer.write(b, () => undefined);
  try {
    for (let i = 0; i < n && performance.now() < deadline; i++) {
      const byte = 0x61 + (i % 26);
      const out = Buffer.of(byte);
      const rtt = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`echo ${i}: no reply within ${tripTimeout} ms (${client.ended ?? peer.ended ?? 'both open'})`)), tripTimeout);
        let t0 = 0;
        client.ondata = (b) => {
          const t1 = performance.now();
          clearTimeout(timer);
          client.ondata = undefined;
          if (b.length !== 1 || b[0] !== byte) reject(new Error(`echo ${i}: expected 1 byte ${byte}, got ${b.length} bytes starting ${b[0]}`));
          else resolve(t1 - t0);
        };
        t0 = performance.now();
        client.write(out, () => undefined);
      });
      samples.push(rtt);
    }
    return { samples };
  } catch (err) {
    return { samples, error: (err as Error).message };
  } finally {
    client.ondata = undefined;
    peer.ondata = undefined;
  }
}

// ---- bulk streams ------------------------------------------------------------------------------

export interface StreamOptions {
  /** Bytes per write at the source (≤ the gateway's maxFrameBytes, 64 KiB, for a WebSocket). */
  chunkBytes?: number;
  /** Bytes written but not yet handed to the kernel, at most (the sender's back-pressure). */
  windowBytes?: number;
  deadlineMs: number;
  /**
   * A receiver that ends early (e.g. dropped by the gateway as a slow consumer) is recorded in
   * `dropped` and the others carry on; without this, it fails the whole stream.
   */
  tolerateReceiverEnd?: boolean;
}

export interface StreamResult {
  bytesPerReceiver: number;
  receivers: number;
  /** performance.now() at the first write. */
  start: number;
  /** performance.now() when the source's last write was handed to the kernel (NaN if never). */
  sentAt: number;
  /** performance.now() when each receiver had every byte (NaN if it never did). */
  doneAt: number[];
  /** performance.now() when the last receiver was done (or the deadline / failure). */
  end: number;
  completed: boolean;
  /** Reads (pty) or binary frames (WebSocket) each receiver got: bytes / chunks = mean chunk size. */
  chunks: number[];
  /** Receivers that ended before they had every byte: `name: why`. */
  dropped: string[];
  error?: string;
}

/** Pattern: byte at stream offset k is k & 0xff (chunk sizes are multiples of 256). */
function patternBuffer(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = i & 0xff;
  return b;
}

/**
 * Writes `total` bytes at `src` and waits until every receiver got all of them. Each received chunk's
 * first byte is checked against the pattern (catches loss, duplication and reordering cheaply).
 */
export function stream(src: Endpoint, dsts: Endpoint[], total: number, o: StreamOptions): Promise<StreamResult> {
  const chunk = o.chunkBytes ?? 64 * 1024;
  const windowBytes = o.windowBytes ?? 1 * MiB;
  if (chunk % 256 !== 0) throw new RangeError('chunkBytes must be a multiple of 256');
  const pattern = patternBuffer(chunk);
  const got = dsts.map(() => 0);
  const chunks = dsts.map(() => 0);
  const doneAt = dsts.map(() => NaN);
  let remaining = dsts.length;
  let sent = 0;
  let inflight = 0;
  let sentAt = NaN;
  let settled = false;
  const dropped: string[] = [];
  const droppedIdx = new Set<number>();
  const start = performance.now();

  return new Promise<StreamResult>((resolve) => {
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      src.ondata = undefined;
      for (const d of dsts) d.ondata = undefined;
      resolve({
        bytesPerReceiver: total,
        receivers: dsts.length,
        start,
        sentAt,
        doneAt,
        end: performance.now(),
        completed: error === undefined,
        chunks,
        dropped,
        ...(error !== undefined ? { error } : {}),
      });
    };
    dsts.forEach((d, i) => {
      d.ondata = (b) => {
        if (b[0] !== (got[i]! & 0xff)) {
          finish(`${d.name}: byte ${got[i]} is ${b[0]}, expected ${got[i]! & 0xff} (bytes lost or reordered)`);
          return;
        }
        got[i]! += b.length;
        chunks[i]!++;
        if (got[i]! >= total && Number.isNaN(doneAt[i]!)) {
          doneAt[i] = performance.now();
          if (got[i]! > total) finish(`${d.name}: got ${got[i]} bytes, more than ${total}`);
          else if (--remaining === 0) finish();
        }
      };
    });
    const watch = setInterval(() => {
      if (src.ended !== undefined) return finish(`${src.name} ended: ${src.ended}`);
      for (const [i, d] of dsts.entries()) {
        if (d.ended === undefined || !Number.isNaN(doneAt[i]!) || droppedIdx.has(i)) continue;
        if (!o.tolerateReceiverEnd) return finish(`${d.name} ended: ${d.ended}`);
        droppedIdx.add(i);
        dropped.push(`${d.name}: ${d.ended} after ${got[i]} bytes`);
        d.ondata = undefined;
        if (--remaining === 0) return finish(dropped.length === dsts.length ? 'every receiver was dropped' : undefined);
      }
      if (performance.now() - start > o.deadlineMs) {
        const short = got.filter((g) => g < total).length;
        finish(`deadline ${o.deadlineMs} ms: ${short}/${dsts.length} receivers incomplete (sent ${sent}/${total})`);
      }
    }, 50);
    const pump = (): void => {
      while (!settled && sent < total && inflight < windowBytes) {
        const n = Math.min(chunk, total - sent);
        const buf = n === chunk ? pattern : pattern.subarray(0, n);
        sent += n;
        inflight += n;
        src.write(buf, (err) => {
          inflight -= n;
          if (err) finish(`${src.name}: write failed: ${err.message}`);
          else if (sent === total && inflight === 0) sentAt = performance.now();
          else pump();
        });
      }
    };
    pump();
  });
}

/** MB/s of one receiver. */
export function rateMBps(bytes: number, ms: number): number {
  return ms > 0 && Number.isFinite(ms) ? bytes / MB / (ms / 1000) : NaN;
}
