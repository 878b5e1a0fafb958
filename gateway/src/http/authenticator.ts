// The Authenticator over the identity and login-session stores: credentials to principals.

import type { TicketGrant } from '../identity/console-tickets.js';
import type { IdentityStore, User } from '../identity/identity-store.js';
import type { WebSessionStore } from '../identity/web-session-store.js';
import type { Authenticator, Principal } from './app-deps.js';

type IdentityReads = Pick<IdentityStore, 'verifyToken' | 'getUser' | 'rolesOf' | 'isTokenLive'>;

export function createAuthenticator(identity: IdentityReads, webSessions: WebSessionStore): Authenticator {
  const lookup = (id: number) => identity.getUser(id);
  const principal = (user: User, p: Omit<Principal, 'userId' | 'name' | 'assignments'>): Principal => ({
    userId: user.id,
    name: user.name,
    ...p,
    assignments: identity.rolesOf(user.id),
  });
  /** The user, if it still exists and is enabled and the token or login it used is still live. */
  const stillValid = (userId: number, tokenId: string | undefined, webSessionId: string | undefined): User | undefined => {
    const user = identity.getUser(userId);
    if (!user || user.disabled) return undefined;
    if (tokenId !== undefined && !identity.isTokenLive(tokenId)) return undefined;
    if (webSessionId !== undefined && !webSessions.isLive(webSessionId)) return undefined;
    return user;
  };
  return {
    authenticateToken(secret) {
      const v = identity.verifyToken(secret);
      return v && principal(v.user, { via: 'token', tokenId: v.tokenId });
    },
    authenticateCookie(secret) {
      const v = webSessions.verify(secret, lookup);
      return v && principal(v.user, { via: 'cookie', webSessionId: v.session.id });
    },
    authenticateTicket(grant: TicketGrant) {
      const user = stillValid(grant.userId, grant.tokenId, grant.webSessionId);
      return (
        user &&
        principal(user, {
          via: 'ticket',
          ticket: grant,
          ...(grant.tokenId !== undefined && { tokenId: grant.tokenId }),
          ...(grant.webSessionId !== undefined && { webSessionId: grant.webSessionId }),
        })
      );
    },
    refresh(p) {
      const user = stillValid(p.userId, p.tokenId, p.webSessionId);
      return user && { ...p, name: user.name, assignments: identity.rolesOf(user.id) };
    },
  };
}
