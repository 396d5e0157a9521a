// The browser session on the Web API (api_session.h): the HttpOnly cookie
// authenticates an API call only together with the session's CSRF token;
// GET /auth/session hands the token to the page; sign-out and /rtm by
// cookie refuse other origins; invite links and the first-run link set a
// password in the browser and sign the person in.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { after } from 'node:test';
import { test, useServer } from './lib/server.mjs';
import { connect, closeAll } from './lib/rtm.mjs';
import { uniq, createUser } from './lib/fixture.mjs';

const env = useServer();
after(closeAll);
const PW = 'correct horse battery staple';

async function signin(email, password = PW) {
	const res = await fetch(`${env.srv.base}/auth/signin`, { method: 'POST', body: new URLSearchParams({ email, password }) });
	const body = await res.json();
	assert.equal(body.ok, true, JSON.stringify(body));
	const cookie = res.headers.get('set-cookie').split(';')[0];
	return { ...body, cookie };
}

async function call(method, { cookie, bearer, form = {}, headers = {} } = {}) {
	const h = { ...headers };
	if (cookie) h.cookie = cookie;
	if (bearer) h.authorization = `Bearer ${bearer}`;
	const res = await fetch(`${env.srv.base}/api/${method}`, { method: 'POST', headers: h, body: new URLSearchParams(form) });
	assert.equal(res.status, 200);
	return res.json();
}

test('sign-in and GET /auth/session give the same CSRF token; no cookie, no session', async () => {
	const { alice } = env.fx;
	const s = await signin(alice.email);
	assert.match(s.csrf_token, /^csrf-[0-9a-f]{64}$/);
	const res = await fetch(`${env.srv.base}/auth/session`, { headers: { cookie: s.cookie } });
	assert.equal(res.headers.get('cache-control'), 'no-store');
	assert.equal(res.headers.get('access-control-allow-origin'), null);
	assert.deepEqual(await res.json(), { ok: true, user_id: alice.id, team_id: env.fx.org.id, csrf_token: s.csrf_token });
	const none = await (await fetch(`${env.srv.base}/auth/session`)).json();
	assert.deepEqual(none, { ok: false, error: 'not_authed' });
	const junk = await (await fetch(`${env.srv.base}/auth/session`, { headers: { cookie: 'canal_session=xoxc-nope; other=1' } })).json();
	assert.deepEqual(junk, { ok: false, error: 'not_authed' });
	const post = await fetch(`${env.srv.base}/auth/session`, { method: 'POST' });
	assert.equal(post.status, 405);
	// A second sign-in is another session with another CSRF token.
	const s2 = await signin(alice.email);
	assert.notEqual(s2.csrf_token, s.csrf_token);
});

test('cookie + CSRF token (header or form) acts as the person; either alone does not', async () => {
	const { alice, bob } = env.fx;
	const a = await signin(alice.email);
	const b = await signin(bob.email);
	const viaHeader = await call('auth.test', { cookie: a.cookie, bearer: a.csrf_token });
	assert.equal(viaHeader.ok, true, JSON.stringify(viaHeader));
	assert.equal(viaHeader.user_id, alice.id);
	const viaForm = await call('auth.test', { cookie: a.cookie, form: { token: a.csrf_token } });
	assert.equal(viaForm.user_id, alice.id);
	// A cross-site form post: the browser adds the cookie, but the page
	// cannot know the token.
	assert.deepEqual(await call('chat.postMessage', { cookie: a.cookie, form: { channel: 'C123', text: 'x' } }), { ok: false, error: 'not_authed' });
	assert.equal((await call('auth.test', { bearer: a.csrf_token })).error, 'invalid_auth');
	assert.equal((await call('auth.test', { cookie: a.cookie, bearer: 'csrf-' + '0'.repeat(64) })).error, 'invalid_auth');
	assert.equal((await call('auth.test', { cookie: a.cookie, bearer: 'csrf-short' })).error, 'invalid_auth');
	assert.equal((await call('auth.test', { cookie: a.cookie, bearer: b.csrf_token })).error, 'invalid_auth');
	// Another user's cookie with my token: neither one's.
	assert.equal((await call('auth.test', { cookie: b.cookie, bearer: a.csrf_token })).error, 'invalid_auth');
	// The cookie must hold a session: an API token in it is not one.
	assert.equal((await call('auth.test', { cookie: `canal_session=${alice.token}`, bearer: 'csrf-' + 'a'.repeat(64) })).error, 'invalid_auth');
	// Private data flows as the person: bob cannot read alice's private channel.
	const priv = (await alice.client.conversations.create({ name: uniq('web-priv'), is_private: true })).channel;
	assert.equal((await call('conversations.history', { cookie: b.cookie, bearer: b.csrf_token, form: { channel: priv.id } })).error, 'channel_not_found');
	assert.equal((await call('conversations.history', { cookie: a.cookie, bearer: a.csrf_token, form: { channel: priv.id } })).ok, true);
});

