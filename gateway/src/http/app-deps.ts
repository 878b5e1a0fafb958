// AppDeps: everything buildApp needs, passed in by the composition root (tests pass their own).

import type { AuditLog } from '../audit/audit-log.js';
import type { GatewayConfig } from '../config.js';
import type { IdentityStore } from '../identity/identity-store.js';
import type { DeviceManager } from '../runtime/device-manager.js';
import type { GatewayMetrics } from './metrics.js';
import type { RoleAssignment } from './permissions.js';

/** Who is calling: a user, acting through a token or not. */
export interface Principal {
  userId: number;
  name: string;
  tokenId?: string;
  assignments: RoleAssignment[];
}

/** Resolves bearer secrets to principals; the identity store implements it. */
export interface Authenticator {
  authenticateToken(secret: string): Principal | undefined;
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
  /** The built browser UI (web/dist), served at `/`; omitted: `/` says it is not built. */
  webRoot?: string;
  /** HTTPS options; omitted in tests that use inject(). */
  https?: { key: Buffer; cert: Buffer; minVersion: 'TLSv1.2' };
  logger?: boolean | object;
}
