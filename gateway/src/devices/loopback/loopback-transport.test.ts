// Tests of the loopback device: the Transport contract, scripted output, controls and the driver.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeTransportContract } from '../transport.contract.js';
import { NotSupportedError } from '../transport.js';
import { unsupported, SUPPORTED } from '../capability.js';
import { ConsoleProbe } from './console-probe.js';
import { LoopbackDriver } from './loopback-driver.js';
import { LoopbackTransport } from './loopback-transport.js';

describeTransportContract('loopback', async () => {
  let current: LoopbackTransport | undefined;
  return {
    open: async () => (current = new LoopbackTransport()),
    killPeer: async () => current?.disconnect(),
    cleanup: async () => undefined,
  };
});

describe('LoopbackTransport', () => {
  it('sends its greeting after open and scripted replies after the echo', async () => {
    const t = new LoopbackTransport({ greeting: 'login: ', respond: (w) => (Buffer.from(w).toString() === 'root\r' ? 'Password: ' : undefined) });
    const probe = new ConsoleProbe(t.onData);
    await probe.expect('login: ');
    await t.write(Buffer.from('root\r'));
    await probe.expect('root\rPassword: ');
    assert.deepEqual(Buffer.from(t.written).toString(), 'root\r');
    await t.close();
  });

  it('never delivers output inside write()', async () => {
    const t = new LoopbackTransport();
    let got = 0;
    t.onData((d) => (got += d.length));
    const p = t.write(Uint8Array.of(1, 2, 3));
    assert.equal(got, 0);
    await p;
    await new Promise((r) => setImmediate(r));
    assert.equal(got, 3);
    await t.close();
  });

  it('echo off: only injected output arrives', async () => {
    const t = new LoopbackTransport({ echo: false });
    const probe = new ConsoleProbe(t.onData);
    await t.write(Buffer.from('secret'));
    t.inject('ok');
    await probe.expect('ok');
    assert.equal(probe.text, 'ok');
    await t.close();
  });
});

describe('LoopbackDriver', () => {
  it('answers for the kind it is given and records control calls', async () => {
    const driver = new LoopbackDriver({ kind: 'qemu' });
    assert.equal(driver.kind, 'qemu');
    const conn = await driver.open({ id: 'vm1', kind: 'qemu', image: 'linux' });
    await conn.controls.sysrq('h');
    await conn.controls.power('reset');
    const png = await conn.controls.screenshot();
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    assert.deepEqual(driver.device('vm1')?.calls, [{ control: 'sysrq', keys: 'h' }, { control: 'power', action: 'reset' }, { control: 'screenshot' }]);
    await assert.rejects(conn.controls.sysrq('H!'), RangeError);
    conn.dispose();
  });

  it('refuses what its capabilities do not allow, with the reason', async () => {
    const driver = new LoopbackDriver({
      kind: 'serial',
      capabilities: {
        break: SUPPORTED,
        sysrq: SUPPORTED,
        nmi: unsupported('a serial line has no NMI'),
        power: { on: SUPPORTED, off: SUPPORTED, reset: SUPPORTED, restart: SUPPORTED },
        screenshot: unsupported('no screen'),
      },
    });
    const conn = await driver.open({ id: 'b1', kind: 'serial', path: '/dev/null' });
    await assert.rejects(conn.controls.nmi(), (err: unknown) => err instanceof NotSupportedError && err.reason === 'a serial line has no NMI');
    assert.deepEqual(conn.controls.capabilities().screenshot, { supported: false, reason: 'no screen' });
    conn.dispose();
  });

  it('fires device events on the open connection and stops after the transport closed', async () => {
    const driver = new LoopbackDriver();
    assert.equal(driver.kind, 'loopback');
    const conn = await driver.open({ id: 'b2', kind: 'loopback' });
    const seen: string[] = [];
    conn.onDeviceEvent((e) => seen.push(e.type));
    driver.device('b2')?.fireDeviceEvent({ type: 'rebooting' });
    driver.device('b2')?.transport.disconnect();
    driver.device('b2')?.fireDeviceEvent({ type: 'off' });
    assert.deepEqual(seen, ['rebooting']);
    assert.equal(conn.transport.state, 'closed');
  });

  it('takes echo and greeting from a loopback spec', async () => {
    const driver = new LoopbackDriver();
    const conn = await driver.open({ id: 'b4', kind: 'loopback', echo: false, greeting: 'login: ' });
    const probe = new ConsoleProbe(conn.transport.onData);
    await probe.expect('login: ');
    await conn.transport.write(Buffer.from('x'));
    conn.dispose();
    assert.equal(probe.text, 'login: ');
  });

  it('can be told to fail open', async () => {
    const driver = new LoopbackDriver({ openError: () => new Error('board unplugged') });
    await assert.rejects(driver.open({ id: 'b3', kind: 'loopback' }), /board unplugged/);
    assert.equal(driver.openCount.get('b3'), 1);
  });
});
