// Tests of the credential factory's own checks: secrets from files or the environment, named in errors, never shown.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveCloud } from './azure-cloud.js';
import { AzureCredentialError, createAzureCredential, describeCredential } from './azure-credential.js';

const dir = mkdtempSync(join(tmpdir(), 'tg-azcred-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cloud = (credential: Parameters<typeof resolveCloud>[1]['credential']) => resolveCloud('t', { environment: 'AzureUSGovernment', credential });

describe('createAzureCredential', () => {
  it('a missing secret file is named, with the credential', () => {
    const file = join(dir, 'nope');
    assert.throws(
      () => createAzureCredential(cloud({ type: 'clientSecret', tenantId: 'ten', clientId: 'cli', secretFile: file }), {}),
      (e: unknown) => e instanceof AzureCredentialError && /clientSecret credential \(tenant ten, client cli\) cannot be set up/.test(e.message) && e.message.includes(file) && /ENOENT/.test(e.message),
    );
  });

  it('an unset or empty secret variable, an empty file: named, value never shown', () => {
    assert.throws(() => createAzureCredential(cloud({ type: 'clientSecret', tenantId: 't', clientId: 'c', secretEnv: 'AZ_SECRET' }), {}), /environment variable AZ_SECRET \(the client secret\) is not set/);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    assert.throws(() => createAzureCredential(cloud({ type: 'clientSecret', tenantId: 't', clientId: 'c', secretFile: empty }), {}), /is empty/);
    assert.throws(() => createAzureCredential(cloud({ type: 'clientCertificate', tenantId: 't', clientId: 'c', certificateEnv: 'AZ_CERT' }), {}), /AZ_CERT \(the client certificate\) is not set/);
  });

  it('builds each credential type without contacting anyone', () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 's3cret\n');
    for (const c of [
      { type: 'clientSecret', tenantId: 't', clientId: 'c', secretFile: secret },
      { type: 'clientSecret', tenantId: 't', clientId: 'c', secretEnv: 'X' },
      { type: 'managedIdentity' },
      { type: 'managedIdentity', clientId: 'c' },
      { type: 'workloadIdentity', tenantId: 't', clientId: 'c', tokenFile: secret },
      { type: 'default' },
    ] as const) {
      const cred = createAzureCredential(cloud(c), { X: 'from-env' });
      assert.equal(typeof cred.getToken, 'function');
    }
  });

  it('describeCredential names type, tenant and client, and nothing secret', () => {
    const d = describeCredential({ type: 'clientSecret', tenantId: 'ten', clientId: 'cli', secretFile: '/run/secrets/x' });
    assert.equal(d, 'clientSecret credential (tenant ten, client cli)');
    assert.equal(describeCredential({ type: 'managedIdentity' }), 'managedIdentity credential (system-assigned)');
  });
});
