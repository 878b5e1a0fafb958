// Tests for CaptureRegistry: lazy open, one store per id, reopen after a user's close, closeAll.

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { CaptureRegistry } from './capture-registry.js';
import { CaptureError, captureDirName } from './capture-store.js';

async function registry(t: TestContext, defaults = {}): Promise<CaptureRegistry> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ttygate-capreg-'));
  const reg = new CaptureRegistry(dir, defaults);
  t.after(async () => {
    await reg.closeAll().catch(() => undefined); // a test may have closed it already
    await fsp.rm(dir, { recursive: true, force: true });
  });
  return reg;
}

describe('CaptureRegistry', () => {
  test('opens nothing until asked', async (t) => {
    const reg = await registry(t);
    assert.deepEqual(reg.deviceIds, []);
    assert.deepEqual(await fsp.readdir(reg.directory).catch(() => []), []);
  });

  test('concurrent gets for one id share one store', async (t) => {
    const reg = await registry(t);
    const [a, b] = await Promise.all([reg.get('dev'), reg.get('dev')]);
    assert.equal(a, b);
    assert.equal(await reg.get('dev'), a);
  });

  test('each id gets its own directory, scale-set instances included', async (t) => {
    const reg = await registry(t);
    const a = await reg.get('web-vmss/0');
    const b = await reg.get('web-vmss/1');
    assert.notEqual(a, b);
    assert.deepEqual((await fsp.readdir(reg.directory)).sort(), [captureDirName('web-vmss/0'), captureDirName('web-vmss/1')]);
  });

  test('per-device options override the defaults', async (t) => {
    const reg = await registry(t, { segmentBytes: 512, maxBytes: 1 << 20 });
    const store = await reg.get('dev', { maxBytes: 1024, maxAgeSeconds: undefined });
    store.append(new Uint8Array(8000));
    await store.flush();
    await store.enforceRetention();
    assert.ok(store.stats.diskBytes <= 1024 + 512, `${store.stats.diskBytes} bytes kept`);
  });

  test('a store its user closed is reopened by the next get, offsets continued', async (t) => {
    const reg = await registry(t);
    const a = await reg.get('dev');
    a.append(new Uint8Array(10));
    await a.close();
    const b = await reg.get('dev');
    assert.notEqual(a, b);
    assert.equal(b.state, 'open');
    assert.equal(b.endOffset, 10);
  });

  test('a get while its user is still closing waits for the close', async (t) => {
    const reg = await registry(t);
    const a = await reg.get('dev');
    a.append(new Uint8Array(10));
    const closing = a.close();
    const b = await reg.get('dev');
    await closing;
    assert.equal(b.endOffset, 10);
  });

  test('a failed open is not cached', async (t) => {
    const reg = await registry(t);
    const file = path.join(reg.directory, captureDirName('dev'));
    await fsp.mkdir(reg.directory, { recursive: true });
    await fsp.writeFile(file, 'in the way');
    await assert.rejects(reg.get('dev'));
    await fsp.rm(file);
    assert.equal((await reg.get('dev')).state, 'open');
  });

  test('store errors are forwarded with the device id', async (t) => {
    const reg = await registry(t);
    const seen: string[] = [];
    reg.onError((e) => seen.push(`${e.deviceId}:${e.code}`));
    const store = await reg.get('dev');
    await store.close();
    store.append(new Uint8Array(1)); // after close: reported, not thrown — but the store's emitter is gone
    const again = await reg.get('dev');
    const closing = again.close();
    again.append(new Uint8Array(1)); // during close: reported
    await closing;
    assert.deepEqual(seen, ['dev:closed']);
  });

  test('closeAll flushes and closes every store; later gets are refused', async (t) => {
    const reg = await registry(t);
    const a = await reg.get('a');
    const b = await reg.get('b');
    a.append(new TextEncoder().encode('pending'));
    await reg.closeAll();
    assert.deepEqual([a.state, b.state], ['closed', 'closed']);
    await assert.rejects(reg.get('a'), (e: unknown) => e instanceof CaptureError && e.code === 'closed');
    const again = new CaptureRegistry(reg.directory);
    const a2 = await again.get('a');
    assert.equal(new TextDecoder().decode((await a2.read({ since: 0 })).bytes), 'pending');
    await again.closeAll();
  });
});
