// Error envelopes: missing_scope (needed/provided), invalid_cursor,
// unknown_method, not-found errors.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq, createApp } from './lib/fixture.mjs';

let narrow; // app with chat:write only
let ch; // public channel with the narrow bot in it
let msgTs;
const env = useServer({ setup: async () => {
	narrow = await createApp(env.srv, env.fx.org.id, 'narrowbot', ['chat:write']);
	const { alice } = env.fx;
	ch = (await alice.client.conversations.create({ name: uniq('scopes') })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: narrow.bot_user_id });
	msgTs = (await alice.client.chat.postMessage({ channel: ch, text: 'scope me' })).ts;
} });

test('bot with chat:write only can post where it is a member', async () => {
	const r = await narrow.client.chat.postMessage({ channel: ch, text: 'allowed' });
	assert.equal(r.message.bot_id, narrow.bot_id);
	assert.equal((await narrow.client.auth.test()).bot_id, narrow.bot_id, 'auth.test needs no scope');
});

// method, args, the scope Slack requires (any one of `needed` is enough).
const cases = () => [
	['conversations.list', {}, ['channels:read']],
	['conversations.info', { channel: ch }, ['channels:read']],
	['conversations.members', { channel: ch }, ['channels:read']],
	['conversations.history', { channel: ch }, ['channels:history']],
	['conversations.replies', { channel: ch, ts: msgTs }, ['channels:history']],
	['conversations.create', { name: uniq('nope') }, ['channels:manage']],
	['conversations.join', { channel: ch }, ['channels:join']],
	['conversations.setTopic', { channel: ch, topic: 't' }, ['channels:manage', 'channels:write.topic']],
	['conversations.open', { users: env.fx.alice.id }, ['im:write']],
	['users.list', {}, ['users:read']],
	['users.info', { user: env.fx.alice.id }, ['users:read']],
	['users.lookupByEmail', { email: env.fx.alice.email }, ['users:read.email']],
	['users.profile.get', { user: env.fx.alice.id }, ['users.profile:read']],
	['users.conversations', {}, ['channels:read']],
	['reactions.add', { channel: ch, timestamp: msgTs, name: 'eyes' }, ['reactions:write']],
	['reactions.get', { channel: ch, timestamp: msgTs }, ['reactions:read']],
	['pins.add', { channel: ch, timestamp: msgTs }, ['pins:write']],
	['pins.list', { channel: ch }, ['pins:read']],
	['usergroups.list', {}, ['usergroups:read']],
	['usergroups.create', { name: uniq('G'), handle: uniq('g') }, ['usergroups:write']],
	['team.info', {}, ['team:read']],
	['emoji.list', {}, ['emoji:read']],
	['bots.info', { bot: narrow.bot_id }, ['users:read']],
];

test('missing_scope with needed and provided for every scoped method', async () => {
	const failures = [];
	for (const [method, args, scopes] of cases()) {
		try {
			const r = await narrow.client.apiCall(method, args);
			failures.push(`${method}: succeeded without scope ${scopes[0]}: ${JSON.stringify(r).slice(0, 200)}`);
		} catch (e) {
			if (e.code !== 'slack_webapi_platform_error') { failures.push(`${method}: transport error ${e.message}`); continue; }
			const d = e.data;
			if (d.error !== 'missing_scope') { failures.push(`${method}: error ${d.error}, expected missing_scope`); continue; }
			const needed = String(d.needed ?? '').split(',').map((s) => s.trim());
			if (!scopes.some((s) => needed.includes(s))) failures.push(`${method}: needed=${JSON.stringify(d.needed)}, expected ${scopes.join(' or ')}`);
			const provided = String(d.provided ?? '').split(',').map((s) => s.trim());
			if (!provided.includes('chat:write') || provided.length !== 1) failures.push(`${method}: provided=${JSON.stringify(d.provided)}, expected "chat:write"`);
		}
	}
	assert.deepEqual(failures, []);
});

test('missing_scope for private-channel and DM reads uses the groups:/im: scopes', async () => {
	const { alice } = env.fx;
	const pub = await createApp(env.srv, env.fx.org.id, uniq('pubonly'), ['chat:write', 'channels:read', 'channels:history']);
	const priv = (await alice.client.conversations.create({ name: uniq('sp'), is_private: true })).channel.id;
	await alice.client.conversations.invite({ channel: priv, users: pub.bot_user_id });
	const e = await expectError(pub.client.conversations.history({ channel: priv }), 'missing_scope', 'private history');
	assert.ok(String(e.needed).includes('groups:history'), `needed=${e.needed}`);
	const e2 = await expectError(pub.client.conversations.list({ types: 'private_channel' }), 'missing_scope', 'list private');
	assert.ok(String(e2.needed).includes('groups:read'), `needed=${e2.needed}`);
	// With the public scope the public listing works.
	assert.equal((await pub.client.conversations.list({})).ok, true);
});

test('user tokens have full access (no missing_scope)', async () => {
	const { alice } = env.fx;
	for (const [method, args] of cases()) {
		if (method === 'conversations.create' || method === 'usergroups.create') continue;
		try {
			await alice.client.apiCall(method, args);
		} catch (e) {
			assert.notEqual(e.data?.error, 'missing_scope', `${method} with a user token`);
		}
	}
});

test('invalid_cursor on every paginated method', async () => {
	const { alice } = env.fx;
	for (const [method, args] of [
		['conversations.list', {}],
		['conversations.members', { channel: ch }],
		['conversations.history', { channel: ch }],
		['conversations.replies', { channel: ch, ts: msgTs }],
		['users.list', {}],
		['users.conversations', {}],
	]) {
		for (const cursor of ['not-a-cursor', 'Zm9vYmFy', '%%%']) {
			await expectError(alice.client.apiCall(method, { ...args, cursor }), 'invalid_cursor', `${method} cursor=${cursor}`);
		}
	}
});

test('unknown_method', async () => {
	const { alice } = env.fx;
	await expectError(alice.client.apiCall('nope.nothing', {}), 'unknown_method');
	await expectError(alice.client.apiCall('chat.nosuchthing', { channel: ch, text: 'x' }), 'unknown_method', 'unknown method in a known family');
	await expectError(alice.client.apiCall('api', {}), 'unknown_method', 'bare family name');
});

test('not-found family', async () => {
	const { alice } = env.fx;
	await expectError(alice.client.users.info({ user: 'U0NOSUCHUSR' }), 'user_not_found');
	await expectError(alice.client.users.lookupByEmail({ email: 'ghost@example.test' }), 'users_not_found');
	await expectError(alice.client.conversations.info({ channel: 'C0NOSUCHCH' }), 'channel_not_found');
	await expectError(alice.client.conversations.history({ channel: 'D0NOSUCHDM' }), 'channel_not_found');
	await expectError(alice.client.chat.update({ channel: ch, ts: '1111111111.111111', text: 'x' }), 'message_not_found');
	await expectError(alice.client.chat.delete({ channel: ch, ts: '1111111111.111111' }), 'message_not_found');
	await expectError(alice.client.chat.postMessage({ channel: 'C0NOSUCHCH', text: 'x' }), 'channel_not_found');
	await expectError(alice.client.conversations.info({}), ['channel_not_found', 'invalid_arguments', 'missing_argument'], 'no channel arg');
});
