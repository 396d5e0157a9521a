// conversations.* methods (public/private channels, DMs, group DMs).
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq, findGeneral, collect, assertTs } from './lib/fixture.mjs';

const env = useServer();

const isInt = (v) => Number.isInteger(v);

function assertChannelShape(c, what) {
	assert.equal(typeof c, 'object', `${what}: channel object`);
	assert.match(c.id, /^[CG][A-Z0-9]+$/, `${what}: id`);
	for (const k of ['is_channel', 'is_group', 'is_im', 'is_mpim', 'is_private', 'is_archived', 'is_general',
		'is_shared', 'is_ext_shared', 'is_org_shared', 'is_member']) {
		assert.equal(typeof c[k], 'boolean', `${what}: ${k} must be a boolean, got ${JSON.stringify(c[k])}`);
	}
	assert.equal(typeof c.name, 'string', `${what}: name`);
	assert.equal(typeof c.name_normalized, 'string', `${what}: name_normalized`);
	assert.ok(isInt(c.created) && c.created > 1500000000, `${what}: created is unix seconds, got ${c.created}`);
	assert.match(c.creator, /^[UW][A-Z0-9]+$/, `${what}: creator`);
	assert.equal(typeof c.is_pending_ext_shared, 'boolean', `${what}: is_pending_ext_shared`);
	assert.ok(Array.isArray(c.pending_shared), `${what}: pending_shared[]`);
	assert.ok(Array.isArray(c.previous_names), `${what}: previous_names[]`);
	assert.equal(c.context_team_id, env.fx.org.id, `${what}: context_team_id`);
	assert.ok(Number.isInteger(c.updated), `${what}: updated int`);
	assert.ok(Number.isInteger(c.unlinked), `${what}: unlinked int`);
	for (const k of ['topic', 'purpose']) {
		assert.equal(typeof c[k], 'object', `${what}: ${k}`);
		assert.equal(typeof c[k].value, 'string', `${what}: ${k}.value`);
		assert.equal(typeof c[k].creator, 'string', `${what}: ${k}.creator`);
		assert.ok(isInt(c[k].last_set), `${what}: ${k}.last_set int`);
	}
}

async function members(client, channel) {
	return (await client.conversations.members({ channel, limit: 1000 })).members;
}

test('conversations.create public: shape, creator is a member', async () => {
	const { alice } = env.fx;
	const name = uniq('pub');
	const r = await alice.client.conversations.create({ name });
	assertChannelShape(r.channel, 'create');
	const c = r.channel;
	assert.match(c.id, /^C/);
	assert.equal(c.name, name);
	assert.equal(c.name_normalized, name);
	assert.equal(c.is_channel, true);
	assert.equal(c.is_private, false);
	assert.equal(c.is_group, false);
	assert.equal(c.is_im, false);
	assert.equal(c.is_mpim, false);
	assert.equal(c.is_archived, false);
	assert.equal(c.is_general, false);
	assert.equal(c.is_member, true);
	assert.equal(c.creator, alice.id);
	assert.deepEqual(await members(alice.client, c.id), [alice.id]);
});

test('conversations.create private', async () => {
	const { alice, bob } = env.fx;
	const r = await alice.client.conversations.create({ name: uniq('priv'), is_private: true });
	assertChannelShape(r.channel, 'create private');
	assert.equal(r.channel.is_private, true);
	assert.equal(r.channel.is_member, true);
	assert.deepEqual(await members(alice.client, r.channel.id), [alice.id]);
	// Invited members see it.
	await alice.client.conversations.invite({ channel: r.channel.id, users: bob.id });
	const i = await bob.client.conversations.info({ channel: r.channel.id });
	assert.equal(i.channel.is_private, true);
	assert.equal(i.channel.is_member, true);
});

test('conversations.create by a bot (channels:manage)', async () => {
	const { bot } = env.fx;
	const r = await bot.client.conversations.create({ name: uniq('botmade') });
	assert.equal(r.channel.creator, bot.bot_user_id);
	assert.equal(r.channel.is_member, true);
});

