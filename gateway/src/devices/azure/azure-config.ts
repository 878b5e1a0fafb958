// The `azure:` section of the gateway config (types only; the schema is in config.ts).

/** The three Azure environments the gateway knows the endpoints of. */
export type AzureEnvironmentName = 'AzurePublic' | 'AzureUSGovernment' | 'AzureChina';
export const AZURE_ENVIRONMENTS = ['AzurePublic', 'AzureUSGovernment', 'AzureChina'] as const satisfies readonly AzureEnvironmentName[];

/**
 * How the gateway authenticates to Azure (@azure/identity). Secrets are never in the config file:
 * a client secret comes from `secretFile` or the environment variable named by `secretEnv`; a
 * certificate (PEM with its private key) from `certificateFile` or the path in `certificateEnv`.
 */
export type AzureCredentialConfig =
  | { type: 'default'; tenantId?: string; managedIdentityClientId?: string }
  | { type: 'managedIdentity'; clientId?: string; resourceId?: string }
  | { type: 'clientSecret'; tenantId: string; clientId: string; secretFile?: string; secretEnv?: string }
  | { type: 'clientCertificate'; tenantId: string; clientId: string; certificateFile?: string; certificateEnv?: string; sendCertificateChain?: boolean }
  | { type: 'workloadIdentity'; tenantId?: string; clientId?: string; tokenFile?: string };

/** One cloud: a named environment, or explicit endpoints (Azure Stack Hub, a private ARM, the test fake). */
export interface AzureCloudConfig {
  environment?: AzureEnvironmentName;
  /** ARM endpoint, `https://…` (overrides the environment's). */
  armEndpoint?: string;
  /** Microsoft Entra authority host, `https://…`. */
  authorityHost?: string;
  /** Token scope for ARM, e.g. `https://management.usgovcloudapi.net/.default`. */
  scope?: string;
  /** Hosts that may receive the ARM token for the serial console socket (replaces the environment's list). */
  consoleHosts?: string[];
  /** Hosts boot-diagnostics blobs may be fetched from (replaces the environment's list). */
  storageHosts?: string[];
  /** PEM file of extra CAs to trust for every Azure endpoint of this cloud (a private cloud's CA). */
  caFile?: string;
  credential?: AzureCredentialConfig;
}

export interface AzureConfig {
  /** Cloud used by devices that name none (default `default`). */
  defaultCloud: string;
  clouds: Record<string, AzureCloudConfig>;
  /** How often a long-running operation is polled when Azure sends no Retry-After (default: the SDK's 2 s). */
  pollIntervalMs?: number;
}
