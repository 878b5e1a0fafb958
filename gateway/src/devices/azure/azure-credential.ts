// createAzureCredential: an @azure/identity credential from config, secrets read from files or the given environment.

import { readFileSync } from 'node:fs';
import {
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { messageOf } from '../base-transport.js';
import type { AzureCloud } from './azure-cloud.js';
import type { AzureCredentialConfig } from './azure-config.js';

/** A credential failed to produce a token: names the credential and carries what Entra/IMDS said. */
export class AzureCredentialError extends Error {
  readonly code = 'AzureCredentialFailed';
  constructor(
    readonly credential: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AzureCredentialError';
  }
}

/** Variables the credential factory may read (passed in: only config.ts reads process.env). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** `clientSecret (tenant T, client C)`: how errors name a credential, without any secret. */
export function describeCredential(c: AzureCredentialConfig): string {
  switch (c.type) {
    case 'clientSecret':
    case 'clientCertificate':
      return `${c.type} credential (tenant ${c.tenantId}, client ${c.clientId})`;
    case 'managedIdentity':
      return `managedIdentity credential (${c.clientId ? `client ${c.clientId}` : c.resourceId ? `resource ${c.resourceId}` : 'system-assigned'})`;
    case 'workloadIdentity':
      return `workloadIdentity credential${c.clientId ? ` (client ${c.clientId})` : ''}`;
    case 'default':
      return 'default credential chain (environment, workload identity, managed identity, Azure CLI, …)';
  }
}

function secretFrom(what: string, file: string | undefined, envName: string | undefined, env: Environment): string {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
    }
    const value = text.trim();
    if (!value) throw new Error(`the ${what} file ${file} is empty`);
    return value;
  }
  if (envName !== undefined) {
    const value = env[envName]?.trim();
    if (!value) throw new Error(`the environment variable ${envName} (the ${what}) is not set`);
    return value;
  }
  throw new Error(`no ${what}: set ${what === 'client secret' ? 'secretFile or secretEnv' : 'certificateFile or certificateEnv (the PEM itself)'}`);
}

/**
 * Builds the credential for `cloud` (secret files are read now: a missing one is named at once): its authority host, its CA (`ca`), instance discovery off for
 * a non-public authority (a private or test authority cannot answer Microsoft's discovery). Every
 * `getToken` failure becomes an {@link AzureCredentialError} naming the credential.
 */
export function createAzureCredential(cloud: AzureCloud, env: Environment, ca?: Buffer): TokenCredential {
  const c = cloud.credential;
  const name = describeCredential(c);
  const common = {
    authorityHost: cloud.authorityHost,
    ...(ca ? { tlsOptions: { ca } } : {}),
  };
  const discovery = { disableInstanceDiscovery: !isKnownAuthority(cloud.authorityHost) };
  let inner: TokenCredential;
  try {
    switch (c.type) {
      case 'clientSecret':
        inner = new ClientSecretCredential(c.tenantId, c.clientId, secretFrom('client secret', c.secretFile, c.secretEnv, env), { ...common, ...discovery });
        break;
      case 'clientCertificate': {
        // PEM with the private key; read here so a missing file is named, not reported by MSAL later.
        const pem = secretFrom('client certificate', c.certificateFile, c.certificateEnv, env);
        inner = new ClientCertificateCredential(c.tenantId, c.clientId, { certificate: pem }, {
          ...common,
          ...discovery,
          ...(c.sendCertificateChain ? { sendCertificateChain: true } : {}),
        });
        break;
      }
      case 'managedIdentity':
        inner = c.resourceId ? new ManagedIdentityCredential({ resourceId: c.resourceId, ...common }) : c.clientId ? new ManagedIdentityCredential({ clientId: c.clientId, ...common }) : new ManagedIdentityCredential({ ...common });
        break;
      case 'workloadIdentity':
        inner = new WorkloadIdentityCredential({
          ...common,
          ...discovery,
          ...(c.tenantId ? { tenantId: c.tenantId } : {}),
          ...(c.clientId ? { clientId: c.clientId } : {}),
          ...(c.tokenFile ? { tokenFilePath: c.tokenFile } : {}),
        });
        break;
      case 'default':
        inner = new DefaultAzureCredential({
          ...common,
          ...(c.tenantId ? { tenantId: c.tenantId } : {}),
          ...(c.managedIdentityClientId ? { managedIdentityClientId: c.managedIdentityClientId } : {}),
        });
        break;
    }
  } catch (err) {
    throw new AzureCredentialError(name, `Azure ${name} cannot be set up: ${messageOf(err)}`, { cause: err });
  }
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      try {
        const token = await inner.getToken(scopes, options);
        if (!token) throw new Error('no token was returned');
        return token;
      } catch (err) {
        throw new AzureCredentialError(name, `Azure ${name} could not get a token for ${String(scopes)}: ${firstLine(messageOf(err))}`, { cause: err });
      }
    },
  };
}

/** Authorities Microsoft's instance discovery knows; any other needs discovery off. */
function isKnownAuthority(host: string): boolean {
  return ['https://login.microsoftonline.com', 'https://login.microsoftonline.us', 'https://login.chinacloudapi.cn'].includes(host);
}

/** MSAL errors carry trace and correlation ids on later lines; the first line says what happened. */
function firstLine(s: string): string {
  const line = s.split(/\r?\n/).find((l) => l.trim() !== '') ?? s;
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
