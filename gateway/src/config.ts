// Gateway configuration: one YAML file, schema-validated at start; the only module that reads process.env.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { DEVICE_KINDS, type DeviceSpec } from './devices/device-spec.js';

export interface GatewayConfig {
  listen: { host: string; port: number };
  dataDir: string;
  /** Omitted: a self-signed certificate made in dataDir on first start. */
  tls?: { cert: string; key: string };
  serialConsole: { enabled: boolean };
  /** Extra origins allowed to open the console WebSocket (the gateway's own origin always is). */
  allowedOrigins: string[];
  /** When true, write attaches and power actions must carry a `reason` (a runtime setting too). */
  requireJustification: boolean;
  auth: {
    /** Browser login sessions: ended after this long without a request / this long after login. */
    session: { idleMinutes: number; maxHours: number };
    /** Failed logins allowed per user name and per source address within `windowSeconds`. */
    loginThrottle: { perUser: number; perSource: number; windowSeconds: number };
  };
  console: {
    /** Console sessions without user input are closed after this (0: never); a runtime setting too. */
    idleTimeoutSeconds: number;
    /** The idle warning goes out this long before the close. */
    idleWarningSeconds: number;
    /** Console sessions are closed this long after attach (0: never); a runtime setting too. */
    maxSessionSeconds: number;
    /** Binary frames larger than this close the session with 1009. */
    maxFrameBytes: number;
    /** Bytes a viewer may have unsent before it is dropped as too slow. */
    viewerMaxBufferedBytes: number;
    /** History kept in memory per device for replay on attach. */
    historyBytes: number;
  };
  emulator: { imagesDir?: string; accel: 'tcg' | 'kvm' };
  devices: DeviceSpec[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ID = '^[a-z0-9][a-z0-9._-]{0,62}$';
const common = {
  id: { type: 'string', pattern: ID },
  group: { type: 'string', pattern: ID },
  description: { type: 'string', maxLength: 500 },
  bootDiagnostics: { type: 'object', additionalProperties: false, required: ['enabled'], properties: { enabled: { type: 'boolean' } } },
  console: { type: 'object', additionalProperties: false, required: ['enabled'], properties: { enabled: { type: 'boolean' } } },
  capture: {
    type: 'object',
    additionalProperties: false,
    properties: { maxBytes: { type: 'integer', minimum: 65536 }, maxAgeSeconds: { type: 'integer', minimum: 60 } },
  },
} as const;
const argv = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } as const;

/** JSON schema of one device, also used to validate `POST /api/v1/devices`. */
export const deviceSchema = {
  type: 'object',
  required: ['id', 'kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: [
    {
      additionalProperties: false,
      required: ['path'],
      properties: {
        ...common,
        kind: { const: 'serial' },
        path: { type: 'string', minLength: 1 },
        baudRate: { type: 'integer', minimum: 50, maximum: 4000000 },
        dataBits: { enum: [5, 6, 7, 8] },
        parity: { enum: ['none', 'even', 'odd', 'mark', 'space'] },
        stopBits: { enum: [1, 1.5, 2] },
        rtscts: { type: 'boolean' },
        power: { type: 'object', additionalProperties: false, properties: { on: argv, off: argv, cycle: argv } },
      },
    },
    {
      additionalProperties: false,
      required: ['image'],
      properties: {
        ...common,
        kind: { const: 'qemu' },
        image: { type: 'string', minLength: 1 },
        memoryMb: { type: 'integer', minimum: 64, maximum: 65536 },
        instances: { type: 'integer', minimum: 1, maximum: 64 },
        kernel: { enum: ['vmlinux', 'bzImage'] },
      },
    },
    {
      additionalProperties: false,
      required: ['serial'],
      properties: {
        ...common,
        kind: { const: 'qemu-socket' },
        serial: { type: 'string', minLength: 1 },
        qmp: { type: 'string', minLength: 1 },
        telnet: { type: 'boolean' },
      },
    },
    {
      additionalProperties: false,
      required: ['host', 'port'],
      properties: {
        ...common,
        kind: { const: 'tcp' },
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        protocol: { enum: ['raw', 'telnet'] },
        tls: {
          oneOf: [
            { type: 'boolean' },
            {
              type: 'object',
              additionalProperties: false,
              properties: { ca: { type: 'string' }, servername: { type: 'string' }, rejectUnauthorized: { type: 'boolean' } },
            },
          ],
        },
      },
    },
    {
      // An in-memory device that echoes what is written (demos and tests).
      additionalProperties: false,
      properties: { ...common, kind: { const: 'loopback' }, echo: { type: 'boolean' }, greeting: { type: 'string', maxLength: 4096 } },
    },
  ],
} as const;

const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: {
      type: 'object',
      additionalProperties: false,
      properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
    },
    dataDir: { type: 'string', minLength: 1 },
    tls: { type: 'object', additionalProperties: false, required: ['cert', 'key'], properties: { cert: { type: 'string' }, key: { type: 'string' } } },
    serialConsole: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' } } },
    allowedOrigins: { type: 'array', items: { type: 'string', pattern: '^https://' } },
    requireJustification: { type: 'boolean' },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        session: {
          type: 'object',
          additionalProperties: false,
          properties: { idleMinutes: { type: 'integer', minimum: 1, maximum: 1440 }, maxHours: { type: 'integer', minimum: 1, maximum: 720 } },
        },
        loginThrottle: {
          type: 'object',
          additionalProperties: false,
          properties: {
            perUser: { type: 'integer', minimum: 1, maximum: 1000 },
            perSource: { type: 'integer', minimum: 1, maximum: 100000 },
            windowSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
          },
        },
      },
    },
    console: {
      type: 'object',
      additionalProperties: false,
      properties: {
        idleTimeoutSeconds: { type: 'integer', minimum: 0, maximum: 604800 },
        idleWarningSeconds: { type: 'integer', minimum: 0, maximum: 3600 },
        maxSessionSeconds: { type: 'integer', minimum: 0, maximum: 2592000 },
        maxFrameBytes: { type: 'integer', minimum: 1024, maximum: 16777216 },
        viewerMaxBufferedBytes: { type: 'integer', minimum: 65536 },
        historyBytes: { type: 'integer', minimum: 4096 },
      },
    },
    emulator: {
      type: 'object',
      additionalProperties: false,
      properties: { imagesDir: { type: 'string' }, accel: { enum: ['tcg', 'kvm'] } },
    },
    devices: { type: 'array', items: deviceSchema },
  },
} as const;

