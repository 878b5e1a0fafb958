// AppDeps: everything buildApp needs, passed in by the composition root (tests pass their own).

import type { AuditLog } from '../audit/audit-log.js';
import type { GatewayConfig } from '../config.js';
import type { Emitter } from '../core/event.js';
import type { ConsoleTickets, TicketGrant } from '../identity/console-tickets.js';
import type { IdentityStore } from '../identity/identity-store.js';
import type { LoginThrottle } from '../identity/login-throttle.js';
import type { WebSessionStore } from '../identity/web-session-store.js';
import type { SettingsStore } from '../settings/settings-store.js';
import type { DeviceManager } from '../runtime/device-manager.js';
import type { GatewayMetrics } from './metrics.js';
import type { RoleAssignment } from './permissions.js';

/** Who is calling: a user, through an API token, a login session (cookie) or a console ticket. */
export interface Principal {
  userId: number;
  name: string;
  /** How the caller authenticated. */
  via: 'token' | 'cookie' | 'ticket';
  /** The API token used (directly, or to ask for the ticket). */
  tokenId?: string;
  /** The login session used (directly, or to ask for the ticket). */
  webSessionId?: string;
  /** What the redeemed console ticket grants (mode, justification). */
  ticket?: TicketGrant;
  assignments: RoleAssignment[];
}

/** Resolves credentials to principals, from the current state of users, tokens and sessions. */
export interface Authenticator {
  authenticateToken(secret: string): Principal | undefined;
  authenticateCookie(secret: string): Principal | undefined;
  /** The principal a redeemed ticket stands for, if its user (and token or login) is still valid. */
  authenticateTicket(grant: TicketGrant): Principal | undefined;
  /** `p` re-read now (roles may have changed); undefined if its user, token or login is no longer valid. */
  refresh(p: Principal): Principal | undefined;
}

/** Something changed who may do what (a role, a user, a token, a login): live sessions re-check. */
export interface AccessChange {
  /** The user concerned; undefined: everybody. */
  readonly userId?: number | undefined;
}

/** One audit row to write; `append` throws when it cannot be written (callers then refuse the action). */
export interface AuditEntry {
  actor: string;
  source?: string | undefined;
  action: string;
  target?: string | undefined;
  outcome: 'ok' | 'denied' | 'failed';
  reason?: string | undefined;
  details?: Record<string, unknown> | undefined;
}
export interface AuditWriter {
  append(entry: AuditEntry): void;
}

/**
 * What the administration routes need of the identity store: users and role assignments. Each
 * change takes an audit hook that runs inside the change's transaction (see IdentityStore).
 */
export type IdentityAdmin = Pick<
  IdentityStore,
  | 'transaction'
  | 'addUser'
  | 'verifyPassword'
  | 'setPassword'
  | 'disableUser'
  | 'enableUser'
  | 'getUser'
  | 'findUserByName'
  | 'listUsers'
  | 'assignRole'
  | 'revokeRole'
  | 'rolesOf'
  | 'listRoleAssignments'
  | 'createToken'
  | 'listTokens'
  | 'revokeToken'
>;

export interface AppDeps {
  config: GatewayConfig;
  devices: DeviceManager;
  auth: Authenticator;
  audit: AuditWriter;
  metrics: GatewayMetrics;
  /** Users and role assignments, for the administration routes. */
  identity: IdentityAdmin;
  /**
   * The audit log itself: query and verify for the audit routes, and appends made inside an
   * identity change's transaction (the audit hook). It must use the same database connection
   * as `identity`, so that change and audit row commit together.
   */
  auditLog: AuditLog;
  /** Browser login sessions behind the session cookie. */
  webSessions: WebSessionStore;
  /** One-time console tickets. */
  tickets: ConsoleTickets;
  loginThrottle: LoginThrottle;
  /** The runtime settings (switches, justification, session limits), persisted. */
  settings: SettingsStore;
  /** Fired when roles, users, tokens or logins change; live console sessions re-check their principal. */
  accessChanges: Emitter<AccessChange>;
  /** The built browser UI (web/dist), served at `/`; omitted: `/` says it is not built. */
  webRoot?: string;
  /** HTTPS options; omitted in tests that use inject(). */
  https?: { key: Buffer; cert: Buffer; minVersion: 'TLSv1.2' };
  logger?: boolean | object;
}
