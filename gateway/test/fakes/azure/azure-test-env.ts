// Shared set-up for the Azure integration tests: a FakeAzure, a secret file, and a gateway config for both.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../support/harness.js';
import { FAKE_CLIENT, FAKE_SECRET, FAKE_TENANT, type FakeAzure } from './fake-azure.js';

export const SUB = '11111111-1111-1111-1111-111111111111';
export const SUB_CONSOLE_OFF = '22222222-2222-2222-2222-222222222222';

/** Writes the client secret to a 0600 file and returns the `azure:` section naming it (never the secret itself). */
export function azureYaml(fake: FakeAzure, extraClouds = ''): { yaml: string; remove(): void } {
  const dir = tempDir('azure-secret');
  const secretFile = join(dir.dir, 'client-secret');
  writeFileSync(secretFile, `${FAKE_SECRET}\n`, { mode: 0o600 });
  const credential = `      credential: { type: clientSecret, tenantId: '${FAKE_TENANT}', clientId: '${FAKE_CLIENT}', secretFile: '${secretFile}' }`;
  const yaml = ['azure:', '  defaultCloud: fake', '  pollIntervalMs: 20', '  clouds:', fake.cloudYaml('fake', credential), extraClouds].filter(Boolean).join('\n');
  return { yaml, remove: dir.remove };
}

export function azureDevice(id: string, target: string, extra = ''): string {
  return `  - { id: ${id}, kind: azure, ${target}${extra ? `, ${extra}` : ''} }`;
}
