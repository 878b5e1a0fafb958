// Boot diagnostics: the captured serial log (by offset or tail) and the VGA screenshot.
// A device whose platform keeps its own serial log (Azure) serves that one by default; `source=capture` gives the gateway's.

import type { FastifyInstance } from 'fastify';
import type { DeviceControls } from '../../devices/transport.js';
import { GW_ERR } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { deviceIdParam } from '../plugins/access.js';

export async function diagnosticsRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const config = { permission: 'diagnostics.read', target: 'device' } as const;
  const offset = { type: 'integer', minimum: 0 } as const;

  app.get(
    '/api/v1/devices/:id/boot-diagnostics/serial-log',
    {
      config,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { since: offset, tail: offset, maxBytes: { type: 'integer', minimum: 1, maximum: 16777216 }, source: { enum: ['device', 'capture'] } },
        },
      },
    },
    async (request, reply) => {
      const runtime = deps.devices.get(deviceIdParam(request))!;
      if (runtime.spec.bootDiagnostics?.enabled === false) throw GW_ERR.bootDiagnosticsDisabled(runtime.spec.id);
      const q = request.query as { since?: number; tail?: number; maxBytes?: number; source?: 'device' | 'capture' };
      if (q.since !== undefined && q.tail !== undefined) throw GW_ERR.badRequest('use either since or tail, not both');
      let controls: DeviceControls | undefined;
      if (q.source !== 'capture') {
        try {
          controls = runtime.controls();
        } catch (err) {
          // A line that is down has no controls: the capture still serves, unless the device's own log was asked for.
          if (q.source === 'device') throw err;
        }
      }
      if (controls?.serialLog) {
        // The platform's own log (Azure boot diagnostics): offsets are byte positions in that log.
        const all = await controls.serialLog();
        const start = q.since !== undefined ? Math.min(q.since, all.length) : q.tail !== undefined ? Math.max(0, all.length - q.tail) : 0;
        const end = q.maxBytes !== undefined ? Math.min(all.length, start + q.maxBytes) : all.length;
        return reply
          .header('content-type', 'text/plain; charset=utf-8')
          .header('x-log-source', 'device')
          .header('x-log-start-offset', String(start))
          .header('x-log-end-offset', String(end))
          .send(Buffer.from(all.subarray(start, end)).toString('utf8'));
      }
      if (q.source === 'device') throw GW_ERR.notSupported(`device "${runtime.spec.id}" keeps no serial log of its own: use source=capture (the default)`);
      const log = await runtime.capture.readText({ ...(q.since !== undefined ? { since: q.since } : {}), ...(q.tail !== undefined ? { tail: q.tail } : {}), ...(q.maxBytes ? { maxBytes: q.maxBytes } : {}) });
      return reply
        .header('content-type', 'text/plain; charset=utf-8')
        .header('x-log-source', 'capture')
        .header('x-log-start-offset', String(log.startOffset))
        .header('x-log-end-offset', String(log.endOffset))
        .send(log.text);
    },
  );

  app.get('/api/v1/devices/:id/boot-diagnostics/screenshot', { config }, async (request, reply) => {
    const runtime = deps.devices.get(deviceIdParam(request))!;
    if (runtime.spec.bootDiagnostics?.enabled === false) throw GW_ERR.bootDiagnosticsDisabled(runtime.spec.id);
    const png = await runtime.controls().screenshot();
    // QEMU gives PNG; Azure's boot-diagnostics screenshot may be BMP: say what the bytes are.
    const type = png[0] === 0x89 && png[1] === 0x50 ? 'image/png' : png[0] === 0x42 && png[1] === 0x4d ? 'image/bmp' : 'application/octet-stream';
    return reply.header('content-type', type).header('cache-control', 'no-store').send(Buffer.from(png));
  });
}