test('conversations.create name errors', async () => {
	const { alice } = env.fx;
	const name = uniq('dup');
	await alice.client.conversations.create({ name });
	await expectError(alice.client.conversations.create({ name }), 'name_taken', 'same name');
	await expectError(alice.client.conversations.create({ name, is_private: true }), 'name_taken', 'private with public name');
	await expectError(alice.client.conversations.create({ name: 'general' }), 'name_taken', '#general exists');
	await expectError(alice.client.conversations.create({ name: 'bad$name' }), 'invalid_name_specials');
	await expectError(alice.client.conversations.create({ name: 'semi;colon' }), 'invalid_name_specials');
	await expectError(alice.client.conversations.create({ name: 'a'.repeat(81) }), 'invalid_name_maxlength');
	await alice.client.conversations.create({ name: 'b' + uniq('').replace(/-/g, '').padEnd(79, 'b') }); // exactly 80 is fine
	await expectError(alice.client.conversations.create({ name: '' }), ['invalid_name_required', 'invalid_name'], 'empty');
	await expectError(alice.client.conversations.create({ name: '---' }), ['invalid_name_punctuation', 'invalid_name'], 'only punctuation');
});

test('conversations.info: fields, is_member relative to caller, num_members', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('info') })).channel;
	const a = await alice.client.conversations.info({ channel: c.id, include_num_members: true });
	assertChannelShape(a.channel, 'info');
	assert.equal(a.channel.id, c.id);
	assert.equal(a.channel.is_member, true);
	assert.equal(a.channel.num_members, 1);
	const b = await bob.client.conversations.info({ channel: c.id });
	assert.equal(b.channel.is_member, false, 'bob can see a public channel he is not in');
	await expectError(alice.client.conversations.info({ channel: 'C0NOSUCHCH' }), 'channel_not_found');
});

test('#general: every user is in it, cannot be left/archived', async () => {
	const { alice, bob, bot } = env.fx;
	const g = await findGeneral(alice.client);
	const info = await alice.client.conversations.info({ channel: g.id });
	assert.equal(info.channel.is_general, true);
	assert.equal(info.channel.name, 'general');
	const m = await members(alice.client, g.id);
	assert.ok(m.includes(alice.id) && m.includes(bob.id), 'humans are in #general');
	await expectError(bob.client.conversations.leave({ channel: g.id }), 'cant_leave_general');
	await expectError(alice.client.conversations.archive({ channel: g.id }), 'cant_archive_general');
	await expectError(alice.client.conversations.kick({ channel: g.id, user: bob.id }), ['cant_kick_from_general', 'restricted_action']);
	// bots are not automatically members; joining is allowed.
	await bot.client.conversations.join({ channel: g.id });
});

test('conversations.join: public channel, already_in_channel warning, channel_join message', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('join') })).channel;
	const j = await bob.client.conversations.join({ channel: c.id });
	assert.equal(j.ok, true);
	assert.equal(j.channel.id, c.id);
	assert.equal(j.channel.is_member, true);
	assert.equal(j.warning, undefined);
	const j2 = await bob.client.conversations.join({ channel: c.id });
	assert.equal(j2.ok, true);
	assert.equal(j2.warning, 'already_in_channel');
	assert.ok(j2.response_metadata?.warnings?.includes('already_in_channel'), 'response_metadata.warnings');
	assert.deepEqual((await members(alice.client, c.id)).sort(), [alice.id, bob.id].sort());
	const h = await alice.client.conversations.history({ channel: c.id });
	const joins = h.messages.filter((m) => m.subtype === 'channel_join' && m.user === bob.id);
	assert.equal(joins.length, 1, 'exactly one channel_join for bob');
	assertTs(joins[0].ts);
	assert.equal(typeof joins[0].text, 'string');
	await expectError(bob.client.conversations.join({ channel: 'C0NOSUCHCH' }), 'channel_not_found');
});

