// buildApp(deps): the Fastify instance with every plugin and route — no listen() (tests inject).

import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { AppDeps } from './app-deps.js';
import { installErrorHandler } from './error-handler.js';
import { accessPlugin } from './plugins/access.js';
import { consoleRoutes } from './routes/console-ws.js';
import { controlRoutes } from './routes/controls.js';
import { deviceRoutes } from './routes/devices.js';
import { diagnosticsRoutes } from './routes/diagnostics.js';
import { healthRoutes } from './routes/health.js';
import { sessionRoutes } from './routes/sessions.js';
import { tokenRoutes, type TokenService } from './routes/tokens.js';

export async function buildApp(deps: AppDeps & { tokens: TokenService }): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    ...(deps.https ? { https: deps.https } : {}),
    // Device ids of scale-set instances hold a "/", sent as %2F inside one path segment.
    routerOptions: { maxParamLength: 200 },
    bodyLimit: 1024 * 1024,
  });
  installErrorHandler(app);
  await app.register(websocket, {
    options: {
      // Text control frames are small; binary frames are checked against console.maxFrameBytes
      // by the route (so it can answer with an error first), with this as the hard ceiling.
      maxPayload: Math.max(deps.config.console.maxFrameBytes * 4, 64 * 1024),
      perMessageDeflate: false,
    },
  });
  await app.register(accessPlugin, deps);
  await app.register(async (scoped) => {
    await healthRoutes(scoped, deps);
    await deviceRoutes(scoped, deps);
    await controlRoutes(scoped, deps);
    await diagnosticsRoutes(scoped, deps);
    await consoleRoutes(scoped, deps);
    await sessionRoutes(scoped, deps);
    await tokenRoutes(scoped, deps);
  });
  return app;
}
