// The console WebSocket: binary frames are raw serial bytes both ways; text frames are JSON control
// messages. Also the one-time ticket endpoint, session time limits and live re-checks of access.

import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Session, ViewerSink } from '../../core/broker.js';
import { checkSession } from '../../core/session-timeouts.js';
import { ErrorCode, NoticeCode, type ServerControlMessage } from '../../protocol/control.js';
import { CloseCode, decodeClientFrame, encodeControl } from '../../protocol/frames.js';
import { GW_ERR, GatewayError } from '../../errors.js';
import type { DeviceRuntime } from '../../runtime/device-runtime.js';
import type { AccessChange, AppDeps, Principal } from '../app-deps.js';
import { reasonSchema } from '../justification.js';
import { isAllowed, type Permission } from '../permissions.js';
import { actorOf, deviceIdParam } from '../plugins/access.js';
import { runControl } from './controls.js';
import { WRITE_BACKLOG_HIGH } from '../../runtime/device-runtime.js';

/** Heartbeat: a viewer that answers no ping within two intervals is cut off (a stalled client). */
const PING_INTERVAL_MS = 15_000;
/** How often session time limits are checked (the warning and the close are this precise). */
const LIMIT_SWEEP_MS = 500;
/** How often every live session's access is re-read from the database (changes made by other processes). */
const ACCESS_RECHECK_MS = 30_000;

/** Refuses attach with the reason when a switch is off (checked before the upgrade). */
function checkConsoleAllowed(deps: AppDeps, deviceId: string): void {
  const runtime = deps.devices.get(deviceId)!;
  if (!deps.settings.current.serialConsole.enabled) {
    throw GW_ERR.consoleDisabled('the serial console is disabled for the whole gateway (setting serialConsole.enabled: false)');
  }
  if (runtime.spec.console?.enabled === false) throw GW_ERR.consoleDisabled(`the serial console is disabled on device "${deviceId}" (console.enabled: false)`);
  if (runtime.spec.bootDiagnostics?.enabled === false) throw GW_ERR.bootDiagnosticsDisabled(deviceId);
  // The driver's last open said the user must act first (an Azure VM stopped, its console disabled).
  const refusal = runtime.refusal;
  if (refusal) throw new GatewayError(refusal.code, 409, refusal.message);
}

const can = (p: Principal, permission: Permission, runtime: DeviceRuntime) =>
  isAllowed(p.assignments, permission, { kind: 'device', id: runtime.spec.id, group: runtime.spec.group });

/** Checks a write attach (or a ticket for one) against the caller's role and the justification setting; audits a refusal. */
function checkWrite(deps: AppDeps, request: FastifyRequest, id: string, reason: string | undefined): void {
  const runtime = deps.devices.get(id)!;
  const deny = (why: string, err: Error): never => {
    deps.audit.append({ actor: actorOf(request), source: request.ip, action: 'console.denied', target: id, outcome: 'denied', reason: why, details: { mode: 'write' } });
    throw err;
  };
  if (!can(request.principal!, 'console.write', runtime)) deny('lacks console.write', GW_ERR.forbidden(`you may only view device "${id}": attach with mode=read`));
  if (deps.settings.current.requireJustification && !reason?.trim()) deny('no justification given', GW_ERR.justificationRequired('a write attach'));
}

/** One live console session as this route tracks it (for time limits and access re-checks). */
interface LiveSession {
  readonly socket: WebSocket;
  readonly session: Session;
  readonly runtime: DeviceRuntime;
  principal: Principal;
  canWrite: boolean;
  canControl: boolean;
  readonly startedAt: number;
  lastInputAt: number;
  warned: boolean;
  readonly source: string;
}