test('conversations.leave: member leaves, non-member gets not_in_channel flag', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('leave') })).channel;
	await bob.client.conversations.join({ channel: c.id });
	const l = await bob.client.conversations.leave({ channel: c.id });
	assert.equal(l.ok, true);
	assert.equal(l.not_in_channel, undefined);
	assert.deepEqual(await members(alice.client, c.id), [alice.id]);
	const l2 = await bob.client.conversations.leave({ channel: c.id });
	assert.equal(l2.ok, true);
	assert.equal(l2.not_in_channel, true);
	const h = await alice.client.conversations.history({ channel: c.id });
	assert.ok(h.messages.some((m) => m.subtype === 'channel_leave' && m.user === bob.id), 'channel_leave message');
	const info = await bob.client.conversations.info({ channel: c.id });
	assert.equal(info.channel.is_member, false);
});

test('conversations.invite: csv users, already_in_channel, cant_invite_self, user_not_found', async () => {
	const { alice, bob, bot } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('inv') })).channel;
	const r = await alice.client.conversations.invite({ channel: c.id, users: `${bob.id},${bot.bot_user_id}` });
	assert.equal(r.ok, true);
	assert.equal(r.channel.id, c.id);
	assert.deepEqual((await members(alice.client, c.id)).sort(), [alice.id, bob.id, bot.bot_user_id].sort());
	const h = await alice.client.conversations.history({ channel: c.id });
	const j = h.messages.find((m) => m.subtype === 'channel_join' && m.user === bob.id);
	assert.ok(j, 'channel_join for invited bob');
	if (j.inviter !== undefined) assert.equal(j.inviter, alice.id);

	await expectError(alice.client.conversations.invite({ channel: c.id, users: bob.id }), 'already_in_channel');
	await expectError(alice.client.conversations.invite({ channel: c.id, users: alice.id }), 'cant_invite_self');
	await expectError(alice.client.conversations.invite({ channel: c.id, users: 'U0NOSUCHUSR' }), 'user_not_found');
	await expectError(alice.client.conversations.invite({ channel: 'C0NOSUCHCH', users: bob.id }), 'channel_not_found');
});

test('conversations.invite by a non-member of a public channel -> not_in_channel', async () => {
	const { alice, bob, bot } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('inv2') })).channel;
	await expectError(bob.client.conversations.invite({ channel: c.id, users: bot.bot_user_id }), 'not_in_channel');
});

test('conversations.kick: cant_kick_self, not_in_channel', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('kick') })).channel;
	await alice.client.conversations.invite({ channel: c.id, users: bob.id });
	const k = await alice.client.conversations.kick({ channel: c.id, user: bob.id });
	assert.equal(k.ok, true);
	assert.deepEqual(await members(alice.client, c.id), [alice.id]);
	await expectError(alice.client.conversations.kick({ channel: c.id, user: bob.id }), 'not_in_channel', 'kick non-member');
	await expectError(alice.client.conversations.kick({ channel: c.id, user: alice.id }), 'cant_kick_self');
	await expectError(alice.client.conversations.kick({ channel: c.id, user: 'U0NOSUCHUSR' }), 'user_not_found');
});

test('conversations.open: DM is stable, group DM is an mpim', async () => {
	const { alice, bob, bot } = env.fx;
	const o1 = await alice.client.conversations.open({ users: bob.id });
	assert.equal(o1.ok, true);
	assert.match(o1.channel.id, /^D[A-Z0-9]+$/);
	const o2 = await alice.client.conversations.open({ users: bob.id });
	assert.equal(o2.channel.id, o1.channel.id, 'same DM id twice');
	const o3 = await bob.client.conversations.open({ users: alice.id });
	assert.equal(o3.channel.id, o1.channel.id, 'same DM from the other side');

	const full = await alice.client.conversations.open({ users: bob.id, return_im: true });
	assert.equal(full.channel.id, o1.channel.id);
	if (full.channel.is_im !== undefined) assert.equal(full.channel.is_im, true);

	const info = await alice.client.conversations.info({ channel: o1.channel.id });
	assert.equal(info.channel.is_im, true);
	assert.equal(info.channel.user, bob.id, 'IM info names the other user');

	const p = await alice.client.chat.postMessage({ channel: o1.channel.id, text: 'dm hi' });
	const h = await bob.client.conversations.history({ channel: o1.channel.id });
	assert.ok(h.messages.some((m) => m.ts === p.ts && m.text === 'dm hi'));

	const g = await alice.client.conversations.open({ users: `${bob.id},${bot.bot_user_id}` });
	const gid = g.channel.id;
	assert.notEqual(gid, o1.channel.id);
	const gi = await alice.client.conversations.info({ channel: gid });
	assert.equal(gi.channel.is_mpim, true);
	assert.equal(gi.channel.is_im, false);
	assert.equal(gi.channel.is_private, true);
	assert.deepEqual((await members(alice.client, gid)).sort(), [alice.id, bob.id, bot.bot_user_id].sort());
	const g2 = await bob.client.conversations.open({ users: `${alice.id},${bot.bot_user_id}` });
	assert.equal(g2.channel.id, gid, 'same group DM for the same set of users');

	await expectError(alice.client.conversations.open({ users: 'U0NOSUCHUSR' }), 'user_not_found');
	await expectError(alice.client.conversations.open({}), ['users_list_not_supplied', 'invalid_arguments', 'missing_argument']);
});

