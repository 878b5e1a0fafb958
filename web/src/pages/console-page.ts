// The console page: the terminal, a status bar (link, lease, device), Take over / Read-only view /
// Disconnect, the command and power menus, and the paste guard.

import type { SessionMode } from '../../../gateway/src/protocol/control.js';
import { ApiError, describeError, getDevice } from '../api.js';
import { href, type Page } from '../app.js';
import { field, h } from '../dom.js';
import { ConsoleConnection, type LinkState } from '../console/console-connection.js';
import { PASTE_CHUNK_INTERVAL_MS, analysePaste, pasteChunks } from '../console/paste-guard.js';
import { TerminalView } from '../console/terminal-view.js';
import { confirmDialog } from '../ui/dialog.js';
import { menuButton } from '../ui/menu.js';
import type { DeviceInfo } from '../types.js';
import { commandItems, powerItems } from './actions.js';
import { consoleBlocked, may, stateLabel } from './devices.js';

const DEVICE_REFRESH_MS = 5000;
/** A terminal's automatic answers (cursor position, device attributes): never "typing". */
const TERMINAL_REPORT = /^(\x1b\[[\d;?>]*[Rcn])+$/;

interface ConsoleHook {
  terminalText(): string;
  nextOffset(): number | undefined;
  sessionId(): string | undefined;
  mode(): SessionMode;
}
declare global {
  interface Window {
    /** Read-only view of the console for diagnostics and the end-to-end tests (no secrets). */
    ttygateConsole?: ConsoleHook;
  }
}

export async function consolePage(main: HTMLElement, id: string): Promise<Page> {
  const title = `Console: ${id}`;
  main.append(h('h1', {}, title));
  let device: DeviceInfo;
  try {
    device = await getDevice(id);
  } catch (err) {
    main.append(h('p', { className: 'error', role: 'alert' }, describeError(err)), h('p', {}, h('a', { href: href({ name: 'devices' }) }, 'Back to the devices')));
    return { title };
  }
  const blocked = consoleBlocked(device);
  if (blocked) {
    main.append(h('p', { className: 'error', role: 'alert', id: 'console-refused' }, blocked), h('p', {}, h('a', { href: href({ name: 'devices' }) }, 'Back to the devices')));
    return { title };
  }

  const canWrite = may(device, 'console.write');
  // ---- status bar
  const linkStatus = h('span', { id: 'status-link' }, 'Connecting…');
  const leaseStatus = h('span', { id: 'status-lease' }, '…');
  const deviceStatus = h('span', { id: 'status-device' }, stateLabel(device));
  const statusBar = h(
    'div',
    { className: 'status-bar', role: 'status', 'aria-label': 'Console status' },
    h('span', {}, h('span', { className: 'label' }, 'Connection: '), linkStatus),
    h('span', {}, h('span', { className: 'label' }, 'Lease: '), leaseStatus),
    h('span', {}, h('span', { className: 'label' }, 'Device: '), deviceStatus),
  );
  const notice = h('div', { className: 'notice', id: 'console-notice', role: 'alert' });
  const outcome = h('p', { className: 'outcome', id: 'action-outcome', role: 'status' });
  const sink = (text: string, ok: boolean) => {
    outcome.textContent = text;
    outcome.className = `outcome ${ok ? 'ok' : 'failed'}`;
  };

  // ---- toolbar
  const takeover = h('button', { type: 'button', id: 'btn-takeover' }, 'Take over');
  const readOnly = h('button', { type: 'button', id: 'btn-readonly', className: 'secondary' }, 'Read-only view');
  const disconnect = h('button', { type: 'button', id: 'btn-disconnect', className: 'secondary' }, 'Disconnect');
  const commands = menuButton('Commands', () => commandItems(device, sink));
  const powerMenu = menuButton('Power', () => powerItems(device, sink));
  const diagLink = may(device, 'diagnostics.read') ? h('a', { href: href({ name: 'diagnostics', id }), className: 'button secondary' }, 'Boot diagnostics') : undefined;
  const srMode = h('input', { type: 'checkbox', id: 'sr-mode' });
  const toolbar = h(
    'div',
    { className: 'toolbar console-toolbar', role: 'toolbar', 'aria-label': 'Console actions', id: 'console-toolbar' },
    takeover,
    readOnly,
    disconnect,
    commands,
    powerMenu,
    diagLink,
    h('span', { className: 'checkbox' }, srMode, h('label', { for: 'sr-mode' }, 'Screen reader mode')),
  );
  const termHost = h('div', { className: 'terminal', id: 'terminal' });
  const help = h('p', { className: 'hint', id: 'console-help' }, 'Keyboard: Control+F6 moves focus from the terminal to these controls; Tab and Shift+Tab move between them; click or Tab into the terminal to type. Pasting several lines asks first; long pastes are sent at the line’s pace.');
  main.append(toolbar, help, notice, statusBar, termHost, outcome);

  // ---- terminal and connection
  let mode: SessionMode = canWrite ? 'write' : 'read';
  let readOnlyHintAt = 0;
  let replaying = 0;
  let pasting: { cancel: boolean } | undefined;
  const encoder = new TextEncoder();
  const view = new TerminalView(termHost, {
    // Ctrl+F6: to the first usable control of the toolbar (Take over when viewing, else the next).
    onEscapeFocus: () => toolbar.querySelector<HTMLElement>('button:not([disabled]), a[href]')?.focus(),
    onData: (data) => {
      if (replaying > 0 && TERMINAL_REPORT.test(data)) return;
      if (conn.sendBytes(encoder.encode(data))) return;
      if (TERMINAL_REPORT.test(data)) return; // the terminal answering a query, not the user
      if (Date.now() - readOnlyHintAt > 3000) {
        readOnlyHintAt = Date.now();
        notice.textContent = mode === 'read' ? `Read-only view: what you type is not sent.${canWrite ? ' Choose Take over to write.' : ''}` : 'Not connected: what you type is not sent.';
      }
    },
    onPaste: (text) => void paste(text),
  });

  const holderName = (): string | undefined => {
    const s = device.sessions.find((x) => x.id === device.leaseHolder);
    return s ? (s.principal ?? 'someone') : undefined;
  };
  const drawLease = () => {
    if (!conn.open) leaseStatus.textContent = '—';
    else if (mode === 'write') leaseStatus.textContent = 'You write';
    else {
      const who = holderName();
      leaseStatus.textContent = who ? `You view; ${who} writes` : 'You view; nobody writes';
    }
    takeover.disabled = !canWrite || (conn.open && mode === 'write');
    takeover.title = canWrite ? '' : 'You may only view this device';
    readOnly.disabled = conn.open && mode === 'read';
    disconnect.textContent = conn.open || linkState === 'reconnecting' || linkState === 'connecting' ? 'Disconnect' : 'Connect';
  };
  let deviceState: string | undefined;
  const drawDevice = () => {
    const labels: Record<string, string> = { rebooting: 'Rebooting', off: 'Powered off', disconnected: 'Line disconnected', reconnected: 'Online' };
    deviceStatus.textContent = deviceState && deviceState !== 'connected' && deviceState !== 'reconnected' ? (labels[deviceState] ?? deviceState) : stateLabel(device);
  };
  const refreshDevice = async () => {
    try {
      device = await getDevice(id);
      if (device.state !== 'connected') deviceState = undefined;
      drawLease();
      drawDevice();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) notice.textContent = 'This device was removed, or you may no longer see it.';
    }
  };

  let linkState: LinkState = 'connecting';
  const conn = new ConsoleConnection(
    { deviceId: id, mode },
    {
      data: (bytes, history) => {
        if (!history) return view.write(bytes);
        // While replayed output is parsed, the terminal's answers to old queries (ESC[6n at every
        // ash prompt) must not reach the device as if typed now.
        replaying++;
        view.write(bytes, () => replaying--);
      },
      link: (state, detail) => {
        const was = linkState;
        linkState = state;
        termHost.dataset['link'] = state;
        linkStatus.textContent = state === 'connected' ? 'Connected' : state === 'reconnecting' ? 'Reconnecting…' : state === 'connecting' ? 'Connecting…' : 'Disconnected';
        if (state === 'reconnecting') {
          notice.textContent = detail;
          if (was === 'connected') view.note('link lost; reconnecting…');
        } else if (state === 'connected' && was === 'reconnecting') {
          notice.textContent = 'Reconnected. Nothing was lost: the output you missed was replayed.';
          view.note('reconnected');
        } else if (state === 'closed') notice.textContent = detail;
        drawLease();
      },
      hello: (_sid, m) => {
        mode = m;
        termHost.dataset['mode'] = m;
        void refreshDevice();
        drawLease();
      },
      notice: (code, message, secondsLeft) => {
        notice.textContent = code === 'IdleTimeoutSoon' ? `${message}${secondsLeft !== undefined ? ` (${secondsLeft} s left)` : ''} Type anything to stay connected.` : message;
        if (code === 'AccessChanged') void refreshDevice();
      },
      lease: (holder, m) => {
        const was = mode;
        mode = m;
        termHost.dataset['mode'] = m;
        void refreshDevice().then(() => {
          if (was === 'write' && m === 'read' && holder === null) notice.textContent = 'You can no longer write to this console (your access changed). You are viewing (read-only).';
          else if (was === 'write' && m === 'read') notice.textContent = `${holderName() ?? 'Another user'} took over the console. You are now viewing (read-only); what you type is not sent.${canWrite ? ' Choose Take over to write again.' : ''}`;
          if (was === 'read' && m === 'write') notice.textContent = 'You hold the console now: you write.';
        });
        drawLease();
      },
      device: (state) => {
        deviceState = state;
        drawDevice();
        if (state === 'disconnected') notice.textContent = 'The device line dropped; the gateway is reopening it. Output resumes when it is back.';
        if (state === 'reconnected') notice.textContent = 'The device line is back.';
      },
      error: (code, message) => {
        notice.textContent = code === 'WriteNotAllowed' ? `Not sent: ${message}` : `${code}: ${message}`;
      },
      gap: (from, to, filled) => view.note(filled ? `${to - from} bytes came from the capture (older than the console history)` : `${to - from} bytes could not be replayed (they are in the boot diagnostics log if it is kept)`),
      refused: (err) => {
        if (err.code === 'JustificationRequired' && conn.mode === 'write') return void askReason();
        notice.textContent = `Cannot open the console: ${describeError(err)}`;
      },
    },
  );

  // The gateway requires a reason for write access: ask, then attach with it (or view read-only).
  const askReason = async () => {
    const input = h('input', { name: 'reason', required: true, maxlength: 500, autocomplete: 'off' });
    const ok = await confirmDialog({
      title: 'Why do you need write access?',
      body: `A reason is required to write to the console of ${id}. It is recorded in the audit log with your session. Cancel to open a read-only view instead.`,
      confirmLabel: 'Connect',
      extra: field('Reason', input, 'For example a ticket number and what you are fixing.'),
      validate: () => (input.value.trim() ? undefined : 'Enter a reason.'),
    });
    if (ok) {
      conn.setReason(input.value.trim());
      conn.reconnectNow('write');
    } else conn.reconnectNow('read');
    view.focus();
  };

  const paste = async (text: string) => {
    if (pasting) return void (notice.textContent = 'A paste is still being sent.');
    if (mode !== 'write' || !conn.open) return void (notice.textContent = 'Not pasted: you are not writing to this console.');
    const a = analysePaste(text, view.term.modes.bracketedPasteMode);
    if (a.needsConfirmation) {
      const preview = text.length > 400 ? `${text.slice(0, 400)}…` : text;
      const ok = await confirmDialog({
        title: `Paste ${a.lines} line${a.lines === 1 ? '' : 's'}?`,
        body: [`Each line end runs what comes before it on ${id}. ${a.bytes} bytes${a.paced ? ', sent at the serial line’s pace' : ''}.`, h('pre', { className: 'paste-preview' }, preview)],
        confirmLabel: 'Paste',
      });
      view.focus();
      if (!ok) return;
    }
    const chunks = a.paced ? pasteChunks(a.data) : [encoder.encode(a.data)];
    const job = { cancel: false };
    pasting = job;
    try {
      for (let i = 0; i < chunks.length && !job.cancel; i++) {
        if (!conn.sendBytes(chunks[i]!)) {
          notice.textContent = `Paste stopped after ${i} of ${chunks.length} parts: the console is no longer writable.`;
          return;
        }
        if (a.paced) {
          outcome.textContent = `Pasting: ${Math.round(((i + 1) / chunks.length) * 100)} %`;
          await new Promise((r) => setTimeout(r, PASTE_CHUNK_INTERVAL_MS));
        }
      }
      if (a.paced) outcome.textContent = `Pasted ${a.bytes} bytes.`;
    } finally {
      pasting = undefined;
    }
  };

  takeover.addEventListener('click', () => {
    if (conn.open) conn.sendControl({ type: 'takeover' });
    else conn.reconnectNow('write');
    view.focus();
  });
  readOnly.addEventListener('click', () => {
    conn.reconnectNow('read');
    view.focus();
  });
  disconnect.addEventListener('click', () => {
    if (disconnect.textContent === 'Disconnect') {
      conn.stop();
      view.note('disconnected');
    } else conn.reconnectNow(mode === 'read' || !canWrite ? 'read' : 'write');
  });
  srMode.addEventListener('change', () => {
    view.term.options.screenReaderMode = srMode.checked;
  });

  window.ttygateConsole = { terminalText: () => view.text(), nextOffset: () => conn.nextOffset, sessionId: () => conn.sessionId, mode: () => mode };
  conn.start();
  view.focus();
  const timer = setInterval(() => void refreshDevice(), DEVICE_REFRESH_MS);
  const onOnline = () => {
    if (linkState === 'reconnecting') conn.reconnectNow();
  };
  window.addEventListener('online', onOnline);
  return {
    title,
    dispose() {
      clearInterval(timer);
      window.removeEventListener('online', onOnline);
      if (pasting) pasting.cancel = true;
      conn.stop();
      view.dispose();
      delete window.ttygateConsole;
    },
  };
}
