// Administration routes (owner): users, role assignments and the gateway-wide settings.
//
// Every change writes its audit row inside the identity store's transaction (the `audit` hook),
// so the change and its row commit together or not at all (fail closed). The last enabled owner
// on `/` can be neither disabled nor stripped of that grant, so the gateway never locks itself out.

import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuditWriteError, type AuditInput } from '../../audit/audit-log.js';
import { GW_ERR, GatewayError } from '../../errors.js';
import { IdentityError, type User } from '../../identity/identity-store.js';
import { assertNotLastOwner } from '../../identity/last-owner.js';
import { isRole, parseScope, type RoleAssignment } from '../../identity/roles.js';
import { CloseCode } from '../../protocol/frames.js';
import type { AppDeps, IdentityAdmin } from '../app-deps.js';
import { actorOf } from '../plugins/access.js';
import { settingsPatchSchema, type SettingsPatch } from '../../settings/runtime-settings.js';

/** 18 random bytes as base64url: 24 characters, 144 bits (as `ttygate users add`). */
const GENERATED_PASSWORD_BYTES = 18;

const ADMIN = { permission: 'admin', target: 'global' } as const;

/** Identity refusals keep their stable code and status; an audit failure refuses the change (503). */
function apiError(err: unknown): unknown {
  if (err instanceof IdentityError) return new GatewayError(err.code, err.httpStatus, err.message, { cause: err });
  if (err instanceof AuditWriteError) return GW_ERR.auditUnavailable(err);
  return err;
}

/** Runs a handler, translating identity and audit errors into API errors. */
function guarded<T>(fn: (request: FastifyRequest, reply: FastifyReply) => Promise<T>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<T> => {
    try {
      return await fn(request, reply);
    } catch (err) {
      throw apiError(err);
    }
  };
}

function userView(identity: IdentityAdmin, user: User) {
  return {
    id: user.id,
    name: user.name,
    disabled: user.disabled,
    createdAt: user.createdAt,
    passwordChangedAt: user.passwordChangedAt,
    roles: identity.rolesOf(user.id).map((a) => ({ role: a.role, scope: a.scope, createdAt: a.createdAt })),
  };
}

function assignmentView(a: RoleAssignment, name: string | undefined) {
  return { user: name ?? null, userId: a.userId, role: a.role, scope: a.scope, createdAt: a.createdAt };
}

function mustFindUser(identity: IdentityAdmin, name: string): User {
  const user = identity.findUserByName(name);
  if (!user) throw new IdentityError('UserNotFound', `no user "${name}"`);
  return user;
}

function checkRoleAndScope(role: string, scope: string): void {
  if (!isRole(role)) throw new IdentityError('InvalidRole', `unknown role "${role}"`);
  if (parseScope(scope) === undefined) throw new IdentityError('InvalidScope', `scope "${scope}" is not "/", "/groups/NAME" or "/devices/ID"`);
}

/**
 * An object schema that refuses unknown members. Not `additionalProperties: false`: Fastify's Ajv
 * runs with `removeAdditional`, which would drop a mistyped member (`{"disable": true}`) silently.
 */
function strictObject(properties: Record<string, object>, required: string[] = [], extra: object = {}) {
  return { type: 'object', required, properties, propertyNames: { enum: Object.keys(properties) }, ...extra };
}

const name = { type: 'string', minLength: 1, maxLength: 64 } as const;
const assignmentBody = strictObject({ user: name, role: { type: 'string', maxLength: 64 }, scope: { type: 'string', maxLength: 200 } }, ['user', 'role', 'scope']);

/**
 * DELETE's grant: from a JSON body (the documented form), or from the query string for clients and
 * proxies that drop DELETE bodies. Checked by hand, as Fastify cannot validate "body or query".
 */
