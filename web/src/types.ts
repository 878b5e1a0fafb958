// Shapes of the REST answers the UI reads (see the gateway's routes; DESIGN.md is the contract).

export type Capability = { supported: true } | { supported: false; reason: string };
export interface Capabilities {
  break: Capability;
  sysrq: Capability;
  nmi: Capability;
  power: Record<'restart' | 'reset' | 'off' | 'on', Capability>;
  screenshot: Capability;
}

/** The caller's permissions on one device, as the gateway reports them in `access`. */
export type DevicePermission = 'device.read' | 'console.read' | 'diagnostics.read' | 'console.write' | 'device.control' | 'device.power' | 'device.manage';

export interface DeviceInfo {
  id: string;
  kind: string;
  group: string | null;
  description: string | null;
  source: string;
  state: string;
  error: string | null;
  bootDiagnostics: { enabled: boolean };
  console: { enabled: boolean };
  capabilities: Capabilities | null;
  capture: { startOffset: number; endOffset: number };
  sessions: { id: string; mode: 'read' | 'write'; principal: string | null }[];
  leaseHolder: string | null;
  /** Absent on gateways that predate it: the UI then lets the server decide. */
  access?: DevicePermission[];
}

export interface Me {
  name: string;
  tokenId: string | null;
  roles: { role: string; scope: string }[];
  via?: 'cookie' | 'token';
}
