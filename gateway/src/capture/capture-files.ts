// Capture files: directory naming, segment scan and repair on open, the writer lock, fs helpers.

import { createHash } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { CaptureError } from './capture-error.js';
import { type CaptureRecord, decodeGapPayload, decodeSegment } from './capture-format.js';

export const SEGMENT_RE = /^(\d{16})\.seg$/;
export const LOCK_FILE = 'lock';
export const DIR_MODE = 0o700; // console output can hold secrets typed at a prompt
export const FILE_MODE = 0o600;

/** What {@link CaptureStore.open} found and repaired. */
export interface CaptureRecovery {
  /** The capture existed: this open resumed it (an `open` record with the resumed flag was written). */
  readonly resumed: boolean;
  /** Bytes cut off the end of the last segment (a torn or corrupt final record), 0 if none. */
  readonly truncatedBytes: number;
  /** Segments with damage in the middle (skipped when reading; shown as 'missing' gaps). */
  readonly damagedSegments: string[];
}

/**
 * Directory name of a device's capture: bytes of the UTF-8 id outside `[A-Za-z0-9_.-]` as
 * `%XX`, and a leading `.` too, so no id names `.`, `..`, a hidden file or a path. Injective;
 * ids whose encoding exceeds 200 bytes are cut and suffixed with `~` and a SHA-256 prefix.
 */
export function captureDirName(deviceId: string): string {
  if (deviceId.length === 0) throw new RangeError('device id must not be empty');
  let out = '';
  for (const b of new TextEncoder().encode(deviceId)) {
    const c = String.fromCharCode(b);
    const plain = /[A-Za-z0-9_-]/.test(c) || (c === '.' && out.length > 0);
    out += plain ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length > 200) {
    out = `${out.slice(0, 150)}~${createHash('sha256').update(deviceId).digest('hex').slice(0, 32)}`;
  }
  return out;
}

/** File name of the segment whose first byte offset is `base`. */
export function segmentFileName(base: number): string {
  return `${String(base).padStart(16, '0')}.seg`;
}

/** One segment file in a store's index. */
export interface Segment {
  readonly base: number;
  readonly file: string;
  /** Bytes known good on disk (written and synced). The file is truncated to this after a failure. */
  size: number;
  /** Time of the newest record (age retention). */
  lastAt: number;
}

interface ScannedSegment {
  readonly base: number;
  readonly file: string;
  readonly size: number;
  readonly lastAt: number;
  readonly dataEnd: number;
  readonly midDamage: number;
  /** Start of the first damaged range (for the last segment). */
  readonly firstDamageAt: number;
  readonly tailStart: number | undefined;
}

/**
 * Lists and decodes the segments; truncates a torn or corrupt tail of the last one; seals a last
 * segment damaged in the middle (writing goes on in a new one, so nothing after the damage is
 * cut). Returns the index and the end offset.
 */
export async function scanAndRepair(
  directory: string,
  now: () => number,
  initialOffset: number,
): Promise<{ segments: Segment[]; recovery: CaptureRecovery; end: number }> {
  const names = (await fsp.readdir(directory)).filter((n) => SEGMENT_RE.test(n)).sort();
  const scanned: ScannedSegment[] = [];
  for (const name of names) {
    const file = path.join(directory, name);
    const base = Number(SEGMENT_RE.exec(name)![1]);
    const buf = await fsp.readFile(file);
    const d = decodeSegment(buf);
    let lastAt = 0;
    let dataEnd = base;
    for (const { record } of d.records) {
      lastAt = Math.max(lastAt, record.at);
      dataEnd = Math.max(dataEnd, recordEnd(record));
    }
    if (d.records.length === 0) lastAt = (await fsp.stat(file)).mtimeMs; // empty: age from the file
    scanned.push({
      base,
      file,
      size: buf.length,
      lastAt,
      dataEnd,
      midDamage: d.damage.length,
      firstDamageAt: d.damage[0]?.start ?? d.tail?.start ?? buf.length,
      tailStart: d.tail ? d.validEnd : undefined,
    });
  }
  const segments: Segment[] = scanned.map((s) => ({ base: s.base, file: s.file, size: s.size, lastAt: s.lastAt }));
  const damagedSegments = scanned.filter((s) => s.midDamage > 0).map((s) => path.basename(s.file));
  let truncatedBytes = 0;
  let end = initialOffset;
  const last = scanned[scanned.length - 1];
  const lastSeg = segments[segments.length - 1];
  if (last && lastSeg) {
    end = Math.max(...scanned.map((s) => s.dataEnd));
    let cutAt: number | undefined = last.tailStart;
    let seal = false;
    if (last.midDamage > 0) {
      // Data after damage is kept by starting a new segment; with no data at all in this one a
      // new segment would repeat its name, so cut at the damage instead (only non-data records go).
      if (last.dataEnd > last.base) seal = true;
      else cutAt = last.firstDamageAt;
    }
    if (cutAt !== undefined && !seal) {
      truncatedBytes = last.size - cutAt;
      const fh = await fsp.open(last.file, 'r+');
      try {
        await fh.truncate(cutAt);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      lastSeg.size = cutAt;
    }
    if (seal) {
      // The damaged segment keeps its bytes; an empty segment at the end takes the writes.
      const file = path.join(directory, segmentFileName(end));
      const fh = await fsp.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, FILE_MODE);
      await fh.close();
      await fsyncDir(directory);
      segments.push({ base: end, file, size: 0, lastAt: now() });
    }
  }
  return { segments, recovery: { resumed: scanned.length > 0, truncatedBytes, damagedSegments }, end };
}

/** The offset just after a record's data (or after the bytes a lost-gap stands for). */
function recordEnd(r: CaptureRecord): number {
  if (r.type === 'data') return r.offset + r.payload.length;
  if (r.type === 'gap') {
    try {
      return r.offset + decodeGapPayload(r.payload).lost;
    } catch {
      // A gap payload the decoder accepted always has its lost count; defensive only.
      return r.offset;
    }
  }
  return r.offset;
}

/** Writes all of `bytes` at the end of an O_APPEND file (a write may be partial). */
export async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let pos = 0;
  while (pos < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, pos, bytes.length - pos, null);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    pos += bytesWritten;
  }
}

/** The first `size` bytes of `file` (fewer if it is shorter). Rejects with ENOENT if it is gone. */
export async function readPrefix(file: string, size: number): Promise<Uint8Array> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = new Uint8Array(size);
    let pos = 0;
    while (pos < size) {
      const { bytesRead } = await fh.read(buf, pos, size - pos, pos);
      if (bytesRead === 0) break; // shorter than the snapshot said (truncated under us): decode what is there
      pos += bytesRead;
    }
    return buf.subarray(0, pos);
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory, so entries created or renamed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Takes `directory/lock` for this process; a lock of a dead process (or of this pid's previous life) is taken over. */
export async function acquireLock(directory: string, deviceId: string): Promise<string> {
  const file = path.join(directory, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fsp.open(file, 'wx', FILE_MODE);
      try {
        await fh.writeFile(`${process.pid}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // Unreadable (gone meanwhile, or half-written by a crashed opener) parses as NaN: stale.
    const holder = Number.parseInt(await fsp.readFile(file, 'utf8').catch(() => ''), 10);
    // Our own pid here means a previous process with the same pid (containers reuse pid 1):
    // this process's opens are guarded by openDirs before the lock is tried.
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new CaptureError('locked', `capture of ${deviceId} is held by process ${holder}`, { deviceId });
    }
    await fsp.rm(file, { force: true });
  }
  throw new CaptureError('locked', `capture of ${deviceId}: could not take the lock`, { deviceId });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

