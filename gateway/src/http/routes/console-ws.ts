// The console WebSocket: binary frames are raw serial bytes both ways; text frames are JSON control messages.

import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { ViewerSink } from '../../core/broker.js';
import { ErrorCode, type ServerControlMessage } from '../../protocol/control.js';
import { CloseCode, decodeClientFrame, encodeControl } from '../../protocol/frames.js';
import { GW_ERR, GatewayError } from '../../errors.js';
import type { AppDeps, Principal } from '../app-deps.js';
import { isAllowed } from '../permissions.js';
import { actorOf, deviceIdParam } from '../plugins/access.js';
import { runControl } from './controls.js';
import { WRITE_BACKLOG_HIGH } from '../../runtime/device-runtime.js';

/** Heartbeat: a viewer that answers no ping within two intervals is cut off (a stalled client). */
const PING_INTERVAL_MS = 15_000;

/** Refuses attach with the reason when a switch is off (checked before the upgrade). */
function checkConsoleAllowed(deps: AppDeps, deviceId: string): void {
  const runtime = deps.devices.get(deviceId)!;
  if (!deps.config.serialConsole.enabled) {
    throw GW_ERR.consoleDisabled('the serial console is disabled for the whole gateway (serialConsole.enabled: false)');
  }
  if (runtime.spec.console?.enabled === false) throw GW_ERR.consoleDisabled(`the serial console is disabled on device "${deviceId}" (console.enabled: false)`);
  if (runtime.spec.bootDiagnostics?.enabled === false) throw GW_ERR.bootDiagnosticsDisabled(deviceId);
  // The driver's last open said the user must act first (an Azure VM stopped, its console disabled).
  const refusal = runtime.refusal;
  if (refusal) throw new GatewayError(refusal.code, 409, refusal.message);
}

