// The ttygate-emu CLI: build guest images and run them in QEMU with their serial consoles exposed.

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { randomBytes } from 'node:crypto';
import { attachTerminal } from './console/attach-terminal.js';
import { EmulatorError } from './errors.js';
import { buildLinuxImage, buildNoCloudSeed, defaultImagesDir, readCredentials, resolveImage, listImages } from './images/index.js';
import type { MachineImage, QemuMachine, QemuMachineOptions } from './machine/qemu-machine.js';
import { instanceDir, startScaleSet } from './machine/scale-set.js';

const USAGE = `ttygate-emu: boot guests in QEMU with their serial consoles (ttyS0/COM1) and QMP exposed

Usage:
  ttygate-emu image build linux [--user NAME] [--password-stdin] [--images DIR]
  ttygate-emu image list [--images DIR]
  ttygate-emu run --image linux|PATH --name NAME [options]
  ttygate-emu console SOCKET
  ttygate-emu help [COMMAND]

Run "ttygate-emu COMMAND --help" for the options of a command.
Images live in $TTYGATE_IMAGES, else ~/.cache/ttygate/images (--images overrides).`;

const BUILD_USAGE = `ttygate-emu image build linux [--user NAME] [--password-stdin] [--images DIR]

Builds a bootable Linux guest from Debian's packages: the kernel from the linux-image package and a
busybox initramfs with getty on ttyS0 (and ttyS1 when present) at 115200, kernel.sysrq=1, the ACPI
power button honoured, and one password user. Cached by a content hash of its inputs: rebuilding
unchanged inputs is instant.

Options:
  --user NAME        the guest's login user (default: operator)
  --password-stdin   read the user's password from standard input; without it a password is
                     generated, printed once, and stored beside the image (credentials.json, 0600)
  --images DIR       image directory (default: $TTYGATE_IMAGES or ~/.cache/ttygate/images)`;

const RUN_USAGE = `ttygate-emu run --image linux|PATH --name NAME [options]

Starts each instance under QEMU with the first serial port (ttyS0/COM1) as a telnet-mode Unix socket
(one client at a time; BREAK is IAC BREAK), QMP on a Unix socket, a VGA device for screenshots, and a
log file that keeps all serial output. Prints one JSON line per instance:
  {"name","instance","serial","serialLog","qmp","pid","accel"}
then stays in the foreground; SIGINT/SIGTERM stop every instance and remove its sockets.

Options:
  --image linux|PATH    "linux": the most recently built linux image; PATH: a qcow2, raw or VHD disk
  --name NAME           instance name (scale sets: NAME-0, NAME-1, …)
  --instances N         a scale set of N instances, each with its own sockets and disk overlay (default 1)
  --state-dir DIR       where sockets, logs and overlays go (default: $XDG_RUNTIME_DIR or /tmp, /ttygate-emu)
  --memory MB           guest memory (default: 256 for linux, 4096 for windows)
  --cpus N              virtual CPUs (default 1)
  --serial-ports 1|2    also expose ttyS1/COM2 (default 1)
  --wait-for-console    hold each guest paused until the first client connects to its serial socket
  --accel tcg|kvm       tcg (default); kvm is used only if a probe shows the guest runs under it
  --kernel vmlinux|bzimage  linux images: the uncompressed kernel (fast, PVH) or the bzImage (VGA console)
  --profile linux|windows   machine preset (windows: q35, COM1, SATA disk, UEFI)
  --firmware bios|uefi  override the profile's firmware (uefi uses Debian's ovmf)
  --cloud-init          disk images: attach a NoCloud seed that creates a password user (printed once)
  --user NAME           the user --cloud-init creates (default: operator)
  --reimage             disk images: discard each instance's overlay and start from the base image
  --network none|user   no network (default) or QEMU user-mode networking
  --boot-timeout S      fail if a guest prints nothing on its console within S seconds (default 60; 0: never)
  --attach              attach this terminal to the console (one instance; Ctrl+] opens a menu)
  --images DIR          image directory`;

