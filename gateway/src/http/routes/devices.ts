// Device routes: list and read (filtered to what the caller may see), create, update, delete.

import type { FastifyInstance } from 'fastify';
import { describeSchemaError, validateDevice } from '../../config.js';
import type { DeviceSpec } from '../../devices/device-spec.js';
import { GW_ERR } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { canSeeDevice, isAllowed, permissionsOn } from '../permissions.js';
import { actorOf, deviceIdParam } from '../plugins/access.js';
import { deviceView } from './device-view.js';

function validSpec(body: unknown): DeviceSpec {
  if (!validateDevice(body)) throw GW_ERR.badRequest(describeSchemaError(validateDevice.errors![0]!, 'device'));
  return body as DeviceSpec;
}

export async function deviceRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { devices, audit } = deps;

  app.get('/api/v1/devices', { config: { permission: 'device.read', target: 'filtered' } }, async (request) => {
    // Listing needs no global grant: each device is shown if the caller may read it.
    const a = request.principal!.assignments;
    return { devices: devices.all().filter((r) => canSeeDevice(a, r.spec)).map((r) => deviceView(r, devices.sourceOf(r.spec.id), permissionsOn(a, r.spec))) };
  });

  app.get('/api/v1/devices/:id', { config: { permission: 'device.read', target: 'device' } }, async (request) => {
    const id = deviceIdParam(request);
    const r = devices.get(id)!;
    return deviceView(r, devices.sourceOf(id), permissionsOn(request.principal!.assignments, r.spec));
  });

  app.post('/api/v1/devices', { config: { permission: 'device.manage', target: 'global' } }, async (request, reply) => {
    const spec = validSpec(request.body);
    audit.append({ actor: actorOf(request), source: request.ip, action: 'device.create', target: spec.id, outcome: 'ok', details: { kind: spec.kind } });
    const created = await devices.create(spec);
    return reply.status(201).send({ devices: created.map((r) => deviceView(r, 'api')) });
  });

  app.patch('/api/v1/devices/:id', { config: { permission: 'device.manage', target: 'device' } }, async (request) => {
    const id = deviceIdParam(request);
    const current = devices.definitionOf(id);
    if (!current || current.id !== id) throw GW_ERR.badRequest(`"${id}" is an instance of a scale set; change the set "${current?.id ?? '?'}"`);
    const patch = (request.body ?? {}) as Record<string, unknown>;
    if (patch.id !== undefined && patch.id !== id) throw GW_ERR.badRequest('a device id cannot change; delete and create instead');
    if (patch.kind !== undefined && patch.kind !== current.kind) throw GW_ERR.badRequest('a device kind cannot change; delete and create instead');
    const spec = validSpec({ ...current, ...patch });
    if (devices.sourceOf(id) === 'config') throw GW_ERR.configDevice(id);
    // The console switch is an owner's decision, like Azure's; other fields are a contributor's.
    const switchOld = current.console?.enabled ?? true;
    const switchNew = spec.console?.enabled ?? true;
    if (switchOld !== switchNew && !isAllowed(request.principal!.assignments, 'console.switch', { kind: 'device', id, group: current.group })) {
      audit.append({ actor: actorOf(request), source: request.ip, action: 'access.denied', target: id, outcome: 'denied', reason: 'lacks console.switch', details: { setting: 'console.enabled', new: switchNew } });
      throw GW_ERR.forbidden(`only an owner may turn the console of "${id}" on or off (needs console.switch)`);
    }
    audit.append({ actor: actorOf(request), source: request.ip, action: 'device.update', target: id, outcome: 'ok', details: { fields: Object.keys(patch), ...(switchOld !== switchNew && { setting: 'console.enabled', old: switchOld, new: switchNew }) } });
    await devices.update(id, spec);
    // A scale set answers with its first instance (instance ids need not start at 0, e.g. Azure's).
    const shown = devices.get(id) ?? devices.all().find((r) => r.spec.id.startsWith(`${id}/`));
    if (!shown) throw GW_ERR.deviceNotFound(id);
    return deviceView(shown, 'api', permissionsOn(request.principal!.assignments, shown.spec));
  });

  app.delete('/api/v1/devices/:id', { config: { permission: 'device.manage', target: 'device' } }, async (request, reply) => {
    const id = deviceIdParam(request);
    if (devices.sourceOf(id) === 'config') throw GW_ERR.configDevice(id);
    audit.append({ actor: actorOf(request), source: request.ip, action: 'device.delete', target: id, outcome: 'ok' });
    await devices.remove(id);
    return reply.status(204).send();
  });
}
