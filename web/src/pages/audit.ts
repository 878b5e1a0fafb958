// Audit (auditor, owner): the log with filters, newest first, and the hash-chain verification.

import { api, describeError } from '../api.js';
import type { Page } from '../app.js';
import { clear, field, formatTime, h } from '../dom.js';
// The row as the API returns it: the gateway's own type (a type-only import, erased when bundled).
import type { AuditRow } from '../../../gateway/src/audit/audit-log.js';
type Verify = { ok: true; rows: number; lastHash: string } | { ok: false; rows?: number; firstBadId?: number; reason?: string; message?: string; [k: string]: unknown };

const PAGE = 100;

/** Details as short "key: value" text; byte counts spelled out. */
export function detailText(d: Record<string, unknown>): string {
  return Object.entries(d)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

export function auditPage(main: HTMLElement): Page {
  const verify = h('div', { id: 'audit-verify', className: 'verify', role: 'status' }, 'Verifying the chain…');
  const actor = h('input', { name: 'actor', autocomplete: 'off' });
  const device = h('input', { name: 'device', autocomplete: 'off' });
  const action = h('input', { name: 'action', autocomplete: 'off', placeholder: 'e.g. device.power.*' });
  const outcome = h('select', { name: 'outcome' }, ...[['', 'Any'], ['ok', 'ok'], ['denied', 'denied'], ['failed', 'failed']].map(([v, l]) => h('option', { value: v! }, l!)));
  const from = h('input', { name: 'from', type: 'datetime-local' });
  const to = h('input', { name: 'to', type: 'datetime-local' });
  const apply = h('button', { type: 'submit', className: 'primary' }, 'Apply filters');
  const reset = h('button', { type: 'reset', className: 'secondary' }, 'Clear');
  const form = h(
    'form',
    { className: 'filters', 'aria-label': 'Audit filters' },
    field('Actor', actor),
    field('Device', device),
    field('Action', action, 'Exact, or a prefix ending in .*'),
    field('Outcome', outcome),
    field('From', from),
    field('To', to),
    h('div', { className: 'filter-actions' }, apply, reset),
  );
  const status = h('p', { className: 'hint', role: 'status', id: 'audit-status' });
  const tbody = h('tbody', { id: 'audit-rows' });
  const table = h(
    'table',
    { className: 'audit' },
    h('caption', {}, 'Audit log, newest first'),
    h('thead', {}, h('tr', {}, ...['#', 'Time', 'Actor', 'Action', 'Target', 'Outcome', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody,
  );
  const more = h('button', { type: 'button', className: 'secondary', hidden: true }, 'Older rows');
  const refresh = h('button', { type: 'button', className: 'secondary' }, 'Verify again');
  main.append(h('h1', {}, 'Audit log'), h('div', { className: 'verify-row' }, verify, refresh), form, status, table, more);

  let next: number | null = null;
  const query = () => {
    const q = new URLSearchParams({ order: 'desc', limit: String(PAGE) });
    const set = (k: string, v: string) => v.trim() && q.set(k, v.trim());
    set('actor', actor.value);
    set('device', device.value);
    set('action', action.value);
    set('outcome', outcome.value);
    if (from.value) q.set('from', new Date(from.value).toISOString());
    if (to.value) q.set('to', new Date(to.value).toISOString());
    return q;
  };
  const load = async (append: boolean) => {
    const q = query();
    if (append && next !== null) q.set('beforeId', String(next));
    status.textContent = 'Loading…';
    try {
      const page = await api<{ rows: AuditRow[]; next: number | null }>('GET', `/api/v1/audit?${q}`);
      if (!append) clear(tbody);
      for (const r of page.rows) {
        tbody.append(
          h(
            'tr',
            { 'data-action': r.action, 'data-outcome': r.outcome },
            h('td', {}, r.id),
            h('td', {}, h('time', { datetime: r.time }, formatTime(r.time))),
            h('td', {}, r.actor, r.source ? h('div', { className: 'hint' }, r.source) : undefined),
            h('td', {}, h('code', {}, r.action)),
            h('td', {}, r.target ?? ''),
            h('td', {}, h('span', { className: `outcome-${r.outcome}` }, r.outcome), r.reason ? h('div', { className: 'hint' }, r.reason) : undefined),
            h('td', { className: 'details' }, detailText(r.details)),
          ),
        );
      }
      next = page.next;
      more.hidden = next === null;
      status.textContent = `${tbody.childElementCount} row${tbody.childElementCount === 1 ? '' : 's'} shown${next === null ? '' : '; more below'}.`;
    } catch (err) {
      status.textContent = `Could not load the audit log: ${describeError(err)}`;
    }
  };
  const runVerify = async () => {
    verify.className = 'verify';
    verify.textContent = 'Verifying the chain…';
    try {
      const v = await api<Verify>('GET', '/api/v1/audit/verify');
      if (v.ok) {
        verify.className = 'verify ok';
        verify.textContent = `Chain verified: all ${v.rows} rows are intact (last hash ${v.lastHash.slice(0, 16)}…).`;
      } else {
        verify.className = 'verify failed';
        verify.textContent = `Chain BROKEN: ${detailText(v as Record<string, unknown>)}`;
      }
    } catch (err) {
      verify.className = 'verify failed';
      verify.textContent = `Could not verify: ${describeError(err)}`;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load(false);
  });
  form.addEventListener('reset', () => setTimeout(() => void load(false)));
  more.addEventListener('click', () => void load(true));
  refresh.addEventListener('click', () => void runVerify());
  void runVerify();
  void load(false);
  return { title: 'Audit log' };
}
