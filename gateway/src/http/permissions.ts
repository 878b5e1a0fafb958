// Roles, permissions and scopes (pure): one table decides what each built-in role may do, where.

import type { Role, RoleAssignment as StoredAssignment } from '../identity/roles.js';

export type { Role };

/** Every action a route can require. A route that declares none is refused (deny by default). */
export const PERMISSIONS = [
  'device.read', // list devices, see state
  'console.read', // read-only attach
  'diagnostics.read', // serial log, screenshot
  'console.write', // write attach, takeover
  'device.control', // BREAK, SysRq, NMI
  'device.power', // restart, reset, off, on
  'device.manage', // create, update, delete devices
  'console.switch', // turn a device's console on or off (owner)
  'session.manage', // end other people's sessions
  'audit.read',
  'admin', // users, role assignments, settings
  'token.self', // manage one's own API tokens
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READER: Permission[] = ['device.read', 'token.self'];
const VIEWER: Permission[] = [...READER, 'console.read', 'diagnostics.read'];
const VM_CONTRIBUTOR: Permission[] = [...VIEWER, 'console.write', 'device.control', 'device.power'];
const CONTRIBUTOR: Permission[] = [...VM_CONTRIBUTOR, 'device.manage'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  reader: new Set(READER),
  'console-viewer': new Set(VIEWER),
  'vm-contributor': new Set(VM_CONTRIBUTOR),
  contributor: new Set(CONTRIBUTOR),
  owner: new Set(PERMISSIONS),
  auditor: new Set<Permission>(['device.read', 'audit.read', 'token.self']),
};

/** Permissions that only make sense for the whole gateway: granted only by a `/` assignment. */
const GLOBAL_ONLY: ReadonlySet<Permission> = new Set(['audit.read', 'admin', 'session.manage', 'token.self']);

/** What a check needs of a grant: the role, and its scope (`/`, `/groups/NAME` or `/devices/ID`). */
export type RoleAssignment = Pick<StoredAssignment, 'role' | 'scope'>;

/** What a permission is checked against: the gateway as a whole, or one device (with its group). */
export type Target = { kind: 'global' } | { kind: 'device'; id: string; group?: string | undefined };

function scopeCovers(scope: string, target: Target): boolean {
  if (scope === '/') return true;
  if (target.kind !== 'device') return false;
  if (scope === `/devices/${target.id}`) return true;
  return target.group !== undefined && scope === `/groups/${target.group}`;
}

/** True if any assignment grants `permission` on `target`. Everything not granted is denied. */
export function isAllowed(assignments: readonly RoleAssignment[], permission: Permission, target: Target): boolean {
  return assignments.some((a) => {
    if (!ROLE_PERMISSIONS[a.role]?.has(permission)) return false;
    if (GLOBAL_ONLY.has(permission)) return a.scope === '/' || (permission === 'token.self');
    return scopeCovers(a.scope, target);
  });
}

/** The permissions a principal holds on one device (for the UI: what to offer, what to disable). */
export function permissionsOn(assignments: readonly RoleAssignment[], device: { id: string; group?: string | undefined }): Permission[] {
  const target: Target = { kind: 'device', id: device.id, group: device.group };
  return DEVICE_PERMISSIONS.filter((p) => isAllowed(assignments, p, target));
}
const DEVICE_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter((p) => !GLOBAL_ONLY.has(p));

/** True if the principal may see at least one device, or a scope below `/`: for list filtering. */
export function canSeeDevice(assignments: readonly RoleAssignment[], device: { id: string; group?: string | undefined }): boolean {
  return isAllowed(assignments, 'device.read', { kind: 'device', id: device.id, group: device.group });
}
