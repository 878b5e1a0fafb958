import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CPIO_MTIME, readCpio, writeCpio, type CpioEntry } from './cpio.js';

const entries: CpioEntry[] = [
  { path: 'etc/profile', type: 'file', mode: 0o644, data: 'export PS1\n' },
  { path: 'bin', type: 'dir', mode: 0o755 },
  { path: 'etc', type: 'dir', mode: 0o755 },
  { path: 'bin/sh', type: 'symlink', target: '/bin/busybox' },
  { path: '/dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 },
  { path: 'dev', type: 'dir', mode: 0o755 },
  { path: 'home/op', type: 'dir', mode: 0o700, uid: 1000, gid: 1000 },
  { path: 'home', type: 'dir', mode: 0o755 },
  { path: 'init', type: 'file', mode: 0o755, data: Buffer.from([0, 1, 2, 3, 4]) },
];

describe('writeCpio', () => {
  it('is reproducible: same entries in any order give the same bytes', () => {
    const a = writeCpio(entries);
    const b = writeCpio([...entries].reverse());
    assert.ok(a.equals(b));
  });

  it('writes entries sorted by path (parents before children), with fixed times, ending in TRAILER!!!', () => {
    const buf = writeCpio(entries);
    const members = readCpio(buf);
    assert.deepEqual(
      members.map((m) => m.path),
      ['bin', 'bin/sh', 'dev', 'dev/console', 'etc', 'etc/profile', 'home', 'home/op', 'init'],
    );
    assert.ok(members.every((m) => m.mtime === CPIO_MTIME));
    assert.ok(buf.includes(Buffer.from('TRAILER!!!\0')));
    assert.equal(buf.length % 4, 0);
  });

  it('round-trips types, modes, owners, data, symlink targets and device numbers', () => {
    const m = new Map(readCpio(writeCpio(entries)).map((x) => [x.path, x]));
    assert.deepEqual({ ...m.get('init'), data: [...m.get('init')!.data] }, {
      path: 'init', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: CPIO_MTIME, data: [0, 1, 2, 3, 4], rdevMajor: 0, rdevMinor: 0,
    });
    assert.equal(m.get('bin/sh')!.type, 'symlink');
    assert.equal(m.get('bin/sh')!.data.toString(), '/bin/busybox');
    assert.equal(m.get('dev/console')!.type, 'char');
    assert.equal(m.get('dev/console')!.rdevMajor, 5);
    assert.equal(m.get('dev/console')!.rdevMinor, 1);
    assert.equal(m.get('home/op')!.uid, 1000);
    assert.equal(m.get('home/op')!.mode, 0o700);
    assert.equal(m.get('etc/profile')!.data.toString(), 'export PS1\n');
  });

  it('rejects duplicates and unsafe paths', () => {
    assert.throws(() => writeCpio([entries[0]!, entries[0]!]), /duplicate/);
    assert.throws(() => writeCpio([{ path: '../etc/x', type: 'dir', mode: 0o755 }]), /invalid cpio path/);
    assert.throws(() => writeCpio([{ path: 'a//b', type: 'dir', mode: 0o755 }]), /invalid cpio path/);
  });

  it('reads concatenated archives with zero padding between them', () => {
    const two = Buffer.concat([writeCpio(entries.slice(0, 3)), Buffer.alloc(512), writeCpio([{ path: 'etc/shadow', type: 'file', mode: 0o600, data: 'x' }])]);
    assert.deepEqual(readCpio(two).map((m) => m.path), ['bin', 'etc', 'etc/profile', 'etc/shadow']);
  });

  it('is understood by GNU cpio', (t) => {
    const r = spawnSync('cpio', ['-itvn', '--quiet'], { input: writeCpio(entries) });
    if (r.error) return t.skip('cpio is not installed');
    assert.equal(r.status, 0, r.stderr.toString());
    const out = r.stdout.toString();
    assert.match(out, /^lrwxrwxrwx .* bin\/sh -> \/bin\/busybox$/m);
    assert.match(out, /^crw------- .* 5,\s+1 .* dev\/console$/m);
    assert.match(out, /^drwx------ .* 1000\s+1000 .* home\/op$/m);
    assert.match(out, /^-rwxr-xr-x .* 5 .* init$/m);
  });
});
