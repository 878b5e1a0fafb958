// Sessions: who is attached where; an owner can end any session.

import type { FastifyInstance } from 'fastify';
import { GW_ERR } from '../../errors.js';
import { CloseCode } from '../../protocol/frames.js';
import type { AppDeps } from '../app-deps.js';
import { isAllowed } from '../permissions.js';
import { actorOf } from '../plugins/access.js';

export async function sessionRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get('/api/v1/sessions', { config: { permission: 'device.read', target: 'filtered' } }, async (request) => {
    const p = request.principal!;
    const all = isAllowed(p.assignments, 'session.manage', { kind: 'global' });
    const sessions = deps.devices.all().flatMap((r) =>
      r.broker
        .sessions()
        .filter((s) => all || s.principal === p.name)
        .map((s) => ({ id: s.id, device: r.spec.id, mode: s.mode, principal: s.principal ?? null, startedAt: new Date(s.startedAt).toISOString(), bytesToViewer: s.bytesToViewer, bytesToDevice: s.bytesToDevice })),
    );
    return { sessions };
  });

  app.delete('/api/v1/sessions/:sid', { config: { permission: 'session.manage', target: 'global' } }, async (request, reply) => {
    const sid = (request.params as { sid: string }).sid;
    const runtime = deps.devices.all().find((r) => r.broker.getSession(sid));
    if (!runtime) throw GW_ERR.sessionNotFound(sid);
    deps.audit.append({ actor: actorOf(request), source: request.ip, action: 'session.end', target: runtime.spec.id, outcome: 'ok', details: { sessionId: sid } });
    runtime.broker.closeSession(sid, CloseCode.PolicyViolation, 'ended by an administrator');
    return reply.status(204).send();
  });
}
