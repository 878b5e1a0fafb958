// Tests for scrypt password hashes: round trip, format, parameter parsing and bounds, needsRehash.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_SCRYPT_PARAMS,
  PasswordHashFormatError,
  ScryptPasswordHasher,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  verifyPasswordHash,
} from './password-hash.js';

/** Small parameters keep these tests fast; the defaults are exercised once. */
const FAST = { N: 1024, r: 8, p: 1 };

describe('password hash', () => {
  test('round trip with the default parameters', async () => {
    const h = await hashPassword('correct horse battery staple');
    assert.match(h, /^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyPasswordHash('correct horse battery staple', h), true);
  });

  test('a wrong password does not verify', async () => {
    const h = await hashPassword('secret-one', FAST);
    assert.equal(await verifyPasswordHash('secret-two', h), false);
    assert.equal(await verifyPasswordHash('', h), false);
    assert.equal(await verifyPasswordHash('secret-one ', h), false);
  });

  test('every hash has a fresh salt', async () => {
    const a = await hashPassword('same password', FAST);
    const b = await hashPassword('same password', FAST);
    assert.notEqual(a, b);
    assert.notDeepEqual(parsePasswordHash(a).salt, parsePasswordHash(b).salt);
  });

  test('parameters are parsed from the hash string', async () => {
    const h = await hashPassword('pw-for-parse', { N: 2048, r: 4, p: 2 });
    const parsed = parsePasswordHash(h);
    assert.equal(parsed.algorithm, 'scrypt');
    assert.deepEqual(parsed.params, { N: 2048, r: 4, p: 2 });
    assert.equal(parsed.salt.length, 16);
    assert.equal(parsed.hash.length, 32);
  });

  test('verify uses the parameters stored in the hash, not the current ones', async () => {
    const old = await hashPassword('legacy-password', FAST);
    const hasher = new ScryptPasswordHasher(DEFAULT_SCRYPT_PARAMS);
    assert.equal(await hasher.verify('legacy-password', old), true);
  });

  test('needsRehash: true for other parameters, false for the current ones', async () => {
    const old = await hashPassword('pw-rehash', FAST);
    assert.equal(needsRehash(old, DEFAULT_SCRYPT_PARAMS), true);
    assert.equal(needsRehash(old, FAST), false);
    assert.equal(new ScryptPasswordHasher(FAST).needsRehash(old), false);
    assert.equal(needsRehash('garbage'), true);
  });

  test('Unicode is normalised (NFKC): composed and decomposed forms match', async () => {
    const h = await hashPassword('caf\u00e9-pass', FAST);
    assert.equal(await verifyPasswordHash('cafe\u0301-pass', h), true);
  });

  for (const [label, bad] of [
    ['wrong field count', 'scrypt$N=1024,r=8,p=1$abc'],
    ['unknown algorithm', 'argon2id$N=1024,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['N not a power of two', 'scrypt$N=1000,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['N too large', 'scrypt$N=1073741824,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['missing p', 'scrypt$N=1024,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['duplicate N', 'scrypt$N=1024,N=2048,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['salt not base64url', 'scrypt$N=1024,r=8,p=1$AA+A/AAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['hash too short', 'scrypt$N=1024,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA'],
  ] as const) {
    test(`malformed hash refused: ${label}`, async () => {
      assert.throws(() => parsePasswordHash(bad), PasswordHashFormatError);
      assert.equal(await verifyPasswordHash('anything', bad), false);
    });
  }
});
