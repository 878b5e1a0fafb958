import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSession } from './session-timeouts.js';

const limits = { idleTimeoutSeconds: 1800, idleWarningSeconds: 60, maxSessionSeconds: 8 * 3600 };
const at = (s: number) => s * 1000;

describe('checkSession', () => {
  it('is ok while the user is active', () => {
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: at(100), warned: false }, limits, at(200)), { kind: 'ok' });
  });

  it('warns once, 60 s before the idle close', () => {
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: 0, warned: false }, limits, at(1739)), { kind: 'ok' });
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: 0, warned: false }, limits, at(1740)), { kind: 'warn', secondsLeft: 60 });
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: 0, warned: true }, limits, at(1741)), { kind: 'ok' });
  });

  it('closes an idle session at the timeout', () => {
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: 0, warned: true }, limits, at(1800)), { kind: 'idle-timeout', idleSeconds: 1800 });
  });

  it('closes at the maximum length even when active, and that wins over idle', () => {
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: at(28_799), warned: false }, limits, at(28_800)), { kind: 'max-length', seconds: 28_800 });
    assert.equal(checkSession({ startedAt: 0, lastInputAt: 0, warned: true }, limits, at(28_800)).kind, 'max-length');
  });

  it('a limit of 0 is off', () => {
    const off = { idleTimeoutSeconds: 0, idleWarningSeconds: 60, maxSessionSeconds: 0 };
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: 0, warned: false }, off, at(1e6)), { kind: 'ok' });
  });

  it('a warning longer than the timeout warns from the start', () => {
    const short = { idleTimeoutSeconds: 5, idleWarningSeconds: 60, maxSessionSeconds: 0 };
    assert.deepEqual(checkSession({ startedAt: 0, lastInputAt: 0, warned: false }, short, 0), { kind: 'warn', secondsLeft: 5 });
  });
});