const ajv = new Ajv({ allErrors: false, discriminator: true, strict: false });
const validateConfig = ajv.compile(configSchema);
export const validateDevice = ajv.compile(deviceSchema);

/** One line naming the field: `devices[1].baudRate: must be integer`. */
export function describeSchemaError(e: ErrorObject, root = 'config'): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('');
  const where = `${root}${path}`;
  if (e.keyword === 'additionalProperties') return `${where}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'required') return `${where}: missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
  if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'discriminator') return `${where}.kind: must be one of ${DEVICE_KINDS.map((k) => `"${k}"`).join(', ')}`;
  return `${where}: ${e.message ?? 'is invalid'}`;
}

/** The embedded default: one emulated Linux VM `demo-linux`, data in ./data, a self-signed certificate. */
export function defaultConfig(): GatewayConfig {
  return withDefaults({ devices: [{ id: 'demo-linux', kind: 'qemu', image: 'linux', group: 'demo' }] as DeviceSpec[] }, process.cwd());
}

function withDefaults(raw: Partial<GatewayConfig>, baseDir: string): GatewayConfig {
  return {
    listen: { host: raw.listen?.host ?? '127.0.0.1', port: raw.listen?.port ?? 8443 },
    dataDir: resolve(baseDir, raw.dataDir ?? './data'),
    ...(raw.tls ? { tls: { cert: resolve(baseDir, raw.tls.cert), key: resolve(baseDir, raw.tls.key) } } : {}),
    serialConsole: { enabled: raw.serialConsole?.enabled ?? true },
    allowedOrigins: raw.allowedOrigins ?? [],
    requireJustification: raw.requireJustification ?? false,
    auth: {
      session: { idleMinutes: raw.auth?.session?.idleMinutes ?? 30, maxHours: raw.auth?.session?.maxHours ?? 12 },
      loginThrottle: {
        perUser: raw.auth?.loginThrottle?.perUser ?? 5,
        perSource: raw.auth?.loginThrottle?.perSource ?? 20,
        windowSeconds: raw.auth?.loginThrottle?.windowSeconds ?? 900,
      },
    },
    console: {
      idleTimeoutSeconds: raw.console?.idleTimeoutSeconds ?? 1800,
      idleWarningSeconds: raw.console?.idleWarningSeconds ?? 60,
      maxSessionSeconds: raw.console?.maxSessionSeconds ?? 12 * 3600,
      maxFrameBytes: raw.console?.maxFrameBytes ?? 64 * 1024,
      viewerMaxBufferedBytes: raw.console?.viewerMaxBufferedBytes ?? 8 * 1024 * 1024,
      historyBytes: raw.console?.historyBytes ?? 1024 * 1024,
    },
    emulator: { ...(raw.emulator?.imagesDir ? { imagesDir: resolve(baseDir, raw.emulator.imagesDir) } : {}), accel: raw.emulator?.accel ?? 'tcg' },
    devices: raw.devices ?? [],
  };
}

/** Parses and validates a config text; throws ConfigError naming the file and the field. */
export function parseConfig(text: string, file: string, baseDir: string): GatewayConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  if (!validateConfig(raw)) {
    throw new ConfigError(`${file}: ${describeSchemaError(validateConfig.errors![0]!)}`);
  }
  const config = withDefaults(raw as Partial<GatewayConfig>, baseDir);
  const ids = new Set<string>();
  for (const [i, d] of config.devices.entries()) {
    if (ids.has(d.id)) throw new ConfigError(`${file}: config.devices[${i}].id: duplicate device id "${d.id}"`);
    ids.add(d.id);
  }
  if (config.console.viewerMaxBufferedBytes < config.console.historyBytes) {
    // A newcomer's replay (up to historyBytes) must fit in its send buffer, or it is dropped at once.
    throw new ConfigError(`${file}: config.console.viewerMaxBufferedBytes: must be at least console.historyBytes (${config.console.historyBytes})`);
  }
  return config;
}

/** Loads `file` (relative paths inside resolve against its directory), or the embedded default. */
export async function loadConfig(file: string | undefined, overrides: { dataDir?: string } = {}): Promise<GatewayConfig> {
  let config: GatewayConfig;
  if (file === undefined) config = defaultConfig();
  else {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    config = parseConfig(text, file, resolve(file, '..'));
  }
  if (overrides.dataDir) config.dataDir = resolve(overrides.dataDir);
  return config;
}
