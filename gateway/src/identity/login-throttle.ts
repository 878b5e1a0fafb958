// LoginThrottle: failed-login limits per user name and per source address (pure: no I/O, injected clock).

/** At most `maxFailures` failed attempts within `windowMs`; the next one waits until the oldest ages out. */
export interface ThrottlePolicy {
  readonly maxFailures: number;
  readonly windowMs: number;
}

export interface LoginThrottleOptions {
  /** Limit per user name (also applied to names that do not exist, so it reveals nothing). */
  readonly perUser: ThrottlePolicy;
  /** Limit per source address, across all names (password spraying). */
  readonly perSource: ThrottlePolicy;
  /** Most keys tracked per kind; the stalest are forgotten first (bounded memory under a flood). */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export type ThrottleVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly limitedBy: 'user' | 'source'; readonly retryAfterMs: number };

const DEFAULT_MAX_KEYS = 100_000;

/** Failure times of one key, oldest first, at most `maxFailures` kept. */
class FailureWindow {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly maxKeys: number,
  ) {}

  /** Milliseconds until `key` may try again; 0 if it may now. */
  waitMs(key: string, now: number): number {
    const times = this.live(key, now);
    if (times.length < this.policy.maxFailures) return 0;
    return times[0]! + this.policy.windowMs - now;
  }

  record(key: string, now: number): void {
    const times = this.live(key, now);
    times.push(now);
    while (times.length > this.policy.maxFailures) times.shift();
    // Re-insert so Map order is least-recently-failed first; evict from the front.
    this.failures.delete(key);
    this.failures.set(key, times);
    if (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }

  private live(key: string, now: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    while (times.length > 0 && times[0]! + this.policy.windowMs <= now) times.shift();
    if (times.length === 0) this.failures.delete(key);
    return times;
  }
}

/**
 * Decides whether a login attempt may be checked at all. Call {@link check} before verifying the
 * password (a limited attempt is refused without spending a hash), {@link fail} after a wrong
 * one, {@link succeed} after a right one (clears that user's count, not the source's).
 * User names compare case-insensitively, as the user table does.
 */
export class LoginThrottle {
  private readonly users: FailureWindow;
  private readonly sources: FailureWindow;
  private readonly now: () => number;

  constructor(options: LoginThrottleOptions) {
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.users = new FailureWindow(options.perUser, maxKeys);
    this.sources = new FailureWindow(options.perSource, maxKeys);
    this.now = options.now ?? Date.now;
  }

  check(user: string, source: string): ThrottleVerdict {
    const now = this.now();
    const bySource = this.sources.waitMs(source, now);
    if (bySource > 0) return { allowed: false, limitedBy: 'source', retryAfterMs: bySource };
    const byUser = this.users.waitMs(user.toLowerCase(), now);
    if (byUser > 0) return { allowed: false, limitedBy: 'user', retryAfterMs: byUser };
    return { allowed: true };
  }

  fail(user: string, source: string): void {
    const now = this.now();
    this.users.record(user.toLowerCase(), now);
    this.sources.record(source, now);
  }

  succeed(user: string): void {
    this.users.clear(user.toLowerCase());
  }

  /** Keys currently tracked (for tests of the memory bound). */
  get trackedKeys(): { users: number; sources: number } {
    return { users: this.users.size, sources: this.sources.size };
  }
}
