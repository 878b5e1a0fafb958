// The `azure` device kind and `azure:` section of the config: shapes accepted, secrets refused inline, clear errors.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig, validateDevice } from '../src/config.js';

const SUB = '11111111-1111-1111-1111-111111111111';
const parse = (yaml: string) => parseConfig(yaml, 'gw.yaml', '/etc/ttygate');

describe('azure config', () => {
  it('accepts clouds by environment or endpoints, and resolves secret and CA paths against the config directory', () => {
    const c = parse(
      [
        'azure:',
        '  defaultCloud: gov',
        '  clouds:',
        '    gov: { environment: AzureUSGovernment, credential: { type: clientSecret, tenantId: t, clientId: c, secretFile: secrets/gov } }',
        "    stack: { armEndpoint: 'https://management.local.azurestack.external', authorityHost: 'https://login.local.test', scope: 'https://management.local.test/abc/.default', caFile: ca.pem, credential: { type: managedIdentity } }",
        'devices:',
        `  - { id: web1, kind: azure, subscriptionId: '${SUB}', resourceGroup: rg, vm: web1 }`,
        `  - { id: ss, kind: azure, cloud: stack, subscriptionId: '${SUB}', resourceGroup: rg, scaleSet: ss }`,
        `  - { id: ss3, kind: azure, subscriptionId: '${SUB}', resourceGroup: rg, scaleSet: ss, instanceId: '3' }`,
      ].join('\n'),
    );
    assert.equal(c.azure.defaultCloud, 'gov');
    assert.deepEqual(c.azure.clouds.gov!.credential, { type: 'clientSecret', tenantId: 't', clientId: 'c', secretFile: '/etc/ttygate/secrets/gov' });
    assert.equal(c.azure.clouds.stack!.caFile, '/etc/ttygate/ca.pem');
    assert.equal(c.devices.length, 3);
  });

  it('refuses a secret written into the config file, saying where secrets go', () => {
    for (const field of ['clientSecret: hunter2', 'certificate: "-----BEGIN"', 'secret: x']) {
      assert.throws(
        () => parse(`azure:\n  clouds:\n    a: { environment: AzurePublic, credential: { type: clientSecret, tenantId: t, clientId: c, ${field} } }`),
        (e: unknown) => e instanceof ConfigError && /secrets are not accepted in the config file: use secretFile\/secretEnv/.test(e.message) && !e.message.includes('hunter2'),
      );
    }
  });

  it('a client secret credential needs secretFile or secretEnv', () => {
    assert.throws(() => parse('azure:\n  clouds:\n    a: { environment: AzurePublic, credential: { type: clientSecret, tenantId: t, clientId: c } }'), /credential: missing required field "secretFile"/);
  });

  it('rejects vm with scaleSet, instanceId without scaleSet, neither, a bad subscription id, an unknown cloud', () => {
    const dev = (extra: string) => `devices:\n  - { id: a, kind: azure, subscriptionId: '${SUB}', resourceGroup: rg, ${extra} }`;
    assert.throws(() => parse(dev('vm: v, scaleSet: s')), /give either vm, or scaleSet .* not both/);
    assert.throws(() => parse(dev('vm: v, instanceId: "1"')), /must have property scaleSet when property instanceId is present/);
    assert.throws(() => parse(`devices:\n  - { id: a, kind: azure, subscriptionId: '${SUB}', resourceGroup: rg }`), /config\.devices\[0\]/);
    assert.throws(() => parse("devices:\n  - { id: a, kind: azure, subscriptionId: 'nope', resourceGroup: rg, vm: v }"), /devices\[0\]\.subscriptionId/);
    assert.throws(() => parse(dev('vm: v, cloud: mars')), /config\.devices\[0\]\.cloud: no cloud "mars" in azure\.clouds/);
    assert.throws(() => parse('azure:\n  clouds:\n    a: { environment: AzureMars }'), /environment: must be one of "AzurePublic", "AzureUSGovernment", "AzureChina"/);
    assert.throws(() => parse("azure:\n  clouds:\n    a: { armEndpoint: 'http://arm.test' }"), /armEndpoint: must match pattern/);
  });

  it('the API validates azure devices with the same schema', () => {
    assert.equal(validateDevice({ id: 'x', kind: 'azure', subscriptionId: SUB, resourceGroup: 'rg', vm: 'v' }), true);
    assert.equal(validateDevice({ id: 'x', kind: 'azure', subscriptionId: SUB, resourceGroup: 'rg', vm: 'v', clientSecret: 's' }), false);
  });
});
