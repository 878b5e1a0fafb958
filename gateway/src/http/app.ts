// buildApp(deps): the Fastify instance with every plugin and route — no listen() (tests inject).

import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import type { AppDeps } from './app-deps.js';
import { installErrorHandler } from './error-handler.js';
import { installSecurityHeaders } from './security-headers.js';
import { accessPlugin } from './plugins/access.js';
import type { Permission } from './permissions.js';
import { adminRoutes } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { consoleRoutes } from './routes/console-ws.js';
import { controlRoutes } from './routes/controls.js';
import { deviceRoutes } from './routes/devices.js';
import { diagnosticsRoutes } from './routes/diagnostics.js';
import { healthRoutes } from './routes/health.js';
import { sessionRoutes } from './routes/sessions.js';
import { tokenRoutes } from './routes/tokens.js';
import { webUiRoutes } from './routes/web-ui.js';

/** One registered route and the access rule it declares (for the role × endpoint matrix test). */
export interface RouteTableEntry {
  readonly method: string;
  readonly url: string;
  readonly permission: Permission | 'public' | undefined;
  readonly target: 'device' | 'global' | 'filtered' | undefined;
  readonly websocket: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered (collected by an onRoute hook), in registration order. */
    readonly routeTable: readonly RouteTableEntry[];
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    ...(deps.https ? { https: deps.https } : {}),
    // Device ids of scale-set instances hold a "/", sent as %2F inside one path segment.
    routerOptions: { maxParamLength: 200 },
    bodyLimit: 1024 * 1024,
    // Refuse unknown fields (schemas say additionalProperties: false) instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false } },
  });
  installErrorHandler(app);
  installSecurityHeaders(app);
  const routeTable: RouteTableEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routeTable.push({ method, url: route.url, permission: route.config?.permission, target: route.config?.target, websocket: route.websocket === true });
    }
  });
  await app.register(websocket, {
    options: {
      // Text control frames are small; binary frames are checked against console.maxFrameBytes
      // by the route (so it can answer with an error first), with this as the hard ceiling.
      maxPayload: Math.max(deps.config.console.maxFrameBytes * 4, 64 * 1024),
      perMessageDeflate: false,
    },
  });
  await app.register(cookie);
  await app.register(accessPlugin, deps);
  await app.register(async (scoped) => {
    await healthRoutes(scoped, deps);
    await authRoutes(scoped, deps);
    await deviceRoutes(scoped, deps);
    await controlRoutes(scoped, deps);
    await diagnosticsRoutes(scoped, deps);
    await consoleRoutes(scoped, deps);
    await sessionRoutes(scoped, deps);
    await tokenRoutes(scoped, deps);
    await adminRoutes(scoped, deps);
    await auditRoutes(scoped, deps);
    await webUiRoutes(scoped, { root: deps.webRoot });
  });
  return app;
}
