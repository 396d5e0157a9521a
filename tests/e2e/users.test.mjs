// users.* methods.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq, collect, createApp } from './lib/fixture.mjs';

const env = useServer();

function assertUserShape(u, what) {
	assert.match(u.id, /^[UW][A-Z0-9]+$/, `${what}: id`);
	assert.equal(u.team_id, env.fx.org.id, `${what}: team_id`);
	assert.equal(typeof u.name, 'string', `${what}: name`);
	for (const k of ['deleted', 'is_admin', 'is_owner', 'is_primary_owner', 'is_restricted', 'is_ultra_restricted', 'is_bot', 'is_app_user']) {
		assert.equal(typeof u[k], 'boolean', `${what}: ${k} must be boolean, got ${JSON.stringify(u[k])}`);
	}
	assert.equal(typeof u.real_name, 'string', `${what}: real_name`);
	assert.equal(typeof u.tz, 'string', `${what}: tz`);
	assert.equal(typeof u.tz_label, 'string', `${what}: tz_label`);
	assert.ok(Number.isInteger(u.tz_offset), `${what}: tz_offset int`);
	assert.ok(Number.isInteger(u.updated), `${what}: updated int`);
	assert.equal(typeof u.color, 'string', `${what}: color`);
	const p = u.profile;
	assert.equal(typeof p, 'object', `${what}: profile`);
	for (const k of ['real_name', 'real_name_normalized', 'display_name', 'display_name_normalized', 'status_text', 'status_emoji', 'avatar_hash', 'image_24', 'image_32', 'image_48', 'image_72', 'image_192', 'image_512']) {
		assert.equal(typeof p[k], 'string', `${what}: profile.${k} must be a string`);
	}
	assert.equal(p.team, env.fx.org.id, `${what}: profile.team`);
}

test('users.info: human user fields', async () => {
	const { alice, bob } = env.fx;
	const r = await bob.client.users.info({ user: alice.id });
	assertUserShape(r.user, 'alice');
	assert.equal(r.user.id, alice.id);
	assert.equal(r.user.name, 'alice');
	assert.equal(r.user.deleted, false);
	assert.equal(r.user.is_admin, true);
	assert.equal(r.user.is_bot, false);
	const b = await alice.client.users.info({ user: bob.id });
	assert.equal(b.user.is_admin, false);
	assert.equal(b.user.profile.email, bob.email, 'user tokens see emails');
});

test('users.info: bot user fields', async () => {
	const { alice, bot } = env.fx;
	const r = await alice.client.users.info({ user: bot.bot_user_id });
	assertUserShape(r.user, 'bot');
	assert.equal(r.user.is_bot, true);
	assert.equal(r.user.profile.bot_id, bot.bot_id);
});

test('users.info errors', async () => {
	const { alice } = env.fx;
	await expectError(alice.client.users.info({ user: 'U0NOSUCHUSR' }), 'user_not_found');
	await expectError(alice.client.users.info({}), ['user_not_found', 'invalid_arguments', 'missing_argument']);
});

test('users.list includes humans and bots', async () => {
	const { alice, bob, bot } = env.fx;
	const r = await alice.client.users.list({});
	assert.ok(Array.isArray(r.members));
	const byId = new Map(r.members.map((u) => [u.id, u]));
	assert.ok(byId.has(alice.id) && byId.has(bob.id), 'humans listed');
	assert.ok(byId.has(bot.bot_user_id), 'bot user listed');
	assert.equal(byId.get(bot.bot_user_id).is_bot, true);
	assert.equal(byId.get(alice.id).is_bot, false);
	for (const u of r.members) assertUserShape(u, `users.list ${u.id}`);
	if (r.cache_ts !== undefined) assert.ok(Number.isInteger(r.cache_ts));
});

test('users.lookupByEmail', async () => {
	const { alice, bob, bot } = env.fx;
	const r = await bot.client.users.lookupByEmail({ email: alice.email });
	assert.equal(r.user.id, alice.id);
	assert.equal(r.user.profile.email, alice.email);
	const r2 = await alice.client.users.lookupByEmail({ email: bob.email.toUpperCase() });
	assert.equal(r2.user.id, bob.id, 'email lookup is case-insensitive');
	await expectError(alice.client.users.lookupByEmail({ email: 'nobody@nowhere.test' }), 'users_not_found');
});

