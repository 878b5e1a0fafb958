// Audit routes (auditor, owner): the rows with filters and paging, and the hash-chain verification.

import type { FastifyInstance } from 'fastify';
import { AUDIT_OUTCOMES, type AuditOutcome } from '../../audit/audit-event.js';
import type { AuditQuery } from '../../audit/audit-log.js';
import { GW_ERR } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';

const AUDIT = { permission: 'audit.read', target: 'global' } as const;

const id = { type: 'integer', minimum: 0 } as const;
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;

interface AuditQueryString {
  actor?: string;
  device?: string;
  target?: string;
  action?: string;
  outcome?: AuditOutcome;
  from?: string;
  to?: string;
  afterId?: number;
  beforeId?: number;
  order?: 'asc' | 'desc';
  limit: number;
}

function isoTime(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw GW_ERR.badRequest(`${name}: not an ISO 8601 time (e.g. 2025-01-31T00:00:00Z)`);
  return new Date(ms).toISOString();
}

export async function auditRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { auditLog } = deps;

  app.get(
    '/api/v1/audit',
    {
      config: AUDIT,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            actor: text(256),
            device: text(512),
            target: text(512),
            // An exact action (`console.attach`) or a prefix ending in `.*` (`device.power.*`).
            action: { type: 'string', pattern: '^[a-z]+(\\.[a-z]+)*(\\.\\*)?$', maxLength: 128 },
            outcome: { enum: [...AUDIT_OUTCOMES] },
            from: text(64),
            to: text(64),
            afterId: id,
            beforeId: id,
            order: { enum: ['asc', 'desc'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (request) => {
      const q = request.query as AuditQueryString;
      const query: AuditQuery = {
        actor: q.actor,
        device: q.device,
        target: q.target,
        action: q.action,
        outcome: q.outcome,
        from: isoTime(q.from, 'from'),
        to: isoTime(q.to, 'to'),
        afterId: q.afterId,
        beforeId: q.beforeId,
        order: q.order,
        limit: q.limit,
      };
      let page;
      try {
        page = auditLog.query(query);
      } catch (err) {
        // The store refuses malformed filters with RangeError (its own checks, after ours).
        if (err instanceof RangeError) throw GW_ERR.badRequest(err.message);
        throw err;
      }
      // `next`: pass it as afterId (or beforeId with order=desc) for the next page; null at the end.
      return { rows: page.rows, next: page.next ?? null };
    },
  );

  // Recomputes the whole chain from the first row; names the first row that does not check out.
  app.get('/api/v1/audit/verify', { config: AUDIT }, async () => auditLog.verify());
}
