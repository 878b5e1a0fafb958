// AppDeps: everything buildApp needs, passed in by the composition root (tests pass their own).

import type { GatewayConfig } from '../config.js';
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

export interface AppDeps {
  config: GatewayConfig;
  devices: DeviceManager;
  auth: Authenticator;
  audit: AuditWriter;
  metrics: GatewayMetrics;
  /** HTTPS options; omitted in tests that use inject(). */
  https?: { key: Buffer; cert: Buffer; minVersion: 'TLSv1.2' };
  logger?: boolean | object;
}
