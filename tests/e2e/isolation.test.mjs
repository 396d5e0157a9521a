// Visibility: private channels and DMs are invisible to non-members (even
// bots with every scope), and organisations are invisible to each other.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq, collect, makeFixture, findGeneral, createUser } from './lib/fixture.mjs';

let priv; // alice's private channel
let privTs; // a message in it (with a reaction, pinned, with a reply)
let dm; // alice <-> bob DM
let dmTs;
let pub; // org A public channel
let pubTs;
let orgB; // second organisation fixture
const env = useServer({ setup: async () => {
	const { alice, bob } = env.fx;
	priv = (await alice.client.conversations.create({ name: uniq('secret-plans'), is_private: true })).channel;
	privTs = (await alice.client.chat.postMessage({ channel: priv.id, text: 'top secret' })).ts;
	await alice.client.chat.postMessage({ channel: priv.id, text: 'secret reply', thread_ts: privTs });
	await alice.client.reactions.add({ channel: priv.id, timestamp: privTs, name: 'eyes' });
	await alice.client.pins.add({ channel: priv.id, timestamp: privTs });
	dm = (await alice.client.conversations.open({ users: bob.id })).channel.id;
	dmTs = (await alice.client.chat.postMessage({ channel: dm, text: 'between us' })).ts;
	pub = (await alice.client.conversations.create({ name: uniq('org-a-public') })).channel;
	pubTs = (await alice.client.chat.postMessage({ channel: pub.id, text: 'org A only' })).ts;
	await alice.client.usergroups.create({ name: uniq('OrgA group'), handle: uniq('orga') });
	orgB = await makeFixture(env.srv, { orgName: uniq('OrgB') });
} });

// Every call that names the channel must fail with channel_not_found.
function channelCalls(channel, ts, selfId) {
	return [
		['conversations.info', { channel }],
		['conversations.history', { channel }],
		['conversations.replies', { channel, ts }],
		['conversations.members', { channel }],
		['conversations.join', { channel }],
		['conversations.invite', { channel, users: selfId }],
		['conversations.setTopic', { channel, topic: 'hi' }],
		['conversations.setPurpose', { channel, purpose: 'hi' }],
		['conversations.rename', { channel, name: uniq('stolen') }],
		['conversations.archive', { channel }],
		['conversations.mark', { channel, ts }],
		['chat.postMessage', { channel, text: 'let me in' }],
		['chat.meMessage', { channel, text: 'let me in' }],
		['chat.update', { channel, ts, text: 'edited by intruder' }],
		['chat.delete', { channel, ts }],
		['chat.getPermalink', { channel, message_ts: ts }],
		['reactions.get', { channel, timestamp: ts }],
		['reactions.add', { channel, timestamp: ts, name: 'smiling_imp' }],
		['reactions.remove', { channel, timestamp: ts, name: 'eyes' }],
		['pins.list', { channel }],
		['pins.add', { channel, timestamp: ts }],
		['pins.remove', { channel, timestamp: ts }],
	];
}

async function allChannelNotFound(client, channel, ts, selfId, who) {
	const failures = [];
	for (const [method, args] of channelCalls(channel, ts, selfId)) {
		try {
			const r = await client.apiCall(method, args);
			failures.push(`${who} ${method}: succeeded: ${JSON.stringify(r).slice(0, 300)}`);
		} catch (e) {
			if (e.code !== 'slack_webapi_platform_error') failures.push(`${who} ${method}: transport error ${e.message}`);
			else if (e.data.error !== 'channel_not_found') failures.push(`${who} ${method}: ${e.data.error} (expected channel_not_found)`);
		}
	}
	assert.deepEqual(failures, []);
}

async function visibleChannelIds(client, types) {
	const a = await collect(client, 'conversations.list', { types }, 'channels', 200);
	const b = await collect(client, 'users.conversations', { types }, 'channels', 200);
	return new Set([...a, ...b].map((c) => c.id));
}

test('private channel: non-member user gets channel_not_found everywhere', async () => {
	const { bob } = env.fx;
	await allChannelNotFound(bob.client, priv.id, privTs, bob.id, 'bob');
});

test('private channel: non-member bot with every scope gets channel_not_found everywhere', async () => {
	const { bot } = env.fx;
	await allChannelNotFound(bot.client, priv.id, privTs, bot.bot_user_id, 'bot');
});

test('private channel never listed for non-members', async () => {
	const { alice, bob, bot } = env.fx;
	for (const [who, c] of [['bob', bob.client], ['bot', bot.client]]) {
		for (const types of ['private_channel', 'public_channel,private_channel', 'public_channel,private_channel,mpim,im']) {
			const ids = await visibleChannelIds(c, types);
			assert.ok(!ids.has(priv.id), `${who} sees the private channel with types=${types}`);
		}
	}
	// Not even through another user's membership.
	const viaAlice = await collect(bob.client, 'users.conversations', { user: alice.id, types: 'private_channel' }, 'channels', 200);
	assert.ok(!viaAlice.some((c) => c.id === priv.id), 'users.conversations user=alice leaks the private channel to bob');
	// The member does see it.
	assert.ok((await visibleChannelIds(alice.client, 'private_channel')).has(priv.id));
});

test('private channel content does not leak to non-members through other methods', async () => {
	const { bob } = env.fx;
	const reacts = await bob.client.reactions.list({ user: env.fx.alice.id });
	assert.ok(!JSON.stringify(reacts).includes(priv.id), 'reactions.list of alice leaks the private channel');
	assert.ok(!JSON.stringify(reacts).includes('top secret'), 'reactions.list leaks private text');
});

