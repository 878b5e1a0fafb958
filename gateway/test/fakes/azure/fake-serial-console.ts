// Fake Azure serial console service: the `wss://…/client` socket and its `adminCommand` endpoint.
//
// Rules and their sources:
// - The client opens the connectionString that serialPorts/connect returned, sends the ARM access
//   token as its first text frame, and treats the service's first frame as the handshake answer, not
//   console output; later frames are console bytes (azure-cli-extensions,
//   src/serial-console/azext_serialconsole/custom.py: `SerialConsole.connect`, `on_open`/`on_message`).
//   A socket whose first frame is not a valid ARM token is closed (policy violation, 1008) — how Azure
//   closes it is not documented; the fake closes with 1008.
// - Console bytes travel in text frames that may hold bytes that are not UTF-8 (the CLI runs with
//   `skip_utf8_validation=True`), and the CLI sends keystrokes with the text opcode (`ws.send(c)`).
// - Admin commands: POST to the https form of the URL with `/adminCommand/{sysrq|nmi|reset}` in place of
//   `/client`, `Authorization: Bearer`, body `{command, requestId, commandParameters}` (sysrq:
//   `{SysRqCommand: "h"}`); 200 means accepted; only while that session's socket is open (custom.py:
//   `send_admin_command`, used from an open session). The fake answers 404 for a session that is closed.
// - The VM behind the socket is a tty with echo: what it receives it prints back. SysRq/NMI/reset print
//   what a Linux guest prints (FACTS.md: `sysrq: HELP …`, `Uhhuh. NMI received …`).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FakeArm, FakeVm } from './fake-arm.js';
import { json, type FakeLogin } from './fake-login.js';
import type { LoggedRequest } from './request-log.js';

/** The handshake answer the service sends after a valid token (content undocumented; the client ignores it). */
export const HANDSHAKE_ANSWER = '{"status":"connected"}';

interface Session {
  id: string;
  vm: FakeVm;
  socket?: WebSocket;
  /** Raw bytes the VM received, and whether each frame was text (true) or binary. */
  received: Buffer[];
  textFrames: boolean[];
  adminCommands: Array<{ command: string; requestId: string; parameters: Record<string, string> }>;
}

export class FakeSerialConsole {
  readonly sessions = new Map<string, Session>();
  private readonly wss = new WebSocketServer({ noServer: true, skipUTF8Validation: true });

  constructor(
    private readonly origin: () => string,
    private readonly login: FakeLogin,
    private readonly arm: () => FakeArm,
  ) {}

  /** What serialPorts/connect returns for `vm`, on this host (or another: the off-list test). */
  newSession(vm: FakeVm, host: string): string {
    const id = randomBytes(9).toString('hex');
    this.sessions.set(id, { id, vm, received: [], textFrames: [], adminCommands: [] });
    return `wss://${host}/ws/${id}/client`;
  }

  /** Open sessions of `vm`. */
  open(vm: FakeVm): Session[] {
    return [...this.sessions.values()].filter((s) => s.vm === vm && s.socket && s.socket.readyState === s.socket.OPEN);
  }

  /** The VM prints `bytes` on its serial port (to every open session). */
  print(vm: FakeVm, bytes: Buffer): void {
    for (const s of this.open(vm)) s.socket!.send(bytes, { binary: false });
  }

  /** Azure drops every socket of `vm` (a service failover). */
  drop(vm: FakeVm): void {
    for (const s of this.open(vm)) s.socket!.terminate();
  }

  /** Every byte `vm` received through any session. */
  received(vm: FakeVm): Buffer {
    return Buffer.concat([...this.sessions.values()].filter((s) => s.vm === vm).flatMap((s) => s.received));
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, entry: LoggedRequest): void {
    const m = /^\/ws\/([0-9a-f]+)\/client$/.exec(new URL(req.url ?? '/', this.origin()).pathname);
    const session = m ? this.sessions.get(m[1]!) : undefined;
    if (!session || session.socket) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      session.socket = ws;
      let authed = false;
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!authed) {
          entry.firstFrame = data.toString('latin1');
          const t = this.login.tokens.get(entry.firstFrame);
          if (isBinary || !t || t.audience !== this.arm().audience) {
            ws.close(1008, 'invalid token');
            return;
          }
          if (session.vm.powerState !== 'running') {
            ws.close(1011, 'the VM is not running');
            return;
          }
          authed = true;
          ws.send(HANDSHAKE_ANSWER);
          return;
        }
        session.received.push(Buffer.from(data));
        session.textFrames.push(!isBinary);
        ws.send(data, { binary: false }); // tty echo
      });
      ws.on('error', () => undefined);
    });
  }

  handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const m = /^\/ws\/([0-9a-f]+)\/adminCommand\/(sysrq|nmi|reset)$/.exec(new URL(req.url ?? '/', this.origin()).pathname);
    if (!m || req.method !== 'POST') return json(res, 404, { error: 'not found' });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const t = token ? this.login.tokens.get(token) : undefined;
    if (!t || t.audience !== this.arm().audience) return json(res, 401, { error: 'invalid token' });
    const session = this.sessions.get(m[1]!);
    if (!session?.socket || session.socket.readyState !== session.socket.OPEN) return json(res, 404, { error: 'no open console session' });
    let parsed: { command?: string; requestId?: string; commandParameters?: Record<string, string> };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    if (parsed.command !== m[2] || typeof parsed.requestId !== 'string') return json(res, 400, { error: 'command and requestId are required' });
    const params = parsed.commandParameters ?? {};
    session.adminCommands.push({ command: m[2]!, requestId: parsed.requestId, parameters: params });
    const vm = session.vm;
    if (m[2] === 'sysrq') {
      const key = params.SysRqCommand ?? '';
      if (!/^[0-9a-z]$/.test(key)) return json(res, 400, { error: 'SysRqCommand must be one key' });
      this.print(vm, Buffer.from(key === 'h' ? '[  42.000000] sysrq: HELP : loglevel(0-9) reboot(b) crash(c) show-all-locks(d) terminate-all-tasks(e)\r\n' : `[  42.000000] sysrq: key ${key}\r\n`, 'latin1'));
    } else if (m[2] === 'nmi') {
      this.print(vm, Buffer.from('[  43.000000] Uhhuh. NMI received for unknown reason 00 on CPU 0.\r\n', 'latin1'));
    } else {
      this.print(vm, Buffer.from('\r\n[    0.000000] Linux version 6.1.0-azure (fake) (hard reset)\r\n', 'latin1'));
    }
    return json(res, 200, {});
  }
}