test('sign-out by cookie: another origin is refused, the page itself signs out', async () => {
	const { alice } = env.fx;
	const a = await signin(alice.email);
	const cross = await fetch(`${env.srv.base}/auth/signout`, { method: 'POST', headers: { cookie: a.cookie, origin: 'http://evil.test' } });
	assert.equal(cross.status, 403);
	assert.equal((await call('auth.test', { cookie: a.cookie, bearer: a.csrf_token })).ok, true);
	// A socket of this session, open while it signs out, is closed.
	const ws = new WebSocket(`${env.srv.base.replace('http', 'ws')}/rtm`, { headers: { cookie: a.cookie } });
	const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
	await new Promise((resolve, reject) => { ws.on('message', resolve); ws.on('error', reject); });
	const own = await fetch(`${env.srv.base}/auth/signout`, { method: 'POST', headers: { cookie: a.cookie, origin: env.srv.base } });
	assert.deepEqual(await own.json(), { ok: true });
	assert.match(own.headers.get('set-cookie'), /canal_session=;.*Max-Age=0/);
	let timer;
	const code = await Promise.race([closed, new Promise((resolve) => { timer = setTimeout(() => resolve('still open'), 5000); })]);
	clearTimeout(timer);
	assert.equal(code, 1008);
	assert.notEqual((await call('auth.test', { cookie: a.cookie, bearer: a.csrf_token })).ok, true);
	assert.deepEqual(await (await fetch(`${env.srv.base}/auth/session`, { headers: { cookie: a.cookie } })).json(), { ok: false, error: 'not_authed' });
});

function wsOpen(headers) {
	return new Promise((resolve) => {
		const ws = new WebSocket(`${env.srv.base.replace('http', 'ws')}/rtm`, { headers });
		ws.on('open', () => { ws.close(); resolve('open'); });
		ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
		ws.on('error', () => resolve('error'));
	});
}

test('/rtm by cookie: the own origin connects, another origin is refused', async () => {
	const { alice } = env.fx;
	const a = await signin(alice.email);
	assert.equal(await wsOpen({ cookie: a.cookie, origin: env.srv.base }), 'open');
	assert.equal(await wsOpen({ cookie: a.cookie, origin: 'http://evil.test' }), 401);
	assert.equal(await wsOpen({ cookie: a.cookie }), 'open');
});

async function invite(method, fields) {
	const res = method === 'GET'
		? await fetch(`${env.srv.base}/auth/invite?${new URLSearchParams(fields)}`)
		: await fetch(`${env.srv.base}/auth/invite`, { method, body: new URLSearchParams(fields) });
	return { status: res.status, cookie: res.headers.get('set-cookie'), body: res.status === 200 ? await res.json() : null };
}

