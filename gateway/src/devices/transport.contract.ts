// describeTransportContract: one node:test suite every Transport implementation must pass, against a real peer.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsoleProbe } from './loopback/console-probe.js';
import { TransportError, type Transport } from './transport.js';

/**
 * A device under test that echoes every byte written to it (loopback, a socat pty with an echoing
 * far end, an echoing TCP/telnet server, a guest running `stty raw -echo; cat`). The device may
 * print unrelated bytes between echoes (a guest kernel's messages): checks look for the echo as a
 * contiguous run.
 */
export interface TransportFixture {
  /** Opens a new transport to the device (each call a fresh one; the previous one is closed). */
  open(): Promise<Transport>;
  /** Makes the device go away while a transport is open (kill socat, destroy the server sockets, stop QEMU). Called last. */
  killPeer(): Promise<void>;
  /** Releases everything the fixture started (processes, servers, temp dirs). */
  cleanup(): Promise<void>;
  /** How long an echo may take (default 10 s). */
  echoTimeoutMs?: number;
  /**
   * Bytes for the bulk test (default 64 KiB). A guest tty echoing with `cat` has no flow control:
   * input beyond its 4 KiB line buffer is dropped whenever the guest falls behind (a loaded TCG
   * host), so such a fixture uses less than that.
   */
  bulkBytes?: number;
}

export interface ContractOptions {
  /** Skip the whole suite, with the reason printed (a missing binary, no image built). */
  skip?: string | false;
}

/** Every byte value, with 0x00 and 0xff first and last (the ones escaping layers get wrong). */
function allByteValues(): Uint8Array {
  const out = new Uint8Array(258);
  out[0] = 0x00;
  out[1] = 0xff;
  for (let i = 0; i < 256; i++) out[i + 2] = i;
  return out;
}

/** 64 KiB where every 4-byte word carries its own index, so a loss, a duplicate or a reordering shows. */
function bulkPattern(size = 64 * 1024): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const w = i / 4;
    out[i] = (w >> 8) & 0xff;
    out[i + 1] = w & 0xff;
    out[i + 2] = 0xff; // an IAC in every word: escaping must hold all the way
    out[i + 3] = 0x00;
  }
  return out;
}

/**
 * Registers a `describe(name)` block that checks the Transport contract (transport.ts) against the
 * fixture: bytes both ways including 0x00 and 0xff, 64 KiB in order, state transitions, exactly one
 * `onClose {requested}`, writes after close rejecting `canceled`, and `disconnected` when the peer
 * goes away. Tests run in order; the last one kills the peer.
 */
export function describeTransportContract(name: string, makeFixture: () => Promise<TransportFixture>, options: ContractOptions = {}): void {
  describe(`Transport contract: ${name}`, { skip: options.skip ?? false }, () => {
    let fixture: TransportFixture;
    const opened: Transport[] = [];
    const timeout = (): number => fixture.echoTimeoutMs ?? 10_000;

    async function open(): Promise<{ transport: Transport; probe: ConsoleProbe }> {
      // A test that failed half-way leaves its transport open; close it so it cannot hold the device (a lock, a one-client socket).
      await Promise.all(opened.splice(0).map((t) => t.close()));
      const transport = await fixture.open();
      opened.push(transport);
      return { transport, probe: new ConsoleProbe(transport.onData) };
    }

    before(async () => {
      fixture = await makeFixture();
    });
    after(async () => {
      await Promise.all(opened.map((t) => t.close()));
      await fixture?.cleanup();
    });

    it('opens in state open and echoes bytes both ways, 0x00 and 0xff included', async () => {
      const { transport, probe } = await open();
      assert.equal(transport.state, 'open');
      const bytes = allByteValues();
      await transport.write(bytes);
      await probe.expectBytes(bytes, timeout());
      await transport.close();
    });

    it('carries a bulk transfer (64 KiB unless the fixture says less) in order', async () => {
      const { transport, probe } = await open();
      const bulk = bulkPattern(fixture.bulkBytes);
      await transport.write(bulk);
      await probe.expectBytes(bulk, Math.max(timeout(), 20_000));
      await transport.close();
    });

    it('goes open → closing → closed and fires onClose {requested} exactly once', async () => {
      const { transport } = await open();
      const events: Array<{ reason: string; error?: TransportError }> = [];
      transport.onClose((e) => events.push(e));
      assert.equal(transport.state, 'open');
      // 1. close() switches to closing at once
      const closing = transport.close();
      assert.equal(transport.state, 'closing');
      // 2. a second close() (and dispose) joins the first
      const again = transport.close();
      transport.dispose();
      await Promise.all([closing, again]);
      // 3. closed, one event
      assert.equal(transport.state, 'closed');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(events.length, 1);
      assert.equal(events[0]?.reason, 'requested');
      // 4. closing a closed transport is a no-op
      await transport.close();
      assert.equal(events.length, 1);
    });

    it('rejects a write after close with TransportError kind canceled', async () => {
      const { transport } = await open();
      await transport.close();
      await assert.rejects(transport.write(Uint8Array.of(0x41)), (err: unknown) => {
        assert.ok(err instanceof TransportError, `expected a TransportError, got ${String(err)}`);
        assert.equal(err.kind, 'canceled');
        return true;
      });
    });

    it('rejects writes still pending at close with kind canceled (or completes them)', async () => {
      const { transport } = await open();
      const writes = Array.from({ length: 8 }, () => transport.write(new Uint8Array(8192).fill(0x2e)));
      const closed = transport.close();
      const results = await Promise.allSettled(writes);
      await closed;
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.ok(r.reason instanceof TransportError);
          assert.equal(r.reason.kind, 'canceled');
        }
      }
    });

    it('fires onClose {disconnected} when the peer goes away', async () => {
      const { transport } = await open();
      const closed = new Promise<{ reason: string; error?: TransportError }>((resolve) => transport.onClose(resolve));
      await fixture.killPeer();
      let timer: NodeJS.Timeout | undefined;
      const e = await Promise.race([
        closed,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no onClose within 10 s of the peer going away')), 10_000))),
      ]).finally(() => clearTimeout(timer));
      assert.equal(e.reason, 'disconnected');
      assert.ok(e.error instanceof TransportError);
      assert.equal(e.error.kind, 'disconnected');
      assert.equal(transport.state, 'closed');
      await assert.rejects(transport.write(Uint8Array.of(1)), (err: unknown) => err instanceof TransportError);
    });
  });
}