test('conversations.open: IMs appear in conversations.list types=im', async () => {
	const { alice, bob } = env.fx;
	const d = (await alice.client.conversations.open({ users: bob.id })).channel.id;
	const l = await collect(alice.client, 'conversations.list', { types: 'im' }, 'channels', 100);
	const im = l.find((c) => c.id === d);
	assert.ok(im, 'DM listed with types=im');
	assert.equal(im.is_im, true);
	assert.equal(im.user, bob.id);
	const pub = await collect(alice.client, 'conversations.list', {}, 'channels', 200);
	assert.ok(!pub.some((c) => c.id === d), 'default types=public_channel excludes IMs');
});

test('conversations.close', async () => {
	const { alice, bob } = env.fx;
	const d = (await alice.client.conversations.open({ users: bob.id })).channel.id;
	const r = await alice.client.conversations.close({ channel: d });
	assert.equal(r.ok, true);
	// re-opening gives the same DM back
	assert.equal((await alice.client.conversations.open({ users: bob.id })).channel.id, d);
});

test('conversations.archive / unarchive', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('arch') })).channel;
	await alice.client.chat.postMessage({ channel: c.id, text: 'before' });
	const a = await alice.client.conversations.archive({ channel: c.id });
	assert.equal(a.ok, true);
	assert.equal((await alice.client.conversations.info({ channel: c.id })).channel.is_archived, true);
	await expectError(alice.client.conversations.archive({ channel: c.id }), 'already_archived');
	await expectError(alice.client.chat.postMessage({ channel: c.id, text: 'after' }), 'is_archived', 'post to archived');
	await expectError(bob.client.conversations.join({ channel: c.id }), 'is_archived', 'join archived');
	// History of an archived channel stays readable.
	const h = await alice.client.conversations.history({ channel: c.id });
	assert.ok(h.messages.some((m) => m.text === 'before'));

	const listed = await collect(alice.client, 'conversations.list', {}, 'channels', 200);
	assert.equal(listed.find((x) => x.id === c.id)?.is_archived, true, 'archived listed by default');
	const active = await collect(alice.client, 'conversations.list', { exclude_archived: true }, 'channels', 200);
	assert.ok(!active.some((x) => x.id === c.id), 'exclude_archived hides it');

	const u = await alice.client.conversations.unarchive({ channel: c.id });
	assert.equal(u.ok, true);
	assert.equal((await alice.client.conversations.info({ channel: c.id })).channel.is_archived, false);
	await expectError(alice.client.conversations.unarchive({ channel: c.id }), 'not_archived');
	await alice.client.chat.postMessage({ channel: c.id, text: 'after unarchive' });
});

test('conversations.rename', async () => {
	const { alice } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('old') })).channel;
	const taken = uniq('taken');
	await alice.client.conversations.create({ name: taken });
	const newName = uniq('new');
	const r = await alice.client.conversations.rename({ channel: c.id, name: newName });
	assert.equal(r.channel.id, c.id);
	assert.equal(r.channel.name, newName);
	assert.equal((await alice.client.conversations.info({ channel: c.id })).channel.name, newName);
	await expectError(alice.client.conversations.rename({ channel: c.id, name: taken }), 'name_taken');
	await expectError(alice.client.conversations.rename({ channel: c.id, name: 'no spaces!' }), 'invalid_name_specials');
});

