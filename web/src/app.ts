// The signed-in user and what the shell shows them; the hash router.

import type { Me } from './types.js';

export interface Page {
  /** Heading text; also the document title. */
  readonly title: string;
  /** Called when the page is left (close sockets, stop timers). */
  dispose?(): void;
}

let me: Me | undefined;
export function currentUser(): Me | undefined {
  return me;
}
export function setCurrentUser(m: Me | undefined): void {
  me = m;
}

/** A role granted on `/` (audit and administration are gateway-wide). */
export function hasGlobalRole(role: string): boolean {
  return me?.roles.some((r) => r.role === role && r.scope === '/') ?? false;
}
export const canAudit = () => hasGlobalRole('auditor') || hasGlobalRole('owner');
export const canAdminister = () => hasGlobalRole('owner');

export type Route =
  | { name: 'signin'; next?: string }
  | { name: 'devices' }
  | { name: 'console'; id: string }
  | { name: 'diagnostics'; id: string }
  | { name: 'audit' }
  | { name: 'admin' };

/** `#/devices/ID/console`; device ids may contain "/", so they travel percent-encoded. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [a, b, c] = parts;
  if (a === 'signin') return { name: 'signin' };
  if (a === 'devices' && b && c === 'console') return { name: 'console', id: decodeURIComponent(b) };
  if (a === 'devices' && b && c === 'diagnostics') return { name: 'diagnostics', id: decodeURIComponent(b) };
  if (a === 'audit') return { name: 'audit' };
  if (a === 'admin') return { name: 'admin' };
  return { name: 'devices' };
}

export function href(route: Route): string {
  switch (route.name) {
    case 'signin':
      return '#/signin';
    case 'devices':
      return '#/devices';
    case 'console':
      return `#/devices/${encodeURIComponent(route.id)}/console`;
    case 'diagnostics':
      return `#/devices/${encodeURIComponent(route.id)}/diagnostics`;
    case 'audit':
      return '#/audit';
    case 'admin':
      return '#/admin';
  }
}
