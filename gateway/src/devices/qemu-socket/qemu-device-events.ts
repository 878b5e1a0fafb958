// QemuDeviceEvents: turns QMP events (RESET, SHUTDOWN, RESUME) into device events (rebooting, off, on).

import type { DeviceEvent } from '../transport.js';

/** The part of a QMP event this needs (QmpEvent from the emulator fits). */
export interface QmpEventLike {
  event: string;
  data?: unknown;
}

/**
 * Tracks whether the VM is powered off, so that:
 * - RESET → `rebooting`, unless the VM is off (a reset while off is part of `off`/`on`) or it is
 *   the firmware's own reset right after another one ({@link REBOOT_COALESCE_MS});
 * - SHUTDOWN → `off` (not for `host-qmp-quit`: that is QEMU exiting, the transport reports it);
 * - RESUME after being off → `on`.
 * Power actions that switch off without a SHUTDOWN event (`stop` + `system_reset`) run inside
 * `poweringOff`, which fires `off` itself and keeps their RESET from reading as a reboot.
 */
/**
 * A guest-initiated RESET this soon after another RESET is part of the same reboot: after a host
 * `system_reset` the firmware of a direct-kernel (PVH) boot resets once more (`guest: true`) on its
 * way up, about 60 ms later under TCG. No guest boots far enough to reboot itself in this time.
 */
export const REBOOT_COALESCE_MS = 2000;

export class QemuDeviceEvents {
  private _off: boolean;
  private _lastReset = -Infinity;

  constructor(
    private readonly fire: (e: DeviceEvent) => void,
    initiallyOff = false,
  ) {
    this._off = initiallyOff;
  }

  get isOff(): boolean {
    return this._off;
  }

  handle(e: QmpEventLike): void {
    switch (e.event) {
      case 'RESET': {
        // Remembered even while off: the firmware's follow-up RESET after `on` is not a reboot either.
        const now = Date.now();
        const byGuest = (e.data as { guest?: boolean } | undefined)?.guest === true;
        const repeat = byGuest && now - this._lastReset < REBOOT_COALESCE_MS;
        this._lastReset = now;
        if (!this._off && !repeat) this.fire({ type: 'rebooting' });
        break;
      }
      case 'SHUTDOWN':
        if ((e.data as { reason?: string } | undefined)?.reason === 'host-qmp-quit') break;
        this.setOff();
        break;
      case 'RESUME':
        if (this._off) {
          this._off = false;
          this.fire({ type: 'on' });
        }
        break;
    }
  }

  /** Runs a power-off action: marks the VM off first (its RESET is no reboot), fires `off` on success. */
  async poweringOff<T>(action: () => Promise<T>): Promise<T> {
    const was = this._off;
    this._off = true;
    try {
      const result = await action();
      if (!was) this.fire({ type: 'off' });
      return result;
    } catch (err) {
      this._off = was;
      throw err;
    }
  }

  private setOff(): void {
    if (this._off) return;
    this._off = true;
    this.fire({ type: 'off' });
  }
}