test('DM: third parties (user and bot) get channel_not_found', async () => {
	const { org, bot } = env.fx;
	const c = await createUser(env.srv, org.id, uniq('carol'));
	await allChannelNotFound(c.client, dm, dmTs, c.id, 'carol');
	await allChannelNotFound(bot.client, dm, dmTs, bot.bot_user_id, 'bot');
	const ids = await visibleChannelIds(c.client, 'im,mpim,private_channel,public_channel');
	assert.ok(!ids.has(dm));
	// Not through users.conversations of a participant either.
	for (const who of [env.fx.alice.id, env.fx.bob.id]) {
		const l = await collect(c.client, 'users.conversations', { user: who, types: 'im,mpim,private_channel,public_channel' }, 'channels', 200);
		assert.ok(!l.some((x) => x.id === dm), `users.conversations user=${who} leaks their DM`);
	}
});

test('group DM: non-members get channel_not_found', async () => {
	const { alice, bob, org } = env.fx;
	const carol = await createUser(env.srv, org.id, uniq('carol'));
	const dave = await createUser(env.srv, org.id, uniq('dave'));
	const g = (await alice.client.conversations.open({ users: `${bob.id},${carol.id}` })).channel.id;
	const ts = (await alice.client.chat.postMessage({ channel: g, text: 'three of us' })).ts;
	await allChannelNotFound(dave.client, g, ts, dave.id, 'dave');
	await allChannelNotFound(env.fx.bot.client, g, ts, env.fx.bot.bot_user_id, 'bot');
	assert.ok(!(await visibleChannelIds(dave.client, 'mpim,im,private_channel,public_channel')).has(g));
	// members do see it
	assert.ok((await carol.client.conversations.history({ channel: g })).messages.some((m) => m.ts === ts));
});

test('after being removed, a former member loses access', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('was-in'), is_private: true })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: bob.id });
	const ts = (await alice.client.chat.postMessage({ channel: ch, text: 'for bob' })).ts;
	assert.ok((await bob.client.conversations.history({ channel: ch })).messages.some((m) => m.ts === ts));
	await alice.client.conversations.kick({ channel: ch, user: bob.id });
	await expectError(bob.client.conversations.history({ channel: ch }), 'channel_not_found', 'history after kick');
	await expectError(bob.client.chat.postMessage({ channel: ch, text: 'still here?' }), 'channel_not_found', 'post after kick');
	assert.ok(!(await visibleChannelIds(bob.client, 'private_channel')).has(ch));
});

test('another organisation sees nothing of org A', async () => {
	const { alice, bob, bot } = env.fx;
	for (const [who, c, self] of [['eve (org B user)', orgB.alice.client, orgB.alice.id], ['org B bot', orgB.bot.client, orgB.bot.bot_user_id]]) {
		await allChannelNotFound(c, pub.id, pubTs, self, who);
		await allChannelNotFound(c, priv.id, privTs, self, who);
		await allChannelNotFound(c, dm, dmTs, self, who);
		const ids = await visibleChannelIds(c, 'public_channel,private_channel,mpim,im');
		assert.ok(!ids.has(pub.id), `${who} lists org A's public channel`);
		const aGeneral = await findGeneral(alice.client);
		assert.ok(!ids.has(aGeneral.id), `${who} lists org A's #general`);

		await expectError(c.users.info({ user: alice.id }), 'user_not_found', `${who} users.info(alice)`);
		await expectError(c.users.info({ user: bot.bot_user_id }), 'user_not_found', `${who} users.info(org A bot)`);
		await expectError(c.users.lookupByEmail({ email: alice.email }), 'users_not_found', `${who} lookupByEmail`);
		await expectError(c.users.profile.get({ user: alice.id }), 'user_not_found', `${who} profile.get`);
		await expectError(c.bots.info({ bot: bot.bot_id }), 'bot_not_found', `${who} bots.info`);
		await expectError(c.conversations.open({ users: bob.id }), 'user_not_found', `${who} DM to org A user`);
		const users = await collect(c, 'users.list', {}, 'members', 200);
		const leaked = users.filter((u) => [alice.id, bob.id, bot.bot_user_id].includes(u.id) || u.team_id !== orgB.org.id);
		assert.deepEqual(leaked.map((u) => u.id), [], `${who} users.list leaks org A users`);
		const groups = await c.usergroups.list({ include_disabled: true });
		assert.ok(groups.usergroups.every((g) => g.team_id === orgB.org.id), `${who} usergroups.list leaks org A groups`);
		assert.equal((await c.team.info()).team.id, orgB.org.id);
	}
	// Org A cannot pull org B's user into its channel either.
	await expectError(alice.client.conversations.invite({ channel: pub.id, users: orgB.bob.id }), 'user_not_found', 'invite cross-org');
	await expectError(alice.client.usergroups.users.update({ usergroup: (await alice.client.usergroups.list()).usergroups[0].id, users: orgB.bob.id }), ['invalid_users', 'user_not_found'], 'usergroup cross-org');
});

test('each organisation has its own #general', async () => {
	const ga = await findGeneral(env.fx.alice.client);
	const gb = await findGeneral(orgB.alice.client);
	assert.notEqual(ga.id, gb.id);
	const mb = (await orgB.alice.client.conversations.members({ channel: gb.id })).members;
	assert.ok(mb.includes(orgB.alice.id) && mb.includes(orgB.bob.id));
	assert.ok(!mb.includes(env.fx.alice.id));
});
