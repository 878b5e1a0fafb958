// TcpControls: BREAK and SysRq over telnet (IAC BRK); a raw TCP stream can carry neither.

import { requireCapability, SUPPORTED, unsupported } from '../capability.js';
import { delay, SYSRQ_KEY_GAP_MS, sysrqKeys } from '../sysrq-keys.js';
import { NotSupportedError, type Capabilities, type Capability, type DeviceControls, type PowerAction } from '../transport.js';
import type { SocketTransport } from './socket-transport.js';
import { TELNET_BREAK } from './telnet-stream.js';

const RAW_NO_BREAK =
  'a raw TCP console stream has no way to signal BREAK: use protocol: telnet (ser2net sends IAC BRK to the UART as a BREAK)';
const NO_NMI = 'a remote console server gives no NMI (use the machine\'s BMC)';
const NO_POWER = 'a remote console server has no power control (use the machine\'s BMC or PDU)';
const NO_SCREEN = 'a remote console server has no screen to capture';

export class TcpControls implements DeviceControls {
  private readonly breakCap: Capability;

  constructor(
    private readonly transport: SocketTransport,
    telnet: boolean,
  ) {
    this.breakCap = telnet ? SUPPORTED : unsupported(RAW_NO_BREAK);
  }

  capabilities(): Capabilities {
    const noPower = unsupported(NO_POWER);
    return {
      break: this.breakCap,
      sysrq: this.breakCap,
      nmi: unsupported(NO_NMI),
      power: { restart: noPower, reset: noPower, off: noPower, on: noPower },
      screenshot: unsupported(NO_SCREEN),
    };
  }

  async sendBreak(): Promise<void> {
    requireCapability(this.breakCap);
    await this.transport.sendCommand(TELNET_BREAK);
  }

  async sysrq(keys: string): Promise<void> {
    requireCapability(this.breakCap);
    const list = sysrqKeys(keys);
    for (let i = 0; i < list.length; i++) {
      if (i > 0) await delay(SYSRQ_KEY_GAP_MS);
      await this.transport.sendCommand(TELNET_BREAK);
      await this.transport.write(Buffer.from(list[i]!, 'latin1'));
    }
  }

  async nmi(): Promise<void> {
    throw new NotSupportedError(NO_NMI);
  }

  async power(_action: PowerAction): Promise<void> {
    throw new NotSupportedError(NO_POWER);
  }

  async screenshot(): Promise<Uint8Array> {
    throw new NotSupportedError(NO_SCREEN);
  }
}
