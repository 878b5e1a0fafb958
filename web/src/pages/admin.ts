// Administration (owner): users, role assignments, devices and the console switches.

import { api, describeError, enc, listDevices } from '../api.js';
import type { Page } from '../app.js';
import { clear, field, formatTime, h } from '../dom.js';
import { confirmDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import type { DeviceInfo } from '../types.js';

interface User {
  id: number;
  name: string;
  disabled: boolean;
  createdAt: string;
  roles: { role: string; scope: string }[];
}
interface Assignment {
  user: string | null;
  role: string;
  scope: string;
}
interface Settings {
  serialConsole: { enabled: boolean };
  requireJustification?: boolean;
  console?: { idleTimeoutSeconds?: number; idleWarningSeconds?: number; maxSessionSeconds?: number };
  [k: string]: unknown;
}

const ROLES = ['reader', 'console-viewer', 'vm-contributor', 'contributor', 'owner', 'auditor'];

function roleSelect(): HTMLSelectElement {
  return h('select', { name: 'role' }, ...ROLES.map((r) => h('option', { value: r }, r)));
}

async function act(what: string, run: () => Promise<unknown>, after: () => Promise<void>): Promise<void> {
  try {
    await run();
    toast(`${what}: done`, 'ok');
  } catch (err) {
    toast(`${what} failed: ${describeError(err)}`, 'error');
  }
  await after();
}

export function adminPage(main: HTMLElement): Page {
  main.append(h('h1', {}, 'Administration'));

  // ---- switches
  const switches = h('section', { 'aria-labelledby': 'sw-title' }, h('h2', { id: 'sw-title' }, 'Console switches'));
  const gatewaySwitch = h('input', { type: 'checkbox', id: 'sw-serial-console' });
  const justification = h('input', { type: 'checkbox', id: 'sw-justification' });
  const justificationRow = h('div', { className: 'checkbox', hidden: true }, justification, h('label', { for: justification.id }, 'Require a reason for write access and power actions'));
  switches.append(
    h('div', { className: 'checkbox' }, gatewaySwitch, h('label', { for: gatewaySwitch.id }, 'Serial console enabled for the whole gateway')),
    h('p', { className: 'hint' }, 'Off refuses every console attach with a message that says so (Azure’s subscription-level switch). Existing sessions keep running. Changes are audited.'),
    justificationRow,
  );
  const idle = h('input', { type: 'number', min: 0, max: 604800, name: 'idleTimeoutSeconds', id: 'set-idle' });
  const maxLen = h('input', { type: 'number', min: 0, max: 604800, name: 'maxSessionSeconds', id: 'set-max' });
  const limits = h(
    'form',
    { className: 'inline-form', 'aria-label': 'Console session limits', hidden: true },
    field('Idle timeout (seconds, 0 = none)', idle),
    field('Maximum session length (seconds, 0 = none)', maxLen),
    h('button', { type: 'submit', className: 'primary' }, 'Save limits'),
  );
  limits.addEventListener('submit', (e) => {
    e.preventDefault();
    void act('Session limits', () => api('PUT', '/api/v1/settings', { console: { idleTimeoutSeconds: Number(idle.value), maxSessionSeconds: Number(maxLen.value) } }), loadSettings);
  });
  switches.append(limits);
  let settings: Settings | undefined;
  const loadSettings = async () => {
    try {
      settings = await api<Settings>('GET', '/api/v1/settings');
      gatewaySwitch.checked = settings.serialConsole.enabled;
      justificationRow.hidden = settings.requireJustification === undefined;
      justification.checked = settings.requireJustification === true;
      limits.hidden = settings.console === undefined;
      idle.value = String(settings.console?.idleTimeoutSeconds ?? 0);
      maxLen.value = String(settings.console?.maxSessionSeconds ?? 0);
    } catch (err) {
      switches.append(h('p', { className: 'error' }, describeError(err)));
    }
  };
  gatewaySwitch.addEventListener('change', () => void act(`Serial console ${gatewaySwitch.checked ? 'on' : 'off'}`, () => api('PUT', '/api/v1/settings', { serialConsole: { enabled: gatewaySwitch.checked } }), loadSettings));
  justification.addEventListener('change', () => void act(`Require a reason ${justification.checked ? 'on' : 'off'}`, () => api('PUT', '/api/v1/settings', { requireJustification: justification.checked }), loadSettings));

  // ---- users
  const usersBody = h('tbody', { id: 'users-rows' });
  const newName = h('input', { name: 'name', autocomplete: 'off', required: true });
  const newPass = h('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
  const newRole = roleSelect();
  const newScope = h('input', { name: 'scope', value: '/', required: true });
  const addUser = h(
    'form',
    { className: 'inline-form', 'aria-label': 'Add a user' },
    field('User name', newName),
    field('Password', newPass, 'Leave empty to generate one; it is shown once.'),
    field('Role', newRole),
    field('Scope', newScope, '/, /groups/NAME or /devices/ID'),
    h('button', { type: 'submit', className: 'primary' }, 'Add user'),
  );
  const users = h(
    'section',
    { 'aria-labelledby': 'users-title' },
    h('h2', { id: 'users-title' }, 'Users'),
    h('table', {}, h('thead', {}, h('tr', {}, ...['User', 'Roles', 'Created', 'Status', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))), usersBody),
    h('h3', {}, 'Add a user'),
    addUser,
  );
  const loadUsers = async () => {
    try {
      const { users: list } = await api<{ users: User[] }>('GET', '/api/v1/users');
      clear(usersBody);
      for (const u of list) {
        const toggle = h('button', { type: 'button', className: 'secondary', 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.name}` }, u.disabled ? 'Enable' : 'Disable');
        toggle.addEventListener('click', () => void act(`${u.disabled ? 'Enable' : 'Disable'} ${u.name}`, () => api('PATCH', `/api/v1/users/${enc(u.name)}`, { disabled: !u.disabled }), loadAll));
        usersBody.append(
          h('tr', {}, h('th', { scope: 'row' }, u.name), h('td', {}, u.roles.map((r) => `${r.role} on ${r.scope}`).join('; ') || 'none'), h('td', {}, formatTime(u.createdAt)), h('td', {}, u.disabled ? 'Disabled' : 'Active'), h('td', {}, toggle)),
        );
      }
    } catch (err) {
      clear(usersBody);
      usersBody.append(h('tr', {}, h('td', { colspan: 5 }, describeError(err))));
    }
  };
  addUser.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { name: newName.value.trim(), ...(newPass.value ? { password: newPass.value } : {}), role: newRole.value, scope: newScope.value.trim() };
    void (async () => {
      try {
        const created = await api<{ password?: string }>('POST', '/api/v1/users', body);
        newPass.value = '';
        if (created && typeof created === 'object' && created.password) {
          await confirmDialog({ title: `User ${body.name} added`, body: ['Their generated password, shown only this once:', h('pre', { className: 'secret' }, created.password)], confirmLabel: 'I have copied it' });
        } else toast(`User ${body.name} added`, 'ok');
        newName.value = '';
      } catch (err) {
        toast(`Adding ${body.name} failed: ${describeError(err)}`, 'error');
      }
      await loadAll();
    })();
  });

  // ---- role assignments
  const raBody = h('tbody', { id: 'assignments-rows' });
  const raUser = h('input', { name: 'user', autocomplete: 'off', required: true });
  const raRole = roleSelect();
  const raScope = h('input', { name: 'scope', value: '/', required: true });
  const addRa = h('form', { className: 'inline-form', 'aria-label': 'Grant a role' }, field('User', raUser), field('Role', raRole), field('Scope', raScope, '/, /groups/NAME or /devices/ID'), h('button', { type: 'submit', className: 'primary' }, 'Grant'));
  const assignments = h(
    'section',
    { 'aria-labelledby': 'ra-title' },
    h('h2', { id: 'ra-title' }, 'Role assignments'),
    h('table', {}, h('thead', {}, h('tr', {}, ...['User', 'Role', 'Scope', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))), raBody),
    h('h3', {}, 'Grant a role'),
    addRa,
  );
  const loadAssignments = async () => {
    try {
      const r = await api<{ assignments?: Assignment[]; roleAssignments?: Assignment[] } | Assignment[]>('GET', '/api/v1/role-assignments');
      const list = Array.isArray(r) ? r : (r.assignments ?? r.roleAssignments ?? []);
      clear(raBody);
      for (const a of list) {
        const revoke = h('button', { type: 'button', className: 'secondary', 'aria-label': `Revoke ${a.role} on ${a.scope} from ${a.user}` }, 'Revoke');
        revoke.addEventListener('click', async () => {
          if (await confirmDialog({ title: 'Revoke this role?', body: `${a.user} loses ${a.role} on ${a.scope}. Their open sessions that depend on it may end.`, confirmLabel: 'Revoke', danger: true })) {
            await act(`Revoke ${a.role} from ${a.user}`, () => api('DELETE', '/api/v1/role-assignments', { user: a.user, role: a.role, scope: a.scope }), loadAll);
          }
        });
        raBody.append(h('tr', {}, h('td', {}, a.user ?? '?'), h('td', {}, a.role), h('td', {}, a.scope), h('td', {}, revoke)));
      }
    } catch (err) {
      clear(raBody);
      raBody.append(h('tr', {}, h('td', { colspan: 4 }, describeError(err))));
    }
  };
  addRa.addEventListener('submit', (e) => {
    e.preventDefault();
    void act(`Grant ${raRole.value} to ${raUser.value}`, () => api('POST', '/api/v1/role-assignments', { user: raUser.value.trim(), role: raRole.value, scope: raScope.value.trim() }), loadAll);
  });

  // ---- devices
  const devBody = h('tbody', { id: 'admin-devices-rows' });
  const devices = h(
    'section',
    { 'aria-labelledby': 'dev-title' },
    h('h2', { id: 'dev-title' }, 'Devices'),
    h('p', { className: 'hint' }, 'Devices from the configuration file are read-only here: change the file. Devices added over the API can be switched here.'),
    h('table', {}, h('thead', {}, h('tr', {}, ...['Device', 'Kind', 'Group', 'Source', 'Console', 'Boot diagnostics'].map((c) => h('th', { scope: 'col' }, c)))), devBody),
  );
  const loadDevices = async () => {
    let list: DeviceInfo[];
    try {
      list = await listDevices();
    } catch (err) {
      clear(devBody);
      devBody.append(h('tr', {}, h('td', { colspan: 6 }, describeError(err))));
      return;
    }
    clear(devBody);
    for (const d of list) {
      const sw = (label: string, on: boolean, patch: (v: boolean) => object) => {
        const box = h('input', { type: 'checkbox', 'aria-label': `${label} on ${d.id}`, ...(on ? { checked: true } : {}), ...(d.source === 'config' ? { disabled: true, title: 'Set in the configuration file' } : {}) });
        box.addEventListener('change', () => void act(`${label} ${box.checked ? 'on' : 'off'} for ${d.id}`, () => api('PATCH', `/api/v1/devices/${enc(d.id.split('/')[0]!)}`, patch(box.checked)), loadDevices));
        return box;
      };
      devBody.append(
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, d.id),
          h('td', {}, d.kind),
          h('td', {}, d.group ?? ''),
          h('td', {}, d.source === 'config' ? 'configuration file' : 'API'),
          h('td', {}, sw('Console', d.console.enabled, (v) => ({ console: { enabled: v } }))),
          h('td', {}, sw('Boot diagnostics', d.bootDiagnostics.enabled, (v) => ({ bootDiagnostics: { enabled: v } }))),
        ),
      );
    }
  };

  const loadAll = async () => {
    await Promise.all([loadUsers(), loadAssignments()]);
  };
  main.append(switches, users, assignments, devices);
  void loadSettings();
  void loadAll();
  void loadDevices();
  return { title: 'Administration' };
}