export async function consoleRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { devices, audit, config, settings } = deps;
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
  const pong = (socket: WebSocket) => () => heartbeat.set(socket, true);

  const live = new Set<LiveSession>();
  /** Ends a session for a policy reason: audited first (a failed row is logged, the close still happens). */
  function endLive(s: LiveSession, action: 'console.timeout' | 'console.revoked', code: number, reason: string, details: Record<string, unknown>): void {
    try {
      audit.append({ actor: s.principal.name, source: s.source, action, target: s.runtime.spec.id, outcome: 'ok', reason, details: { sessionId: s.session.id, ...details } });
    } catch (err) {
      app.log.error({ err }, 'audit row for a session end could not be written');
    }
    live.delete(s);
    s.runtime.broker.closeSession(s.session.id, code, reason);
  }

  // Idle timeout (warned before) and maximum session length, from the live settings.
  const limitTimer = setInterval(() => {
    const now = Date.now();
    const limits = settings.current.console;
    for (const s of live) {
      const verdict = checkSession(s, limits, now);
      if (verdict.kind === 'warn') {
        s.warned = true;
        sendTo(s.socket, { type: 'notice', code: NoticeCode.IdleTimeoutSoon, secondsLeft: verdict.secondsLeft, message: `no input for a while: this session closes in ${verdict.secondsLeft} s unless you type something` });
      } else if (verdict.kind === 'idle-timeout') {
        endLive(s, 'console.timeout', CloseCode.IdleTimeout, 'idle timeout', { limit: 'idle', idleTimeoutSeconds: limits.idleTimeoutSeconds });
      } else if (verdict.kind === 'max-length') {
        endLive(s, 'console.timeout', CloseCode.MaxSessionLength, 'maximum session length reached', { limit: 'max-length', maxSessionSeconds: verdict.seconds });
      }
    }
  }, LIMIT_SWEEP_MS);
  limitTimer.unref();

  // A role, user, token or login changed: re-check every live session of that user at once. Changes
  // made outside this process (`ttygate users …` on the data directory) are caught by a periodic re-check.
  const recheck = (change: AccessChange) => {
    for (const s of live) {
      if (change.userId !== undefined && change.userId !== s.principal.userId) continue;
      // Already ended by whoever made the change (a disabled user's sessions are closed and
      // audited as session.end there); its socket's close event has not run yet.
      if (s.session.ended) continue;
      const fresh = deps.auth.refresh(s.principal);
      if (!fresh || !can(fresh, 'console.read', s.runtime)) {
        endLive(s, 'console.revoked', CloseCode.AccessRevoked, 'access revoked', { why: fresh ? 'lost console.read' : 'user, token or login no longer valid' });
        continue;
      }
      s.principal = fresh;
      s.canControl = can(fresh, 'device.control', s.runtime);
      if (s.canWrite && !can(fresh, 'console.write', s.runtime)) {
        s.canWrite = false;
        const wasWriter = s.session.mode === 'write';
        s.runtime.broker.revokeWrite(s.session.id);
        try {
          audit.append({ actor: fresh.name, source: s.source, action: 'console.revoked', target: s.runtime.spec.id, outcome: 'ok', reason: 'lost console.write', details: { sessionId: s.session.id, demoted: wasWriter } });
        } catch (err) {
          app.log.error({ err }, 'audit row for a demotion could not be written');
        }
        sendTo(s.socket, { type: 'notice', code: NoticeCode.AccessChanged, message: 'your write access to this device was revoked: you can still view its output' });
      }
    }
  };
  const accessSub = deps.accessChanges.event(recheck);
  const recheckTimer = setInterval(() => recheck({}), ACCESS_RECHECK_MS);
  recheckTimer.unref();

  app.addHook('onClose', async () => {
    clearInterval(heartbeatTimer);
    clearInterval(limitTimer);
    clearInterval(recheckTimer);
    accessSub.dispose();
  });

  // Like Azure's serialPorts/connect: a wss:// URL with a ticket that works once, within 30 s.
  app.post(
    '/api/v1/devices/:id/console/connect',
    {
      config: { permission: 'console.read', target: 'device' },
      schema: { body: { type: 'object', additionalProperties: false, properties: { mode: { enum: ['read', 'write'] }, reason: reasonSchema } } },
    },
    async (request, reply) => {
      const id = deviceIdParam(request);
      const body = (request.body ?? {}) as { mode?: 'read' | 'write'; reason?: string };
      const mode = body.mode ?? 'write';
      const p = request.principal!;
      if (p.via === 'ticket') throw GW_ERR.forbidden('a console ticket cannot be used to ask for another');
      if (mode === 'write') checkWrite(deps, request, id, body.reason);
      checkConsoleAllowed(deps, id);
      const issued = deps.tickets.issue({ userId: p.userId, tokenId: p.tokenId, webSessionId: p.webSessionId, deviceId: id, mode, reason: body.reason });
      audit.append({ actor: actorOf(request), source: request.ip, action: 'console.ticket', target: id, outcome: 'ok', details: { mode, via: p.via, ...(body.reason !== undefined && { justification: body.reason }) } });
      const url = `wss://${request.headers.host ?? `${config.listen.host}:${config.listen.port}`}/api/v1/devices/${encodeURIComponent(id)}/console?ticket=${issued.ticket}&mode=${mode}`;
      return reply.header('cache-control', 'no-store').send({ url, expiresAt: new Date(issued.expiresAt).toISOString() });
    },
  );

  app.get(
    '/api/v1/devices/:id/console',
    {
      websocket: true,
      config: { permission: 'console.read', target: 'device', ticketAuth: true },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            mode: { enum: ['read', 'write'] },
            replay: { type: 'integer', minimum: 0, maximum: 16777216 },
            ticket: { type: 'string', maxLength: 128 },
            reason: reasonSchema,
          },
        },
      },
      // Runs after authentication and the console.read check, still before the upgrade.
      preHandler: async (request: FastifyRequest) => {
        const id = deviceIdParam(request);
        const q = request.query as { mode?: 'read' | 'write'; reason?: string };
        const ticket = request.principal!.ticket;
        if (ticket && q.mode !== undefined && q.mode !== ticket.mode) throw GW_ERR.badRequest(`this ticket is for mode=${ticket.mode}`);
        const mode = ticket?.mode ?? q.mode ?? 'write';
        // A ticket's write grant was checked when it was issued; roles are checked again here.
        if (mode === 'write') checkWrite(deps, request, id, ticket?.reason ?? q.reason);
        checkConsoleAllowed(deps, id);
      },
    },
    // The session's closures get only these fields, never `request`: a live session must not keep
    // the whole upgrade request alive (measured: ~20 KiB of heap per idle session).
    (socket: WebSocket, request: FastifyRequest) => {
      const q = request.query as { mode?: 'read' | 'write'; replay?: number; reason?: string };
      const ticket = request.principal!.ticket;
      attach(socket, {
        id: deviceIdParam(request),
        mode: ticket?.mode ?? q.mode ?? 'write',
        replay: q.replay,
        reason: ticket?.reason ?? q.reason,
        principal: request.principal!,
        source: request.ip,
        log: request.log,
      });
    },
  );

  function sendTo(socket: WebSocket, msg: ServerControlMessage): void {
    if (socket.readyState === socket.OPEN) socket.send(encodeControl(msg));
  }

  function attach(
    socket: WebSocket,
    a: { id: string; mode: 'read' | 'write'; replay: number | undefined; reason: string | undefined; principal: Principal; source: string; log: FastifyBaseLogger },
  ): void {
    const { id, principal, source, mode } = a;
    const actor = principal.name;
    const runtime = devices.get(id);
    const sendControl = (msg: ServerControlMessage) => sendTo(socket, msg);
    if (!runtime) {
      sendControl({ type: 'error', code: 'DeviceNotFound', message: `device "${id}" was removed` });
      socket.close(CloseCode.PolicyViolation, 'device removed');
      return;
    }
    try {
      audit.append({ actor, source, action: 'console.attach', target: id, outcome: 'ok', details: { mode, via: principal.via, ...(a.reason !== undefined && { justification: a.reason }) } });
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
    const canWrite = can(principal, 'console.write', runtime);
    const session = runtime.broker.attach(sink, {
      mode,
      replayBytes: Math.min(a.replay ?? 65536, config.console.historyBytes),
      principal: principal.name,
      allowWrite: canWrite,
    });
    if (session.ended) return;
    const now = Date.now();
    const s: LiveSession = { socket, session, runtime, principal, canWrite, canControl: can(principal, 'device.control', runtime), startedAt: now, lastInputAt: now, warned: false, source };
    live.add(s);

    heartbeat.set(socket, true);
    socket.on('pong', pong(socket));

    const reportError = (code: string, message: string) => sendControl({ type: 'error', code, message });
    let readPaused = false;
    const drainSub = runtime.onWriteDrain(() => {
      if (!readPaused) return;
      readPaused = false;
      socket.resume();
    });
    /** The user did something: the idle clock restarts (pings do not count). */
    const active = () => {
      s.lastInputAt = Date.now();
      s.warned = false;
    };

    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const frame = decodeClientFrame(data, isBinary, { maxBinaryFrameBytes: config.console.maxFrameBytes });
      switch (frame.kind) {
        case 'data':
          active();
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
      active();
      if (msg.type === 'takeover') {
        if (!s.canWrite) return reportError(ErrorCode.WriteNotAllowed, 'you may only view this device');
        if (settings.current.requireJustification && !a.reason?.trim()) {
          return reportError('JustificationRequired', 'taking over needs a justification: attach again with reason=… (this gateway requires one)');
        }
        try {
          session.takeover();
        } catch (err) {
          reportError(ErrorCode.WriteNotAllowed, (err as Error).message);
        }
        return;
      }
      if (!s.canControl || session.mode !== 'write') {
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
      live.delete(s);
      heartbeat.delete(socket);
      drainSub.dispose();
      session.dispose();
    });
    socket.on('error', (err) => a.log.warn({ err, device: id }, 'console socket error'));
  }
}
