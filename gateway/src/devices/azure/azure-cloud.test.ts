// Tests of the cloud table: each environment's endpoints and scope, overrides, and the refusal to guess.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveCloud } from './azure-cloud.js';
import { HostAllowList } from './host-allow-list.js';

describe('resolveCloud', () => {
  it('US Government: its own ARM endpoint, authority and token scope (the SDK defaults to public Azure)', () => {
    const c = resolveCloud('gov', { environment: 'AzureUSGovernment' });
    assert.equal(c.armEndpoint, 'https://management.usgovcloudapi.net');
    assert.equal(c.authorityHost, 'https://login.microsoftonline.us');
    assert.equal(c.scope, 'https://management.usgovcloudapi.net/.default');
    assert.ok(new HostAllowList(c.consoleHosts).allows('wss://usgovvirginia.serialconsole.azure.us/ws/1/client'));
    assert.ok(!new HostAllowList(c.consoleHosts).allows('wss://westus.serialconsole.azure.com/ws/1/client'), 'a Gov token never goes to a public console host');
    assert.deepEqual(c.credential, { type: 'default' });
  });

  it('public and China', () => {
    assert.equal(resolveCloud('p', { environment: 'AzurePublic' }).scope, 'https://management.azure.com/.default');
    const cn = resolveCloud('cn', { environment: 'AzureChina' });
    assert.equal(cn.armEndpoint, 'https://management.chinacloudapi.cn');
    assert.deepEqual(cn.consoleHosts, [], 'no documented console host: nothing is allowed until configured');
  });

  it('explicit endpoints win, trailing slashes go, and a custom ARM endpoint is its own audience', () => {
    const c = resolveCloud('lab', { armEndpoint: 'https://arm.lab.test:8443/', authorityHost: 'https://login.lab.test/', consoleHosts: ['*.sc.lab.test'] });
    assert.equal(c.armEndpoint, 'https://arm.lab.test:8443');
    assert.equal(c.authorityHost, 'https://login.lab.test');
    assert.equal(c.scope, 'https://arm.lab.test:8443/.default');
    assert.deepEqual(c.consoleHosts, ['*.sc.lab.test']);
    assert.equal(resolveCloud('x', { environment: 'AzurePublic', scope: 'https://other/.default' }).scope, 'https://other/.default');
  });

  it('refuses a cloud with neither an environment nor both endpoints', () => {
    assert.throws(() => resolveCloud('half', { armEndpoint: 'https://arm.lab.test' }), /azure cloud "half": set environment/);
  });
});
