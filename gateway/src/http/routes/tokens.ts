// API tokens of the caller: create (the secret is shown once), list, revoke.

import type { FastifyInstance } from 'fastify';
import { GW_ERR } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { actorOf } from '../plugins/access.js';

/** What the token routes need from the identity store. */
export interface TokenService {
  createToken(userId: number, name: string, opts?: { expiresAt?: Date }): { id: string; secret: string };
  listTokens(userId: number): Array<{ id: string; name: string; createdAt: string; expiresAt: string | null; lastUsedAt?: string | null }>;
  revokeToken(userId: number, tokenId: string): boolean;
}

export async function tokenRoutes(app: FastifyInstance, deps: AppDeps & { tokens: TokenService }): Promise<void> {
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
          properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 } },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { name: string; expiresInDays?: number };
      const p = request.principal!;
      deps.audit.append({ actor: actorOf(request), source: request.ip, action: 'token.create', target: p.name, outcome: 'ok', details: { name: body.name } });
      const expiresAt = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : undefined;
      const t = deps.tokens.createToken(p.userId, body.name, expiresAt ? { expiresAt } : {});
      return reply.status(201).send({ id: t.id, name: body.name, secret: t.secret, expiresAt: expiresAt?.toISOString() ?? null });
    },
  );
  app.get('/api/v1/tokens', { config }, async (request) => ({ tokens: deps.tokens.listTokens(request.principal!.userId) }));
  app.delete('/api/v1/tokens/:tokenId', { config }, async (request, reply) => {
    const tokenId = (request.params as { tokenId: string }).tokenId;
    deps.audit.append({ actor: actorOf(request), source: request.ip, action: 'token.revoke', target: request.principal!.name, outcome: 'ok', details: { tokenId } });
    if (!deps.tokens.revokeToken(request.principal!.userId, tokenId)) throw GW_ERR.notFound(`no token "${tokenId}" of yours`);
    return reply.status(204).send();
  });
}
