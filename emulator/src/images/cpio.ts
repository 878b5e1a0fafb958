/**
 * A reproducible writer (and a small reader) for the "newc" cpio format that the Linux
 * kernel unpacks as an initramfs. Entries are sorted by path, owners and times are fixed by
 * the caller (not taken from the host), so the same entries always give the same bytes.
 */

export type CpioEntry =
  | { path: string; type: 'dir'; mode: number; uid?: number; gid?: number }
  | { path: string; type: 'file'; mode: number; data: Buffer | string; uid?: number; gid?: number }
  | { path: string; type: 'symlink'; target: string; uid?: number; gid?: number }
  | { path: string; type: 'char' | 'block'; mode: number; major: number; minor: number; uid?: number; gid?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFMT = 0o170000;

/** A fixed mtime for every entry (2024-01-01T00:00:00Z): archives don't change with the clock. */
export const CPIO_MTIME = 1704067200;

function normalisePath(p: string): string {
  const n = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (n === '' || n.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new Error(`invalid cpio path: ${JSON.stringify(p)}`);
  }
  return n;
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(fields: {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  nameSize: number;
}): string {
  return (
    '070701' +
    hex8(fields.ino) +
    hex8(fields.mode) +
    hex8(fields.uid) +
    hex8(fields.gid) +
    hex8(fields.nlink) +
    hex8(fields.mtime) +
    hex8(fields.size) +
    hex8(0) + // devmajor
    hex8(0) + // devminor
    hex8(fields.rdevMajor) +
    hex8(fields.rdevMinor) +
    hex8(fields.nameSize) +
    hex8(0) // check
  );
}

function record(name: string, h: Omit<Parameters<typeof header>[0], 'nameSize' | 'size'>, data: Buffer): Buffer {
  const nameBuf = Buffer.from(name + '\0', 'utf8');
  const head = Buffer.from(header({ ...h, nameSize: nameBuf.length, size: data.length }), 'ascii');
  return Buffer.concat([
    head,
    nameBuf,
    Buffer.alloc(pad4(head.length + nameBuf.length)),
    data,
    Buffer.alloc(pad4(data.length)),
  ]);
}

/** Serialises entries as one newc archive (sorted by path, ending with TRAILER!!!). */
export function writeCpio(entries: readonly CpioEntry[], opts: { mtime?: number } = {}): Buffer {
  const mtime = opts.mtime ?? CPIO_MTIME;
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const p = normalisePath(e.path);
    if (byPath.has(p)) throw new Error(`duplicate cpio path: ${p}`);
    byPath.set(p, e);
  }
  const paths = [...byPath.keys()].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const parts: Buffer[] = [];
  let ino = 1;
  for (const p of paths) {
    const e = byPath.get(p)!;
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const base = { ino: ino++, uid, gid, mtime, rdevMajor: 0, rdevMinor: 0 };
    switch (e.type) {
      case 'dir':
        parts.push(record(p, { ...base, mode: S_IFDIR | (e.mode & 0o7777), nlink: 2 }, Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(
          record(
            p,
            { ...base, mode: S_IFREG | (e.mode & 0o7777), nlink: 1 },
            typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data,
          ),
        );
        break;
      case 'symlink':
        parts.push(record(p, { ...base, mode: S_IFLNK | 0o777, nlink: 1 }, Buffer.from(e.target, 'utf8')));
        break;
      case 'char':
      case 'block':
        parts.push(
          record(
            p,
            {
              ...base,
              mode: (e.type === 'char' ? S_IFCHR : S_IFBLK) | (e.mode & 0o7777),
              nlink: 1,
              rdevMajor: e.major,
              rdevMinor: e.minor,
            },
            Buffer.alloc(0),
          ),
        );
        break;
    }
  }
  parts.push(record('TRAILER!!!', { ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, rdevMajor: 0, rdevMinor: 0 }, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

export interface CpioMember {
  path: string;
  type: 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'other';
  mode: number; // permission bits
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer; // file contents, or a symlink's target
  rdevMajor: number;
  rdevMinor: number;
}

/** Parses one or more concatenated uncompressed newc archives (zero padding between them is skipped). */
export function readCpio(buf: Buffer): CpioMember[] {
  const out: CpioMember[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) {
      off++;
      continue;
    }
    if (off + 110 > buf.length) throw new Error(`truncated cpio header at ${off}`);
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`bad cpio magic at ${off}: ${JSON.stringify(magic)}`);
    const start = off;
    const field = (i: number): number => parseInt(buf.toString('ascii', start + 6 + i * 8, start + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + 110;
    const name = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    const data = buf.subarray(dataStart, dataStart + size);
    if (data.length !== size) throw new Error(`truncated cpio data for ${name}`);
    off = dataStart + size + pad4(size);
    if (name === 'TRAILER!!!') continue;
    const fmt = mode & S_IFMT;
    const type =
      fmt === S_IFDIR ? 'dir' : fmt === S_IFREG ? 'file' : fmt === S_IFLNK ? 'symlink' : fmt === S_IFCHR ? 'char' : fmt === S_IFBLK ? 'block' : 'other';
    out.push({
      path: name,
      type,
      mode: mode & 0o7777,
      uid: field(2),
      gid: field(3),
      mtime: field(5),
      data: Buffer.from(data),
      rdevMajor: field(9),
      rdevMinor: field(10),
    });
  }
  return out;
}
