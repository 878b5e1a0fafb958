// Console session time limits (pure): idle timeout with an advance warning, and a maximum length.

/** The limits in force; 0 turns a limit off. */
export interface SessionLimits {
  /** Seconds without input from the user before the session is closed. */
  readonly idleTimeoutSeconds: number;
  /** Seconds before the idle close at which the user is warned once. */
  readonly idleWarningSeconds: number;
  /** Seconds after attach at which the session is closed regardless of activity. */
  readonly maxSessionSeconds: number;
}

/** What one session's clock says now. */
export interface SessionClock {
  /** Epoch ms of the attach. */
  readonly startedAt: number;
  /** Epoch ms of the user's last input (bytes typed or a control other than ping). */
  readonly lastInputAt: number;
  /** True once the idle warning has been sent for the current idle stretch. */
  readonly warned: boolean;
}

export type SessionVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'warn'; readonly secondsLeft: number }
  | { readonly kind: 'idle-timeout'; readonly idleSeconds: number }
  | { readonly kind: 'max-length'; readonly seconds: number };

/** Decides, at `now`, whether a session should be warned or closed. The maximum length wins ties. */
export function checkSession(clock: SessionClock, limits: SessionLimits, now: number): SessionVerdict {
  if (limits.maxSessionSeconds > 0 && now - clock.startedAt >= limits.maxSessionSeconds * 1000) {
    return { kind: 'max-length', seconds: limits.maxSessionSeconds };
  }
  if (limits.idleTimeoutSeconds <= 0) return { kind: 'ok' };
  const idleMs = now - clock.lastInputAt;
  const limitMs = limits.idleTimeoutSeconds * 1000;
  if (idleMs >= limitMs) return { kind: 'idle-timeout', idleSeconds: Math.floor(idleMs / 1000) };
  const warnMs = Math.min(limits.idleWarningSeconds, limits.idleTimeoutSeconds) * 1000;
  if (!clock.warned && warnMs > 0 && idleMs >= limitMs - warnMs) {
    return { kind: 'warn', secondsLeft: Math.ceil((limitMs - idleMs) / 1000) };
  }
  return { kind: 'ok' };
}
