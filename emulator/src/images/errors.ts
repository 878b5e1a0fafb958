/**
 * Errors raised by the guest image builder. Every error carries a stable `code` (EMU_ERR_*)
 * that the CLI prints and scripts can match on; the message says what to do about it.
 */
export class ImageError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageError';
    this.code = code;
  }
}

/** No image has been built yet (or the named one does not exist). */
export class ImageNotBuiltError extends ImageError {
  constructor(message = 'no Linux guest image has been built yet: run `ttygate-emu image build linux` first') {
    super('EMU_ERR_IMAGE_NOT_BUILT', message);
    this.name = 'ImageNotBuiltError';
  }
}

/** A host tool the builder runs is not installed; `aptPackage` names the Debian package that provides it. */
export class MissingToolError extends ImageError {
  readonly tool: string;
  readonly aptPackage: string;
  constructor(tool: string, aptPackage: string, detail?: string) {
    super(
      'EMU_ERR_MISSING_TOOL',
      `${tool} is required to build guest images but ${detail ?? 'was not found on PATH'}: ` +
        `install it with \`apt-get install ${aptPackage}\``,
    );
    this.name = 'MissingToolError';
    this.tool = tool;
    this.aptPackage = aptPackage;
  }
}

/** The kernel package could not be resolved, downloaded, verified or unpacked. */
export class KernelPackageError extends ImageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EMU_ERR_KERNEL_PACKAGE', message, options);
    this.name = 'KernelPackageError';
  }
}

/** The stored image is damaged or was written by an incompatible builder. */
export class ImageCorruptError extends ImageError {
  constructor(message: string) {
    super('EMU_ERR_IMAGE_CORRUPT', message);
    this.name = 'ImageCorruptError';
  }
}

/** A user name or password that the guest cannot use. */
export class InvalidCredentialsError extends ImageError {
  constructor(message: string) {
    super('EMU_ERR_INVALID_CREDENTIALS', message);
    this.name = 'InvalidCredentialsError';
  }
}
