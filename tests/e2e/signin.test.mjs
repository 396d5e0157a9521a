// Password sign-in for people: POST /auth/signin gives a session token and
// an HttpOnly cookie; the session acts as the person on the Web API until
// it is signed out or their password is reset. The first start prints a
// working owner password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { webClient, expectError, createUser, uniq } from './lib/fixture.mjs';

const env = useServer();

async function signin(fields, { json = false } = {}) {
	const res = await fetch(`${env.srv.base}/auth/signin`, json
		? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) }
		: { method: 'POST', body: new URLSearchParams(fields) });
	assert.equal(res.status, 200);
	return { body: await res.json(), cookie: res.headers.get('set-cookie') };
}

test('right password: session token and HttpOnly cookie that act as the person', async () => {
	const { org, alice } = env.fx;
	const { body, cookie } = await signin({ email: alice.email, password: 'correct horse battery staple' });
	assert.equal(body.ok, true);
	assert.equal(body.user_id, alice.id);
	assert.equal(body.team_id, org.id);
	assert.match(body.token, /^xoxc-/);
	assert.match(cookie, /canal_session=xoxc-/);
	assert.match(cookie, /HttpOnly/);
	assert.match(cookie, /SameSite=Lax/);
	const me = await webClient(env.srv, body.token).auth.test();
	assert.equal(me.user_id, alice.id);
});

test('JSON body and an email in another case sign in too', async () => {
	const { bob } = env.fx;
	const { body } = await signin({ email: bob.email.toUpperCase(), password: 'correct horse battery staple' }, { json: true });
	assert.equal(body.ok, true);
	assert.equal(body.user_id, bob.id);
});

test('wrong password, unknown email, bot account, missing fields: invalid_auth / invalid_arguments', async () => {
	const { alice } = env.fx;
	assert.deepEqual((await signin({ email: alice.email, password: 'nope' })).body, { ok: false, error: 'invalid_auth' });
	assert.deepEqual((await signin({ email: 'nobody@nowhere.test', password: 'x' })).body, { ok: false, error: 'invalid_auth' });
	assert.deepEqual((await signin({ email: alice.email })).body, { ok: false, error: 'invalid_arguments' });
	const get = await fetch(`${env.srv.base}/auth/signin`);
	assert.equal(get.status, 405);
});

test('sign-out ends the session; a password reset ends every session', async () => {
	const { org } = env.fx;
	const name = uniq('carol');
	const carol = await createUser(env.srv, org.id, name, { password: 'first-password-1' });
	const s1 = (await signin({ email: carol.email, password: 'first-password-1' })).body.token;
	const s2 = (await signin({ email: carol.email, password: 'first-password-1' })).body.token;
	const out = await fetch(`${env.srv.base}/auth/signout`, { method: 'POST', headers: { authorization: `Bearer ${s1}` } });
	assert.deepEqual(await out.json(), { ok: true });
	await expectError(webClient(env.srv, s1).auth.test(), ['token_revoked', 'invalid_auth'], 'signed-out session');
	assert.equal((await webClient(env.srv, s2).auth.test()).ok, true);
	await env.srv.cli('user', 'password', '--user', carol.id, '--password', 'second-password-2');
	await expectError(webClient(env.srv, s2).auth.test(), ['token_revoked', 'invalid_auth'], 'session after reset');
	assert.equal((await signin({ email: carol.email, password: 'first-password-1' })).body.ok, false);
	assert.equal((await signin({ email: carol.email, password: 'second-password-2' })).body.ok, true);
	// The user's own API token is not a session: it keeps working.
	assert.equal((await carol.client.auth.test()).ok, true);
});

test('an invited person has no password and cannot sign in yet', async () => {
	const { org } = env.fx;
	const name = uniq('dave');
	const email = `${name}@x.test`;
	const u = await env.srv.cli('user', 'create', '--org', org.id, '--name', name, '--email', email, '--invite');
	assert.match(u.invite_url, /\/invite\/[0-9a-f]{32}$/);
	assert.equal((await signin({ email, password: '' })).body.error, 'invalid_arguments');
	assert.equal((await signin({ email, password: 'anything' })).body.error, 'invalid_auth');
});

test('the first start prints a working owner sign-in and bot token', async () => {
	const out = env.srv.stderr; // the harness keeps stdout and stderr together
	const pw = out.match(/admin@canal\.local with password: (\S+)/);
	const bot = out.match(/Starter bot token:\s+(xoxb-\S+)/);
	assert.ok(pw && bot, `first-start banner: ${out}`);
	assert.equal((await signin({ email: 'admin@canal.local', password: pw[1] })).body.ok, true);
	assert.equal((await webClient(env.srv, bot[1]).auth.test()).ok, true);
});
