// Transport and DeviceDriver: the contract every device kind implements (the spec, with JSDoc).

import type { Disposable } from '../core/lifecycle.js';
import type { Event } from '../core/event.js';
import type { DeviceSpec } from './device-spec.js';

export type TransportState = 'opening' | 'open' | 'closing' | 'closed';

/** Why a transport operation failed. `canceled`: we closed it; `disconnected`: the peer died. */
export class TransportError extends Error {
  constructor(
    readonly kind: 'canceled' | 'disconnected' | 'open-failed' | 'write-failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/**
 * A byte stream to a device's console (serialport's BindingPort, labgrid's ConsoleProtocol).
 *
 * Lifecycle: returned `open` by `DeviceDriver.open`. `onData` pushes every byte the device sends,
 * never paused by consumers. `onClose` fires exactly once: `requested` after `close()`,
 * `disconnected` when the device went away (only then does the owner reconnect). After close,
 * `write` rejects with a TransportError of kind `canceled`; pending writes reject likewise.
 * `dispose()` is `close()` without waiting.
 */
export interface Transport extends Disposable {
  readonly state: TransportState;
  readonly onData: Event<Uint8Array>;
  readonly onClose: Event<{ reason: 'requested' | 'disconnected'; error?: TransportError }>;
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export type PowerAction = 'restart' | 'reset' | 'off' | 'on';
export const POWER_ACTIONS = ['restart', 'reset', 'off', 'on'] as const satisfies readonly PowerAction[];

/** What a device can do, with the reason when it cannot (answered as 409 NotSupported). */
export interface Capabilities {
  break: Capability;
  sysrq: Capability;
  nmi: Capability;
  power: Record<PowerAction, Capability>;
  screenshot: Capability;
}
export type Capability = { supported: true } | { supported: false; reason: string };

/** A control the device kind cannot do. Carries the reason shown to the user. */
export class NotSupportedError extends Error {
  readonly code = 'NotSupported';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NotSupportedError';
  }
}

/** What a completed control reports for the audit row (e.g. a cloud's request id). */
export interface ControlOutcome {
  details?: Record<string, unknown>;
}

/**
 * `force`: for `off`, cut power without asking the guest to shut down. Kinds whose `off` is always
 * immediate (relays, QEMU) ignore it; Azure's `off` is graceful unless forced (skipShutdown).
 */
export interface PowerOptions {
  force?: boolean;
}

/**
 * The controls of one open device. Each method resolves when the device accepted the action and
 * rejects with NotSupportedError (what the kind cannot do) or another Error (it failed). A control
 * may resolve with a {@link ControlOutcome} whose details go into the audit row of its completion,
 * and an error may carry `auditDetails` for the failure row.
 */
export interface DeviceControls {
  capabilities(): Capabilities;
  sendBreak(): Promise<void>;
  /** `keys`: one key or a sequence (`reisub`), each sent after its own BREAK. */
  sysrq(keys: string): Promise<void | ControlOutcome>;
  nmi(): Promise<void | ControlOutcome>;
  power(action: PowerAction, options?: PowerOptions): Promise<void | ControlOutcome>;
  /** The VGA console as an image (PNG for QEMU kinds; Azure's boot diagnostics may give BMP). */
  screenshot(): Promise<Uint8Array>;
  /** Kinds whose platform keeps its own serial log (Azure boot diagnostics): that log's bytes. */
  serialLog?(): Promise<Uint8Array>;
}

/**
 * `open` failed for a reason the user must fix, not a passing fault (a cloud VM that is stopped, a
 * console switched off by the platform). The runtime keeps retrying, and attach is refused with
 * `code` (409) and this message meanwhile.
 */
export class AttachRefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AttachRefusedError';
  }
}

/** Device lifecycle events besides bytes (e.g. a QEMU guest resetting or powering off). */
export type DeviceEvent = { type: 'rebooting' } | { type: 'off' } | { type: 'on' };

/** One opened device: its byte stream, its controls, and its own events. */
export interface DeviceConnection extends Disposable {
  readonly transport: Transport;
  readonly controls: DeviceControls;
  readonly onDeviceEvent: Event<DeviceEvent>;
}

/**
 * Opens devices of one kind. `open` either returns a connection whose transport is `open`, or
 * rejects leaving nothing half-open. Drivers that own a process (kind `qemu`) keep it running
 * across transport reconnects and stop it in `shutdown(spec)`.
 */
export interface DeviceDriver<S extends DeviceSpec = DeviceSpec> {
  readonly kind: S['kind'];
  open(spec: S, signal?: AbortSignal): Promise<DeviceConnection>;
  /** Releases whatever the driver keeps for `spec` between opens (e.g. stops its QEMU). */
  shutdown?(spec: S): Promise<void>;
  /** Controls that work while the line is down (a cloud API's power on for a stopped VM). */
  offlineControls?(spec: S): DeviceControls;
  /** Devices a definition stands for when only the platform knows them (a cloud scale set's instances); undefined: just `spec`. */
  expand?(spec: S): Promise<DeviceSpec[] | undefined>;
  /** Platform state to show with the device (power state, platform switches), as last seen. */
  info?(spec: S): Record<string, unknown> | undefined;
}
