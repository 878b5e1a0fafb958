// ConsoleTickets: one-time console tickets (Azure's serialPorts/connect shape), held in memory only.

import { createHash, randomBytes } from 'node:crypto';

/** How long a ticket may wait for its WebSocket (Azure: 30 s). */
export const TICKET_TTL_MS = 30_000;
/** 32 random bytes: the ticket travels in a URL, so it must be unguessable, single-use and short-lived. */
const TICKET_BYTES = 32;
/** Outstanding tickets kept at most; the oldest are dropped first (a flood cannot grow memory). */
const MAX_OUTSTANDING = 10_000;

/** What a ticket grants: one attach of one user (through one token, if so) to one device. */
export interface TicketGrant {
  readonly userId: number;
  /** The API token the ticket was asked for with, if any (revoking it voids the ticket). */
  readonly tokenId?: string | undefined;
  /** The login session the ticket was asked for with, if any (logging out voids the ticket). */
  readonly webSessionId?: string | undefined;
  readonly deviceId: string;
  readonly mode: 'read' | 'write';
  /** The justification given when the ticket was asked for. */
  readonly reason?: string | undefined;
}

export interface IssuedTicket {
  readonly ticket: string;
  readonly expiresAt: number;
}

export type RedeemResult =
  | { readonly ok: true; readonly grant: TicketGrant }
  | { readonly ok: false; readonly why: 'unknown' | 'expired' | 'wrong-device' };

/**
 * Tickets are stored by their SHA-256 (a heap dump shows no usable ticket). Redeeming consumes
 * the ticket whatever the outcome, so a ticket presented for the wrong device cannot be retried.
 */
export class ConsoleTickets {
  private readonly tickets = new Map<string, TicketGrant & { expiresAt: number }>();
  private readonly now: () => number;
  private readonly ttlMs: number;

  constructor(options: { now?: () => number; ttlMs?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.ttlMs = options.ttlMs ?? TICKET_TTL_MS;
  }

  issue(grant: TicketGrant): IssuedTicket {
    this.prune();
    const ticket = randomBytes(TICKET_BYTES).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(hash(ticket), { ...grant, expiresAt });
    if (this.tickets.size > MAX_OUTSTANDING) this.tickets.delete(this.tickets.keys().next().value!);
    return { ticket, expiresAt };
  }

  redeem(ticket: string, deviceId: string): RedeemResult {
    const key = hash(ticket);
    const entry = this.tickets.get(key);
    if (!entry) return { ok: false, why: 'unknown' };
    this.tickets.delete(key);
    if (entry.expiresAt <= this.now()) return { ok: false, why: 'expired' };
    if (entry.deviceId !== deviceId) return { ok: false, why: 'wrong-device' };
    const { expiresAt: _expiresAt, ...grant } = entry;
    return { ok: true, grant };
  }

  /** Voids every outstanding ticket of a user (disabled, logged out of everything). */
  revokeUser(userId: number): void {
    for (const [k, t] of this.tickets) if (t.userId === userId) this.tickets.delete(k);
  }

  get outstanding(): number {
    return this.tickets.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, t] of this.tickets) {
      if (t.expiresAt > now) break; // insertion order is expiry order (constant TTL)
      this.tickets.delete(k);
    }
  }
}

function hash(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}
