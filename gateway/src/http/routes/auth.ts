// Sign-in for browsers: login (session cookie), logout, who am I, password change.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuditWriteError, type AuditInput } from '../../audit/audit-log.js';
import { GW_ERR, GatewayError } from '../../errors.js';
import { IdentityError } from '../../identity/identity-store.js';
import { SESSION_COOKIE } from '../../identity/web-session-store.js';
import type { AppDeps } from '../app-deps.js';
import { actorOf } from '../plugins/access.js';

/** Longest user name and password a login looks at (the identity store refuses longer ones anyway). */
const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', minLength: 1, maxLength: 128 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

/** The same answer for a wrong password, an unknown user and a disabled user: nothing to enumerate. */
const invalidCredentials = () => new GatewayError('InvalidCredentials', 401, 'wrong user name or password');

export async function authRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { identity, webSessions, loginThrottle, audit, config } = deps;
  const cookieMaxAge = config.auth.session.maxHours * 3600;

  const setSessionCookie = (reply: FastifyReply, secret: string) =>
    reply.setCookie(SESSION_COOKIE, secret, { path: '/', httpOnly: true, secure: true, sameSite: 'strict', maxAge: cookieMaxAge });

  /**
   * Starts a login session and audits it in one transaction: no row, no session (fail closed; the
   * audit writer throws AuditUnavailable, a failed session insert answers DatabaseUnavailable).
   */
  function startSession(request: FastifyRequest, reply: FastifyReply, user: { id: number; name: string }, details: Record<string, unknown>) {
    const created = identity.transaction(() => {
      const c = webSessions.create(user.id, request.ip);
      audit.append({ actor: user.name, source: request.ip, action: 'auth.login', target: user.name, outcome: 'ok', details: { ...details, sessionId: c.session.id } });
      return c;
    });
    setSessionCookie(reply, created.secret);
    return created.session;
  }

  app.post('/api/v1/auth/login', { config: { permission: 'public' }, schema: { body: loginBody } }, async (request, reply) => {
    const { username, password } = request.body as { username: string; password: string };
    const attempted = username.slice(0, 64);
    const verdict = loginThrottle.check(username, request.ip);
    if (!verdict.allowed) {
      audit.append({ actor: 'anonymous', source: request.ip, action: 'auth.login.failed', target: attempted, outcome: 'denied', reason: `too many failed attempts (per ${verdict.limitedBy})` });
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      reply.header('retry-after', String(seconds));
      throw new GatewayError('TooManyAttempts', 429, `too many failed sign-in attempts: try again in ${seconds} s`);
    }
    const user = await identity.verifyPassword(username, password);
    if (!user) {
      loginThrottle.fail(username, request.ip);
      audit.append({ actor: 'anonymous', source: request.ip, action: 'auth.login.failed', target: attempted, outcome: 'denied', reason: 'wrong user name or password' });
      throw invalidCredentials();
    }
    loginThrottle.succeed(username);
    const session = startSession(request, reply, user, {});
    return reply.header('cache-control', 'no-store').send({ name: user.name, roles: identity.rolesOf(user.id).map((a) => ({ role: a.role, scope: a.scope })), expiresAt: session.expiresAt });
  });

  // Public, so that a stale cookie can still be cleared; ends the server-side session if it is live.
  app.post('/api/v1/auth/logout', { config: { permission: 'public' } }, async (request, reply) => {
    const secret = request.cookies[SESSION_COOKIE];
    const principal = secret === undefined ? undefined : deps.auth.authenticateCookie(secret);
    if (principal?.webSessionId !== undefined) {
      if (request.headers.origin === undefined) throw GW_ERR.originRefused('a request authenticated by the session cookie must carry an Origin header');
      audit.append({ actor: principal.name, source: request.ip, action: 'auth.logout', target: principal.name, outcome: 'ok', details: { sessionId: principal.webSessionId } });
      webSessions.end(principal.webSessionId);
      // Console sessions opened through this login end with it.
      deps.accessChanges.fire({ userId: principal.userId });
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'strict' });
    return reply.status(204).send();
  });

  app.get('/api/v1/auth/me', { config: { permission: 'token.self', target: 'global' } }, async (request) => {
    const p = request.principal!;
    return { name: p.name, via: p.via, tokenId: p.tokenId ?? null, roles: p.assignments.map((a) => ({ role: a.role, scope: a.scope })) };
  });

  // A user changes their own password; every other login session of theirs ends.
  app.post(
    '/api/v1/auth/password',
    {
      config: { permission: 'token.self', target: 'global' },
      schema: {
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
          properties: { currentPassword: { type: 'string', maxLength: 1024 }, newPassword: { type: 'string', maxLength: 1024 } },
        },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const body = request.body as { currentPassword: string; newPassword: string };
      const verdict = loginThrottle.check(p.name, request.ip);
      if (!verdict.allowed) throw new GatewayError('TooManyAttempts', 429, `too many failed attempts: try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s`);
      if (!(await identity.verifyPassword(p.name, body.currentPassword))) {
        loginThrottle.fail(p.name, request.ip);
        audit.append({ actor: actorOf(request), source: request.ip, action: 'user.update', target: p.name, outcome: 'denied', reason: 'wrong current password', details: { fields: ['password'] } });
        throw new GatewayError('InvalidCredentials', 403, 'the current password is wrong');
      }
      try {
        await identity.setPassword(p.userId, body.newPassword, {
          audit: () => deps.auditLog.append({ actor: actorOf(request), source: request.ip, action: 'user.update', target: p.name, outcome: 'ok', details: { userId: p.userId, fields: ['password'], self: true } } as AuditInput),
        });
      } catch (err) {
        if (err instanceof IdentityError) throw new GatewayError(err.code, err.httpStatus, err.message, { cause: err });
        if (err instanceof AuditWriteError) throw GW_ERR.auditUnavailable(err);
        throw err;
      }
      webSessions.endAllOf(p.userId);
      deps.accessChanges.fire({ userId: p.userId });
      // A browser stays signed in with a fresh session; token callers just get 204.
      if (p.via === 'cookie') startSession(request, reply, { id: p.userId, name: p.name }, { after: 'password change' });
      return reply.status(204).send();
    },
  );
}
