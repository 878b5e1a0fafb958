/** Guest images for the emulator: the built-in Linux guest and cloud-init NoCloud seeds. */
export {
  buildLinuxImage,
  defaultDownloadDir,
  defaultImagesDir,
  listImages,
  DEFAULT_CMDLINE,
  readCredentials,
  RECIPE_VERSION,
  resolveImage,
  type BuildLinuxImageOptions,
  type BuildLinuxImageResult,
  type BuildProgress,
  type LinuxImage,
} from './build.js';
export { DEFAULT_GUEST_USER, generatePassword, hashPassword, verifyPassword } from './credentials.js';
export {
  ImageCorruptError,
  ImageError,
  ImageNotBuiltError,
  InvalidCredentialsError,
  KernelPackageError,
  MissingToolError,
} from './errors.js';
export { DEFAULT_GUEST_HOSTNAME, HOSTNAME_OPTION } from './guest.js';
export { buildNoCloudSeed, renderMetaData, renderUserData } from './nocloud.js';
