// Tests of the host allow-list matcher: wildcards by whole labels, ports, schemes, bad patterns.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostAllowList } from './host-allow-list.js';

describe('HostAllowList', () => {
  const list = new HostAllowList(['*.serialconsole.azure.com', 'console.lab.test:8443', '127.0.0.4:9999']);

  it('a wildcard matches one or more labels in front of the suffix, on port 443 only', () => {
    assert.equal(list.check('wss://westus.serialconsole.azure.com/ws/abc/client'), undefined);
    assert.equal(list.check('wss://a.b.serialconsole.azure.com:443/x'), undefined);
    assert.equal(list.check('https://westus.serialconsole.azure.com/adminCommand/nmi'), undefined);
    assert.match(list.check('wss://westus.serialconsole.azure.com:8443/x')!, /not on the allow-list/);
  });

  it('a wildcard does not match the bare suffix or a look-alike', () => {
    assert.match(list.check('wss://serialconsole.azure.com/x')!, /not on the allow-list/);
    assert.match(list.check('wss://evilserialconsole.azure.com/x')!, /not on the allow-list/);
    assert.match(list.check('wss://serialconsole.azure.com.evil.test/x')!, /not on the allow-list/);
  });

  it('exact hosts need their port; IP literals work', () => {
    assert.equal(list.check('wss://console.lab.test:8443/x'), undefined);
    assert.match(list.check('wss://console.lab.test/x')!, /not on the allow-list/);
    assert.equal(list.check('wss://127.0.0.4:9999/x'), undefined);
    assert.match(list.check('wss://127.0.0.5:9999/x')!, /host 127.0.0.5:9999 is not on the allow-list/);
  });

  it('refuses plain ws/http, credentials in the URL and non-URLs', () => {
    assert.match(list.check('ws://westus.serialconsole.azure.com/x')!, /ws: is not https or wss/);
    assert.match(list.check('http://westus.serialconsole.azure.com/x')!, /not https or wss/);
    assert.match(list.check('wss://u:p@westus.serialconsole.azure.com/x')!, /credentials/);
    assert.match(list.check('not a url')!, /not a URL/);
  });

  it('an empty list refuses everything and says so', () => {
    assert.match(new HostAllowList([]).check('wss://westus.serialconsole.azure.com/x')!, /allow-list \(empty\)/);
  });

  it('rejects patterns that are malformed or too broad', () => {
    assert.throws(() => new HostAllowList(['*.com']), /too broad/);
    assert.throws(() => new HostAllowList(['https://x.test']), /invalid host pattern/);
    assert.throws(() => new HostAllowList(['*..x.test']), /invalid host pattern/);
  });
});
