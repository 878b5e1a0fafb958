// Outcome messages: polite (status) for results, assertive (alert) for failures.

import { h } from '../dom.js';

export function toast(message: string, kind: 'ok' | 'error' | 'info' = 'info'): void {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = h('div', { className: `toast ${kind}`, ...(kind === 'error' ? { role: 'alert' } : {}) }, message);
  const close = h('button', { type: 'button', className: 'link', 'aria-label': 'Dismiss message' }, '×');
  close.addEventListener('click', () => item.remove());
  item.appendChild(close);
  region.appendChild(item);
  setTimeout(() => item.remove(), kind === 'error' ? 15000 : 8000);
}
