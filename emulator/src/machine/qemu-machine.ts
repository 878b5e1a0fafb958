// QemuMachine: one QEMU process — spawn paused, wire console and QMP, resume; power, NMI, BREAK, screenshots.

import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChardevConsole } from '../console/chardev-console.js';
import {
  ConsoleUnavailableError,
  EmulatorError,
  GracefulShutdownTimeoutError,
  InvalidSpecError,
  MachineStateError,
  MissingBinaryError,
  QemuExitError,
  BootTimeoutError,
} from '../errors.js';
import type { LinuxImage } from '../images/index.js';
import { QmpClient, type QmpEvent } from '../qmp/index.js';
import { Emitter, type Event } from '../util/event.js';
import { buildArgv } from './argv.js';
import { detectDiskFormat, ensureOverlay, type DiskFormat } from './disk-image.js';
import type { Accel, BootSource, Firmware, MachineSpec, ProfileName, SerialPortSpec } from './machine-spec.js';
import { OVMF_CODE, OVMF_VARS, PROFILES } from './profiles.js';
import { SerialLog } from './serial-log.js';

/** What a machine boots. */
export type MachineImage =
  | { kind: 'linux'; image: LinuxImage; kernel?: 'vmlinux' | 'bzImage' }
  | { kind: 'disk'; path: string; format?: DiskFormat; cloudInitSeed?: string; fresh?: boolean };

/**
 * Who holds the first serial port's socket (QEMU serves one client at a time):
 * - `own`: this object connects before the guest starts and exposes `onConsoleData`/`writeConsole`.
 * - `external`: nobody is connected by us; the guest starts at once (the log file keeps all output).
 * - `wait-for-external`: the guest stays paused until an outside client connects to the socket.
 */
export type ConsoleMode = 'own' | 'external' | 'wait-for-external';

export type MachineState = 'starting' | 'waiting-for-console' | 'running' | 'paused' | 'off' | 'stopped';

export interface QemuMachineOptions {
  /** Instance name: QEMU's `-name` and the guest's hostname (Linux images). */
  name: string;
  /** This instance's own directory: sockets, serial logs, overlay, UEFI vars. Created if missing. */
  stateDir: string;
  image: MachineImage;
  profile?: ProfileName;
  memoryMb?: number;
  cpus?: number;
  /** `tcg` (default) or `kvm`: KVM is used only after a probe shows the guest runs under it. */
  accel?: Accel;
  /** How long the KVM probe waits for the guest's first serial byte. */
  kvmProbeTimeoutMs?: number;
  firmware?: Firmware;
  serialPorts?: 1 | 2;
  console?: ConsoleMode;
  network?: 'none' | 'user';
  qemuBinary?: string;
  /** How long QEMU may take to open its QMP socket before start() gives up. */
  startTimeoutMs?: number;
}

export interface MachineInfo {
  name: string;
  serial: string;
  serialLog: string;
  serial2?: string;
  serial2Log?: string;
  qmp: string;
  pid: number;
  accel: Accel;
  /** Why `accel` differs from what was asked for, if it does. */
  accelNote?: string;
}

