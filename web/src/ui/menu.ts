// A menu button (WAI-ARIA menu pattern): Enter/Space/ArrowDown open it, arrows move, Escape closes.
// Items that cannot be used stay focusable with aria-disabled and say why.

import { h, uid } from '../dom.js';

export interface MenuItem {
  label: string;
  /** Why the item cannot be used (shown in the item, and it does nothing). */
  disabledReason?: string | undefined;
  run: () => void;
}

export function menuButton(label: string, items: () => MenuItem[]): HTMLDivElement {
  const menuId = uid('menu');
  const button = h('button', { type: 'button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': menuId, className: 'menu-button' }, label, h('span', { 'aria-hidden': 'true' }, ' ▾'));
  const list = h('ul', { role: 'menu', id: menuId, 'aria-label': label, hidden: true });
  const wrap = h('div', { className: 'menu' }, button, list);

  const entries = (): HTMLElement[] => [...list.querySelectorAll<HTMLElement>('[role=menuitem]')];
  const close = (focusButton: boolean) => {
    list.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (focusButton) button.focus();
  };
  const open = (focusLast = false) => {
    list.replaceChildren(
      ...items().map((it) => {
        const li = h('li', { role: 'none' });
        const b = h('button', { type: 'button', role: 'menuitem', tabindex: '-1', ...(it.disabledReason ? { 'aria-disabled': 'true' } : {}) }, it.label);
        if (it.disabledReason) b.appendChild(h('span', { className: 'reason' }, ` — ${it.disabledReason}`));
        b.addEventListener('click', () => {
          if (it.disabledReason) return;
          close(true);
          it.run();
        });
        li.appendChild(b);
        return li;
      }),
    );
    list.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    const all = entries();
    (focusLast ? all[all.length - 1] : all[0])?.focus();
  };
  button.addEventListener('click', () => (list.hidden ? open() : close(false)));
  button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      open();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      open(true);
    }
  });
  list.addEventListener('keydown', (e) => {
    const all = entries();
    const i = all.indexOf(document.activeElement as HTMLElement);
    const move = (to: number) => all[(to + all.length) % all.length]?.focus();
    if (e.key === 'Tab') return close(false); // focus moves on, as Tab says
    if (e.key === 'ArrowDown') move(i + 1);
    else if (e.key === 'ArrowUp') move(i - 1);
    else if (e.key === 'Home') move(0);
    else if (e.key === 'End') move(all.length - 1);
    else if (e.key === 'Escape') close(true);
    else return;
    e.preventDefault();
  });
  document.addEventListener('click', (e) => {
    if (!wrap.contains(e.target as Node)) close(false);
  });
  return wrap;
}