test('invite link: who it is for, a password sets it up and signs in, once', async () => {
	const { org } = env.fx;
	const name = uniq('erin');
	const email = `${name}@x.test`;
	const u = await env.srv.cli('user', 'create', '--org', org.id, '--name', name, '--email', email, '--invite');
	const code = u.invite_url.split('/invite/')[1];
	const page = await fetch(`${env.srv.base}/invite/${code}`);
	assert.equal(page.status, 200);
	assert.match(await page.text(), /<script type="module"/);
	const info = await invite('GET', { code });
	assert.equal(info.body.ok, true);
	assert.equal(info.body.user.id, u.id);
	assert.equal(info.body.user.email, email);
	assert.equal(info.body.team.id, org.id);
	assert.equal(info.body.user.is_owner, false);
	assert.equal((await invite('POST', { code, password: 'short' })).body.error, 'password_too_short');
	assert.equal((await invite('POST', { code })).body.error, 'invalid_arguments');
	assert.equal((await invite('POST', { code, password: 'long enough pw', real_name: 'x'.repeat(81) })).body.error, 'invalid_name');
	const ok = await invite('POST', { code, password: 'long enough pw', real_name: 'Erin Example' });
	assert.equal(ok.body.ok, true, JSON.stringify(ok.body));
	assert.equal(ok.body.user_id, u.id);
	assert.match(ok.body.csrf_token, /^csrf-/);
	assert.match(ok.cookie, /canal_session=xoxc-.*HttpOnly.*SameSite=Lax/);
	const me = await call('users.info', { cookie: ok.cookie.split(';')[0], bearer: ok.body.csrf_token, form: { user: u.id } });
	assert.equal(me.user.real_name, 'Erin Example');
	// Used up; the password now signs in.
	assert.equal((await invite('POST', { code, password: 'another password' })).body.error, 'invalid_invite');
	assert.equal((await invite('GET', { code })).body.error, 'invalid_invite');
	await signin(email, 'long enough pw');
});

test('invite: unknown, malformed and missing codes; wrong method', async () => {
	assert.equal((await invite('GET', { code: '0'.repeat(32) })).body.error, 'invalid_invite');
	assert.equal((await invite('GET', { code: 'not hex' })).body.error, 'invalid_invite');
	assert.equal((await invite('GET', {})).body.error, 'invalid_arguments');
	assert.equal((await invite('POST', { code: 'z'.repeat(5000), password: 'long enough pw' })).body.error, 'invalid_invite');
	assert.equal((await invite('PUT', { code: 'x' })).status, 405);
	const bad = await fetch(`${env.srv.base}/auth/invite`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":' });
	assert.deepEqual(await bad.json(), { ok: false, error: 'invalid_arguments' });
	const typed = await fetch(`${env.srv.base}/auth/invite`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 5, password: ['x'] }) });
	assert.deepEqual(await typed.json(), { ok: false, error: 'invalid_arguments' });
});

test('first start prints a first-run link for the owner that sets their password', async () => {
	const m = env.srv.stderr.match(/First-run page \(choose your own password\): (\S+)\/invite\/([0-9a-f]{32})/);
	assert.ok(m, `first-start banner: ${env.srv.stderr.slice(0, 3000)}`);
	assert.equal(m[1], env.srv.base);
	const info = await invite('GET', { code: m[2] });
	assert.equal(info.body.user.email, 'admin@canal.local');
	assert.equal(info.body.user.is_owner, true);
	const ok = await invite('POST', { code: m[2], password: 'the owner chose this' });
	assert.equal(ok.body.ok, true);
	await signin('admin@canal.local', 'the owner chose this');
});