const DEFAULT_START_TIMEOUT_MS = 15_000;
const DEFAULT_KVM_PROBE_MS = 10_000;
/** Graceful restart: how long the guest gets to act on the ACPI power button. */
export const DEFAULT_GRACEFUL_TIMEOUT_MS = 60_000;
/** QEMU's stderr kept for error messages. */
const STDERR_KEEP = 64 * 1024;
/** Unix socket paths are limited to 107 bytes (sun_path). */
const MAX_SOCKET_PATH = 107;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export class QemuMachine {
  private readonly stateEmitter = new Emitter<MachineState>();
  private readonly consoleDataEmitter = new Emitter<Uint8Array>();
  private readonly qmpEventEmitter = new Emitter<QmpEvent>();
  private readonly exitEmitter = new Emitter<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>();

  /** State changes: starting → (waiting-for-console) → running ⇄ off/paused → stopped. */
  readonly onStateChange: Event<MachineState> = this.stateEmitter.event;
  /** Guest output, when the console mode is `own`. */
  readonly onConsoleData: Event<Uint8Array> = this.consoleDataEmitter.event;
  /** Every QMP event (RESET, SHUTDOWN, POWERDOWN, STOP, RESUME, GUEST_PANICKED, …). */
  readonly onQmpEvent: Event<QmpEvent> = this.qmpEventEmitter.event;
  /** The QEMU process ended (after stop(), or on its own). */
  readonly onExit: Event<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> = this.exitEmitter.event;

  private _state: MachineState = 'starting';
  private stderr = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;
  private console: ChardevConsole | undefined;
  private poweringOff = false;
  private screenshotSeq = 0;
  readonly serialLog: SerialLog;

  private constructor(
    readonly info: MachineInfo,
    readonly spec: MachineSpec,
    private readonly child: ChildProcess,
    private readonly qmp: QmpClient,
  ) {
    this.serialLog = new SerialLog(info.serialLog);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-STDERR_KEEP);
    });
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        this.setState('stopped');
        this.exitEmitter.fire({ code, signal, stderr: this.stderr });
        resolve();
      });
    });
    qmp.onEvent((e) => this.handleQmpEvent(e));
  }

  get state(): MachineState {
    return this._state;
  }

  /** QEMU's stderr so far (the last 64 KiB). */
  get qemuStderr(): string {
    return this.stderr;
  }

  get ownsConsole(): boolean {
    return this.console !== undefined;
  }

  /**
   * Starts QEMU paused, connects QMP (and the console in `own` mode), then resumes the guest —
   * or, in `wait-for-external` mode, resumes it once a client connects to the serial socket.
   * A failure at any step kills QEMU and removes its sockets before rethrowing.
   */
  static async start(opts: QemuMachineOptions): Promise<QemuMachine> {
    let accel: Accel = opts.accel ?? 'tcg';
    let accelNote: string | undefined;
    if (accel === 'kvm') {
      const probe = await QemuMachine.probeKvm(opts);
      if (!probe.ok) {
        accel = 'tcg';
        accelNote = `KVM not used: ${probe.reason}; running under TCG`;
      }
    }
    const machine = await QemuMachine.launch(opts, accel, accelNote);
    return machine;
  }

  private static async launch(opts: QemuMachineOptions, accel: Accel, accelNote?: string): Promise<QemuMachine> {
    const spec = await prepareSpec(opts, accel);
    const binary = opts.qemuBinary ?? 'qemu-system-x86_64';
    await removeSockets(spec);
    const child = spawn(binary, buildArgv(spec), { stdio: ['ignore', 'ignore', 'pipe'] });
    const spawned = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (spawned) {
      if (spawned.code === 'ENOENT') throw new MissingBinaryError(binary, 'qemu-system-x86');
      throw new EmulatorError('EMU_ERR_SPAWN', `cannot start ${binary}: ${spawned.message}`, { cause: spawned });
    }
    const info: MachineInfo = {
      name: spec.name,
      serial: spec.serial[0].socket,
      serialLog: spec.serial[0].log,
      ...(spec.serial[1] ? { serial2: spec.serial[1].socket, serial2Log: spec.serial[1].log } : {}),
      qmp: spec.qmpSocket,
      pid: child.pid!,
      accel,
      ...(accelNote ? { accelNote } : {}),
    };
    const machine = new QemuMachine(info, spec, child, new QmpClient());
    try {
      await machine.connect(opts);
    } catch (err) {
      await machine.stop();
      if (machine.exited && !(err instanceof QemuExitError)) {
        throw new QemuExitError(machine.exited.code, machine.exited.signal, machine.stderr, 'while starting');
      }
      throw err;
    }
    return machine;
  }

  private async connect(opts: QemuMachineOptions): Promise<void> {
    const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const exitedEarly = this.exitPromise.then(() => {
      throw new QemuExitError(this.exited!.code, this.exited!.signal, this.stderr, 'while starting');
    });
    // Keep a rejection that nobody awaits (QEMU exiting after a successful start) from being unhandled.
    exitedEarly.catch(() => undefined);
    await Promise.race([this.qmp.connect(this.info.qmp, { timeoutMs, retryUntilMs: timeoutMs }), exitedEarly]);
    this.qmp.onDisconnect(() => {
      // QEMU closed QMP: it is exiting; onExit reports the rest.
    });
    const mode = opts.console ?? 'own';
    if (mode === 'own') {
      const con = await Promise.race([ChardevConsole.connect(this.info.serial, { timeoutMs }), exitedEarly]);
      this.console = con;
      con.onData((d) => this.consoleDataEmitter.fire(d));
      con.onClose(() => {
        this.console = undefined;
      });
    }
    if (mode === 'wait-for-external') {
      this.setState('waiting-for-console');
      void this.resumeWhenConsoleConnects();
      return;
    }
    await this.qmp.execute('cont');
    this.setState('running');
  }

  /** Polls `query-chardev` until a client is on the serial socket, then resumes (the guest was paused). */
  private async resumeWhenConsoleConnects(): Promise<void> {
    try {
      while (this._state === 'waiting-for-console') {
        const devs = await this.qmp.execute<Array<{ label: string; filename: string }>>('query-chardev');
        const serial = devs.find((d) => d.label === 'serial0');
        if (serial && !serial.filename.startsWith('disconnected:')) {
          await this.qmp.execute('cont');
          this.setState('running');
          return;
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    } catch (err) {
      // The machine was stopped while waiting: nothing to resume. Anything else is reported on stderr.
      if (this._state !== 'stopped') process.emitWarning(`could not resume ${this.info.name}: ${(err as Error).message}`);
    }
  }

  private setState(s: MachineState): void {
    if (this._state === s || this._state === 'stopped') return;
    this._state = s;
    this.stateEmitter.fire(s);
  }

  private handleQmpEvent(e: QmpEvent): void {
    switch (e.event) {
      case 'RESUME':
        this.setState('running');
        break;
      case 'STOP':
        if (this._state !== 'waiting-for-console') this.setState(this.poweringOff ? 'off' : 'paused');
        break;
      case 'SHUTDOWN':
        // With -no-shutdown a guest power-off stops the VM; the process (and its sockets) stay.
        if ((e.data as { reason?: string } | undefined)?.reason !== 'host-qmp-quit') this.setState('off');
        break;
    }
    this.qmpEventEmitter.fire(e);
  }

  // ---- console -------------------------------------------------------------------------------

  private requireConsole(what: string): ChardevConsole {
    if (!this.console) {
      throw new ConsoleUnavailableError(
        `cannot ${what}: this machine does not hold its serial socket (console mode is not "own"); ` +
          `the client connected to ${this.info.serial} sends it (telnet IAC BREAK = ff f3)`,
      );
    }
    return this.console;
  }

  /** Writes bytes to the guest's first UART (console mode `own`). */
  async writeConsole(data: Uint8Array | string): Promise<void> {
    return this.requireConsole('write to the console').write(data);
  }

  /** Serial BREAK on the first UART. */
  async sendBreak(): Promise<void> {
    this.requireAlive('send BREAK');
    return this.requireConsole('send BREAK').sendBreak();
  }

  /** Magic SysRq: `h`, or a sequence such as `reisub` (each key after its own BREAK). */
  async sysrq(keys: string): Promise<void> {
    this.requireAlive('send SysRq');
    return this.requireConsole('send SysRq').sysrq(keys);
  }

  /** Resolves when `pattern` appears in the serial log after byte `from`; BootTimeoutError otherwise. */
  async waitForOutput(pattern: string | RegExp, opts: { timeoutMs: number; from?: number; what?: string; signal?: AbortSignal }): Promise<{ match: string; endOffset: number }> {
    return this.serialLog.waitFor(pattern, {
      timeoutMs: opts.timeoutMs,
      ...(opts.from !== undefined ? { from: opts.from } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      abortIf: () =>
        this.exited ? new QemuExitError(this.exited.code, this.exited.signal, this.stderr, `while waiting for ${opts.what ?? String(pattern)}`) : undefined,
      onTimeout: async () => new BootTimeoutError(opts.what ?? JSON.stringify(String(pattern)), opts.timeoutMs, await this.serialLog.lastLines(), this.stderr),
    });
  }

  // ---- power and signals ---------------------------------------------------------------------

  private requireAlive(op: string): void {
    if (this._state === 'stopped') throw new MachineStateError(op, 'stopped', 'the QEMU process has exited; start the machine again');
  }

  private requireRunning(op: string): void {
    this.requireAlive(op);
    if (this._state !== 'running') throw new MachineStateError(op, this._state, this._state === 'off' ? 'power it on first' : 'resume it first');
  }

  /** Non-maskable interrupt (QMP inject-nmi). */
  async nmi(): Promise<void> {
    this.requireRunning('inject an NMI');
    await this.qmp.execute('inject-nmi');
  }

  /** Forced reset (QMP system_reset); a machine that is off or paused is also started. */
  async reset(): Promise<void> {
    this.requireAlive('reset');
    await this.qmp.execute('system_reset');
    if (this._state !== 'running') await this.resume();
  }

  /** Power off: the VM stops at its reset vector (stop + system_reset); the process and sockets stay. */
  async off(): Promise<void> {
    this.requireAlive('power off');
    if (this._state === 'off') return;
    this.poweringOff = true;
    try {
      if (this._state === 'running') await this.qmp.execute('stop');
      await this.qmp.execute('system_reset');
      this.setState('off');
    } finally {
      this.poweringOff = false;
    }
  }

  /** Power on: boots from the reset vector. Does nothing if the machine is already running. */
  async on(): Promise<void> {
    this.requireAlive('power on');
    if (this._state === 'running') return;
    if (this._state === 'off') await this.qmp.execute('system_reset');
    await this.resume();
  }

  /**
   * Graceful restart: presses the ACPI power button, waits for the guest to shut itself down, then
   * boots it again. If the guest ignores the button within `timeoutMs`, throws
   * GracefulShutdownTimeoutError and leaves it running — it never falls back to a forced reset.
   */
  async restart(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.requireRunning('restart');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS;
    const shutdown = this.qmp.waitForEvent('SHUTDOWN', { timeoutMs });
    shutdown.catch(() => undefined); // observed below; avoid an unhandled rejection if execute throws first
    await this.qmp.execute('system_powerdown');
    try {
      await shutdown;
    } catch (err) {
      if (this.exited) throw new QemuExitError(this.exited.code, this.exited.signal, this.stderr, 'during a graceful restart');
      throw new GracefulShutdownTimeoutError(timeoutMs);
    }
    await this.qmp.execute('system_reset');
    await this.resume();
  }

  private async resume(): Promise<void> {
    await this.qmp.execute('cont');
    this.setState('running');
  }

  /** A PNG of the VGA screen (QMP screendump; 720x400 in text mode). */
  async screenshot(): Promise<Buffer> {
    this.requireAlive('take a screenshot');
    const file = join(this.stateDirOf(), `screendump-${process.pid}-${++this.screenshotSeq}.png`);
    try {
      await this.qmp.execute('screendump', { filename: file, format: 'png' });
      const png = await readFile(file);
      if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new EmulatorError('EMU_ERR_SCREENSHOT', 'QEMU wrote a screenshot that is not a PNG');
      return png;
    } finally {
      await rm(file, { force: true });
    }
  }

  private stateDirOf(): string {
    return this.info.serialLog.slice(0, this.info.serialLog.lastIndexOf('/'));
  }

  /** Runs a QMP command directly (for callers that need more than the methods above). */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    return this.qmp.execute<T>(command, args);
  }

  /**
   * Stops QEMU (QMP quit, then SIGTERM, then SIGKILL) and removes its sockets. Keeps the serial
   * logs and disk overlays. Idempotent; safe on a process that already exited.
   */
  async stop(): Promise<void> {
    if (!this.exited) {
      try {
        if (this.qmp.state === 'running') await this.qmp.execute('quit', undefined, { timeoutMs: 2000 });
      } catch {
        // QMP gone or quit timed out: the signals below end the process.
      }
      for (const [signal, waitMs] of [[undefined, 3000], ['SIGTERM', 3000], ['SIGKILL', 5000]] as const) {
        if (signal) this.child.kill(signal);
        if (await this.waitExit(waitMs)) break;
      }
    }
    await this.console?.close();
    await this.qmp.disconnect();
    await removeSockets(this.spec);
    this.stateEmitter.dispose();
    this.consoleDataEmitter.dispose();
    this.qmpEventEmitter.dispose();
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([this.exitPromise.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    return done;
  }

  /** Resolves when the QEMU process has exited. */
  get exitedPromise(): Promise<void> {
    return this.exitPromise;
  }

  /**
   * Shows whether the guest really runs under KVM: /dev/kvm must open read-write, and a throwaway
   * instance must print on its serial console within the probe timeout (a software hypervisor
   * behind /dev/kvm can accept the VM and never run it).
   */
  static async probeKvm(opts: QemuMachineOptions): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      await access('/dev/kvm', fsConstants.R_OK | fsConstants.W_OK);
    } catch {
      return { ok: false, reason: '/dev/kvm is missing or not accessible' };
    }
    const timeoutMs = opts.kvmProbeTimeoutMs ?? DEFAULT_KVM_PROBE_MS;
    let probe: QemuMachine | undefined;
    try {
      probe = await QemuMachine.launch({ ...opts, name: `${opts.name}-kvmprobe`, stateDir: join(opts.stateDir, 'kvm-probe'), console: 'external', serialPorts: 1 }, 'kvm');
      await probe.waitForOutput(/\S/, { timeoutMs, what: 'output under KVM' });
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: err instanceof BootTimeoutError ? `the guest printed nothing within ${timeoutMs / 1000} s under KVM` : (err as Error).message.split('\n')[0]! };
    } finally {
      await probe?.stop();
      await rm(join(opts.stateDir, 'kvm-probe'), { recursive: true, force: true });
    }
  }
}

