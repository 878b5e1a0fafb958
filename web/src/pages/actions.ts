// Controls with confirmations and outcomes: SysRq, NMI, BREAK, power. Shared by the console page.

import { ApiError, api, capabilityReason, describeError, enc } from '../api.js';
import { field, h } from '../dom.js';
import { confirmDialog } from '../ui/dialog.js';
import type { MenuItem } from '../ui/menu.js';
import { toast } from '../ui/toast.js';
import { COMMON_SYSRQ, REISUB, describeKeys, isDangerous } from '../console/sysrq.js';
import type { DeviceInfo } from '../types.js';
import { may } from './devices.js';

export type PowerAction = 'restart' | 'reset' | 'off' | 'on';

const POWER: Record<PowerAction, { label: string; title: string; explain: string; danger: boolean; done: string }> = {
  restart: {
    label: 'Restart (graceful)',
    title: 'Restart gracefully?',
    explain: 'Presses the ACPI power button: the operating system shuts down cleanly and the machine boots again. If the guest ignores the button, nothing happens and you are told so.',
    danger: false,
    done: 'restarted (the guest shut down and is booting again)',
  },
  reset: {
    label: 'Reset (forced power cycle)',
    title: 'Reset (forced power cycle)?',
    explain: 'Cuts power and starts the machine again at once, like pulling the plug: unsaved data is lost and file systems may need checking.',
    danger: true,
    done: 'reset (booting again)',
  },
  off: {
    label: 'Power off',
    title: 'Power off?',
    explain: 'Turns the machine off at once, without a shutdown: unsaved data is lost. It stays off until someone powers it on.',
    danger: true,
    done: 'powered off',
  },
  on: { label: 'Power on', title: 'Power on?', explain: 'Turns the machine on; it boots from the start.', danger: false, done: 'powered on' },
};

/** Where outcomes are written in the page (also announced as a toast). */
export type OutcomeSink = (text: string, ok: boolean) => void;

/** Runs a control; when the gateway requires a reason, asks for one and tries again. */
async function withReason(name: string, run: (reason?: string) => Promise<void>, reason?: string): Promise<void> {
  try {
    await run(reason);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'JustificationRequired' && reason === undefined) {
      const input = h('input', { name: 'reason', required: true, maxlength: 500 });
      const ok = await confirmDialog({
        title: 'A reason is required',
        body: `The gateway records a reason for every ${name}. It is written to the audit log.`,
        confirmLabel: 'Continue',
        extra: field('Reason', input, 'For example a ticket number and what you are fixing.'),
        validate: () => (input.value.trim() ? undefined : 'Enter a reason.'),
      });
      if (ok) return withReason(name, run, input.value.trim());
      throw new Error(`${name} cancelled: no reason given`);
    }
    throw err;
  }
}

async function perform(what: string, sink: OutcomeSink, run: (reason?: string) => Promise<void>, success: string): Promise<void> {
  sink(`${what}: sending…`, true);
  try {
    await withReason(what, run);
    sink(`${what}: ${success}`, true);
    toast(`${what}: ${success}`, 'ok');
  } catch (err) {
    const text = `${what} failed: ${describeError(err)}`;
    sink(text, false);
    toast(text, 'error');
  }
}

function notAllowed(d: DeviceInfo, p: 'device.control' | 'device.power'): string | undefined {
  return may(d, p) ? undefined : `you may not (needs the ${p === 'device.power' ? 'power' : 'control'} permission: VM Contributor or higher)`;
}

