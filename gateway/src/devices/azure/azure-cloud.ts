// Azure cloud table: ARM endpoint, authority, token scope and host allow-lists per environment (pure).

import type { AzureCloudConfig, AzureCredentialConfig, AzureEnvironmentName } from './azure-config.js';

export interface AzureCloud {
  name: string;
  armEndpoint: string;
  authorityHost: string;
  scope: string;
  consoleHosts: string[];
  storageHosts: string[];
  caFile?: string;
  credential: AzureCredentialConfig;
}

type Endpoints = Omit<AzureCloud, 'name' | 'caFile' | 'credential'>;

/**
 * Endpoints per environment, as the Azure CLI's cloud table (`az cloud show`) and the SDK's
 * `AzureClouds` list them. Serial console hosts: `*.serialconsole.azure.com` (public) and
 * `*.serialconsole.azure.us` (US Government), as the issue names them; Azure China's console host
 * is not documented, so its list is empty and a China console refuses to connect until
 * `consoleHosts` is configured (fail safe: the token goes nowhere unlisted). Storage: the
 * boot-diagnostics blob endpoints of each cloud (custom storage accounts and managed storage).
 */
export const AZURE_ENVIRONMENT_ENDPOINTS: Record<AzureEnvironmentName, Endpoints> = {
  AzurePublic: {
    armEndpoint: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    scope: 'https://management.azure.com/.default',
    consoleHosts: ['*.serialconsole.azure.com'],
    storageHosts: ['*.blob.core.windows.net', '*.blob.storage.azure.net'],
  },
  AzureUSGovernment: {
    armEndpoint: 'https://management.usgovcloudapi.net',
    authorityHost: 'https://login.microsoftonline.us',
    scope: 'https://management.usgovcloudapi.net/.default',
    consoleHosts: ['*.serialconsole.azure.us'],
    storageHosts: ['*.blob.core.usgovcloudapi.net'],
  },
  AzureChina: {
    armEndpoint: 'https://management.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    scope: 'https://management.chinacloudapi.cn/.default',
    consoleHosts: [],
    storageHosts: ['*.blob.core.chinacloudapi.cn'],
  },
};

/** The cloud a device uses: its environment's endpoints, with every explicit setting taking precedence. */
export function resolveCloud(name: string, c: AzureCloudConfig): AzureCloud {
  const base = c.environment ? AZURE_ENVIRONMENT_ENDPOINTS[c.environment] : undefined;
  const armEndpoint = trimSlash(c.armEndpoint ?? base?.armEndpoint);
  const authorityHost = trimSlash(c.authorityHost ?? base?.authorityHost);
  if (!armEndpoint || !authorityHost) {
    throw new RangeError(`azure cloud "${name}": set environment (${Object.keys(AZURE_ENVIRONMENT_ENDPOINTS).join(', ')}) or both armEndpoint and authorityHost`);
  }
  // A custom ARM endpoint's token audience is the endpoint itself unless told otherwise (Azure Stack Hub uses its own audience: set scope).
  const scope = c.scope ?? (c.armEndpoint ? `${armEndpoint}/.default` : base!.scope);
  return {
    name,
    armEndpoint,
    authorityHost,
    scope,
    consoleHosts: c.consoleHosts ?? base?.consoleHosts ?? [],
    storageHosts: c.storageHosts ?? base?.storageHosts ?? [],
    ...(c.caFile ? { caFile: c.caFile } : {}),
    credential: c.credential ?? { type: 'default' },
  };
}

function trimSlash(url: string | undefined): string | undefined {
  return url?.replace(/\/+$/, '');
}
