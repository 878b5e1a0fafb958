// Liveness and Prometheus metrics.

import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';

export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get('/healthz', { config: { permission: 'public' } }, async () => ({ status: 'ok' }));

  // Metrics name devices, so they need a token like the rest (a scraper gets a reader token).
  app.get('/metrics', { config: { permission: 'device.read', target: 'global' } }, async (_request, reply) => {
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
