// Access control for REST and WebSocket alike: Origin check, bearer authentication, route permissions.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { GW_ERR } from '../../errors.js';
import type { AppDeps, Principal } from '../app-deps.js';
import { isAllowed, type Permission } from '../permissions.js';

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

export const accessPlugin = fp(async (app: FastifyInstance, deps: Pick<AppDeps, 'config' | 'auth' | 'audit' | 'devices'>) => {
  app.decorateRequest('principal', undefined);

  // 1. Origin: browsers send it on WebSocket upgrades and cross-site requests; only our own origin
  //    (and configured ones) may use the API, so a page elsewhere cannot ride a user's credentials.
  app.addHook('onRequest', async (request) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const own = `https://${request.headers.host ?? ''}`;
    if (origin !== own && !deps.config.allowedOrigins.includes(origin)) {
      throw GW_ERR.originRefused(`origin ${origin} may not use this gateway`);
    }
  });

  // 2. Authentication, before any WebSocket upgrade (@fastify/websocket runs hooks first).
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.permission === 'public') return;
    const header = request.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m) throw GW_ERR.unauthenticated('authentication required: send Authorization: Bearer TOKEN (create one with `ttygate tokens create NAME`)');
    const principal = deps.auth.authenticateToken(m[1]!);
    if (!principal) {
      deps.audit.append({ actor: 'anonymous', source: request.ip, action: 'auth.token.failed', outcome: 'denied', reason: 'invalid, expired or revoked token' });
      throw GW_ERR.unauthenticated('invalid, expired or revoked token');
    }
    request.principal = principal;
  });

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
