// API tokens of the caller: create (the secret is shown once), list, revoke. Each change and its
// audit row commit in one transaction (the identity store's audit hook), so neither exists alone.

import type { FastifyInstance } from 'fastify';
import type { AuditInput } from '../../audit/audit-log.js';
import type { AppDeps } from '../app-deps.js';
import { actorOf } from '../plugins/access.js';

export async function tokenRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const config = { permission: 'token.self', target: 'global' } as const;
  app.post(
    '/api/v1/tokens',
    {
      config,
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 }, expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 } },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { name: string; expiresInDays?: number };
      const p = request.principal!;
      const expiresAt = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : undefined;
      const t = deps.identity.createToken(p.userId, body.name, {
        ...(expiresAt ? { expiresAt } : {}),
        audit: (token) => deps.auditLog.append({ actor: actorOf(request), source: request.ip, action: 'token.create', target: token.id, outcome: 'ok', details: { name: body.name, user: p.name } } as AuditInput),
      });
      return reply.header('cache-control', 'no-store').status(201).send({ id: t.id, name: body.name, secret: t.secret, expiresAt: expiresAt?.toISOString() ?? null });
    },
  );
  app.get('/api/v1/tokens', { config }, async (request) => ({
    tokens: deps.identity.listTokens(request.principal!.userId).map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt ?? null, lastUsedAt: t.lastUsedAt ?? null })),
  }));
  app.delete('/api/v1/tokens/:tokenId', { config }, async (request, reply) => {
    const tokenId = (request.params as { tokenId: string }).tokenId;
    // TokenNotFound (another user's or an unknown id) is an IdentityError: 404, and no audit row.
    deps.identity.revokeToken(request.principal!.userId, tokenId, {
      audit: () => deps.auditLog.append({ actor: actorOf(request), source: request.ip, action: 'token.revoke', target: tokenId, outcome: 'ok' } as AuditInput),
    });
    // Console sessions opened with the token end with it.
    deps.accessChanges.fire({ userId: request.principal!.userId });
    return reply.status(204).send();
  });
}
