// Sign-in page: talks only to /auth/signin, /auth/signout and the Web API.
const $ = (id) => document.getElementById(id);

async function api(method, token) {
  const res = await fetch(`/api/${method}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  });
  return res.json();
}

async function show(token) {
  const me = await api('auth.test', token);
  if (!me.ok) { sessionStorage.removeItem('canal_token'); return; }
  $('name').textContent = me.user;
  $('team').textContent = me.team;
  $('api').textContent = `${location.origin}/api/`;
  $('signin').hidden = true;
  $('who').hidden = false;
}

$('signin').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('error').textContent = '';
  const body = new URLSearchParams(new FormData(ev.target));
  const res = await fetch('/auth/signin', { method: 'POST', body });
  const out = await res.json();
  if (!out.ok) { $('error').textContent = out.error === 'invalid_auth' ? 'Wrong email or password.' : out.error; return; }
  sessionStorage.setItem('canal_token', out.token);
  show(out.token);
});

$('signout').addEventListener('click', async () => {
  const token = sessionStorage.getItem('canal_token');
  await fetch('/auth/signout', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  sessionStorage.removeItem('canal_token');
  location.reload();
});

const saved = sessionStorage.getItem('canal_token');
if (saved) show(saved);
