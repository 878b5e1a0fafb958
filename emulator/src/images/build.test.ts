import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkStaticX8664Elf, defaultDownloadDir, defaultImagesDir, imageHash, listImages, resolveImage } from './build.js';
import { ImageError, ImageNotBuiltError } from './errors.js';
import { generatedGuestFiles } from './guest.js';

describe('defaultImagesDir', () => {
  it('prefers $TTYGATE_IMAGES, then $XDG_CACHE_HOME, then $HOME/.cache', () => {
    assert.equal(defaultImagesDir({ TTYGATE_IMAGES: '/srv/img', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/srv/img');
    assert.equal(defaultImagesDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/ttygate/images');
    assert.equal(defaultImagesDir({ HOME: '/h' }), '/h/.cache/ttygate/images');
    assert.equal(defaultImagesDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' }), '/h/.cache/ttygate/images');
  });
  it('puts the .deb cache in IMAGES/downloads unless $TTYGATE_DEB_CACHE says otherwise', () => {
    assert.equal(defaultDownloadDir('/i', {}), '/i/downloads');
    assert.equal(defaultDownloadDir('/i', { TTYGATE_DEB_CACHE: '/debs' }), '/debs');
  });
});

describe('checkStaticX8664Elf', () => {
  it('accepts busybox-static and refuses dynamic binaries and non-ELF files', (t) => {
    let busybox: Buffer;
    try {
      busybox = readFileSync('/bin/busybox');
    } catch {
      return t.skip('busybox-static is not installed');
    }
    assert.equal(checkStaticX8664Elf(busybox), undefined);
    assert.equal(checkStaticX8664Elf(readFileSync('/bin/ls')), 'is dynamically linked');
    assert.equal(checkStaticX8664Elf(Buffer.from('#!/bin/sh\n'.padEnd(100))), 'is not an ELF executable');
  });
});

describe('imageHash', () => {
  const base = {
    kernelDebSha256: 'a'.repeat(64),
    busyboxSha256: 'b'.repeat(64),
    applets: ['bin/sh', 'sbin/init'],
    files: generatedGuestFiles({ modules: ['kernel/drivers/acpi/button.ko'] }),
  };
  it('is 16 hex chars and stable', () => {
    const h = imageHash(base);
    assert.match(h, /^[0-9a-f]{16}$/);
    assert.equal(imageHash({ ...base, applets: ['sbin/init', 'bin/sh'] }), h);
  });
  it('changes with the kernel, busybox and generated files', () => {
    const h = imageHash(base);
    assert.notEqual(imageHash({ ...base, kernelDebSha256: 'c'.repeat(64) }), h);
    assert.notEqual(imageHash({ ...base, busyboxSha256: 'c'.repeat(64) }), h);
    assert.notEqual(imageHash({ ...base, files: generatedGuestFiles({ modules: ['x.ko'] }) }), h);
  });
});

describe('resolveImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttygate-resolve-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('says to build the image when none exists', async () => {
    await assert.rejects(resolveImage(dir, 'linux'), (e: unknown) => {
      assert.ok(e instanceof ImageNotBuiltError);
      assert.equal(e.code, 'EMU_ERR_IMAGE_NOT_BUILT');
      assert.match(e.message, /ttygate-emu image build linux/);
      return true;
    });
    assert.deepEqual(await listImages(dir), []);
  });

  it('treats a dangling or incomplete latest as not built', async () => {
    mkdirSync(join(dir, 'linux', '0123456789abcdef'), { recursive: true });
    symlinkSync('0123456789abcdef', join(dir, 'linux', 'latest'));
    await assert.rejects(resolveImage(dir, 'linux'), ImageNotBuiltError);
    await assert.rejects(resolveImage(dir, 'linux:0123'), ImageNotBuiltError);
  });

  it('refuses unknown image names', async () => {
    await assert.rejects(resolveImage(dir, 'windows'), (e: unknown) => e instanceof ImageError && e.code === 'EMU_ERR_IMAGE_UNKNOWN');
  });
});
