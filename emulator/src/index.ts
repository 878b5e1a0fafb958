// Public API of @ttygate/emulator: QEMU machines with serial consoles and QMP, guest images, QMP client.

export { QemuMachine, hostnameOf, DEFAULT_GRACEFUL_TIMEOUT_MS } from './machine/qemu-machine.js';
export type { MachineImage, ConsoleMode, MachineState, QemuMachineOptions, MachineInfo } from './machine/qemu-machine.js';
export { startScaleSet, instanceDir } from './machine/scale-set.js';
export type { ScaleSetOptions, ScaleSetInstance } from './machine/scale-set.js';
export { buildArgv } from './machine/argv.js';
export type { MachineSpec, BootSource, Accel, ProfileName, Firmware } from './machine/machine-spec.js';
export { PROFILES } from './machine/profiles.js';
export { SerialLog } from './machine/serial-log.js';
export { detectDiskFormat, ensureOverlay } from './machine/disk-image.js';
export { ChardevConsole } from './console/chardev-console.js';
export { attachTerminal, type TerminalTarget } from './console/attach-terminal.js';
export { escapeTelnetData, sysrqSequence, TelnetNegotiationStripper, IAC_BREAK } from './console/telnet-codec.js';
export * from './errors.js';
export * from './images/index.js';
export * from './qmp/index.js';
export { Emitter, nextEvent } from './util/event.js';
export type { Event, Disposable } from './util/event.js';
