// deviceView: the JSON a client sees for one device.

import type { DeviceRuntime } from '../../runtime/device-runtime.js';
import type { DeviceSource } from '../../runtime/device-manager.js';

/** Fields of a spec that may hold secrets or host paths a reader need not see are left out. */
export function deviceView(r: DeviceRuntime, source: DeviceSource | undefined, access?: readonly string[]) {
  const s = r.spec;
  return {
    id: s.id,
    kind: s.kind,
    group: s.group ?? null,
    description: s.description ?? null,
    source: source ?? 'config',
    state: r.state,
    error: r.error ?? null,
    bootDiagnostics: { enabled: s.bootDiagnostics?.enabled ?? true },
    console: { enabled: s.console?.enabled ?? true },
    capabilities: r.capabilities() ?? null,
    capture: { startOffset: r.capture.startOffset, endOffset: r.capture.endOffset },
    sessions: r.broker.sessions().map((x) => ({ id: x.id, mode: x.mode, principal: x.principal ?? null })),
    leaseHolder: r.broker.leaseHolder ?? null,
    /** Platform state the driver reports (an Azure VM's power state and console switch), or null. */
    platform: r.info() ?? null,
    /** The caller's permissions on this device (present when the view is made for a caller). */
    ...(access !== undefined && { access }),
  };
}
