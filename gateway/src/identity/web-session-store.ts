// WebSessionStore: browser login sessions behind the session cookie, with idle and absolute expiry.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { User } from './identity-store.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'ttygate_session';
const SESSION_PREFIX = 'ttgs_';
const SESSION_PATTERN = /^ttgs_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** How stale `last_seen_at` may get; the idle expiry is this much coarser than configured. */
const TOUCH_RESOLUTION_MS = 15_000;

export interface WebSessionLimits {
  /** Ended after this long without a request. */
  readonly idleMs: number;
  /** Ended this long after login, however active. */
  readonly absoluteMs: number;
}

export interface WebSession {
  /** Public id (16 hex): shown in audit rows; the secret is never shown. */
  readonly id: string;
  readonly userId: number;
  readonly createdAt: string;
  /** The absolute expiry. */
  readonly expiresAt: string;
}

export interface CreatedWebSession {
  /** The cookie value, `ttgs_<id>_<43 base64url chars>`; only its SHA-256 is kept. */
  readonly secret: string;
  readonly session: WebSession;
}

interface Row {
  id: string;
  user_id: number;
  secret_hash: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ended_at: string | null;
  source: string | null;
}

/**
 * Sessions live in the gateway database so a restart does not sign everybody out and
 * `logout` ends a session server-side (a copied cookie stops working). A session also ends when
 * its user is disabled or changes their password after it began.
 */
export class WebSessionStore {
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    private readonly limits: WebSessionLimits,
    options: { now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  create(userId: number, source: string | undefined): CreatedWebSession {
    const now = this.now();
    const id = randomBytes(8).toString('hex');
    const secret = `${SESSION_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now.getTime() + this.limits.absoluteMs).toISOString();
    // Old rows are only kept for a day after they stop mattering.
    this.db.prepare('DELETE FROM web_sessions WHERE expires_at < ? OR ended_at < ?').run(dayBefore(now), dayBefore(now));
    this.db
      .prepare('INSERT INTO web_sessions (id, user_id, secret_hash, created_at, last_seen_at, expires_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, userId, sha256(secret).toString('hex'), now.toISOString(), now.toISOString(), expiresAt, source ?? null);
    return { secret, session: { id, userId, createdAt: now.toISOString(), expiresAt } };
  }

  /**
   * The session if `secret` is a live one: known, hash equal, not ended, neither idle nor past
   * its absolute expiry, its user enabled and the password unchanged since login. Touches it.
   */
  verify(secret: string, user: (id: number) => User | undefined): { session: WebSession; user: User } | undefined {
    const m = SESSION_PATTERN.exec(secret);
    if (!m) return undefined;
    const row = this.db.prepare('SELECT * FROM web_sessions WHERE id = ?').get(m[1]!) as Row | undefined;
    if (!row) return undefined;
    const expected = Buffer.from(row.secret_hash, 'hex');
    const actual = sha256(secret);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
    const now = this.now().getTime();
    if (row.ended_at !== null || Date.parse(row.expires_at) <= now) return undefined;
    if (now - Date.parse(row.last_seen_at) >= this.limits.idleMs) return undefined;
    const u = user(row.user_id);
    if (!u || u.disabled || Date.parse(u.passwordChangedAt) > Date.parse(row.created_at)) return undefined;
    if (now - Date.parse(row.last_seen_at) >= TOUCH_RESOLUTION_MS) {
      try {
        this.db.prepare('UPDATE web_sessions SET last_seen_at = ? WHERE id = ?').run(new Date(now).toISOString(), row.id);
      } catch {
        // A busy database must not sign the user out; the idle clock is just a little coarser.
      }
    }
    return { session: toSession(row), user: u };
  }

  /** True while the session has not been ended or expired (for live console sessions). */
  isLive(id: string): boolean {
    const row = this.db.prepare('SELECT * FROM web_sessions WHERE id = ?').get(id) as Row | undefined;
    if (!row || row.ended_at !== null) return false;
    const now = this.now().getTime();
    return Date.parse(row.expires_at) > now && now - Date.parse(row.last_seen_at) < this.limits.idleMs;
  }

  /** Ends one session; false if it had already ended. */
  end(id: string): boolean {
    return this.db.prepare('UPDATE web_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL').run(this.now().toISOString(), id).changes > 0;
  }

  /** Ends every session of a user (password changed, user disabled); returns how many. */
  endAllOf(userId: number, except?: string): number {
    return this.db
      .prepare('UPDATE web_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL AND id != ?')
      .run(this.now().toISOString(), userId, except ?? '').changes;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function dayBefore(now: Date): string {
  return new Date(now.getTime() - 86_400_000).toISOString();
}

function toSession(row: Row): WebSession {
  return { id: row.id, userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at };
}
