// The device list: groups and scale-set instances, state, kind, who is attached; only what the
// user may see (the gateway filters), with what they may do there.

import { describeError, listDevices } from '../api.js';
import { href, type Page } from '../app.js';
import { clear, h } from '../dom.js';
import type { DeviceInfo, DevicePermission } from '../types.js';

const REFRESH_MS = 5000;

/** May the user do `p` on this device? Unknown (older gateway): let the gateway decide. */
export function may(d: DeviceInfo, p: DevicePermission): boolean {
  return d.access === undefined || d.access.includes(p);
}

export function stateLabel(d: DeviceInfo): string {
  const s: Record<string, string> = { connected: 'Online', connecting: 'Connecting', disconnected: 'Offline', stopped: 'Stopped' };
  return s[d.state] ?? d.state;
}

function attachedLabel(d: DeviceInfo): string {
  if (d.sessions.length === 0) return 'Nobody';
  const writer = d.sessions.find((s) => s.id === d.leaseHolder);
  const viewers = d.sessions.filter((s) => s.id !== d.leaseHolder).map((s) => s.principal ?? 'unknown');
  const parts = [];
  if (writer) parts.push(`${writer.principal ?? 'unknown'} (writing)`);
  if (viewers.length) parts.push(`${[...new Set(viewers)].join(', ')} (viewing)`);
  return parts.join('; ');
}

/** Why the console button is off, or undefined when it is usable. */
export function consoleBlocked(d: DeviceInfo): string | undefined {
  if (!may(d, 'console.read')) return 'You may see this device but not open its console (needs the Console Viewer role or higher).';
  if (!d.console.enabled) return 'The serial console is disabled on this device.';
  if (!d.bootDiagnostics.enabled) return 'Boot diagnostics are disabled on this device; the console needs them.';
  return undefined;
}

function row(d: DeviceInfo): HTMLTableRowElement {
  const blocked = consoleBlocked(d);
  const reasonId = `why-${d.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const openConsole = blocked
    ? h('span', {}, h('button', { type: 'button', disabled: true, 'aria-describedby': reasonId }, 'Console'), h('span', { className: 'reason', id: reasonId }, blocked))
    : h('a', { className: 'button', href: href({ name: 'console', id: d.id }), 'aria-label': `Open the console of ${d.id}` }, 'Console');
  const diag = may(d, 'diagnostics.read') && d.bootDiagnostics.enabled ? h('a', { className: 'button secondary', href: href({ name: 'diagnostics', id: d.id }), 'aria-label': `Boot diagnostics of ${d.id}` }, 'Boot diagnostics') : undefined;
  return h(
    'tr',
    { 'data-device': d.id },
    h('th', { scope: 'row' }, d.id, d.description ? h('div', { className: 'hint' }, d.description) : undefined),
    h('td', {}, d.kind),
    h('td', {}, h('span', { className: `state state-${d.state}` }, stateLabel(d)), d.error ? h('div', { className: 'hint' }, d.error) : undefined),
    h('td', {}, attachedLabel(d)),
    h('td', { className: 'actions' }, openConsole, diag),
  );
}

export function devicesPage(main: HTMLElement): Page {
  const filter = h('input', { type: 'search', id: 'device-filter', placeholder: 'Filter by name, group or kind' });
  const status = h('p', { className: 'hint', role: 'status' });
  const list = h('div', { id: 'device-groups' });
  main.append(h('h1', {}, 'Devices'), h('div', { className: 'toolbar' }, h('label', { for: filter.id }, 'Filter'), filter), status, list);
  let devices: DeviceInfo[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let first = true;

  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = devices.filter((d) => !q || [d.id, d.group ?? '', d.kind, d.description ?? ''].some((s) => s.toLowerCase().includes(q)));
    const groups = new Map<string, DeviceInfo[]>();
    for (const d of shown) groups.set(d.group ?? '', [...(groups.get(d.group ?? '') ?? []), d]);
    // Keep focus where it was across refreshes (a redraw would otherwise drop it).
    const focusedDevice = (document.activeElement?.closest('tr[data-device]') as HTMLElement | null)?.dataset['device'];
    clear(list);
    if (devices.length === 0) list.append(h('p', {}, 'No devices you may see. Ask an owner for a role on a device or group.'));
    else if (shown.length === 0) list.append(h('p', {}, 'No device matches the filter.'));
    for (const [group, members] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      const scaleSet = group !== '' && members.every((d) => d.id.startsWith(`${group}/`));
      const title = group === '' ? 'Ungrouped' : scaleSet ? `Scale set ${group} (${members.length} instance${members.length === 1 ? '' : 's'})` : `Group ${group}`;
      const headId = `group-${group.replace(/[^A-Za-z0-9_-]/g, '_') || 'none'}`;
      list.append(
        h(
          'section',
          { 'aria-labelledby': headId },
          h('h2', { id: headId }, title),
          h(
            'table',
            { className: 'devices' },
            h('thead', {}, h('tr', {}, ...['Device', 'Kind', 'State', 'Attached', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, ...members.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true })).map(row)),
          ),
        ),
      );
    }
    if (focusedDevice) list.querySelector<HTMLElement>(`tr[data-device="${CSS.escape(focusedDevice)}"] a, tr[data-device="${CSS.escape(focusedDevice)}"] button`)?.focus();
  };

  const refresh = async () => {
    try {
      devices = await listDevices();
      status.textContent = first ? `${devices.length} device${devices.length === 1 ? '' : 's'}.` : status.textContent;
      first = false;
      draw();
    } catch (err) {
      status.textContent = `Could not load the devices: ${describeError(err)}`;
    }
    timer = setTimeout(() => void refresh(), REFRESH_MS);
  };
  filter.addEventListener('input', draw);
  void refresh();
  return { title: 'Devices', dispose: () => clearTimeout(timer) };
}