// ---- spec preparation ------------------------------------------------------------------------

async function prepareSpec(opts: QemuMachineOptions, accel: Accel): Promise<MachineSpec> {
  const profileName = opts.profile ?? 'linux';
  const profile = PROFILES[profileName];
  await mkdir(opts.stateDir, { recursive: true });
  const dir = opts.stateDir;
  const serial: SerialPortSpec[] = [{ socket: join(dir, 'serial0.sock'), log: join(dir, 'serial0.log') }];
  if ((opts.serialPorts ?? 1) === 2) serial.push({ socket: join(dir, 'serial1.sock'), log: join(dir, 'serial1.log') });
  const qmpSocket = join(dir, 'qmp.sock');
  for (const p of [qmpSocket, ...serial.map((s) => s.socket)]) {
    if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
      throw new InvalidSpecError(`socket path ${p} is longer than ${MAX_SOCKET_PATH} bytes (the Unix limit): use a shorter --state-dir`);
    }
  }
  const firmware = opts.firmware ?? profile.defaultFirmware;
  let uefi: MachineSpec['uefi'];
  if (firmware === 'uefi') {
    try {
      await access(OVMF_CODE, fsConstants.R_OK);
    } catch {
      throw new MissingBinaryError(OVMF_CODE, 'ovmf');
    }
    const vars = join(dir, 'OVMF_VARS.fd');
    try {
      await access(vars);
    } catch {
      await copyFile(OVMF_VARS, vars);
    }
    uefi = { code: OVMF_CODE, vars };
  }
  const boot = await prepareBoot(opts, dir);
  return {
    name: opts.name,
    profile: profileName,
    accel,
    memoryMb: opts.memoryMb ?? profile.defaultMemoryMb,
    cpus: opts.cpus ?? 1,
    firmware,
    ...(uefi ? { uefi } : {}),
    boot,
    serial: serial as MachineSpec['serial'],
    qmpSocket,
    network: opts.network ?? 'none',
  };
}

async function prepareBoot(opts: QemuMachineOptions, dir: string): Promise<BootSource> {
  const img = opts.image;
  if (img.kind === 'linux') {
    const kernel = img.kernel === 'bzImage' ? img.image.bzImage : img.image.vmlinux;
    return { kind: 'kernel', kernel, initrd: img.image.initrd, cmdline: `${img.image.cmdline} ttygate.hostname=${hostnameOf(opts.name)}` };
  }
  const format = img.format ?? (await detectDiskFormat(img.path));
  const overlay = join(dir, 'disk.qcow2');
  await ensureOverlay(img.path, format, overlay, img.fresh ?? false);
  return { kind: 'disk', disk: overlay, format: 'qcow2', ...(img.cloudInitSeed ? { seedIso: img.cloudInitSeed } : {}) };
}

/** A valid hostname from an instance name (letters, digits, hyphens; at most 63 characters). */
export function hostnameOf(name: string): string {
  const h = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return h || 'ttygate-guest';
}

async function removeSockets(spec: MachineSpec): Promise<void> {
  await Promise.all([spec.qmpSocket, ...spec.serial.map((s) => s.socket)].map((p) => rm(p, { force: true })));
}
