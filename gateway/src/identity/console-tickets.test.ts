import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleTickets } from './console-tickets.js';

const grant = { userId: 7, deviceId: 'lab-1', mode: 'write' as const, reason: 'INC-42' };

describe('ConsoleTickets', () => {
  it('redeems a ticket once, for its device, with what it grants', () => {
    const t = new ConsoleTickets();
    const { ticket } = t.issue(grant);
    assert.match(ticket, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(t.redeem(ticket, 'lab-1'), { ok: true, grant });
    assert.deepEqual(t.redeem(ticket, 'lab-1'), { ok: false, why: 'unknown' }, 'a second use is refused');
  });

  it('refuses an expired ticket', () => {
    let now = 0;
    const t = new ConsoleTickets({ now: () => now });
    const { ticket, expiresAt } = t.issue(grant);
    assert.equal(expiresAt, 30_000);
    now = 30_000;
    assert.deepEqual(t.redeem(ticket, 'lab-1'), { ok: false, why: 'expired' });
  });

  it('consumes a ticket presented for another device', () => {
    const t = new ConsoleTickets();
    const { ticket } = t.issue(grant);
    assert.deepEqual(t.redeem(ticket, 'lab-2'), { ok: false, why: 'wrong-device' });
    assert.deepEqual(t.redeem(ticket, 'lab-1'), { ok: false, why: 'unknown' });
  });

  it('refuses made-up tickets', () => {
    const t = new ConsoleTickets();
    t.issue(grant);
    assert.deepEqual(t.redeem('x'.repeat(43), 'lab-1'), { ok: false, why: 'unknown' });
  });

  it('drops expired tickets when issuing and voids a user\'s tickets on request', () => {
    let now = 0;
    const t = new ConsoleTickets({ now: () => now });
    t.issue(grant);
    t.issue({ ...grant, userId: 8 });
    now = 31_000;
    const fresh = t.issue(grant);
    assert.equal(t.outstanding, 1);
    t.revokeUser(7);
    assert.deepEqual(t.redeem(fresh.ticket, 'lab-1'), { ok: false, why: 'unknown' });
  });
});
