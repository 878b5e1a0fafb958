// Azure VM controls, state and boot diagnostics through the gateway, against the local Azure fake:
// admin commands (SysRq, NMI, reset), power as ARM long-running operations polled to completion or
// failure with Azure's request id in the audit log, actionable errors (403, stopped VM, console switch,
// boot diagnostics off, bad credential), and a scale set expanded from Azure's instance list.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeAzure } from './fakes/azure/fake-azure.js';
import type { FakeVm } from './fakes/azure/fake-arm.js';
import { azureDevice, azureYaml, SUB, SUB_CONSOLE_OFF } from './fakes/azure/azure-test-env.js';
import { startTestGateway, waitFor, type TestGateway } from './support/harness.js';

const BAD_SECRET_ENV = 'TTYGATE_TEST_AZURE_BAD_SECRET';
const SUB_RG_ONLY = '33333333-3333-3333-3333-333333333333';

describe('Azure VM controls and state through the gateway', { concurrency: false }, () => {
  let fake: FakeAzure;
  let gw: TestGateway;
  let token: string;
  let reader: string;
  const vm: Record<string, FakeVm> = {};
  let removeSecret: () => void;

  before(async () => {
    fake = await FakeAzure.start();
    const t = (name: string) => `subscriptionId: '${SUB}', resourceGroup: rg1, vm: ${name}`;
    for (const name of ['app1', 'app2', 'nodiag', 'locked', 'noconsole', 'flaky', 'redirect']) vm[name] = fake.addVm({ subscriptionId: SUB, resourceGroup: 'rg1', name });
    vm.stopped1 = fake.addVm({ subscriptionId: SUB, resourceGroup: 'rg1', name: 'stopped1', powerState: 'deallocated' });
    vm.offsub = fake.addVm({ subscriptionId: SUB_CONSOLE_OFF, resourceGroup: 'rg2', name: 'offsub' });
    vm.rgonly = fake.addVm({ subscriptionId: SUB_RG_ONLY, resourceGroup: 'rg3', name: 'rgonly' });
    fake.arm.consoleServicesDenied.add(SUB_RG_ONLY);
    vm.nodiag!.bootDiagnostics = false;
    vm.locked!.denied = new Set(['power']);
    vm.noconsole!.denied = new Set(['console']);
    vm.app1!.serialLog = Buffer.from('[    0.000000] Linux version 6.1.0-azure\r\nAzure boot log line 2\r\napp1 login: ', 'latin1');
    fake.arm.consoleDisabled.add(SUB_CONSOLE_OFF);
    for (const i of ['0', '1', '2']) vm[`vmss${i}`] = fake.addVm({ subscriptionId: SUB, resourceGroup: 'rg1', name: `web-vmss_${i}`, scaleSet: 'web-vmss', instanceId: i });
    process.env[BAD_SECRET_ENV] = 'not-the-secret';
    const az = azureYaml(fake, fake.cloudYaml('badcred', `      credential: { type: clientSecret, tenantId: '${fake.login.tenantId}', clientId: '00000000-0000-0000-0000-0000000000cc', secretEnv: ${BAD_SECRET_ENV} }`));
    removeSecret = az.remove;
    gw = await startTestGateway(
      [
        az.yaml,
        'devices:',
        ...['app1', 'app2', 'nodiag', 'locked', 'noconsole', 'flaky', 'redirect', 'stopped1'].map((n) => azureDevice(n, t(n))),
        azureDevice('offsub', `subscriptionId: '${SUB_CONSOLE_OFF}', resourceGroup: rg2, vm: offsub`),
        azureDevice('rgonly', `subscriptionId: '${SUB_RG_ONLY}', resourceGroup: rg3, vm: rgonly`),
        azureDevice('badcred', t('app2'), 'cloud: badcred'),
        azureDevice('web-vmss', `subscriptionId: '${SUB}', resourceGroup: rg1, scaleSet: web-vmss`),
      ].join('\n'),
    );
    token = await gw.tokenFor('ops', 'vm-contributor');
    reader = await gw.tokenFor('rita', 'reader');
    for (const id of ['app1', 'app2', 'flaky', 'locked']) await waitFor(async () => (gw.devices.get(id)!.state === 'connected' ? true : undefined), 10_000, `${id} connected`);
  });
  after(async () => {
    await gw?.close();
    await fake?.stop();
    removeSecret?.();
    delete process.env[BAD_SECRET_ENV];
  });

  const rows = (id: string, action: string) => gw.audit.query({ target: id, action }).rows;

  it('SysRq, NMI and a forced reset go as serial console admin commands of the open session, and are audited', async () => {
    const c = await gw.connect('app1', token);
    await c.untilControl('hello');
    let r = await gw.api('POST', '/api/v1/devices/app1/sysrq', token, { keys: 'h' });
    assert.equal(r.status, 200, r.text);
    await c.untilText('sysrq: HELP');
    r = await gw.api('POST', '/api/v1/devices/app1/nmi', token, {});
    assert.equal(r.status, 200, r.text);
    await c.untilText('NMI received');
    r = await gw.api('POST', '/api/v1/devices/app1/power', token, { action: 'reset' });
    assert.equal(r.status, 200, r.text);
    await c.untilText('(hard reset)');
    const session = fake.console.open(vm.app1!)[0]!;
    assert.deepEqual(session.adminCommands.map((a) => [a.command, a.parameters]), [['sysrq', { SysRqCommand: 'h' }], ['nmi', {}], ['reset', {}]]);
    const admin = fake.log.of('console').filter((e) => e.method === 'POST');
    assert.ok(admin.every((e) => /^\/ws\/[0-9a-f]+\/adminCommand\/(sysrq|nmi|reset)$/.test(e.url) && e.authorization?.startsWith('Bearer ')));
    const sysrq = rows('app1', 'device.sysrq');
    assert.ok(sysrq.some((x) => x.outcome === 'ok' && x.details.phase === 'completed' && (x.details.adminCommandRequestIds as string[])[0] === session.adminCommands[0]!.requestId), JSON.stringify(sysrq));
    assert.ok(rows('app1', 'device.nmi').some((x) => x.details.adminCommandRequestId === session.adminCommands[1]!.requestId));
    assert.ok(rows('app1', 'device.power.reset').some((x) => x.details.adminCommandRequestId === session.adminCommands[2]!.requestId));
    r = await gw.api('POST', '/api/v1/devices/app1/break', token, {});
    assert.equal(r.status, 409, 'no BREAK on Azure: said, not a silent no-op');
    assert.match(r.body.error.message, /cannot send a serial BREAK: use SysRq/);
    c.close();
  });

  it('restart: an ARM long-running operation polled to completion, Azure\'s request id in the audit row', async () => {
    const polls = () => fake.log.of('arm').filter((e) => e.url.includes('/operations/')).length;
    const before = polls();
    const r = await gw.api('POST', '/api/v1/devices/app1/power', token, { action: 'restart' });
    assert.equal(r.status, 200, r.text);
    assert.ok(polls() - before >= 3, `polled until done (${polls() - before} polls)`);
    const started = fake.arm.requestIds.filter((x) => x.method === 'POST' && x.path.endsWith('/virtualMachines/app1/restart'));
    assert.equal(started.length, 1);
    const done = rows('app1', 'device.power.restart').find((x) => x.details.phase === 'completed');
    assert.ok(done, 'a completion row');
    assert.equal(done.outcome, 'ok');
    assert.equal(done.details.requestId, started[0]!.requestId, 'the request id Azure gave the restart');
    assert.equal(done.details.operation, 'Succeeded');
  });

  it('a failing operation: polled to Failed, answered 502 with Azure\'s error, audited failed with the request id', async () => {
    vm.flaky!.failNext = { code: 'AllocationFailed', message: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region.' };
    const r = await gw.api('POST', '/api/v1/devices/flaky/power', token, { action: 'restart' });
    assert.equal(r.status, 502, r.text);
    assert.equal(r.body.error.code, 'ControlFailed');
    assert.match(r.body.error.message, /restart VM flaky/);
    assert.match(r.body.error.message, /sufficient capacity/);
    const failed = rows('flaky', 'device.power.restart').find((x) => x.outcome === 'failed');
    assert.ok(failed, 'a failed row');
    const started = fake.arm.requestIds.find((x) => x.method === 'POST' && x.path.endsWith('/virtualMachines/flaky/restart'))!;
    assert.equal(failed.details.requestId, started.requestId);
  });

  it('a polling header naming another host: the ARM token is not sent there; polling stops and the failure is reported', async () => {
    vm.redirect!.pollOrigin = fake.origin('evil');
    const r = await gw.api('POST', '/api/v1/devices/redirect/power', token, { action: 'restart' });
    assert.equal(r.status, 502, r.text);
    assert.match(r.body.error.message, new RegExp(`refused to send an ARM request to ${fake.origin('evil').replace(/\./g, '\\.')}`));
    assert.equal(fake.log.of('evil').length, 0, 'nothing reached the other host');
    assert.ok(rows('redirect', 'device.power.restart').some((x) => x.outcome === 'failed' && typeof x.details.requestId === 'string'));
  });

  it('off (forced), state from the instance view, attach refused while stopped, on, and the console comes back', async () => {
    let r = await gw.api('POST', '/api/v1/devices/app2/power', token, { action: 'off', force: true });
    assert.equal(r.status, 200, r.text);
    assert.ok(fake.log.of('arm').some((e) => /\/virtualMachines\/app2\/powerOff\?.*skipShutdown=true/.test(e.url)), 'skipShutdown=true sent');
    assert.equal(vm.app2!.powerState, 'stopped');
    await waitFor(async () => (gw.devices.get('app2')!.refusal?.code === 'VmNotRunning' ? true : undefined), 10_000, 'app2 refused as stopped');
    const view = await gw.api('GET', '/api/v1/devices/app2', token);
    assert.equal(view.body.platform.powerState, 'stopped');
    await assert.rejects(gw.connect('app2', token), (e: { status?: number; body?: string }) => e.status === 409 && /VmNotRunning/.test(e.body ?? '') && /start it first/.test(e.body ?? ''));
    r = await gw.api('POST', '/api/v1/devices/app2/power', token, { action: 'on' });
    assert.equal(r.status, 200, r.text);
    assert.ok(rows('app2', 'device.power.on').some((x) => x.details.phase === 'completed' && typeof x.details.requestId === 'string'));
    assert.ok(rows('app2', 'device.power.off').some((x) => x.details.phase === 'completed' && x.details.skipShutdown === true));
    await waitFor(async () => (gw.devices.get('app2')!.state === 'connected' ? true : undefined), 5000, 'app2 reconnected after start');
    const c = await gw.connect('app2', token);
    await c.untilControl('hello');
    c.close();
  });

  it('a deallocated VM: attach says to start it; SysRq says it needs a session; start works without one', async () => {
    await waitFor(async () => (gw.devices.get('stopped1')!.refusal ? true : undefined), 10_000, 'stopped1 refused');
    assert.match(gw.devices.get('stopped1')!.refusal!.message, /is deallocated; the serial console needs a running VM: start it first/);
    const s = await gw.api('POST', '/api/v1/devices/stopped1/sysrq', token, { keys: 'h' });
    assert.equal(s.status, 409);
    assert.match(s.body.error.message, /need an open console session/);
    const view = await gw.api('GET', '/api/v1/devices/stopped1', reader);
    assert.equal(view.body.capabilities.power.on.supported, true);
    const r = await gw.api('POST', '/api/v1/devices/stopped1/power', token, { action: 'on' });
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => (gw.devices.get('stopped1')!.state === 'connected' ? true : undefined), 5000, 'stopped1 connected once started');
  });

  it('403 from ARM names the role the gateway\'s identity lacks (power and console)', async () => {
    const r = await gw.api('POST', '/api/v1/devices/locked/power', token, { action: 'restart' });
    assert.equal(r.status, 502);
    assert.match(r.body.error.message, /refused by Azure \(403\).*Virtual Machine Contributor/);
    assert.match(r.body.error.message, /AuthorizationFailed/);
    assert.ok(rows('locked', 'device.power.restart').some((x) => x.outcome === 'failed' && typeof x.details.requestId === 'string'));
    await waitFor(async () => (gw.devices.get('noconsole')!.refusal ? true : undefined), 10_000, 'noconsole refused');
    const ref = gw.devices.get('noconsole')!.refusal!;
    assert.equal(ref.code, 'AzureForbidden');
    assert.match(ref.message, /Microsoft\.SerialConsole\/serialPorts\/connect\/action/);
    await assert.rejects(gw.connect('noconsole', token), (e: { status?: number }) => e.status === 409);
  });

  it('Azure\'s subscription console switch: reported in the state, attach refused with the reason', async () => {
    await waitFor(async () => (gw.devices.get('offsub')!.refusal ? true : undefined), 10_000, 'offsub refused');
    const view = await gw.api('GET', '/api/v1/devices/offsub', reader);
    assert.deepEqual(view.body.platform.consoleServices, { disabled: true });
    await assert.rejects(gw.connect('offsub', token), (e: { status?: number; body?: string }) => e.status === 409 && /ConsoleDisabled/.test(e.body ?? '') && /az serial-console enable/.test(e.body ?? ''));
    // app1 was restarted above: its state is read again from the instance view once the operation is done.
    const on = await waitFor(async () => {
      const v = await gw.api('GET', '/api/v1/devices/app1', reader);
      return v.body.platform.powerState === 'running' ? v : undefined;
    }, 5000, 'app1 running in its state');
    assert.deepEqual(on.body.platform.consoleServices, { disabled: false });
    assert.equal(on.body.platform.lastPowerAction, 'restart');
    // An identity granted only on a resource group cannot read the subscription's switch: shown as unknown, and the console still opens.
    await waitFor(async () => (gw.devices.get('rgonly')!.state === 'connected' ? true : undefined), 10_000, 'rgonly connected');
    const rg = await gw.api('GET', '/api/v1/devices/rgonly', reader);
    assert.equal(rg.body.platform.consoleServices.disabled, null);
    assert.match(rg.body.platform.consoleServices.error, /403.*consoleServices\/read/);
  });

  it('boot diagnostics: Azure\'s serial log and screenshot through the usual endpoints; disabled says how to enable', async () => {
    const log = await gw.api('GET', '/api/v1/devices/app1/boot-diagnostics/serial-log', token);
    assert.equal(log.status, 200, log.text);
    assert.equal(log.headers['x-log-source'], 'device');
    assert.equal(log.text, vm.app1!.serialLog.toString('latin1'));
    const tail = await gw.api('GET', '/api/v1/devices/app1/boot-diagnostics/serial-log?tail=12', token);
    assert.equal(tail.text, 'app1 login: ');
    const shot = await gw.api('GET', '/api/v1/devices/app1/boot-diagnostics/screenshot', token);
    assert.equal(shot.status, 200);
    assert.equal(shot.headers['content-type'], 'image/bmp');
    assert.ok(fake.log.of('storage').length >= 3 && fake.log.of('storage').every((e) => e.authorization === undefined && /[?&]sig=/.test(e.url)), 'blobs fetched by SAS, no token sent to storage');
    await waitFor(async () => (gw.devices.get('nodiag')!.refusal ? true : undefined), 10_000, 'nodiag refused');
    await assert.rejects(gw.connect('nodiag', token), (e: { status?: number; body?: string }) => e.status === 409 && /BootDiagnosticsDisabled/.test(e.body ?? '') && /az vm boot-diagnostics enable -g rg1 -n nodiag/.test(e.body ?? ''));
    const s = await gw.api('GET', '/api/v1/devices/nodiag/boot-diagnostics/screenshot', token);
    assert.equal(s.status, 409);
    assert.equal(s.body.error.code, 'BootDiagnosticsDisabled');
  });

  it('a credential that fails: the error names the credential and carries what Entra said', async () => {
    await waitFor(async () => (gw.devices.get('badcred')!.refusal ? true : undefined), 10_000, 'badcred refused');
    const ref = gw.devices.get('badcred')!.refusal!;
    assert.equal(ref.code, 'AzureCredentialFailed');
    assert.match(ref.message, /clientSecret credential \(tenant [0-9a-f-]+t, client [0-9a-f-]+\)/);
    assert.match(ref.message, /AADSTS7000215/);
    assert.ok(!ref.message.includes('not-the-secret'), 'the secret is never in a message');
    const failed = gw.audit.query({ target: 'badcred', action: 'device.open.failed' }).rows;
    assert.ok(failed.some((x) => /AADSTS7000215/.test(x.reason ?? '')));
  });

  it('a scale set becomes a group of its instances, listed from Azure (every page); an instance\'s console works', async () => {
    const list = await gw.api('GET', '/api/v1/devices', token);
    const ids = (list.body.devices as Array<{ id: string; group: string }>).filter((d) => d.group === 'web-vmss').map((d) => d.id).sort();
    assert.deepEqual(ids, ['web-vmss/0', 'web-vmss/1', 'web-vmss/2']);
    assert.ok(fake.log.of('arm').some((e) => e.url.includes('$skiptoken=2')), 'the second page was fetched');
    await waitFor(async () => (gw.devices.get('web-vmss/1')!.state === 'connected' ? true : undefined), 10_000, 'web-vmss/1 connected');
    const c = await gw.connect('web-vmss/1', token);
    await c.untilControl('hello');
    fake.console.print(vm.vmss1!, Buffer.from('vmss instance 1\r\n'));
    await c.untilText('vmss instance 1');
    assert.ok(fake.log.of('arm').some((e) => e.url.startsWith(`/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss/virtualMachines/1/providers/Microsoft.SerialConsole/serialPorts/0/connect`)));
    const r = await gw.api('POST', `/api/v1/devices/${encodeURIComponent('web-vmss/2')}/power`, token, { action: 'restart' });
    assert.equal(r.status, 200, r.text);
    assert.ok(fake.arm.requestIds.some((x) => x.method === 'POST' && x.path.endsWith('/virtualMachineScaleSets/web-vmss/virtualMachines/2/restart')));
    c.close();
  });
});