test('conversations.setTopic / setPurpose: info and system messages', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('topic') })).channel;
	const t = await alice.client.conversations.setTopic({ channel: c.id, topic: 'Incident CX-42' });
	assert.equal(t.ok, true);
	if (t.channel) assert.equal(t.channel.topic.value, 'Incident CX-42');
	const p = await alice.client.conversations.setPurpose({ channel: c.id, purpose: 'Track the incident' });
	assert.equal(p.ok, true);
	if (p.channel) assert.equal(p.channel.purpose.value, 'Track the incident');

	const info = (await bob.client.conversations.info({ channel: c.id })).channel;
	assert.equal(info.topic.value, 'Incident CX-42');
	assert.equal(info.topic.creator, alice.id);
	assert.ok(info.topic.last_set > 1500000000, 'topic.last_set is a unix time');
	assert.equal(info.purpose.value, 'Track the incident');
	assert.equal(info.purpose.creator, alice.id);

	const h = await alice.client.conversations.history({ channel: c.id });
	const tm = h.messages.find((m) => m.subtype === 'channel_topic');
	assert.ok(tm, 'channel_topic message in history');
	assert.equal(tm.user, alice.id);
	assert.ok((tm.topic ?? tm.text).includes('Incident CX-42'), 'topic text in the system message');
	const pm = h.messages.find((m) => m.subtype === 'channel_purpose');
	assert.ok(pm, 'channel_purpose message in history');
	assert.ok((pm.purpose ?? pm.text).includes('Track the incident'));

	await expectError(alice.client.conversations.setTopic({ channel: c.id, topic: 'x'.repeat(251) }), 'too_long');
	await expectError(bob.client.conversations.setTopic({ channel: c.id, topic: 'drive-by' }), 'not_in_channel');
});

test('conversations.mark', async () => {
	const { alice } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('mark') })).channel;
	const p = await alice.client.chat.postMessage({ channel: c.id, text: 'read me' });
	const r = await alice.client.conversations.mark({ channel: c.id, ts: p.ts });
	assert.equal(r.ok, true);
	await expectError(alice.client.conversations.mark({ channel: c.id, ts: 'nonsense' }), ['invalid_timestamp', 'invalid_arguments']);
});

test('conversations.list: types and is_member', async () => {
	const { alice, bob } = env.fx;
	const pub = (await alice.client.conversations.create({ name: uniq('lpub') })).channel;
	const priv = (await alice.client.conversations.create({ name: uniq('lpriv'), is_private: true })).channel;

	const def = await collect(alice.client, 'conversations.list', {}, 'channels', 200);
	assert.ok(def.some((c) => c.id === pub.id), 'public listed by default');
	assert.ok(!def.some((c) => c.id === priv.id), 'private not listed by default');
	for (const c of def) assert.equal(c.is_private, false, 'default lists only public channels');
	assert.equal(def.find((c) => c.id === pub.id).is_member, true);

	const privs = await collect(alice.client, 'conversations.list', { types: 'private_channel' }, 'channels', 200);
	assert.ok(privs.some((c) => c.id === priv.id), 'private listed with types=private_channel');
	assert.ok(!privs.some((c) => c.id === pub.id), 'public not listed with types=private_channel');

	const both = await collect(alice.client, 'conversations.list', { types: 'public_channel,private_channel' }, 'channels', 200);
	assert.ok(both.some((c) => c.id === pub.id) && both.some((c) => c.id === priv.id));

	const bobView = await collect(bob.client, 'conversations.list', {}, 'channels', 200);
	const seen = bobView.find((c) => c.id === pub.id);
	assert.ok(seen, 'bob sees the public channel');
	assert.equal(seen.is_member, false);

	await expectError(alice.client.conversations.list({ types: 'bogus_type' }), 'invalid_types');
});