test('users.conversations: the caller\'s channels, types filter', async () => {
	const { alice, bob } = env.fx;
	const pub = (await alice.client.conversations.create({ name: uniq('uc') })).channel;
	const priv = (await alice.client.conversations.create({ name: uniq('ucp'), is_private: true })).channel;
	const other = (await bob.client.conversations.create({ name: uniq('ucb') })).channel;

	const def = await collect(alice.client, 'users.conversations', {}, 'channels', 200);
	const ids = def.map((c) => c.id);
	assert.ok(ids.includes(pub.id), 'member public channel');
	assert.ok(!ids.includes(priv.id), 'default types=public_channel');
	assert.ok(!ids.includes(other.id), 'not a channel alice is in');

	const all = await collect(alice.client, 'users.conversations', { types: 'public_channel,private_channel' }, 'channels', 200);
	assert.ok(all.some((c) => c.id === priv.id) && all.some((c) => c.id === pub.id));

	// Another user's public channels (Slack: the user argument).
	const bobs = await collect(alice.client, 'users.conversations', { user: bob.id }, 'channels', 200);
	assert.ok(bobs.some((c) => c.id === other.id), 'users.conversations user=bob lists bob\'s channel');
	assert.ok(!bobs.some((c) => c.id === pub.id));
});

test('users.profile.get / set', async () => {
	const { alice, bob } = env.fx;
	const g = await bob.client.users.profile.get();
	assert.equal(typeof g.profile, 'object');
	assert.equal(typeof g.profile.display_name, 'string');
	assert.equal(g.profile.email, bob.email);

	const s = await bob.client.users.profile.set({
		profile: { display_name: 'Bobby', title: 'Support agent', status_text: 'on call', status_emoji: ':pager:' },
	});
	assert.equal(s.profile.display_name, 'Bobby');
	assert.equal(s.profile.title, 'Support agent');
	assert.equal(s.profile.status_text, 'on call');
	assert.equal(s.profile.status_emoji, ':pager:');

	const g2 = await alice.client.users.profile.get({ user: bob.id });
	assert.equal(g2.profile.display_name, 'Bobby');
	assert.equal(g2.profile.title, 'Support agent');
	assert.equal(g2.profile.status_text, 'on call');
	const info = await alice.client.users.info({ user: bob.id });
	assert.equal(info.user.profile.display_name, 'Bobby');
	assert.equal(info.user.profile.status_text, 'on call');

	// name/value form
	await bob.client.users.profile.set({ name: 'title', value: 'Senior agent' });
	assert.equal((await bob.client.users.profile.get()).profile.title, 'Senior agent');
	assert.equal((await bob.client.users.profile.get()).profile.display_name, 'Bobby', 'other fields kept');
});

test('users.profile.set on another user: non-admin refused, admin allowed', async () => {
	const { alice, bob } = env.fx;
	const before = (await alice.client.users.profile.get()).profile;
	await expectError(
		bob.client.users.profile.set({ user: alice.id, profile: { display_name: 'pwned' } }),
		['not_admin', 'not_authorized', 'cannot_update_admin_user'],
		'bob editing alice',
	);
	const after = (await alice.client.users.profile.get()).profile;
	assert.equal(after.display_name, before.display_name, 'alice unchanged');

	const r = await alice.client.users.profile.set({ user: bob.id, profile: { title: 'Set by admin' } });
	assert.equal(r.profile.title, 'Set by admin');
	assert.equal((await bob.client.users.profile.get()).profile.title, 'Set by admin');
});

test('bot with users.profile:read can read profiles; users:read without users:read.email hides emails', async () => {
	const { alice, bot } = env.fx;
	const p = await bot.client.users.profile.get({ user: alice.id });
	assert.equal(typeof p.profile.display_name, 'string');
	const noEmail = await createApp(env.srv, env.fx.org.id, uniq('noemail'), ['users:read']);
	const u = await noEmail.client.users.info({ user: alice.id });
	assert.equal(u.user.id, alice.id);
	assert.equal(u.user.profile.email, undefined, 'email hidden without users:read.email');
	const l = await noEmail.client.users.list({});
	assert.ok(l.members.every((m) => m.profile.email === undefined), 'users.list hides emails without users:read.email');
	await expectError(noEmail.client.users.lookupByEmail({ email: alice.email }), 'missing_scope');
});
