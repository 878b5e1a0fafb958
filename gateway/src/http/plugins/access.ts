// Access control for REST and WebSocket alike: Origin check, authentication (token, ticket, cookie), route permissions.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GW_ERR } from '../../errors.js';
import type { AppDeps, Principal } from '../app-deps.js';
import { isAllowed, type Permission } from '../permissions.js';
import { SESSION_COOKIE } from '../../identity/web-session-store.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** How often the use of one token from one address is audited. */
const TOKEN_USE_AUDIT_MS = 10 * 60_000;
const TICKET_REFUSALS = {
  unknown: 'it is unknown or was already used (a ticket works once)',
  expired: 'it has expired (a ticket is valid for 30 s)',
  'wrong-device': 'it was issued for another device',
} as const;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** What the route requires. `public`: no authentication (only /healthz). None: refused. */
    permission?: Permission | 'public';
    /**
     * `device`: checked on the device named by `params.id`; `global`: needs a `/` grant;
     * `filtered`: any authenticated caller, and the handler shows only what they may see.
     */
    target?: 'device' | 'global' | 'filtered';
    /** The route also accepts a one-time console ticket in `?ticket=` (the console WebSocket). */
    ticketAuth?: boolean;
  }
}

/** Device ids may contain `/` (scale-set instances); in URLs it is written `%2F`. */
export function deviceIdParam(request: FastifyRequest): string {
  return (request.params as { id?: string }).id ?? '';
}

/** The audit actor: the user's name (a token acts as its user). */
export function actorOf(request: FastifyRequest): string {
  return request.principal?.name ?? 'anonymous';
}

export const accessPlugin = fp(async (app: FastifyInstance, deps: Pick<AppDeps, 'config' | 'auth' | 'audit' | 'devices' | 'tickets'>) => {
  app.decorateRequest('principal', undefined);

  // 1. Origin: browsers send it on WebSocket upgrades and cross-site requests; only our own origin
  //    (and configured ones) may use the API, so a page elsewhere cannot ride a user's credentials.
  app.addHook('onRequest', async (request) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const own = `https://${request.headers.host ?? ''}`;
    if (origin !== own && !deps.config.allowedOrigins.includes(origin)) {
      deps.audit.append({ actor: 'anonymous', source: request.ip, action: 'access.denied', outcome: 'denied', reason: 'foreign origin', details: { origin: origin.slice(0, 200), route: request.routeOptions.url ?? null, method: request.method } });
      throw GW_ERR.originRefused(`origin ${origin} may not use this gateway`);
    }
  });

  // 2. Authentication, before any WebSocket upgrade (@fastify/websocket runs hooks first):
  //    a bearer token; else, on the console route only, a one-time ticket; else the session cookie.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.permission === 'public') return;
    const header = request.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const principal = m ? deps.auth.authenticateToken(m[1]!) : undefined;
      if (!principal) {
        deps.audit.append({ actor: 'anonymous', source: request.ip, action: 'auth.token.failed', outcome: 'denied', reason: 'invalid, expired or revoked token' });
        throw GW_ERR.unauthenticated('invalid, expired or revoked token');
      }
      auditTokenUse(request, principal);
      request.principal = principal;
      return;
    }
    const ticket = request.routeOptions.config.ticketAuth ? (request.query as { ticket?: unknown }).ticket : undefined;
    if (typeof ticket === 'string') {
      request.principal = redeemTicket(request, ticket);
      return;
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie !== undefined) {
      const principal = deps.auth.authenticateCookie(cookie);
      if (!principal) throw GW_ERR.unauthenticated('your session has ended: sign in again');
      // CSRF: SameSite=Strict already keeps other sites' requests cookie-less; a state change
      // must also say where it comes from (browsers always send Origin on these requests).
      if (!SAFE_METHODS.has(request.method) && request.headers.origin === undefined) {
        throw GW_ERR.originRefused('a request authenticated by the session cookie must carry an Origin header');
      }
      request.principal = principal;
      return;
    }
    throw GW_ERR.unauthenticated('authentication required: sign in (POST /api/v1/auth/login) or send Authorization: Bearer TOKEN (create one with `ttygate tokens create USER`)');
  });

  /** Token use is audited once per token and source address every TOKEN_USE_AUDIT_MS (not per request). */
  const tokenUse = new Map<string, number>();
  function auditTokenUse(request: FastifyRequest, principal: Principal): void {
    const key = `${principal.tokenId}|${request.ip}`;
    const now = Date.now();
    const last = tokenUse.get(key);
    if (last !== undefined && now - last < TOKEN_USE_AUDIT_MS) return;
    deps.audit.append({ actor: principal.name, source: request.ip, action: 'auth.token.used', target: principal.tokenId, outcome: 'ok', details: { tokenId: principal.tokenId } });
    tokenUse.delete(key);
    tokenUse.set(key, now);
    if (tokenUse.size > 10_000) tokenUse.delete(tokenUse.keys().next().value!);
  }

  function redeemTicket(request: FastifyRequest, ticket: string): Principal {
    const id = deviceIdParam(request);
    const result = deps.tickets.redeem(ticket, id);
    const principal = result.ok ? deps.auth.authenticateTicket(result.grant) : undefined;
    if (!principal) {
      const why = result.ok ? 'its user, token or login is no longer valid' : TICKET_REFUSALS[result.why];
      deps.audit.append({ actor: 'anonymous', source: request.ip, action: 'auth.ticket.failed', target: id, outcome: 'denied', reason: why });
      throw GW_ERR.unauthenticated(`console ticket refused: ${why}; ask for a new one with POST /api/v1/devices/{id}/console/connect`);
    }
    return principal;
  }

  // 3. Authorisation: every route declares a permission; one without is refused (deny by default).
  app.addHook('preValidation', async (request) => {
    const { permission, target } = request.routeOptions.config;
    if (permission === 'public') return;
    if (!request.routeOptions.url) return; // 404 handler: nothing to authorise
    const principal = request.principal!;
    if (!permission) throw GW_ERR.forbidden('this route declares no permission, so it is refused');
    if (target === 'filtered') return;
    if (target === 'device') {
      const id = deviceIdParam(request);
      const runtime = deps.devices.get(id);
      const visible = runtime && isAllowed(principal.assignments, 'device.read', { kind: 'device', id, group: runtime.spec.group });
      if (!runtime || !visible) throw GW_ERR.deviceNotFound(id);
      if (!isAllowed(principal.assignments, permission, { kind: 'device', id, group: runtime.spec.group })) {
        deps.audit.append({ actor: actorOf(request), source: request.ip, action: 'access.denied', target: id, outcome: 'denied', reason: `lacks ${permission}`, details: { route: request.routeOptions.url, method: request.method } });
        throw GW_ERR.forbidden(`you may not do this on device "${id}" (needs ${permission})`);
      }
    } else if (!isAllowed(principal.assignments, permission, { kind: 'global' })) {
      deps.audit.append({ actor: actorOf(request), source: request.ip, action: 'access.denied', outcome: 'denied', reason: `lacks ${permission}`, details: { route: request.routeOptions.url, method: request.method } });
      throw GW_ERR.forbidden(`you may not do this (needs ${permission})`);
    }
  });
});
