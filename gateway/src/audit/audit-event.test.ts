// Tests for the audit action table: stable, unique, well-formed codes and the outcome suffix.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AUDIT_ACTIONS, AUDIT_EVENTS, actionOfCode, auditCode, isAuditAction } from './audit-event.js';

describe('audit events', () => {
  test('codes are TG + 4 digits + I/W/E, matching the severity', () => {
    for (const action of AUDIT_ACTIONS) {
      const { code, severity } = AUDIT_EVENTS[action];
      assert.match(code, /^TG\d{4}[IWE]$/, action);
      assert.equal(code.at(-1), { info: 'I', warning: 'W', error: 'E' }[severity], action);
    }
  });

  test('code numbers are unique', () => {
    const numbers = AUDIT_ACTIONS.map((a) => AUDIT_EVENTS[a].code.slice(0, -1));
    assert.equal(new Set(numbers).size, numbers.length);
  });

  test('action names are dotted lower-case nouns', () => {
    for (const action of AUDIT_ACTIONS) assert.match(action, /^[a-z]+(\.[a-z]+)+$/, action);
  });

  test('the released codes do not change', () => {
    // Dashboards and SIEM rules key on these: this list only ever grows.
    assert.deepEqual(
      Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, AUDIT_EVENTS[a].code])),
      {
        'console.attach': 'TG1001I',
        'console.detach': 'TG1002I',
        'console.takeover': 'TG1003I',
        'console.denied': 'TG1004W',
        'session.end': 'TG1005I',
        'console.ticket': 'TG1006I',
        'console.timeout': 'TG1007I',
        'console.revoked': 'TG1008W',
        'device.break': 'TG2001I',
        'device.sysrq': 'TG2002I',
        'device.nmi': 'TG2003I',
        'device.power.restart': 'TG2101I',
        'device.power.reset': 'TG2102I',
        'device.power.off': 'TG2103I',
        'device.power.on': 'TG2104I',
        'device.create': 'TG3001I',
        'device.update': 'TG3002I',
        'device.delete': 'TG3003I',
        'device.disconnected': 'TG3101W',
        'device.reconnected': 'TG3102I',
        'device.open.failed': 'TG3103W',
        'device.rebooting': 'TG3104I',
        'device.off': 'TG3105I',
        'device.on': 'TG3106I',
        'capture.gap': 'TG4001W',
        'auth.login': 'TG5001I',
        'auth.login.failed': 'TG5002W',
        'auth.token.used': 'TG5003I',
        'auth.logout': 'TG5004I',
        'auth.token.failed': 'TG5005W',
        'access.denied': 'TG5006W',
        'auth.ticket.failed': 'TG5007W',
        'token.create': 'TG6001I',
        'token.revoke': 'TG6002I',
        'user.create': 'TG6101I',
        'user.update': 'TG6102I',
        'role.assign': 'TG6201I',
        'role.revoke': 'TG6202I',
        'settings.update': 'TG7001I',
      },
    );
  });

  test('auditCode: denied or failed attempts end in W, warnings keep their code', () => {
    assert.equal(auditCode('device.power.reset'), 'TG2102I');
    assert.equal(auditCode('device.power.reset', 'ok'), 'TG2102I');
    assert.equal(auditCode('device.power.reset', 'failed'), 'TG2102W');
    assert.equal(auditCode('console.attach', 'denied'), 'TG1001W');
    assert.equal(auditCode('console.denied', 'denied'), 'TG1004W');
  });

  test('actionOfCode maps either suffix back', () => {
    assert.equal(actionOfCode('TG2102I'), 'device.power.reset');
    assert.equal(actionOfCode('TG2102W'), 'device.power.reset');
    assert.equal(actionOfCode('TG9999I'), undefined);
  });

  test('isAuditAction', () => {
    assert.equal(isAuditAction('console.attach'), true);
    assert.equal(isAuditAction('console'), false);
    assert.equal(isAuditAction('toString'), false);
    assert.equal(isAuditAction(7), false);
  });
});