function assignmentToDelete(request: FastifyRequest): { user: string; role: string; scope: string } {
  const body = request.body;
  const noBody = body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
  const input = (noBody ? request.query : body) as Record<string, unknown>;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new GatewayError('ValidationFailed', 400, 'body must be an object {user, role, scope}');
  for (const k of Object.keys(input)) if (!['user', 'role', 'scope'].includes(k)) throw new GatewayError('ValidationFailed', 400, `unknown member "${k}": expected {user, role, scope}`);
  for (const k of ['user', 'role', 'scope'] as const) {
    if (typeof input[k] !== 'string' || input[k] === '') throw new GatewayError('ValidationFailed', 400, `${k} is required: expected {user, role, scope}`);
  }
  return input as { user: string; role: string; scope: string };
}

export async function adminRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { identity, auditLog, settings, devices } = deps;

  /** An audit row for a change made by the caller; appended inside the change's transaction. */
  const row = (request: FastifyRequest, action: AuditInput['action'], target: string, details: Record<string, unknown>): AuditInput => ({
    action,
    actor: actorOf(request),
    source: request.ip,
    target,
    outcome: 'ok',
    details: { ...details, ...(request.principal?.tokenId !== undefined && { tokenId: request.principal.tokenId }) },
  });

  // ---- users ---------------------------------------------------------------------------------

  app.get('/api/v1/users', { config: ADMIN }, async () => ({ users: identity.listUsers().map((u) => userView(identity, u)) }));

  app.post(
    '/api/v1/users',
    {
      config: ADMIN,
      schema: {
        body: strictObject({ name, password: { type: 'string' }, role: { type: 'string', maxLength: 64 }, scope: { type: 'string', maxLength: 200 } }, ['name']),
      },
    },
    guarded(async (request, reply) => {
      const body = request.body as { name: string; password?: string; role?: string; scope?: string };
      if (body.scope !== undefined && body.role === undefined) throw GW_ERR.badRequest('scope needs role');
      const scope = body.scope ?? '/';
      if (body.role !== undefined) checkRoleAndScope(body.role, scope);
      const generated = body.password === undefined ? randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url') : undefined;
      const user = await identity.addUser(body.name, body.password ?? generated!, {
        audit: (u) => {
          auditLog.append(row(request, 'user.create', u.name, { userId: u.id, ...(body.role !== undefined && { role: body.role, scope }), passwordGenerated: generated !== undefined }));
          if (body.role === undefined) return;
          // A savepoint inside addUser's transaction: user, grant and both rows commit together.
          identity.assignRole(u.id, body.role, scope, {
            audit: (a) => auditLog.append(row(request, 'role.assign', u.name, { userId: u.id, role: a.role, scope: a.scope })),
          });
        },
      });
      // The generated password is in this response only; it is stored nowhere.
      if (generated !== undefined) reply.header('cache-control', 'no-store');
      return reply.status(201).send({ user: userView(identity, user), ...(generated !== undefined && { password: generated }) });
    }),
  );

  app.patch(
    '/api/v1/users/:name',
    {
      config: ADMIN,
      schema: {
        params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } } },
        body: strictObject({ disabled: { type: 'boolean' }, password: { type: 'string' } }, [], { minProperties: 1 }),
      },
    },
    guarded(async (request) => {
      const body = request.body as { disabled?: boolean; password?: string };
      const before = mustFindUser(identity, (request.params as { name: string }).name);
      const disabling = body.disabled === true && !before.disabled;
      // Checked again inside the transaction; this one only spares the password hashing.
      if (disabling) assertNotLastOwner(identity, before, 'disabling them');

      let changed = false;
      /** Runs inside the write transaction (setPassword's, or our own). */
      const apply = (passwordChanged: boolean): void => {
        const current = identity.getUser(before.id);
        if (!current) throw new IdentityError('UserNotFound', `no user "${before.name}"`);
        const fields: string[] = passwordChanged ? ['password'] : [];
        if (body.disabled !== undefined && body.disabled !== current.disabled) {
          if (body.disabled) {
            assertNotLastOwner(identity, current, 'disabling them');
            identity.disableUser(current.id);
          } else {
            identity.enableUser(current.id);
          }
          fields.push('disabled');
        }
        if (fields.length === 0) return; // nothing changed: nothing to audit
        changed = true;
        auditLog.append(
          row(request, 'user.update', current.name, {
            userId: current.id,
            fields,
            ...(fields.includes('disabled') && { disabled: body.disabled }),
          }),
        );
      };
      if (body.password !== undefined) await identity.setPassword(before.id, body.password, { audit: () => apply(true) });
      else identity.transaction(() => apply(false));

      const after = identity.getUser(before.id)!;
      if (changed && after.disabled && !before.disabled) endSessionsOf(request, after.name);
      if (changed) {
        // A new password or a disable ends the user's login sessions; live consoles re-check.
        deps.webSessions.endAllOf(after.id);
        deps.accessChanges.fire({ userId: after.id });
      }
      return userView(identity, after);
    }),
  );

  /** A disabled user's tokens stop working at once; their open console sessions end too. */
  function endSessionsOf(request: FastifyRequest, userName: string): void {
    for (const runtime of devices.all()) {
      for (const s of runtime.broker.sessions()) {
        if (s.principal?.toLowerCase() !== userName.toLowerCase()) continue;
        try {
          auditLog.append(row(request, 'session.end', runtime.spec.id, { sessionId: s.id, user: userName, reason: 'user disabled' }));
        } catch {
          // The disable has committed (audited); cutting the user off matters more than this row.
        }
        runtime.broker.closeSession(s.id, CloseCode.PolicyViolation, 'user disabled');
      }
    }
  }

  // ---- role assignments ----------------------------------------------------------------------

  app.get('/api/v1/role-assignments', { config: ADMIN }, async () => {
    const names = new Map(identity.listUsers().map((u) => [u.id, u.name]));
    return { assignments: identity.listRoleAssignments().map((a) => assignmentView(a, names.get(a.userId))) };
  });

  app.post(
    '/api/v1/role-assignments',
    { config: ADMIN, schema: { body: assignmentBody } },
    guarded(async (request, reply) => {
      const body = request.body as { user: string; role: string; scope: string };
      checkRoleAndScope(body.role, body.scope);
      const result = identity.transaction(() => {
        const user = mustFindUser(identity, body.user);
        const existing = identity.rolesOf(user.id).find((a) => a.role === body.role && a.scope === body.scope);
        if (existing) return { assignment: existing, user, created: false };
        const assignment = identity.assignRole(user.id, body.role, body.scope, {
          audit: (a) => auditLog.append(row(request, 'role.assign', user.name, { userId: user.id, role: a.role, scope: a.scope })),
        });
        return { assignment, user, created: true };
      });
      return reply.status(result.created ? 201 : 200).send({ assignment: assignmentView(result.assignment, result.user.name), created: result.created });
    }),
  );

  app.delete(
    '/api/v1/role-assignments',
    { config: ADMIN },
    guarded(async (request, reply) => {
      const body = assignmentToDelete(request);
      checkRoleAndScope(body.role, body.scope);
      const removedFrom = identity.transaction(() => {
        const user = mustFindUser(identity, body.user);
        if (body.role === 'owner' && body.scope === '/') assertNotLastOwner(identity, user, 'removing their owner role on "/"');
        const removed = identity.revokeRole(user.id, body.role, body.scope, {
          audit: (a) => auditLog.append(row(request, 'role.revoke', user.name, { userId: user.id, role: a.role, scope: a.scope })),
        });
        if (!removed) throw new GatewayError('AssignmentNotFound', 404, `"${user.name}" has no ${body.role} role on "${body.scope}"`);
        return user;
      });
      // Live console sessions of the user lose what the role gave them, now.
      deps.accessChanges.fire({ userId: removedFrom.id });
      return reply.status(204).send();
    }),
  );

  // ---- settings ------------------------------------------------------------------------------

  app.get('/api/v1/settings', { config: ADMIN }, async () => settings.current);

  app.put(
    '/api/v1/settings',
    { config: ADMIN, schema: { body: settingsPatchSchema } },
    guarded(async (request) => {
      // Each changed leaf gets its own row, written in the change's transaction (fail closed).
      settings.change(request.body as SettingsPatch, actorOf(request), (changes) => {
        for (const c of changes) auditLog.append(row(request, 'settings.update', c.key, { setting: c.key, old: c.old, new: c.new }));
      });
      return settings.current;
    }),
  );
}
