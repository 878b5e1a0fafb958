// Tests for role and scope validation.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ROLES, formatScope, isRole, isScope, parseScope } from './roles.js';

describe('roles and scopes', () => {
  test('the six built-in roles', () => {
    assert.deepEqual([...ROLES], ['reader', 'console-viewer', 'vm-contributor', 'contributor', 'owner', 'auditor']);
    for (const r of ROLES) assert.equal(isRole(r), true);
    for (const r of ['admin', 'Reader', '', 'owner ', undefined, 3]) assert.equal(isRole(r), false, String(r));
  });

  test('valid scopes parse and format back', () => {
    for (const [text, scope] of [
      ['/', { kind: 'root' }],
      ['/groups/lab', { kind: 'group', name: 'lab' }],
      ['/groups/web-vmss', { kind: 'group', name: 'web-vmss' }],
      ['/devices/lab-board-1', { kind: 'device', id: 'lab-board-1' }],
      ['/devices/web-vmss/0', { kind: 'device', id: 'web-vmss/0' }],
      ['/devices/web-vmss/12', { kind: 'device', id: 'web-vmss/12' }],
    ] as const) {
      assert.deepEqual(parseScope(text), scope, text);
      assert.equal(formatScope(parseScope(text)!), text);
      assert.equal(isScope(text), true);
    }
  });

  test('invalid scopes are undefined', () => {
    for (const text of [
      '',
      '//',
      '/groups',
      '/groups/',
      '/groups/a/b',
      '/groups/Lab',
      '/devices/',
      '/devices/web-vmss/',
      '/devices/web-vmss/01',
      '/devices/web-vmss/x',
      '/devices/../etc',
      '/devices/a b',
      'devices/x',
      '/device/x',
    ]) {
      assert.equal(parseScope(text), undefined, text);
      assert.equal(isScope(text), false, text);
    }
  });
});
