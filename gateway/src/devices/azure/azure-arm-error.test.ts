// Tests of ARM error wording: which role a 403 asks for, request ids, credential errors kept as they are.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { armFailure, AzureArmError } from './azure-arm-error.js';
import { AzureCredentialError } from './azure-credential.js';

const restError = (statusCode: number, code: string, message: string, requestId = 'rid-1') => ({
  statusCode,
  code,
  message,
  response: { headers: { get: (n: string) => (n === 'x-ms-request-id' ? requestId : undefined) } },
});

describe('armFailure', () => {
  it('a 403 on the console names the serialPorts/connect action and the VM Contributor role', () => {
    const e = armFailure(restError(403, 'AuthorizationFailed', 'no authorization to perform action'), 'console', 'connecting to VM x');
    assert.ok(e instanceof AzureArmError);
    assert.match(e.message, /^connecting to VM x was refused by Azure \(403\)/);
    assert.match(e.message, /Microsoft\.SerialConsole\/serialPorts\/connect\/action/);
    assert.match(e.message, /Virtual Machine Contributor/);
    assert.match(e.message, /AuthorizationFailed: no authorization to perform action \(request id rid-1\)/);
    assert.equal(e.requestId, 'rid-1');
  });

  it('a 403 on power asks for Virtual Machine Contributor; 401 and 404 say what to check', () => {
    assert.match(armFailure(restError(403, 'AuthorizationFailed', 'x'), 'power', 'restart VM x').message, /may not start, restart or power off this VM: assign it the Virtual Machine Contributor role/);
    assert.match(armFailure(restError(401, 'InvalidAuthenticationTokenAudience', 'x'), 'read', 'reading VM x').message, /audience\/scope for this cloud/);
    assert.match(armFailure(restError(404, 'ResourceNotFound', 'x'), 'read', 'reading VM x').message, /check subscriptionId, resourceGroup and the VM name/);
  });

  it('a credential failure anywhere in the cause chain comes out unchanged', () => {
    const cred = new AzureCredentialError('clientSecret credential (tenant t, client c)', 'Azure clientSecret credential … AADSTS7000215');
    const wrapped = new Error('outer', { cause: new Error('middle', { cause: cred }) });
    assert.equal(armFailure(wrapped, 'read', 'reading VM x'), cred);
  });

  it('an error without a status (a network failure) keeps its message', () => {
    const e = armFailure(new Error('connect ECONNREFUSED 127.0.0.3:1'), 'read', 'reading VM x');
    assert.equal(e.message, 'reading VM x failed: connect ECONNREFUSED 127.0.0.3:1');
  });
});
