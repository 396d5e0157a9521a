// auth.test, auth.revoke, token revocation through the admin CLI, and the
// admin CLI's listing commands.
import assert from 'node:assert/strict';
import { WebClient, LogLevel } from '@slack/web-api';
import { test, useServer } from './lib/server.mjs';
import { webClient, expectError, createUser, createApp, uniq } from './lib/fixture.mjs';

const env = useServer();

// Slack answers token_revoked for a revoked token; some servers treat a
// revoked token as unknown (invalid_auth). Both stop the client; either is
// accepted, anything else is not.
const REVOKED = ['token_revoked', 'invalid_auth'];

test('auth.test with a user token identifies the user and the team', async () => {
	const { org, alice } = env.fx;
	const r = await alice.client.auth.test();
	assert.equal(r.ok, true);
	assert.equal(r.user_id, alice.id);
	assert.equal(r.user, 'alice');
	assert.equal(r.team_id, org.id);
	assert.equal(r.team, org.name);
	assert.equal(typeof r.url, 'string');
	assert.match(r.url, /^https?:\/\/.+\/$/, 'url is an absolute URL ending in /');
	assert.equal(r.bot_id, undefined, 'a user token has no bot_id');
});

test('auth.test with a bot token returns user_id (bot user) and bot_id', async () => {
	const { org, bot } = env.fx;
	const r = await bot.client.auth.test();
	assert.equal(r.ok, true);
	assert.equal(r.user_id, bot.bot_user_id);
	assert.equal(r.bot_id, bot.bot_id);
	assert.equal(r.team_id, org.id);
	assert.equal(typeof r.user, 'string');
	if (r.app_id !== undefined) assert.equal(r.app_id, bot.id);
});

test('no token -> not_authed', async () => {
	const c = new WebClient(undefined, {
		slackApiUrl: env.srv.base + '/api/', retryConfig: { retries: 0 }, timeout: 10000, logLevel: LogLevel.ERROR,
	});
	await expectError(c.auth.test(), 'not_authed', 'auth.test');
	await expectError(c.conversations.list(), 'not_authed', 'conversations.list');
	await expectError(c.chat.postMessage({ channel: 'C123', text: 'x' }), 'not_authed', 'chat.postMessage');
});

test('unknown or malformed token -> invalid_auth', async () => {
	for (const tok of ['xoxp-not-a-real-token', 'xoxb-1-2-3', 'garbage', 'xapp-1-A1-1-ffff']) {
		const c = webClient(env.srv, tok);
		await expectError(c.auth.test(), 'invalid_auth', `auth.test with ${tok}`);
	}
	// A valid token with a flipped last character is still invalid.
	const t = env.fx.alice.token;
	const flipped = t.slice(0, -1) + (t.endsWith('a') ? 'b' : 'a');
	await expectError(webClient(env.srv, flipped).auth.test(), 'invalid_auth', 'auth.test with a near-miss token');
});

test('app-level token (xapp) cannot call ordinary Web API methods', async () => {
	const c = webClient(env.srv, env.fx.bot.app_token);
	await expectError(c.conversations.list(), ['not_allowed_token_type', 'invalid_auth'], 'conversations.list with xapp');
});

test('auth.revoke revokes the calling token', async () => {
	const carol = await createUser(env.srv, env.fx.org.id, uniq('carol'));
	assert.equal((await carol.client.auth.test()).user_id, carol.id);
	const r = await carol.client.auth.revoke();
	assert.equal(r.ok, true);
	assert.equal(r.revoked, true);
	await expectError(carol.client.auth.test(), REVOKED, 'auth.test after auth.revoke');
	await expectError(carol.client.chat.postMessage({ channel: 'C1', text: 'x' }), REVOKED, 'postMessage after auth.revoke');
	// Other tokens are unaffected.
	assert.equal((await env.fx.alice.client.auth.test()).ok, true);
});

test('auth.revoke test=true does not revoke', async () => {
	const dave = await createUser(env.srv, env.fx.org.id, uniq('dave'));
	const r = await dave.client.auth.revoke({ test: true });
	assert.equal(r.ok, true);
	assert.equal(r.revoked, false);
	assert.equal((await dave.client.auth.test()).ok, true);
});

test('auth.revoke of a bot token', async () => {
	const app = await createApp(env.srv, env.fx.org.id, uniq('revbot'), ['chat:write']);
	assert.equal((await app.client.auth.test()).bot_id, app.bot_id);
	const r = await app.client.auth.revoke();
	assert.equal(r.revoked, true);
	await expectError(app.client.auth.test(), REVOKED, 'bot auth.test after revoke');
});

test('admin CLI token revoke takes effect on a running server', async () => {
	const erin = await createUser(env.srv, env.fx.org.id, uniq('erin'));
	assert.equal((await erin.client.auth.test()).ok, true);
	const r = await env.srv.cli('token', 'revoke', erin.token);
	assert.equal(r.ok, true, `token revoke output: ${JSON.stringify(r)}`);
	await expectError(erin.client.auth.test(), REVOKED, 'auth.test after CLI revoke');

	const app = await createApp(env.srv, env.fx.org.id, uniq('clibot'), ['chat:write']);
	assert.equal((await app.client.auth.test()).ok, true);
	assert.equal((await env.srv.cli('token', 'revoke', app.bot_token)).ok, true);
	await expectError(app.client.auth.test(), REVOKED, 'bot auth.test after CLI revoke');
});

test('admin CLI: org list and user list', async () => {
	const { org, alice, bob, bot } = env.fx;
	const orgs = await env.srv.cli('org', 'list');
	assert.ok(Array.isArray(orgs), 'org list is an array');
	const mine = orgs.find((o) => o.id === org.id);
	assert.ok(mine, `org ${org.id} in org list: ${JSON.stringify(orgs)}`);
	assert.equal(mine.name, org.name);

	const users = await env.srv.cli('user', 'list', '--org', org.id);
	assert.ok(Array.isArray(users), 'user list is an array');
	const ids = users.map((u) => u.id);
	assert.ok(ids.includes(alice.id), 'alice listed');
	assert.ok(ids.includes(bob.id), 'bob listed');
	const a = users.find((u) => u.id === alice.id);
	assert.equal(a.name, 'alice');
	// The bot user belongs to the org too; it may or may not be listed, but
	// no user of another org may appear.
	const otherOrg = orgs.find((o) => o.id !== org.id);
	if (otherOrg) {
		const others = await env.srv.cli('user', 'list', '--org', otherOrg.id);
		for (const u of others) {
			assert.ok(![alice.id, bob.id, bot.bot_user_id].includes(u.id), 'user lists are per org');
		}
	}
});

test('admin CLI: concurrent user creation on a running server', async () => {
	const names = Array.from({ length: 6 }, () => uniq('conc'));
	const users = await Promise.all(names.map((n) => createUser(env.srv, env.fx.org.id, n)));
	assert.equal(new Set(users.map((u) => u.id)).size, names.length, 'distinct ids');
	assert.equal(new Set(users.map((u) => u.token)).size, names.length, 'distinct tokens');
	const checks = await Promise.all(users.map((u) => u.client.auth.test()));
	checks.forEach((r, i) => assert.equal(r.user_id, users[i].id));
});