export async function sendSysrq(d: DeviceInfo, sink: OutcomeSink): Promise<void> {
  const keys = h('input', { name: 'keys', required: true, maxlength: 32, autocomplete: 'off', spellcheck: 'false', pattern: '[0-9a-zA-Z]{1,32}' });
  const warn = h('p', { className: 'warning', 'aria-live': 'polite' });
  const update = () => {
    const k = keys.value.toLowerCase();
    warn.textContent = k && isDangerous(k) ? `Careful: ${describeKeys(k)} — this can kill processes, lose data or reboot the machine.` : k ? describeKeys(k) : '';
  };
  keys.addEventListener('input', update);
  const pick = (k: string) => () => {
    keys.value = k;
    update();
    keys.focus();
  };
  const table = h(
    'table',
    { className: 'sysrq-keys' },
    h('caption', {}, 'Common keys (choose one to fill in the field)'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'What it does'))),
    h(
      'tbody',
      {},
      ...COMMON_SYSRQ.map((s) => h('tr', {}, h('td', {}, h('button', { type: 'button', className: 'key', onclick: pick(s.key), 'aria-label': `${s.key}: ${s.name}` }, s.key)), h('td', {}, `${s.name}: ${s.what}`))),
      h('tr', {}, h('td', {}, h('button', { type: 'button', className: 'key', onclick: pick(REISUB.keys), 'aria-label': 'REISUB: safe reboot sequence' }, 'REISUB')), h('td', {}, `Safe reboot sequence: ${REISUB.what}`)),
    ),
  );
  const ok = await confirmDialog({
    title: `Send SysRq to ${d.id}`,
    body: [
      'Magic SysRq talks to the Linux kernel directly, even when the system is hung: a BREAK on the serial line, then the key. The guest needs kernel.sysrq enabled. ',
      'A sequence such as REISUB sends each key in turn.',
    ],
    confirmLabel: 'Send SysRq',
    extra: h('div', {}, field('SysRq key or sequence', keys, 'Letters and digits, e.g. h, or reisub.'), warn, table),
    validate: () => (/^[0-9a-z]{1,32}$/.test(keys.value.toLowerCase()) ? undefined : 'Enter one to 32 letters or digits, e.g. h or reisub.'),
  });
  if (!ok) return;
  const k = keys.value.toLowerCase();
  await perform(`SysRq ${k}`, sink, (reason) => api('POST', `/api/v1/devices/${enc(d.id)}/sysrq`, { keys: k, ...(reason ? { reason } : {}) }), 'sent');
}

export async function sendNmi(d: DeviceInfo, sink: OutcomeSink): Promise<void> {
  const ok = await confirmDialog({
    title: `Send a non-maskable interrupt to ${d.id}?`,
    body: 'An NMI interrupts the operating system whatever it is doing. It may crash the VM: a kernel set to panic on NMI (unknown_nmi_panic, or Windows with NMICrashDump) will stop, and unsaved data is lost. Use it to force a crash dump of a hung machine.',
    confirmLabel: 'Send NMI',
    danger: true,
  });
  if (!ok) return;
  await perform('NMI', sink, (reason) => api('POST', `/api/v1/devices/${enc(d.id)}/nmi`, reason ? { reason } : {}), 'sent');
}

export async function sendBreak(d: DeviceInfo, sink: OutcomeSink): Promise<void> {
  await perform('BREAK', sink, (reason) => api('POST', `/api/v1/devices/${enc(d.id)}/break`, reason ? { reason } : {}), 'sent');
}

export async function power(d: DeviceInfo, action: PowerAction, sink: OutcomeSink): Promise<void> {
  const p = POWER[action];
  const ok = await confirmDialog({ title: `${p.title} (${d.id})`, body: p.explain, confirmLabel: p.label, danger: p.danger });
  if (!ok) return;
  await perform(p.label, sink, (reason) => api('POST', `/api/v1/devices/${enc(d.id)}/power`, { action, ...(reason ? { reason } : {}) }), p.done);
}

export function commandItems(d: DeviceInfo, sink: OutcomeSink): MenuItem[] {
  const caps = d.capabilities;
  return [
    { label: 'Send SysRq…', disabledReason: notAllowed(d, 'device.control') ?? capabilityReason(caps, (c) => c.sysrq), run: () => void sendSysrq(d, sink) },
    { label: 'Send NMI…', disabledReason: notAllowed(d, 'device.control') ?? capabilityReason(caps, (c) => c.nmi), run: () => void sendNmi(d, sink) },
    { label: 'Send BREAK', disabledReason: notAllowed(d, 'device.control') ?? capabilityReason(caps, (c) => c.break), run: () => void sendBreak(d, sink) },
  ];
}

export function powerItems(d: DeviceInfo, sink: OutcomeSink): MenuItem[] {
  return (['restart', 'reset', 'off', 'on'] as const).map((a) => ({
    label: `${POWER[a].label}…`,
    disabledReason: notAllowed(d, 'device.power') ?? capabilityReason(d.capabilities, (c) => c.power[a]),
    run: () => void power(d, a, sink),
  }));
}
