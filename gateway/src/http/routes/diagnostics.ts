// Boot diagnostics: the captured serial log (by offset or tail) and the VGA screenshot.

import type { FastifyInstance } from 'fastify';
import { GW_ERR } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { deviceIdParam } from '../plugins/access.js';

export async function diagnosticsRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const config = { permission: 'diagnostics.read', target: 'device' } as const;
  const offset = { type: 'integer', minimum: 0 } as const;

  app.get(
    '/api/v1/devices/:id/boot-diagnostics/serial-log',
    { config, schema: { querystring: { type: 'object', additionalProperties: false, properties: { since: offset, tail: offset, maxBytes: { type: 'integer', minimum: 1, maximum: 16777216 } } } } },
    async (request, reply) => {
      const runtime = deps.devices.get(deviceIdParam(request))!;
      if (runtime.spec.bootDiagnostics?.enabled === false) throw GW_ERR.bootDiagnosticsDisabled(runtime.spec.id);
      const q = request.query as { since?: number; tail?: number; maxBytes?: number };
      if (q.since !== undefined && q.tail !== undefined) throw GW_ERR.badRequest('use either since or tail, not both');
      const log = await runtime.capture.readText({ ...(q.since !== undefined ? { since: q.since } : {}), ...(q.tail !== undefined ? { tail: q.tail } : {}), ...(q.maxBytes ? { maxBytes: q.maxBytes } : {}) });
      return reply
        .header('content-type', 'text/plain; charset=utf-8')
        .header('x-log-start-offset', String(log.startOffset))
        .header('x-log-end-offset', String(log.endOffset))
        .send(log.text);
    },
  );

  app.get('/api/v1/devices/:id/boot-diagnostics/screenshot', { config }, async (request, reply) => {
    const runtime = deps.devices.get(deviceIdParam(request))!;
    if (runtime.spec.bootDiagnostics?.enabled === false) throw GW_ERR.bootDiagnosticsDisabled(runtime.spec.id);
    const png = await runtime.controls().screenshot();
    return reply.header('content-type', 'image/png').header('cache-control', 'no-store').send(Buffer.from(png));
  });
}
