import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readCpio } from './cpio.js';
import {
  buildCredentialsLayer,
  generatePassword,
  hashPassword,
  layerMatches,
  readCredentialsFile,
  renderGroup,
  renderPasswd,
  renderShadow,
  validatePassword,
  validateUser,
  verifyPassword,
  writeCredentialsFile,
} from './credentials.js';
import { ImageCorruptError, InvalidCredentialsError } from './errors.js';

describe('credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttygate-creds-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('generates 20-character URL-safe passwords', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = generatePassword();
      assert.match(p, /^[A-Za-z0-9_-]{20}$/);
      seen.add(p);
    }
    assert.equal(seen.size, 50);
  });

  it('validates user names and passwords', () => {
    validateUser('operator');
    validateUser('ops_2-a');
    for (const bad of ['', 'Root', 'root', '1abc', 'a b', 'a:b', 'x'.repeat(33), '../x']) {
      assert.throws(() => validateUser(bad), InvalidCredentialsError, bad);
    }
    validatePassword('pässwörd with spaces');
    for (const bad of ['', 'a\nb', 'a\rb', 'a\0b']) assert.throws(() => validatePassword(bad), InvalidCredentialsError);
  });

  it('hashes with openssl passwd -6 (password on stdin) and verifies', async () => {
    const h = await hashPassword('s3cret pass');
    assert.match(h, /^\$6\$[^$]+\$[./0-9A-Za-z]{86}$/);
    assert.notEqual(await hashPassword('s3cret pass'), h, 'fresh salt each time');
    assert.equal(await hashPassword('s3cret pass', { salt: h.split('$')[2]! }), h);
    assert.equal(await verifyPassword('s3cret pass', h), true);
    assert.equal(await verifyPassword('s3cret pas', h), false);
    assert.equal(await verifyPassword("-' $(x)", await hashPassword("-' $(x)")), true);
  });

  it('renders passwd/group/shadow with root locked and the user as uid 1000 with /bin/sh', () => {
    assert.equal(renderPasswd('op'), 'root:x:0:0:root:/root:/bin/sh\nop:x:1000:1000:op:/home/op:/bin/sh\n');
    assert.match(renderGroup('op'), /^op:x:1000:$/m);
    const shadow = renderShadow('op', '$6$abc$def');
    assert.match(shadow, /^root:!:/m);
    assert.match(shadow, /^op:\$6\$abc\$def:/m);
  });

  it('builds a credentials layer the guest can use, and recognises it', async () => {
    const layer = await buildCredentialsLayer({ user: 'op', password: 'pw-1' });
    const members = new Map(readCpio(gunzipSync(layer)).map((m) => [m.path, m]));
    assert.deepEqual([...members.keys()].sort(), ['etc/group', 'etc/passwd', 'etc/shadow', 'home/op']);
    assert.equal(members.get('etc/shadow')!.mode, 0o600);
    assert.equal(members.get('home/op')!.uid, 1000);
    assert.doesNotMatch(members.get('etc/shadow')!.data.toString(), /pw-1/);
    assert.equal(await layerMatches(layer, { user: 'op', password: 'pw-1' }), true);
    assert.equal(await layerMatches(layer, { user: 'op', password: 'pw-2' }), false);
    assert.equal(await layerMatches(layer, { user: 'other', password: 'pw-1' }), false);
    assert.equal(await layerMatches(Buffer.from('garbage'), { user: 'op', password: 'pw-1' }), false);
  });

  it('stores credentials.json with mode 0600 and reads it back', async () => {
    const f = join(dir, 'credentials.json');
    assert.equal(await readCredentialsFile(f), undefined);
    await writeCredentialsFile(f, { user: 'op', password: 'x' });
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(await readCredentialsFile(f), { user: 'op', password: 'x' });
    writeFileSync(f, '{"user": 1}');
    await assert.rejects(readCredentialsFile(f), ImageCorruptError);
  });
});
