import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyPassword } from './credentials.js';
import { buildNoCloudSeed, renderMetaData, renderUserData } from './nocloud.js';

const HASH = '$6$salt$' + 'a'.repeat(86);

describe('cloud-init NoCloud', () => {
  it('user-data creates the password user, unlocks it, keeps SSH password auth off', () => {
    const ud = renderUserData({ user: 'operator', passwordHash: HASH, hostname: 'vm-1' });
    assert.ok(ud.startsWith('#cloud-config\n'));
    assert.match(ud, /^hostname: "vm-1"$/m);
    assert.match(ud, /^users:\n  - name: "operator"$/m);
    assert.match(ud, /^    lock_passwd: false$/m);
    assert.ok(ud.includes(`    passwd: "${HASH}"\n`));
    assert.match(ud, /^ssh_pwauth: false$/m);
    assert.match(ud, /^disable_root: true$/m);
    assert.match(ud, /^chpasswd:\n  expire: false$/m);
    assert.doesNotMatch(renderUserData({ user: 'operator', passwordHash: HASH }), /hostname/);
  });

  it('refuses plain passwords, bad users and bad host names', () => {
    assert.throws(() => renderUserData({ user: 'operator', passwordHash: 'plaintext' }), /crypt/);
    assert.throws(() => renderUserData({ user: 'Bad User', passwordHash: HASH }));
    assert.throws(() => renderUserData({ user: 'operator', passwordHash: HASH, hostname: 'a_b' }));
    assert.throws(() => renderMetaData({ instanceId: 'i-1', hostname: '-x' }));
  });

  it('meta-data names the instance', () => {
    assert.equal(renderMetaData({ instanceId: 'i-123', hostname: 'vm-1' }), 'instance-id: "i-123"\nlocal-hostname: "vm-1"\n');
  });

  describe('buildNoCloudSeed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttygate-seed-test-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('writes a cidata ISO (Joliet + Rock Ridge) holding user-data and meta-data', async () => {
      const iso = await buildNoCloudSeed({ dir, user: 'operator', password: 'pw 1', hostname: 'vm-1', instanceId: 'vm-1-1' });
      assert.equal(iso, join(dir, 'seed.iso'));
      assert.equal(statSync(iso).mode & 0o777, 0o600);
      const buf = readFileSync(iso);
      // ISO 9660 primary volume descriptor at sector 16: type 1, "CD001", volume id at +40.
      const pvd = buf.subarray(16 * 2048, 17 * 2048);
      assert.equal(pvd[0], 1);
      assert.equal(pvd.toString('ascii', 1, 6), 'CD001');
      assert.equal(pvd.toString('ascii', 40, 72).trim(), 'cidata');
      assert.ok(buf.includes(Buffer.from('#cloud-config')));
      assert.ok(buf.includes(Buffer.from('instance-id: "vm-1-1"')));
      // a Joliet supplementary descriptor (type 2) follows
      assert.equal(buf[17 * 2048], 2);
      const ud = readFileSync(join(dir, 'nocloud', 'user-data'), 'utf8');
      const hash = /passwd: "([^"]+)"/.exec(ud)?.[1];
      assert.ok(hash && (await verifyPassword('pw 1', hash)));
      assert.doesNotMatch(ud, /pw 1/);
    });
  });
});
