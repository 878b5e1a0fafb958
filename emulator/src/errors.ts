// The emulator's error catalogue: every error has a stable code and a message that says what to do.

export class EmulatorError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** qemu-system-x86_64 (or qemu-img, genisoimage…) is not installed. */
export class MissingBinaryError extends EmulatorError {
  constructor(binary: string, aptPackage: string) {
    super('EMU_ERR_MISSING_BINARY', `${binary} was not found on PATH: install it with \`apt-get install ${aptPackage}\``);
  }
}

/** QEMU exited: while starting, or later on its own. Carries its exit status and stderr. */
export class QemuExitError extends EmulatorError {
  constructor(
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
    during: string,
  ) {
    const how = exitCode !== null ? `with exit code ${exitCode}` : `on signal ${signal}`;
    super('EMU_ERR_QEMU_EXITED', `QEMU exited ${how} ${during}${stderr.trim() ? `; its stderr:\n${indent(stderr.trim())}` : ' (no stderr)'}`);
  }
}

/** The guest did not print what was expected (or anything) within the timeout. */
export class BootTimeoutError extends EmulatorError {
  constructor(
    readonly waitedFor: string,
    readonly timeoutMs: number,
    readonly lastSerialLines: string[],
    readonly stderr: string,
  ) {
    const serial = lastSerialLines.length
      ? `the last serial lines were:\n${indent(lastSerialLines.join('\n'))}`
      : 'the guest printed nothing on its serial console (is the image set up to use ttyS0/COM1 at 115200?)';
    super(
      'EMU_ERR_BOOT_TIMEOUT',
      `no ${waitedFor} on the serial console within ${(timeoutMs / 1000).toFixed(1)} s; ${serial}` +
        (stderr.trim() ? `\nQEMU's stderr:\n${indent(stderr.trim())}` : ''),
    );
  }
}

/** An operation that the machine's current state does not allow (e.g. NMI to a machine that is off). */
export class MachineStateError extends EmulatorError {
  constructor(operation: string, state: string, hint: string) {
    super('EMU_ERR_MACHINE_STATE', `cannot ${operation} while the machine is ${state}: ${hint}`);
  }
}

/** A graceful restart whose ACPI power button the guest ignored. The guest is left running. */
export class GracefulShutdownTimeoutError extends EmulatorError {
  constructor(timeoutMs: number) {
    super(
      'EMU_ERR_GRACEFUL_TIMEOUT',
      `the guest did not shut down within ${(timeoutMs / 1000).toFixed(0)} s of the ACPI power button; it is still running. ` +
        'Its OS may not handle the power button (acpid, or Windows policy). Use a forced reset if you mean it.',
    );
  }
}

/** The console socket is not ours to use (an external client holds it). */
export class ConsoleUnavailableError extends EmulatorError {
  constructor(reason: string) {
    super('EMU_ERR_CONSOLE_UNAVAILABLE', reason);
  }
}

/** A bad option or spec given by the caller. */
export class InvalidSpecError extends EmulatorError {
  constructor(message: string) {
    super('EMU_ERR_INVALID_SPEC', message);
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  | ${l}`)
    .join('\n');
}