test('conversations.members', async () => {
	const { alice, bob, bot } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('mem') })).channel;
	await alice.client.conversations.invite({ channel: c.id, users: `${bob.id},${bot.bot_user_id}` });
	const r = await bob.client.conversations.members({ channel: c.id });
	assert.deepEqual([...r.members].sort(), [alice.id, bob.id, bot.bot_user_id].sort());
	await expectError(alice.client.conversations.members({ channel: 'C0NOSUCHCH' }), 'channel_not_found');
});

test('users can read public channels they are not in', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('open') })).channel;
	const p = await alice.client.chat.postMessage({ channel: c.id, text: 'public knowledge' });
	const h = await bob.client.conversations.history({ channel: c.id });
	assert.ok(h.messages.some((m) => m.ts === p.ts), 'non-member user reads public history');
	const r = await bob.client.conversations.replies({ channel: c.id, ts: p.ts });
	assert.equal(r.messages[0].ts, p.ts);
});

test('bot history of a public channel it is not in -> not_in_channel; after join it works', async () => {
	const { alice, bot } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('botj') })).channel;
	const p = await alice.client.chat.postMessage({ channel: c.id, text: 'hi' });
	await expectError(bot.client.conversations.history({ channel: c.id }), 'not_in_channel', 'bot history before join');
	const j = await bot.client.conversations.join({ channel: c.id });
	assert.equal(j.channel.id, c.id);
	const h = await bot.client.conversations.history({ channel: c.id });
	assert.ok(h.messages.some((m) => m.ts === p.ts));
	const l = await bot.client.conversations.leave({ channel: c.id });
	assert.equal(l.ok, true);
});

test('bot invited to a private channel can read and post (groups:* scopes)', async () => {
	const { alice, bot } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('botpriv'), is_private: true })).channel.id;
	const p = await alice.client.chat.postMessage({ channel: c, text: 'for the bot' });
	await alice.client.conversations.invite({ channel: c, users: bot.bot_user_id });
	const info = await bot.client.conversations.info({ channel: c });
	assert.equal(info.channel.is_private, true);
	assert.equal(info.channel.is_member, true);
	const h = await bot.client.conversations.history({ channel: c });
	assert.ok(h.messages.some((m) => m.ts === p.ts));
	const r = await bot.client.chat.postMessage({ channel: c, text: 'bot here' });
	assert.equal(r.channel, c);
	const l = await collect(bot.client, 'conversations.list', { types: 'private_channel' }, 'channels', 200);
	assert.ok(l.some((x) => x.id === c), 'bot lists the private channel it is in');
	const uc = await collect(bot.client, 'users.conversations', { types: 'private_channel' }, 'channels', 200);
	assert.ok(uc.some((x) => x.id === c));
});

test('the last member cannot leave a private channel (last_member)', async () => {
	const { alice } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('alone'), is_private: true })).channel.id;
	await expectError(alice.client.conversations.leave({ channel: c }), 'last_member');
	assert.equal((await alice.client.conversations.info({ channel: c })).channel.is_member, true);
});

test('conversations.open with oneself gives a self-DM', async () => {
	const { alice } = env.fx;
	const o = await alice.client.conversations.open({ users: alice.id });
	assert.match(o.channel.id, /^D/);
	assert.equal((await alice.client.conversations.open({ users: alice.id })).channel.id, o.channel.id);
	const p = await alice.client.chat.postMessage({ channel: o.channel.id, text: 'note to self' });
	assert.equal(p.channel, o.channel.id);
});

test('group DM: members read and post, members list is exact', async () => {
	const { alice, bob, bot } = env.fx;
	const g = (await alice.client.conversations.open({ users: `${bob.id},${bot.bot_user_id}` })).channel.id;
	const p = await bob.client.chat.postMessage({ channel: g, text: 'mpim hello' });
	const h = await bot.client.conversations.history({ channel: g });
	assert.ok(h.messages.some((m) => m.ts === p.ts), 'bot (member, mpim:history) reads the group DM');
	const l = await collect(alice.client, 'conversations.list', { types: 'mpim' }, 'channels', 200);
	const it = l.find((x) => x.id === g);
	assert.ok(it, 'listed with types=mpim');
	assert.equal(it.is_mpim, true);
});
