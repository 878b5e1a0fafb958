// The first start creates the owner "admin" with its grant and audit row in one transaction.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../src/db/database.js';
import { startTestGateway, tempDir } from './support/harness.js';

describe('first start', () => {
  const tmp = tempDir('tg-first-');
  after(() => tmp.remove());

  it('if the audit row cannot be written, no half-made owner is left, and the next start makes one', async () => {
    const db = openDatabase(join(tmp.dir, 'ttygate.db'));
    db.exec(`CREATE TRIGGER test_block_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    db.close();
    await assert.rejects(startTestGateway('devices: []', { dataDir: tmp.dir, keepData: true }), /disk on fire/);
    const check = openDatabase(join(tmp.dir, 'ttygate.db'));
    assert.equal(check.prepare('SELECT COUNT(*) FROM users').pluck().get(), 0, 'no user without its grant and audit row');
    assert.equal(check.prepare('SELECT COUNT(*) FROM role_assignments').pluck().get(), 0);
    check.exec('DROP TRIGGER test_block_audit');
    check.close();

    const gw = await startTestGateway('devices: []', { dataDir: tmp.dir, keepData: true });
    try {
      assert.ok(gw.adminPassword, 'the owner is made now');
      const admin = gw.identity.findUserByName('admin')!;
      assert.deepEqual(gw.identity.rolesOf(admin.id).map((a) => [a.role, a.scope]), [['owner', '/']]);
      assert.ok(await gw.identity.verifyPassword('admin', gw.adminPassword));
      const rows = gw.audit.query({ action: 'user.create', limit: 10 }).rows;
      assert.deepEqual(rows.map((r) => [r.actor, r.target, r.details.firstStart]), [['system', 'admin', true]]);
    } finally {
      await gw.close();
    }
    const second = await startTestGateway('devices: []', { dataDir: tmp.dir, keepData: true });
    assert.equal(second.adminPassword, undefined, 'only the first start makes an owner');
    await second.close();
  });
});
