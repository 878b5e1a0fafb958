// Sign-in: user name and password; the gateway answers with an HttpOnly session cookie.

import { api, describeError } from '../api.js';
import type { Page } from '../app.js';
import { field, h } from '../dom.js';

export function signinPage(main: HTMLElement, onSignedIn: () => Promise<void>): Page {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { className: 'error', role: 'alert', id: 'signin-error' });
  const submit = h('button', { type: 'submit', className: 'primary' }, 'Sign in');
  const form = h('form', { className: 'signin', 'aria-labelledby': 'signin-title', novalidate: true }, field('User name', user), field('Password', pass), error, submit);
  main.append(
    h('div', { className: 'signin-wrap' }, h('h1', { id: 'signin-title' }, 'Sign in to ttygate'), h('p', { className: 'hint' }, 'Serial console gateway. Every action is audited.'), form),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!user.value || !pass.value) {
      error.textContent = 'Enter your user name and password.';
      (user.value ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await api('POST', '/api/v1/auth/login', { username: user.value, password: pass.value }, { quiet401: true });
      pass.value = '';
      await onSignedIn();
    } catch (err) {
      error.textContent = describeError(err);
      pass.value = '';
      pass.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  user.focus();
  return { title: 'Sign in' };
}
