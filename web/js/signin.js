// Sign-in page and the invite / first-run page (/invite/<code>).
import { authGet, authPost } from './api.js';
import { h } from './util.js';

function page(title, ...body) {
  const root = document.getElementById('root');
  root.className = 'auth';
  root.removeAttribute('aria-busy');
  root.replaceChildren(h('main.auth-card', { 'aria-labelledby': 'auth-title' }, h('h1', { id: 'auth-title' }, title), ...body));
}

const ERRORS = {
  invalid_auth: 'Wrong email or password.',
  ratelimited: 'Too many attempts. Wait a minute and try again.',
  invalid_invite: 'This invite link is not valid any more. Ask for a new one.',
  password_too_short: 'Choose a longer password.',
  invalid_arguments: 'Fill in every field.',
};
const say = (e) => ERRORS[e] || `Something went wrong (${e}).`;

export function showSignin(onDone) {
  const err = h('p.error', { role: 'alert', id: 'signin-error' });
  const form = h('form.auth-form', { 'aria-describedby': 'signin-error' },
    h('label', {}, 'Email', h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button.primary', { type: 'submit' }, 'Sign in'), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const btn = form.querySelector('button');
    btn.disabled = true;
    const out = await authPost('/auth/signin', Object.fromEntries(new FormData(form)));
    btn.disabled = false;
    if (!out.ok) { err.textContent = say(out.error); return; }
    onDone(out);
  });
  page('Sign in to Canal', form);
  form.querySelector('input').focus();
}

export async function showInvite(code, onDone) {
  const info = await authGet(`/auth/invite?code=${encodeURIComponent(code)}`);
  if (!info.ok) {
    page('Invite link', h('p.error', { role: 'alert' }, say(info.error)), h('p', {}, h('a', { href: '/' }, 'Go to sign-in')));
    return;
  }
  const err = h('p.error', { role: 'alert', id: 'invite-error' });
  const min = info.min_password || 8;
  const form = h('form.auth-form', { 'aria-describedby': 'invite-error' },
    h('p', {}, info.user.is_owner
      ? `Welcome! You own the workspace “${info.team.name}”. Choose your name and a password to finish setting up.`
      : `You are invited to “${info.team.name}” as ${info.user.email || info.user.name}. Choose a password to join.`),
    h('label', {}, 'Full name', h('input', { name: 'real_name', autocomplete: 'name', value: info.user.real_name || '', maxlength: 80 })),
    h('label', {}, `Password (at least ${min} characters)`, h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: min, required: true })),
    h('button.primary', { type: 'submit' }, info.user.is_owner ? 'Finish setup' : 'Join'), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const out = await authPost('/auth/invite', { code, ...Object.fromEntries(new FormData(form)) });
    if (!out.ok) { err.textContent = say(out.error); return; }
    history.replaceState(null, '', '/');
    onDone(out);
  });
  page(info.user.is_owner ? 'Set up Canal' : `Join ${info.team.name}`, form);
  form.querySelector('input[name=password]').focus();
}