const CONSOLE_USAGE = `ttygate-emu console SOCKET

Attaches this terminal (raw mode) to a guest's serial socket, as printed by "ttygate-emu run".
Ctrl+] opens a menu: b BREAK, s SysRq key, q quit.`;

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}

/** CLI entry point; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    switch (cmd) {
      case 'image':
        return await imageCommand(rest);
      case 'run':
        return await runCommand(rest);
      case 'console':
        return await consoleCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(rest[0] === 'run' ? RUN_USAGE : rest[0] === 'image' ? BUILD_USAGE : rest[0] === 'console' ? CONSOLE_USAGE : USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`ttygate-emu: ${err.message}`);
      return 2;
    }
    const code = err instanceof EmulatorError || (err as { code?: unknown }).code ? ` [${(err as { code: string }).code}]` : '';
    console.error(`ttygate-emu: error${code}: ${(err as Error).message}`);
    return 1;
  }
}

async function imageCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') {
    const { values } = parse(rest, { images: { type: 'string' } }, BUILD_USAGE);
    if (values.help) return (console.log('ttygate-emu image list [--images DIR]'), 0);
    const imagesDir = values.images ? resolve(values.images) : defaultImagesDir();
    const images = await listImages(imagesDir);
    if (images.length === 0) console.error(`no images in ${imagesDir}; build one with \`ttygate-emu image build linux\``);
    for (const i of images) console.log(`${i.kind}\t${i.hash}\t${i.kernelVersion}\tuser=${i.user}\t${i.builtAt}\t${i.dir}${i.latest ? '\t(latest)' : ''}`);
    return 0;
  }
  if (sub !== 'build') throw new UsageError(`usage: ttygate-emu image build linux | ttygate-emu image list\n\n${BUILD_USAGE}`);
  const { values, positionals } = parse(rest, { user: { type: 'string' }, 'password-stdin': { type: 'boolean' }, images: { type: 'string' } }, BUILD_USAGE);
  if (values.help) return (console.log(BUILD_USAGE), 0);
  if (positionals[0] !== 'linux' || positionals.length !== 1) {
    throw new UsageError(`image build takes one image kind, "linux" (Windows images are supplied by you: see the README)\n\n${BUILD_USAGE}`);
  }
  let password: string | undefined;
  if (values['password-stdin']) {
    password = (await readStdin()).replace(/\r?\n$/, '');
    if (!password) throw new UsageError('--password-stdin: standard input was empty');
  }
  const imagesDir = values.images ? resolve(values.images) : defaultImagesDir();
  const started = Date.now();
  const result = await buildLinuxImage({
    imagesDir,
    ...(values.user ? { user: values.user } : {}),
    ...(password !== undefined ? { password } : {}),
    onProgress: (p) => console.error(`ttygate-emu: ${p.step}${p.detail ? `: ${p.detail}` : ''}`),
  });
  const { image } = result;
  console.error(
    `ttygate-emu: image linux ${image.hash} (kernel ${image.kernelVersion}) ${result.cached ? 'is up to date' : 'built'} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${image.dir}`,
  );
  if (result.generatedPassword) {
    console.error(`ttygate-emu: guest user "${image.user}", generated password (shown once; also in ${image.credentialsFile}):`);
    console.log(result.generatedPassword);
  } else {
    console.error(`ttygate-emu: guest user "${image.user}"; its password is in ${image.credentialsFile}`);
  }
  return 0;
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      image: { type: 'string' },
      name: { type: 'string' },
      instances: { type: 'string', default: '1' },
      'state-dir': { type: 'string' },
      memory: { type: 'string' },
      cpus: { type: 'string' },
      'serial-ports': { type: 'string', default: '1' },
      'wait-for-console': { type: 'boolean' },
      accel: { type: 'string', default: 'tcg' },
      kernel: { type: 'string', default: 'vmlinux' },
      profile: { type: 'string' },
      firmware: { type: 'string' },
      'cloud-init': { type: 'boolean' },
      user: { type: 'string', default: 'operator' },
      reimage: { type: 'boolean' },
      network: { type: 'string', default: 'none' },
      'boot-timeout': { type: 'string', default: '60' },
      attach: { type: 'boolean' },
      images: { type: 'string' },
    },
    RUN_USAGE,
  );
  if (values.help) return (console.log(RUN_USAGE), 0);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${RUN_USAGE}`);
  if (!values.image) throw new UsageError(`--image is required (e.g. --image linux)\n\n${RUN_USAGE}`);
  if (!values.name || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(values.name)) {
    throw new UsageError('--name is required: letters, digits, ".", "_" and "-", at most 63 characters');
  }
  const instances = intOption('--instances', values.instances, 1, 64);
  const serialPorts = intOption('--serial-ports', values['serial-ports'], 1, 2) as 1 | 2;
  const bootTimeoutS = intOption('--boot-timeout', values['boot-timeout'], 0, 3600);
  const accel = oneOf('--accel', values.accel, ['tcg', 'kvm'] as const);
  const kernel = oneOf('--kernel', values.kernel, ['vmlinux', 'bzimage'] as const);
  const network = oneOf('--network', values.network, ['none', 'user'] as const);
  const profile = values.profile ? oneOf('--profile', values.profile, ['linux', 'windows'] as const) : undefined;
  const firmware = values.firmware ? oneOf('--firmware', values.firmware, ['bios', 'uefi'] as const) : undefined;
  if (values.attach && instances !== 1) throw new UsageError('--attach works with one instance');
  if (values.attach && values['wait-for-console']) throw new UsageError('--attach already connects before the guest starts; drop --wait-for-console');
  const stateDir = resolve(values['state-dir'] ?? join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), 'ttygate-emu'));
  const imagesDir = values.images ? resolve(values.images) : defaultImagesDir();

  let image: MachineImage;
  if (values.image === 'linux') {
    image = { kind: 'linux', image: await resolveImage(imagesDir, 'linux'), kernel: kernel === 'bzimage' ? 'bzImage' : 'vmlinux' };
    if (values['cloud-init']) throw new UsageError('--cloud-init is for disk images; the linux image has its user built in');
  } else {
    image = { kind: 'disk', path: resolve(values.image), ...(values.reimage ? { fresh: true } : {}) };
  }

  const base = {
    image,
    accel,
    serialPorts,
    network,
    console: values.attach ? 'own' : values['wait-for-console'] ? 'wait-for-external' : 'external',
    ...(profile ? { profile } : {}),
    ...(firmware ? { firmware } : {}),
    ...(values.memory ? { memoryMb: intOption('--memory', values.memory, 32, 1 << 20) } : {}),
    ...(values.cpus ? { cpus: intOption('--cpus', values.cpus, 1, 64) } : {}),
  } satisfies Partial<QemuMachineOptions>;

  const seeds: string[] = [];
  const set = await startScaleSet({
    ...base,
    name: values.name,
    instances,
    stateDir,
    perInstance: async (i, o) => {
      if (!values['cloud-init'] || o.image.kind !== 'disk') return o;
      const dir = instanceDir(stateDir, values.name!, i);
      const password = randomBytes(15).toString('base64url');
      const credentials = join(dir, 'credentials.json');
      await mkdir(dir, { recursive: true });
      await writeFile(credentials, JSON.stringify({ user: values.user, password }) + '\n', { mode: 0o600 });
      await chmod(credentials, 0o600);
      const seed = await buildNoCloudSeed({ dir, user: values.user!, password, hostname: o.name, instanceId: `${o.name}-${Date.now()}` });
      seeds.push(`${o.name}: user "${values.user}", password ${password} (also in ${credentials})`);
      return { ...o, image: { ...o.image, cloudInitSeed: seed } };
    },
  });
  for (const s of seeds) console.error(`ttygate-emu: cloud-init ${s}`);

  const machines = set.map((s) => s.machine);
  for (const { instance, machine } of set) {
    const i = machine.info;
    console.log(JSON.stringify({ name: values.name, instance, serial: i.serial, serialLog: i.serialLog, ...(i.serial2 ? { serial2: i.serial2 } : {}), qmp: i.qmp, pid: i.pid, accel: i.accel }));
    if (i.accelNote) console.error(`ttygate-emu: ${machine.info.name}: ${i.accelNote}`);
  }

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(machines.map((m) => m.stop()));
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(130));
  process.once('SIGTERM', () => void stopAll(143));
  for (const m of machines) {
    m.onExit(({ code, signal }) => {
      if (stopping) return;
      console.error(`ttygate-emu: ${m.info.name}: QEMU exited unexpectedly (${code !== null ? `exit code ${code}` : `signal ${signal}`})${m.qemuStderr.trim() ? `; stderr:\n${m.qemuStderr.trim()}` : ''}`);
      void stopAll(1);
    });
  }

  if (bootTimeoutS > 0) void watchBoot(machines, bootTimeoutS * 1000, () => stopAll(3));

  if (values.attach) {
    const m = machines[0]!;
    const creds = values.image === 'linux' && image.kind === 'linux' ? await readCredentials(image.image) : undefined;
    if (creds) console.error(`ttygate-emu: log in as "${creds.user}" (password in ${image.kind === 'linux' ? image.image.credentialsFile : ''}); Ctrl+] for the menu`);
    await attachTerminal(
      {
        onData: m.onConsoleData,
        write: (d) => m.writeConsole(d),
        sendBreak: () => m.sendBreak(),
        sysrq: (k) => m.sysrq(k),
        extra: { n: ['NMI', () => m.nmi()], r: ['reset (forced)', () => m.reset()], p: ['restart (graceful)', () => m.restart()] },
      },
      process.stdin,
      process.stdout,
    );
    await stopAll(0);
  }
  await new Promise(() => undefined); // stay in the foreground until a signal
  return 0;
}

/** Fails the run if a guest prints nothing on its console within the boot timeout. */
async function watchBoot(machines: QemuMachine[], timeoutMs: number, fail: () => Promise<void>): Promise<void> {
  await Promise.all(
    machines.map(async (m) => {
      while (m.state === 'waiting-for-console') await new Promise((r) => setTimeout(r, 100));
      try {
        await m.waitForOutput(/[\x21-\x7e]/, { timeoutMs, what: 'output' });
      } catch (err) {
        if (m.state === 'stopped') return;
        console.error(`ttygate-emu: ${m.info.name}: error [${(err as EmulatorError).code ?? 'EMU_ERR'}]: ${(err as Error).message}`);
        await fail();
      }
    }),
  );
}

async function consoleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, CONSOLE_USAGE);
  if (values.help) return (console.log(CONSOLE_USAGE), 0);
  if (positionals.length !== 1) throw new UsageError(`console takes the serial socket path\n\n${CONSOLE_USAGE}`);
  const { ChardevConsole } = await import('./console/chardev-console.js');
  const con = await ChardevConsole.connect(positionals[0]!, { timeoutMs: 5000 });
  console.error(`ttygate-emu: connected to ${positionals[0]}; Ctrl+] for the menu`);
  const closed = new Promise<void>((r) => con.onClose(() => r()));
  await Promise.race([attachTerminal({ onData: con.onData, write: (d) => con.write(d), sendBreak: () => con.sendBreak(), sysrq: (k) => con.sysrq(k) }, process.stdin, process.stdout), closed]);
  await con.close();
  process.exit(0);
}

function intOption(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

function oneOf<const T extends readonly string[]>(name: string, value: string | undefined, allowed: T): T[number] {
  if (!allowed.includes(value as string)) throw new UsageError(`${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T[number];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