export async function consoleRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { devices, audit, config } = deps;
  // One timer for all sessions: a socket that answered no ping since the last round is cut off.
  const heartbeat = new Map<WebSocket, boolean>();
  const heartbeatTimer = setInterval(() => {
    for (const [socket, alive] of heartbeat) {
      if (!alive) {
        socket.terminate();
        continue;
      }
      heartbeat.set(socket, false);
      socket.ping();
    }
  }, PING_INTERVAL_MS);
  heartbeatTimer.unref();
  app.addHook('onClose', async () => clearInterval(heartbeatTimer));
  const pong = (socket: WebSocket) => () => heartbeat.set(socket, true);

  app.get(
    '/api/v1/devices/:id/console',
    {
      websocket: true,
      config: { permission: 'console.read', target: 'device' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { mode: { enum: ['read', 'write'] }, replay: { type: 'integer', minimum: 0, maximum: 16777216 } },
        },
      },
      // Runs after authentication and the console.read check, still before the upgrade.
      preHandler: async (request: FastifyRequest) => {
        const id = deviceIdParam(request);
        const mode = (request.query as { mode?: string }).mode ?? 'write';
        const runtime = devices.get(id)!;
        const canWrite = isAllowed(request.principal!.assignments, 'console.write', { kind: 'device', id, group: runtime.spec.group });
        if (mode === 'write' && !canWrite) {
          audit.append({ actor: actorOf(request), source: request.ip, action: 'console.denied', target: id, outcome: 'denied', reason: 'lacks console.write', details: { mode } });
          throw GW_ERR.forbidden(`you may only view device "${id}": attach with mode=read`);
        }
        checkConsoleAllowed(deps, id);
      },
    },
    // The session's closures get only these fields, never `request`: a live session must not keep
    // the whole upgrade request alive (measured: ~20 KiB of heap per idle session).
    (socket: WebSocket, request: FastifyRequest) =>
      attach(socket, {
        id: deviceIdParam(request),
        query: request.query as { mode?: 'read' | 'write'; replay?: number },
        actor: actorOf(request),
        principal: request.principal!,
        source: request.ip,
        log: request.log,
      }),
  );

  function attach(
    socket: WebSocket,
    a: { id: string; query: { mode?: 'read' | 'write'; replay?: number }; actor: string; principal: Principal; source: string; log: FastifyBaseLogger },
  ): void {
    const { id, actor, principal, source } = a;
    const runtime = devices.get(id);
    const q = a.query;
    const mode = q.mode ?? 'write';
    const canWrite = runtime !== undefined && isAllowed(principal.assignments, 'console.write', { kind: 'device', id, group: runtime.spec.group });
    const canControl = runtime !== undefined && isAllowed(principal.assignments, 'device.control', { kind: 'device', id, group: runtime.spec.group });
    const sendControl = (msg: ServerControlMessage) => {
      if (socket.readyState === socket.OPEN) socket.send(encodeControl(msg));
    };
    if (!runtime) {
      sendControl({ type: 'error', code: 'DeviceNotFound', message: `device "${id}" was removed` });
      socket.close(CloseCode.PolicyViolation, 'device removed');
      return;
    }
    try {
      audit.append({ actor, source, action: 'console.attach', target: id, outcome: 'ok', details: { mode } });
    } catch (err) {
      sendControl({ type: 'error', code: 'AuditUnavailable', message: (err as Error).message });
      socket.close(CloseCode.InternalError, 'audit unavailable');
      return;
    }

    const sink: ViewerSink = {
      send: (bytes) => socket.send(bytes, { binary: true }),
      control: sendControl,
      get bufferedBytes() {
        return socket.bufferedAmount;
      },
      close: (code, reason) => socket.close(code, reason),
    };
    const session = runtime.broker.attach(sink, {
      mode,
      replayBytes: Math.min(q.replay ?? 65536, config.console.historyBytes),
      principal: principal.name,
      allowWrite: canWrite,
    });
    if (session.ended) return;

    heartbeat.set(socket, true);
    socket.on('pong', pong(socket));

    const reportError = (code: string, message: string) => sendControl({ type: 'error', code, message });
    let readPaused = false;
    const drainSub = runtime.onWriteDrain(() => {
      if (!readPaused) return;
      readPaused = false;
      socket.resume();
    });

    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const frame = decodeClientFrame(data, isBinary, { maxBinaryFrameBytes: config.console.maxFrameBytes });
      switch (frame.kind) {
        case 'data':
          if (session.mode !== 'write') {
            reportError(ErrorCode.WriteNotAllowed, 'this session is read-only: bytes were not sent to the device (send {"type":"takeover"} to write)');
            return;
          }
          try {
            session.write(frame.bytes);
          } catch (err) {
            reportError(ErrorCode.WriteNotAllowed, (err as Error).message);
          }
          // Back-pressure: stop reading this client while the device is behind (TCP pushes back).
          if (runtime.writeBacklog >= WRITE_BACKLOG_HIGH && !readPaused) {
            readPaused = true;
            socket.pause();
          }
          return;
        case 'tooLarge':
          reportError(ErrorCode.FrameTooLarge, `binary frames are limited to ${config.console.maxFrameBytes} bytes`);
          socket.close(CloseCode.MessageTooBig, 'frame too large');
          return;
        case 'invalid':
          reportError(frame.code, frame.message);
          return;
        case 'control':
          break;
      }
      const msg = frame.msg;
      if (msg.type === 'ping') return sendControl({ type: 'pong' });
      if (msg.type === 'takeover') {
        if (!canWrite) return reportError(ErrorCode.WriteNotAllowed, 'you may only view this device');
        try {
          session.takeover();
        } catch (err) {
          reportError(ErrorCode.WriteNotAllowed, (err as Error).message);
        }
        return;
      }
      if (!canControl || session.mode !== 'write') {
        return reportError(ErrorCode.WriteNotAllowed, `${msg.type} needs the write lease and the device.control permission`);
      }
      const ctx = { actor, source, deviceId: id };
      const action =
        msg.type === 'break'
          ? runControl(deps, ctx, 'device.break', { via: 'websocket' }, (c) => c.sendBreak())
          : runControl(deps, ctx, 'device.sysrq', { keys: msg.keys, via: 'websocket' }, (c) => c.sysrq(msg.keys));
      action.catch((err: { code?: string; message: string }) => reportError(err.code ?? 'ControlFailed', err.message));
    });

    socket.on('close', () => {
      heartbeat.delete(socket);
      drainSub.dispose();
      session.dispose();
    });
    socket.on('error', (err) => a.log.warn({ err, device: id }, 'console socket error'));
  }
}
