// Modal dialogs on the native <dialog> (focus is trapped, Escape cancels, focus returns after).

import { h, uid, type Child } from '../dom.js';

export interface ConfirmOptions {
  title: string;
  body: Child | Child[];
  confirmLabel: string;
  /** Styles the confirm button as dangerous. */
  danger?: boolean;
  /** Extra form content (e.g. a reason field); `validate` may refuse with a message. */
  extra?: HTMLElement;
  validate?: () => string | undefined;
}

/** Shows a modal; resolves true when confirmed, false when cancelled. */
export function confirmDialog(o: ConfirmOptions): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null;
  const titleId = uid('dlg-title');
  const bodyId = uid('dlg-body');
  const error = h('p', { className: 'error', role: 'alert' });
  const cancel = h('button', { type: 'button', className: 'secondary' }, 'Cancel');
  const ok = h('button', { type: 'submit', className: o.danger ? 'danger' : 'primary' }, o.confirmLabel);
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: titleId }, o.title),
    h('div', { id: bodyId, className: 'dialog-body' }, ...[o.body].flat()),
    o.extra,
    error,
    h('div', { className: 'dialog-actions' }, cancel, ok),
  );
  const dlg = h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': bodyId }, form);
  document.body.appendChild(dlg);
  return new Promise((resolve) => {
    let result = false;
    const done = (v: boolean) => {
      result = v;
      dlg.close();
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const problem = o.validate?.();
      if (problem) {
        error.textContent = problem;
        return;
      }
      done(true);
    });
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('close', () => {
      dlg.remove();
      opener?.focus();
      resolve(result);
    });
    dlg.showModal();
    // The first field, else the safe choice (Cancel) when the action is dangerous.
    const first = o.extra?.querySelector<HTMLElement>('input, select, textarea');
    (first ?? (o.danger ? cancel : ok)).focus();
  });
}
