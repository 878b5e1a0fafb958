// Built-in roles and assignment scopes (pure: no Node imports, so the web UI can use it too).

/**
 * The built-in roles, least to most, then `auditor` apart:
 * - `reader`: list devices, see their state;
 * - `console-viewer`: also read-only console attach and boot diagnostics;
 * - `vm-contributor`: also console write, BREAK/SysRq/NMI and power;
 * - `contributor`: also manage devices and groups;
 * - `owner`: also users and role assignments;
 * - `auditor`: read the audit log and recordings (no console access).
 */
export const ROLES = ['reader', 'console-viewer', 'vm-contributor', 'contributor', 'owner', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Where an assignment applies: everything (`/`), one group, or one device. */
export type Scope =
  | { readonly kind: 'root' }
  | { readonly kind: 'group'; readonly name: string }
  | { readonly kind: 'device'; readonly id: string };

/** A group name: lower-case letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A device id as in devices/device-spec.ts, plus `/N` for a scale-set instance (`web-vmss/0`). */
const DEVICE_ID = /^[a-z0-9][a-z0-9._-]{0,63}(\/(0|[1-9][0-9]{0,5}))?$/;

/** Parses `/`, `/groups/NAME` or `/devices/ID`; undefined if `text` is none of these. */
export function parseScope(text: string): Scope | undefined {
  if (text === '/') return { kind: 'root' };
  if (text.startsWith('/groups/')) {
    const name = text.slice('/groups/'.length);
    return GROUP_NAME.test(name) ? { kind: 'group', name } : undefined;
  }
  if (text.startsWith('/devices/')) {
    const id = text.slice('/devices/'.length);
    return DEVICE_ID.test(id) ? { kind: 'device', id } : undefined;
  }
  return undefined;
}

export function isScope(value: unknown): value is string {
  return typeof value === 'string' && parseScope(value) !== undefined;
}

export function formatScope(scope: Scope): string {
  switch (scope.kind) {
    case 'root':
      return '/';
    case 'group':
      return `/groups/${scope.name}`;
    case 'device':
      return `/devices/${scope.id}`;
  }
}

/** One `(principal, role, scope)` grant. */
export interface RoleAssignment {
  readonly userId: number;
  readonly role: Role;
  readonly scope: string;
  readonly createdAt: string;
}
