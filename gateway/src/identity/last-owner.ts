// The last-owner rule: the gateway always keeps at least one enabled owner on `/`.

import { IdentityError, type IdentityStore, type User } from './identity-store.js';

type Reads = Pick<IdentityStore, 'listRoleAssignments' | 'getUser'>;

/** Enabled users holding `owner` on `/`. */
export function rootOwners(identity: Reads): Set<number> {
  const ids = identity
    .listRoleAssignments()
    .filter((a) => a.role === 'owner' && a.scope === '/')
    .map((a) => a.userId);
  return new Set(ids.filter((id) => identity.getUser(id)?.disabled === false));
}

/**
 * Refuses (LastOwner) a change that would leave no enabled owner on `/`: disabling that user or
 * removing their owner grant. Call it inside the change's transaction, so two concurrent changes
 * cannot both pass.
 */
export function assertNotLastOwner(identity: Reads, user: User, change: string): void {
  const owners = rootOwners(identity);
  if (owners.has(user.id) && owners.size === 1) {
    throw new IdentityError(
      'LastOwner',
      `"${user.name}" is the last enabled owner on "/"; ${change} would leave nobody to administer the gateway: make another user owner on "/" first`,
    );
  }
}