test('users.prefs: get, set by name/value and by object, merge, removal, errors', async () => {
  const { alice, bob, bot } = env.fx;
  const get = async (who) => (await who.client.apiCall('users.prefs.get')).prefs;
  assert.deepEqual(await get(alice), {});
  let r = await alice.client.apiCall('users.prefs.set', { name: 'muted_channels', value: 'C1,C2' });
  assert.deepEqual(r.prefs, { muted_channels: 'C1,C2' });
  r = await alice.client.apiCall('users.prefs.set', { prefs: JSON.stringify({ sidebar_collapsed: 'dms', theme: 'dark' }) });
  assert.deepEqual(r.prefs, { muted_channels: 'C1,C2', sidebar_collapsed: 'dms', theme: 'dark' });
  r = await alice.client.apiCall('users.prefs.set', { prefs: JSON.stringify({ theme: null, compact: true }) });
  assert.deepEqual(r.prefs, { muted_channels: 'C1,C2', sidebar_collapsed: 'dms', compact: true });
  assert.deepEqual(await get(alice), { muted_channels: 'C1,C2', sidebar_collapsed: 'dms', compact: true });
  // Each person has their own; the browser session reads the same ones.
  assert.deepEqual(await get(bob), {});
  const s = await signin(alice.email);
  assert.deepEqual((await call('users.prefs.get', { cookie: s.cookie, bearer: s.csrf_token })).prefs.muted_channels, 'C1,C2');
  // Concurrent sets of different keys both land.
  await Promise.all(Array.from({ length: 8 }, (_, i) => bob.client.apiCall('users.prefs.set', { name: `k${i}`, value: String(i) })));
  assert.deepEqual(Object.keys(await get(bob)).sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  // They survive a restart.
  await env.srv.restart();
  assert.deepEqual(await get(alice), { muted_channels: 'C1,C2', sidebar_collapsed: 'dms', compact: true });
  // Bad input.
  const err = async (args, want) => {
    const e = await alice.client.apiCall('users.prefs.set', args).then((x) => x, (x) => x.data);
    assert.equal(e.error, want, JSON.stringify(args).slice(0, 100));
  };
  await err({}, 'invalid_arguments');
  await err({ prefs: '{nope' }, 'invalid_prefs');
  await err({ prefs: '[1,2]' }, 'invalid_prefs');
  await err({ prefs: '{}' }, 'invalid_prefs');
  await err({ prefs: JSON.stringify({ 'Bad Key': 'x' }) }, 'invalid_prefs');
  await err({ prefs: JSON.stringify({ nested: { a: 1 } }) }, 'invalid_prefs');
  await err({ name: 'long', value: 'x'.repeat(4001) }, 'invalid_prefs');
  await err({ prefs: JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']))) }, 'invalid_prefs');
  for (let i = 0; i < 4; i++) await alice.client.apiCall('users.prefs.set', { name: `big${i}`, value: 'y'.repeat(4000) });
  await err({ name: 'big4', value: 'y'.repeat(4000) }, 'prefs_too_large');
  assert.equal((await get(alice)).big4, undefined);
  assert.equal((await get(alice)).big3.length, 4000);
  // Bot tokens have no preferences here.
  const b = await bot.client.apiCall('users.prefs.get').then((x) => x, (x) => x.data);
  assert.equal(b.ok, false);
  assert.equal(b.error, 'not_allowed_token_type');
});

test('users.prefs.set tells every session of that person (pref_change), nobody else', async () => {
  const { alice, bob } = env.fx;
  const A1 = await connect(alice.client, { label: 'alice' });
  const B1 = await connect(bob.client, { label: 'bob' });
  const from = A1.mark();
  const bfrom = B1.mark();
  await alice.client.apiCall('users.prefs.set', { prefs: JSON.stringify({ muted_channels: 'C9', gone: null }) });
  const e = await A1.next((x) => x.type === 'pref_change' && x.name === 'muted_channels', undefined, from, 'pref_change');
  assert.equal(e.value, 'C9');
  const g = await A1.next((x) => x.type === 'pref_change' && x.name === 'gone', undefined, from, 'pref_change for a removal');
  assert.equal(g.value, null);
  await B1.ping();
  assert.deepEqual(B1.all((x) => x.type === 'pref_change', bfrom), []);
  // A refused set tells nobody.
  await alice.client.apiCall('users.prefs.set', { prefs: '{"Bad":1}' }).catch(() => {});
  await A1.ping();
  assert.equal(A1.all((x) => x.type === 'pref_change', from).length, 2);
});
