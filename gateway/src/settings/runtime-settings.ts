// Runtime settings: what an owner may change while the gateway runs (pure: shape, defaults, patches).

import type { GatewayConfig } from '../config.js';

export interface RuntimeSettings {
  /** Azure's subscription-level switch: off refuses every console attach. */
  readonly serialConsole: { readonly enabled: boolean };
  /** Write attaches and power actions must carry a `reason`. */
  readonly requireJustification: boolean;
  readonly console: {
    readonly idleTimeoutSeconds: number;
    readonly idleWarningSeconds: number;
    readonly maxSessionSeconds: number;
  };
}

/** The stored form: one row per leaf, keyed by its dotted path. */
export const SETTING_KEYS = [
  'serialConsole.enabled',
  'requireJustification',
  'console.idleTimeoutSeconds',
  'console.idleWarningSeconds',
  'console.maxSessionSeconds',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/** JSON schemas of the console session limits (shared by the config file and the settings API). */
export const sessionLimitSchemas = {
  idleTimeoutSeconds: { type: 'integer', minimum: 0, maximum: 604800 },
  idleWarningSeconds: { type: 'integer', minimum: 0, maximum: 3600 },
  maxSessionSeconds: { type: 'integer', minimum: 0, maximum: 2592000 },
} as const;

/** JSON schema of `PUT /api/v1/settings`: any subset of the settings (at least one). */
export const settingsPatchSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    serialConsole: { type: 'object', additionalProperties: false, required: ['enabled'], properties: { enabled: { type: 'boolean' } } },
    requireJustification: { type: 'boolean' },
    console: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: sessionLimitSchemas,
    },
  },
} as const;

export interface SettingsPatch {
  serialConsole?: { enabled: boolean };
  requireJustification?: boolean;
  console?: { idleTimeoutSeconds?: number; idleWarningSeconds?: number; maxSessionSeconds?: number };
}

/** One changed leaf, as audited. */
export interface SettingChange {
  readonly key: SettingKey;
  readonly old: boolean | number;
  readonly new: boolean | number;
}

export function settingsFromConfig(config: GatewayConfig): RuntimeSettings {
  return {
    serialConsole: { enabled: config.serialConsole.enabled },
    requireJustification: config.requireJustification,
    console: {
      idleTimeoutSeconds: config.console.idleTimeoutSeconds,
      idleWarningSeconds: config.console.idleWarningSeconds,
      maxSessionSeconds: config.console.maxSessionSeconds,
    },
  };
}

export function getSetting(s: RuntimeSettings, key: SettingKey): boolean | number {
  switch (key) {
    case 'serialConsole.enabled':
      return s.serialConsole.enabled;
    case 'requireJustification':
      return s.requireJustification;
    case 'console.idleTimeoutSeconds':
      return s.console.idleTimeoutSeconds;
    case 'console.idleWarningSeconds':
      return s.console.idleWarningSeconds;
    case 'console.maxSessionSeconds':
      return s.console.maxSessionSeconds;
  }
}

/** `s` with one leaf replaced; a value of the wrong type (a hand-edited row) is ignored. */
export function withSetting(s: RuntimeSettings, key: SettingKey, value: unknown): RuntimeSettings {
  const isBool = typeof value === 'boolean';
  const isCount = typeof value === 'number' && Number.isInteger(value) && value >= 0;
  switch (key) {
    case 'serialConsole.enabled':
      return isBool ? { ...s, serialConsole: { enabled: value } } : s;
    case 'requireJustification':
      return isBool ? { ...s, requireJustification: value } : s;
    default: {
      if (!isCount) return s;
      const leaf = key.slice('console.'.length) as keyof RuntimeSettings['console'];
      return { ...s, console: { ...s.console, [leaf]: value } };
    }
  }
}

/** The leaves a patch would change (unchanged values are not changes). */
export function diffSettings(s: RuntimeSettings, patch: SettingsPatch): SettingChange[] {
  const wanted: [SettingKey, boolean | number | undefined][] = [
    ['serialConsole.enabled', patch.serialConsole?.enabled],
    ['requireJustification', patch.requireJustification],
    ['console.idleTimeoutSeconds', patch.console?.idleTimeoutSeconds],
    ['console.idleWarningSeconds', patch.console?.idleWarningSeconds],
    ['console.maxSessionSeconds', patch.console?.maxSessionSeconds],
  ];
  return wanted
    .filter((w): w is [SettingKey, boolean | number] => w[1] !== undefined && w[1] !== getSetting(s, w[0]))
    .map(([key, value]) => ({ key, old: getSetting(s, key), new: value }));
}
