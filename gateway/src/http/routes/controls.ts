// Control routes: BREAK, SysRq, NMI and power — audited before they run (fail closed), outcome after.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isValidSysrqKeys } from '../../protocol/control.js';
import { NotSupportedError, POWER_ACTIONS, type ControlOutcome, type DeviceControls, type PowerAction } from '../../devices/transport.js';
import { GW_ERR, GatewayError } from '../../errors.js';
import type { AppDeps, AuditWriter } from '../app-deps.js';
import { actorOf, deviceIdParam } from '../plugins/access.js';
import { reasonSchema as reason } from '../justification.js';
import type { DeviceManager } from '../../runtime/device-manager.js';

/**
 * Runs one control on a device: writes the audit row first, `details.phase: "requested"` (if that
 * fails, the action is refused), then acts; a failure gets a second row (`outcome: failed`,
 * `phase: "failed"`, with the error's `auditDetails`). A control that reports an outcome (a cloud
 * operation polled to completion, with its request id) gets a second row, `phase: "completed"`,
 * with those details. Used by the REST routes and the WebSocket control messages.
 */
export async function runControl(
  deps: { devices: DeviceManager; audit: AuditWriter },
  ctx: { actor: string; source?: string | undefined; deviceId: string },
  action: string,
  details: Record<string, unknown>,
  run: (c: DeviceControls) => Promise<void | ControlOutcome>,
): Promise<void> {
  const runtime = deps.devices.get(ctx.deviceId);
  if (!runtime) throw GW_ERR.deviceNotFound(ctx.deviceId);
  const controls = runtime.controls();
  deps.audit.append({ actor: ctx.actor, source: ctx.source, action, target: ctx.deviceId, outcome: 'ok', details: { ...details, phase: 'requested' } });
  let outcome: void | ControlOutcome;
  try {
    outcome = await run(controls);
  } catch (err) {
    const notSupported = err instanceof NotSupportedError;
    const extra = (err as { auditDetails?: Record<string, unknown> }).auditDetails;
    deps.audit.append({ actor: ctx.actor, source: ctx.source, action, target: ctx.deviceId, outcome: 'failed', reason: (err as Error).message, details: { ...details, ...extra, phase: 'failed' } });
    if (notSupported || err instanceof GatewayError) throw err;
    throw GW_ERR.controlFailed(`${action} failed: ${(err as Error).message}`, err);
  }
  if (outcome?.details) {
    try {
      deps.audit.append({ actor: ctx.actor, source: ctx.source, action, target: ctx.deviceId, outcome: 'ok', details: { ...details, ...outcome.details, phase: 'completed' } });
    } catch {
      // The action already happened and its intent row is written (fail closed held before acting);
      // answering "failed" now would mislead the caller into repeating a power action.
    }
  }
}

export async function controlRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const ctx = (request: FastifyRequest) => ({ actor: actorOf(request), source: request.ip, deviceId: deviceIdParam(request) });
  const device = { permission: 'device.control', target: 'device' } as const;

  /** Every control may carry a justification; power actions must when the setting says so. */
  const optionalBody = { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, properties: { reason } }] } as const;
  const justification = (request: FastifyRequest) => {
    const r = (request.body as { reason?: string } | null | undefined)?.reason;
    return r === undefined ? {} : { justification: r };
  };

  app.post('/api/v1/devices/:id/break', { config: device, schema: { body: optionalBody } }, async (request) => {
    await runControl(deps, ctx(request), 'device.break', justification(request), (c) => c.sendBreak());
    return { ok: true };
  });

  app.post(
    '/api/v1/devices/:id/sysrq',
    { config: device, schema: { body: { type: 'object', required: ['keys'], additionalProperties: false, properties: { keys: { type: 'string' }, reason } } } },
    async (request) => {
      const keys = (request.body as { keys: string }).keys.toLowerCase();
      if (!isValidSysrqKeys(keys)) throw GW_ERR.badRequest('keys: one to 32 SysRq keys from 0-9 and a-z, e.g. "h" or "reisub"');
      await runControl(deps, ctx(request), 'device.sysrq', { keys, ...justification(request) }, (c) => c.sysrq(keys));
      return { ok: true, keys };
    },
  );

  app.post('/api/v1/devices/:id/nmi', { config: device, schema: { body: optionalBody } }, async (request) => {
    await runControl(deps, ctx(request), 'device.nmi', justification(request), (c) => c.nmi());
    return { ok: true };
  });

  app.post(
    '/api/v1/devices/:id/power',
    {
      config: { permission: 'device.power', target: 'device' },
      // force: for off, no guest shutdown first (Azure's skipShutdown); kinds whose off is always immediate ignore it.
      schema: { body: { type: 'object', required: ['action'], additionalProperties: false, properties: { action: { enum: [...POWER_ACTIONS] }, force: { type: 'boolean' }, reason } } },
    },
    async (request) => {
      const { action, force, reason: given } = request.body as { action: PowerAction; force?: boolean; reason?: string };
      if (deps.settings.current.requireJustification && !given?.trim()) {
        deps.audit.append({ actor: actorOf(request), source: request.ip, action: `device.power.${action}`, target: deviceIdParam(request), outcome: 'denied', reason: 'no justification given', details: { action } });
        throw GW_ERR.justificationRequired(`power ${action}`);
      }
      await runControl(deps, ctx(request), `device.power.${action}`, { action, ...(force !== undefined ? { force } : {}), ...justification(request) }, (c) => c.power(action, force !== undefined ? { force } : {}));
      return { ok: true, action };
    },
  );
}
