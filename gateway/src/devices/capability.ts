// Capability helpers: build `Capabilities` entries and turn an unsupported one into NotSupportedError.

import { NotSupportedError, type Capability } from './transport.js';

export const SUPPORTED: Capability = Object.freeze({ supported: true });

export function unsupported(reason: string): Capability {
  return { supported: false, reason };
}

/** Throws NotSupportedError with the capability's reason when it is not supported. */
export function requireCapability(cap: Capability): void {
  if (!cap.supported) throw new NotSupportedError(cap.reason);
}
