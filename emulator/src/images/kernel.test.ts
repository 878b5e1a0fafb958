import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bzImagePayloadOffset,
  extractVmlinux,
  findXzOffsets,
  kernelPackageFromDepends,
  kernelReleaseFromPackage,
  parseAptStanza,
  vmlinuxCandidateOffsets,
  XZ_MAGIC,
} from './kernel.js';
import { KernelPackageError } from './errors.js';

/** A fake bzImage: a boot-protocol header whose payload_offset points at an XZ stream. */
function fakeBzImage(payload: Buffer, opts: { decoyBefore?: boolean; trailing?: Buffer } = {}): { buf: Buffer; offset: number } {
  const setupSects = 3;
  const head = Buffer.alloc((setupSects + 1) * 512);
  head[0x1f1] = setupSects;
  head.write('HdrS', 0x202, 'ascii');
  head.writeUInt16LE(0x20f, 0x206);
  const prefix = Buffer.alloc(100, 0x90);
  if (opts.decoyBefore) XZ_MAGIC.copy(prefix, 10); // a magic that is not a stream
  head.writeUInt32LE(prefix.length, 0x248);
  head.writeUInt32LE(payload.length, 0x24c);
  const buf = Buffer.concat([head, prefix, payload, opts.trailing ?? Buffer.alloc(0)]);
  return { buf, offset: head.length + prefix.length };
}

function xz(data: Buffer): Buffer {
  const r = spawnSync('xz', ['-c', '--format=xz', '-0'], { input: data });
  assert.equal(r.status, 0, r.stderr?.toString());
  return r.stdout;
}

describe('XZ payload discovery', () => {
  it('findXzOffsets finds every magic in order', () => {
    const b = Buffer.concat([Buffer.from('abc'), XZ_MAGIC, Buffer.from('zz'), XZ_MAGIC]);
    assert.deepEqual(findXzOffsets(b), [3, 11]);
    assert.deepEqual(findXzOffsets(Buffer.from('no magic here')), []);
  });

  it('bzImagePayloadOffset reads setup_sects and payload_offset', () => {
    const { buf, offset } = fakeBzImage(Buffer.concat([XZ_MAGIC, Buffer.alloc(10)]));
    assert.equal(bzImagePayloadOffset(buf), offset);
    assert.equal(bzImagePayloadOffset(Buffer.alloc(4096)), undefined); // no HdrS
  });

  it('tries the header offset first, then scanned magics', () => {
    const { buf, offset } = fakeBzImage(Buffer.concat([XZ_MAGIC, Buffer.alloc(10)]), { decoyBefore: true, trailing: XZ_MAGIC });
    const c = vmlinuxCandidateOffsets(buf);
    assert.equal(c[0], offset);
    assert.equal(c.length, 3);
    assert.deepEqual([...c.slice(1)].sort((a, b) => a - b), c.slice(1));
  });
});

describe('extractVmlinux', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttygate-kernel-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(200_000, 7)]);

  it('decompresses the single XZ stream and ignores trailing bytes', async () => {
    const { buf } = fakeBzImage(xz(elf), { trailing: Buffer.from('trailing garbage after the stream') });
    writeFileSync(join(dir, 'bz1'), buf);
    await extractVmlinux(join(dir, 'bz1'), join(dir, 'out1'));
    assert.ok(readFileSync(join(dir, 'out1')).equals(elf));
  });

  it('finds the stream by scanning when the header is not a bzImage header, skipping decoys', async () => {
    const buf = Buffer.concat([Buffer.from('junk'), XZ_MAGIC, Buffer.from('not a stream'), xz(elf), Buffer.from('tail')]);
    writeFileSync(join(dir, 'bz2'), buf);
    await extractVmlinux(join(dir, 'bz2'), join(dir, 'out2'));
    assert.ok(readFileSync(join(dir, 'out2')).equals(elf));
  });

  it('refuses a payload that is not ELF', async () => {
    const { buf } = fakeBzImage(xz(Buffer.from('#!/bin/sh\nnot a kernel\n')));
    writeFileSync(join(dir, 'bz3'), buf);
    await assert.rejects(extractVmlinux(join(dir, 'bz3'), join(dir, 'out3')), KernelPackageError);
  });

  it('refuses a file without any XZ stream', async () => {
    writeFileSync(join(dir, 'bz4'), Buffer.alloc(4096));
    await assert.rejects(extractVmlinux(join(dir, 'bz4'), join(dir, 'out4')), /no XZ-compressed kernel/);
  });

});

describe('apt parsing', () => {
  it('parses the first stanza of apt-cache show', () => {
    const st = parseAptStanza(
      'Package: linux-image-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\nDescription: x\n more\n\nPackage: other\n',
    );
    assert.equal(st.get('Package'), 'linux-image-amd64');
    assert.equal(st.get('Depends'), 'linux-image-6.1.0-56-amd64 (= 6.1.192-2)');
  });

  it('finds the versioned kernel package in Depends', () => {
    assert.equal(kernelPackageFromDepends('linux-image-6.1.0-56-amd64 (= 6.1.192-2)'), 'linux-image-6.1.0-56-amd64');
    assert.equal(kernelPackageFromDepends('foo, linux-image-6.12.9-amd64 | bar'), 'linux-image-6.12.9-amd64');
    assert.equal(kernelPackageFromDepends('initramfs-tools'), undefined);
    assert.equal(kernelReleaseFromPackage('linux-image-6.1.0-56-amd64'), '6.1.0-56-amd64');
  });
});
