// Real-time delivery between people: rtm.connect, hello, ping/pong, and the
// Slack-shaped events for messages, edits, deletes, reactions, threads,
// typing, channel lifecycle, membership, pins, profiles and user groups.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer } from './lib/server.mjs';
import { uniq, webClient, expectError, assertTs, createUser } from './lib/fixture.mjs';
import { connect, closeAll, openWs, EVENT_TIMEOUT_MS } from './lib/rtm.mjs';

let chan; // public channel: alice, bob, bot
let A; // alice's socket
let B; // bob's socket
let T; // the bot's socket
const env = useServer({ setup: async () => {
	const { alice, bob, bot } = env.fx;
	chan = (await alice.client.conversations.create({ name: uniq('rt-main') })).channel;
	await alice.client.conversations.invite({ channel: chan.id, users: bob.id });
	await bot.client.conversations.join({ channel: chan.id });
	A = await connect(alice.client, { label: 'alice' });
	B = await connect(bob.client, { label: 'bob' });
	T = await connect(bot.client, { label: 'bot' });
} });
after(closeAll);

const isMsg = (ts) => (e) => e.type === 'message' && !e.subtype && e.ts === ts;

// The weaker durability check: the event's message is in history at once.
async function assertInHistory(client, channel, ts, what) {
	const h = await client.conversations.history({ channel, latest: ts, oldest: ts, inclusive: true, limit: 5 });
	assert.ok(h.messages.some((m) => m.ts === ts), `${what}: message ${ts} delivered but not in conversations.history right after: ${JSON.stringify(h.messages)}`);
}

test('rtm.connect: shape; hello first; the ticket is single-use; bad tickets refused', async () => {
	const { org, alice, bot, bob } = env.fx;
	const info = await alice.client.rtm.connect();
	assert.equal(info.ok, true);
	assert.match(info.url, new RegExp(`^ws://127\\.0\\.0\\.1:${env.srv.port}/rtm\\?ticket=[^&\\s]+$`), `url: ${info.url}`);
	assert.equal(typeof info.team, 'object', `team: ${JSON.stringify(info)}`);
	assert.equal(info.team.id, org.id);
	assert.equal(info.team.name, org.name);
	assert.equal(typeof info.team.domain, 'string');
	assert.ok(info.team.domain.length > 0, 'team.domain non-empty');
	assert.equal(info.self.id, alice.id);
	assert.equal(info.self.name, 'alice');

	const c = await openWs(info.url, { info, label: 'alice-ticket' });
	const hello = await c.next((e) => e.type === 'hello');
	assert.equal(c.raw.length >= 1 && c.events[0], hello, 'hello is the first frame');
	assert.deepEqual(c.badFrames, []);

	// Same URL again: the ticket was used.
	const again = await openWs(info.url).then(() => null, (e) => e);
	assert.ok(again, 'second upgrade with the same ticket must fail');
	assert.equal(again.status, 401, `reused ticket: ${again.message}`);
	// The first socket is unaffected.
	await c.ping();

	const base = `ws://127.0.0.1:${env.srv.port}/rtm`;
	const bogus = await openWs(`${base}?ticket=${'x'.repeat(32)}`).then(() => null, (e) => e);
	assert.equal(bogus && bogus.status, 401, `bogus ticket: ${bogus && bogus.message}`);
	const none = await openWs(base).then(() => null, (e) => e);
	assert.ok(none && [400, 401].includes(none.status), `no ticket: expected 400/401, got ${none && none.message}`);

	// Bot token.
	const bi = await bot.client.rtm.connect();
	assert.equal(bi.ok, true);
	assert.equal(bi.self.id, bot.bot_user_id);
	assert.equal(typeof bi.self.name, 'string');
	assert.equal(bi.team.id, org.id);
	const bc = await openWs(bi.url, { info: bi, label: 'bot-ticket' });
	await bc.next((e) => e.type === 'hello');
	assert.equal(bc.events[0].type, 'hello');

	// Tickets are per call: two connects give two different URLs.
	const b1 = await bob.client.rtm.connect();
	const b2 = await bob.client.rtm.connect();
	assert.notEqual(b1.url, b2.url);
	await expectError(webClient(env.srv, 'xoxp-not-a-token').rtm.connect(), 'invalid_auth');
	await c.close();
	await bc.close();
});

test('ping -> pong with reply_to; WebSocket ping -> pong', async () => {
	const from = A.mark();
	A.send({ type: 'ping', id: 42 });
	const p = await A.next((e) => e.type === 'pong', EVENT_TIMEOUT_MS, from);
	assert.equal(p.reply_to, 42, `pong: ${JSON.stringify(p)}`);
	A.send({ type: 'ping', id: 43 });
	A.send({ type: 'ping', id: 44 });
	await A.next((e) => e.type === 'pong' && e.reply_to === 44, EVENT_TIMEOUT_MS, from);
	assert.deepEqual(A.all((e) => e.type === 'pong', from).map((e) => e.reply_to), [42, 43, 44], 'pongs in order');
	const before = A.pongs;
	A.ws.ping(Buffer.from('abc'));
	const deadline = Date.now() + EVENT_TIMEOUT_MS;
	while (A.pongs === before) {
		assert.ok(Date.now() < deadline, 'no WebSocket pong for a WebSocket ping');
		await new Promise((r) => setTimeout(r, 10));
	}
});

test('message: every member (sender, bob, bot) gets it in Slack shape, durable before delivery', async () => {
	const { org, alice, bob, bot } = env.fx;
	const text = `hello bob ${uniq('m')}`;
	const { ts } = await alice.client.chat.postMessage({ channel: chan.id, text });
	const ev = await B.next(isMsg(ts));
	await assertInHistory(bob.client, chan.id, ts, 'bob');
	assert.equal(ev.type, 'message');
	assert.equal(ev.channel, chan.id);
	assert.equal(ev.user, alice.id);
	assert.equal(ev.text, text);
	assertTs(ev.ts, 'event ts');
	assert.equal(ev.event_ts, ts, 'event_ts == ts');
	assert.equal(ev.team, org.id);
	assert.equal(ev.channel_type, 'channel');
	assert.equal(ev.subtype, undefined);
	assert.equal(ev.mentioned, undefined, 'no mention flag when nobody is mentioned');
	await A.next(isMsg(ts));
	await T.next(isMsg(ts));

	// A bot post carries user = the bot user and bot_id.
	const bt = `from the bot ${uniq('b')}`;
	const r = await bot.client.chat.postMessage({ channel: chan.id, text: bt });
	const bev = await B.next(isMsg(r.ts));
	assert.equal(bev.text, bt);
	assert.equal(bev.user, bot.bot_user_id);
	assert.equal(bev.bot_id, bot.bot_id);

	// Several posts arrive in posting order.
	const tss = [];
	for (let i = 0; i < 5; i++) tss.push((await bob.client.chat.postMessage({ channel: chan.id, text: `seq ${i} ${text}` })).ts);
	await A.next(isMsg(tss[4]));
	const got = A.all((e) => e.type === 'message' && tss.includes(e.ts)).map((e) => e.ts);
	assert.deepEqual(got, tss, 'in order, each once');
});

test('channel_type of message events: im, group (private), mpim', async () => {
	const { alice, bob } = env.fx;
	const dm = (await alice.client.conversations.open({ users: bob.id })).channel.id;
	const t1 = (await alice.client.chat.postMessage({ channel: dm, text: 'dm hi' })).ts;
	const e1 = await B.next(isMsg(t1));
	assert.equal(e1.channel, dm);
	assert.equal(e1.channel_type, 'im');
	await assertInHistory(bob.client, dm, t1, 'dm');

	const priv = (await alice.client.conversations.create({ name: uniq('rt-priv'), is_private: true })).channel;
	await alice.client.conversations.invite({ channel: priv.id, users: bob.id });
	const t2 = (await alice.client.chat.postMessage({ channel: priv.id, text: 'private hi' })).ts;
	const e2 = await B.next(isMsg(t2));
	assert.equal(e2.channel_type, 'group');

	const carol = await createUser(env.srv, env.fx.org.id, uniq('carol'));
	const mp = (await alice.client.conversations.open({ users: `${bob.id},${carol.id}` })).channel.id;
	const t3 = (await alice.client.chat.postMessage({ channel: mp, text: 'group dm hi' })).ts;
	const e3 = await B.next(isMsg(t3));
	assert.equal(e3.channel_type, 'mpim');
});

test('edit -> message_changed with message and previous_message', async () => {
	const { alice, bob } = env.fx;
	const old = `typo ${uniq('e')}`;
	const { ts } = await alice.client.chat.postMessage({ channel: chan.id, text: old });
	await B.next(isMsg(ts));
	await alice.client.chat.update({ channel: chan.id, ts, text: `fixed ${old}` });
	const ev = await B.next((e) => e.type === 'message' && e.subtype === 'message_changed' && e.message && e.message.ts === ts);
	assert.equal(ev.channel, chan.id);
	assert.equal(ev.hidden, true, 'message_changed is hidden');
	assert.equal(ev.message.text, `fixed ${old}`);
	assert.equal(ev.message.user, alice.id);
	assert.ok(ev.message.edited && ev.message.edited.user === alice.id, `message.edited: ${JSON.stringify(ev.message)}`);
	assertTs(ev.message.edited.ts, 'edited.ts');
	assert.equal(typeof ev.previous_message, 'object', `previous_message: ${JSON.stringify(ev)}`);
	assert.equal(ev.previous_message.ts, ts);
	assert.equal(ev.previous_message.text, old);
	assertTs(ev.event_ts, 'event_ts');
	await A.next((e) => e.subtype === 'message_changed' && e.message && e.message.ts === ts);
	const h = await bob.client.conversations.history({ channel: chan.id, latest: ts, oldest: ts, inclusive: true });
	assert.equal(h.messages[0].text, `fixed ${old}`, 'edit durable when delivered');
});

test('delete -> message_deleted with deleted_ts and previous_message', async () => {
	const { alice, bob } = env.fx;
	const text = `oops ${uniq('d')}`;
	const { ts } = await alice.client.chat.postMessage({ channel: chan.id, text });
	await B.next(isMsg(ts));
	await alice.client.chat.delete({ channel: chan.id, ts });
	const ev = await B.next((e) => e.type === 'message' && e.subtype === 'message_deleted' && e.deleted_ts === ts);
	assert.equal(ev.channel, chan.id);
	assert.equal(ev.hidden, true);
	assert.equal(typeof ev.previous_message, 'object', `previous_message: ${JSON.stringify(ev)}`);
	assert.equal(ev.previous_message.text, text);
	assert.equal(ev.previous_message.ts, ts);
	const h = await bob.client.conversations.history({ channel: chan.id, latest: ts, oldest: ts, inclusive: true });
	assert.ok(!h.messages.some((m) => m.ts === ts), 'delete durable when delivered');
	await A.next((e) => e.subtype === 'message_deleted' && e.deleted_ts === ts);
});

test('reaction_added / reaction_removed', async () => {
	const { alice, bob } = env.fx;
	const { ts } = await alice.client.chat.postMessage({ channel: chan.id, text: `react to me ${uniq('r')}` });
	await bob.client.reactions.add({ channel: chan.id, timestamp: ts, name: 'tada' });
	const ev = await A.next((e) => e.type === 'reaction_added' && e.item && e.item.ts === ts);
	assert.equal(ev.user, bob.id);
	assert.equal(ev.reaction, 'tada');
	assert.deepEqual({ type: ev.item.type, channel: ev.item.channel, ts: ev.item.ts }, { type: 'message', channel: chan.id, ts });
	assert.equal(ev.item_user, alice.id);
	assertTs(ev.event_ts, 'event_ts');
	const g = await alice.client.reactions.get({ channel: chan.id, timestamp: ts });
	assert.ok((g.message.reactions || []).some((r) => r.name === 'tada'), 'reaction durable when delivered');
	await B.next((e) => e.type === 'reaction_added' && e.item && e.item.ts === ts);

	await bob.client.reactions.remove({ channel: chan.id, timestamp: ts, name: 'tada' });
	const rm = await A.next((e) => e.type === 'reaction_removed' && e.item && e.item.ts === ts);
	assert.equal(rm.user, bob.id);
	assert.equal(rm.reaction, 'tada');
	assert.equal(rm.item.type, 'message');
	assert.equal(rm.item.channel, chan.id);
	assert.equal(rm.item_user, alice.id);
});

test('thread reply: message with thread_ts, message_replied for the parent, broadcast -> thread_broadcast', async () => {
	const { alice, bob } = env.fx;
	const parent = (await alice.client.chat.postMessage({ channel: chan.id, text: `thread root ${uniq('t')}` })).ts;
	const rtext = `a reply ${uniq('t')}`;
	const reply = (await bob.client.chat.postMessage({ channel: chan.id, text: rtext, thread_ts: parent })).ts;
	const ev = await A.next(isMsg(reply));
	const rep = await alice.client.conversations.replies({ channel: chan.id, ts: parent });
	assert.ok(rep.messages.some((m) => m.ts === reply), 'reply durable when delivered');
	assert.equal(ev.thread_ts, parent);
	assert.equal(ev.user, bob.id);
	assert.equal(ev.text, rtext);
	assert.equal(ev.channel, chan.id);
	assert.equal(ev.event_ts, reply);
	const mr = await A.next((e) => e.type === 'message' && e.subtype === 'message_replied' && e.message && e.message.ts === parent);
	assert.equal(mr.channel, chan.id);
	assert.equal(mr.hidden, true);
	assert.equal(mr.message.thread_ts, parent);
	assert.equal(mr.message.reply_count, 1, `message_replied.message: ${JSON.stringify(mr.message)}`);
	await B.next(isMsg(reply));

	const btext = `broadcast ${uniq('t')}`;
	const bts = (await bob.client.chat.postMessage({ channel: chan.id, text: btext, thread_ts: parent, reply_broadcast: true })).ts;
	const bev = await A.next((e) => e.type === 'message' && e.ts === bts);
	assert.equal(bev.subtype, 'thread_broadcast', `broadcast event: ${JSON.stringify(bev)}`);
	assert.equal(bev.thread_ts, parent);
	assert.equal(bev.text, btext);
	assert.equal(bev.user, bob.id);
	assert.ok(bev.root && bev.root.ts === parent, `thread_broadcast.root: ${JSON.stringify(bev.root)}`);
	const mr2 = await A.next((e) => e.subtype === 'message_replied' && e.message && e.message.ts === parent && e.message.reply_count === 2);
	assert.equal(mr2.message.thread_ts, parent);
});

test('typing -> user_typing to the other members, not to the sender', async () => {
	const { bob } = env.fx;
	const from = B.mark();
	const fa = A.mark();
	B.send({ type: 'typing', channel: chan.id });
	const ev = await A.next((e) => e.type === 'user_typing' && e.channel === chan.id && e.user === bob.id, EVENT_TIMEOUT_MS, fa);
	assert.deepEqual({ type: ev.type, channel: ev.channel, user: ev.user }, { type: 'user_typing', channel: chan.id, user: bob.id });
	await T.next((e) => e.type === 'user_typing' && e.channel === chan.id && e.user === bob.id);
	// The sender's own socket: its pong comes after anything queued for it.
	await B.ping();
	assert.deepEqual(B.all((e) => e.type === 'user_typing', from), [], 'sender socket got its own user_typing');
});

test('typing in a thread -> user_typing with thread_ts; a bad thread_ts is an error event', async () => {
	const { alice, bob } = env.fx;
	const parent = (await alice.client.chat.postMessage({ channel: chan.id, text: 'thread for typing' })).ts;
	const fa = A.mark();
	const fb = B.mark();
	B.send({ type: 'typing', channel: chan.id, thread_ts: parent });
	const ev = await A.next((e) => e.type === 'user_typing' && e.channel === chan.id && e.user === bob.id && e.thread_ts === parent,
		EVENT_TIMEOUT_MS, fa, 'user_typing with thread_ts');
	assert.deepEqual(ev, { type: 'user_typing', channel: chan.id, thread_ts: parent, user: bob.id });
	await T.next((e) => e.type === 'user_typing' && e.thread_ts === parent && e.user === bob.id);
	// Channel-level typing still has no thread_ts.
	B.send({ type: 'typing', channel: chan.id });
	const plainEv = await A.next((e) => e.type === 'user_typing' && e.user === bob.id && !('thread_ts' in e), EVENT_TIMEOUT_MS, fa);
	assert.deepEqual(plainEv, { type: 'user_typing', channel: chan.id, user: bob.id });
	await B.ping();
	assert.deepEqual(B.all((e) => e.type === 'user_typing', fb), [], 'sender socket got its own user_typing');

	// Malformed thread_ts: an error event answering the id, nothing to anyone.
	const fa2 = A.mark();
	const bad = [42, 'abc', '', '1.2.3', '-5', '1712345678.1234567', { ts: parent }, [parent], true];
	for (const [i, t] of bad.entries()) {
		const from = B.mark();
		B.send({ type: 'typing', channel: chan.id, thread_ts: t, id: 900 + i });
		const err = await B.next((e) => e.type === 'error' && e.reply_to === 900 + i, EVENT_TIMEOUT_MS, from, `error for thread_ts ${JSON.stringify(t)}`);
		assert.equal(err.ok, false);
		assert.equal(err.error.code, 6, `error shape: ${JSON.stringify(err)}`);
	}
	// thread_ts in a channel bob is not in: channel error, as without it.
	const other = (await alice.client.conversations.create({ name: uniq('rt-thr-priv'), is_private: true })).channel;
	const from = B.mark();
	B.send({ type: 'typing', channel: other.id, thread_ts: parent, id: 990 });
	const cerr = await B.next((e) => e.type === 'error' && e.reply_to === 990, EVENT_TIMEOUT_MS, from);
	assert.equal(cerr.error.code, 4, `error shape: ${JSON.stringify(cerr)}`);
	const sentinel = (await bob.client.chat.postMessage({ channel: chan.id, text: 'after bad typing' })).ts;
	await A.none((e) => e.type === 'user_typing', isMsg(sentinel), { from: fa2, what: 'user_typing from a malformed typing message' });
	assert.equal(B.closeInfo, null, 'socket still open');
});

test('channel_created (to everyone), channel_joined, channel_rename, channel_archive, channel_unarchive, topic', async () => {
	const { alice, bob } = env.fx;
	const name = uniq('rt-life');
	const c = (await alice.client.conversations.create({ name })).channel;
	for (const [who, s] of [['bob', B], ['bot', T], ['alice', A]]) {
		const ev = await s.next((e) => e.type === 'channel_created' && e.channel && e.channel.id === c.id, EVENT_TIMEOUT_MS, 0, `channel_created to ${who}`);
		assert.equal(ev.channel.name, name);
		assert.equal(ev.channel.creator, alice.id);
		assert.ok(Number.isInteger(ev.channel.created), `channel.created: ${JSON.stringify(ev.channel)}`);
	}

	await alice.client.conversations.invite({ channel: c.id, users: bob.id });
	const cj = await B.next((e) => e.type === 'channel_joined' && e.channel && e.channel.id === c.id);
	assert.equal(cj.channel.name, name);
	const mj = await A.next((e) => e.type === 'member_joined_channel' && e.channel === c.id && e.user === bob.id);
	assert.equal(mj.inviter, alice.id);
	const sys = await A.next((e) => e.type === 'message' && e.subtype === 'channel_join' && e.channel === c.id && e.user === bob.id,
		EVENT_TIMEOUT_MS, 0, "channel_join system message for bob");
	assertTs(sys.ts, 'channel_join ts');

	const newName = uniq('rt-renamed');
	await alice.client.conversations.rename({ channel: c.id, name: newName });
	for (const s of [A, B]) {
		const ev = await s.next((e) => e.type === 'channel_rename' && e.channel && e.channel.id === c.id);
		assert.equal(ev.channel.name, newName);
	}

	await alice.client.conversations.setTopic({ channel: c.id, topic: 'new topic' });
	const tp = await B.next((e) => e.type === 'message' && e.subtype === 'channel_topic' && e.channel === c.id);
	assert.equal(tp.topic, 'new topic');
	assert.equal(tp.user, alice.id);

	await alice.client.conversations.archive({ channel: c.id });
	const ar = await B.next((e) => e.type === 'channel_archive' && e.channel === c.id);
	assert.equal(ar.user, alice.id);
	await A.next((e) => e.type === 'channel_archive' && e.channel === c.id);
	await alice.client.conversations.unarchive({ channel: c.id });
	const un = await B.next((e) => e.type === 'channel_unarchive' && e.channel === c.id);
	assert.equal(un.user, alice.id);
});

test('member_joined_channel / member_left_channel; channel_joined / channel_left to the joiner / leaver', async () => {
	const { org, alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('rt-members') })).channel;
	await bob.client.conversations.join({ channel: c.id });
	const mj = await A.next((e) => e.type === 'member_joined_channel' && e.channel === c.id && e.user === bob.id);
	assert.equal(typeof mj.channel_type, 'string', `member_joined_channel: ${JSON.stringify(mj)}`);
	assert.equal(mj.team, org.id);
	assert.equal(mj.inviter, undefined, 'no inviter on a self-join');
	const cj = await B.next((e) => e.type === 'channel_joined' && e.channel && e.channel.id === c.id);
	assert.equal(cj.channel.id, c.id);

	const from = B.mark();
	await bob.client.conversations.leave({ channel: c.id });
	const ml = await A.next((e) => e.type === 'member_left_channel' && e.channel === c.id && e.user === bob.id);
	assert.equal(ml.team, org.id);
	assert.equal(typeof ml.channel_type, 'string');
	const cl = await B.next((e) => e.type === 'channel_left' && e.channel === c.id, EVENT_TIMEOUT_MS, from);
	assert.equal(cl.channel, c.id);

	// After leaving, bob gets nothing more from it; sentinel in chan.
	const gone = `after leave ${uniq('l')}`;
	await alice.client.chat.postMessage({ channel: c.id, text: gone });
	const sentinel = (await alice.client.chat.postMessage({ channel: chan.id, text: `sentinel ${uniq('s')}` })).ts;
	await B.none((e) => e.channel === c.id && e.type === 'message' && e.text === gone, isMsg(sentinel), { from, what: 'message after leave' });

	// Kick: member_left_channel to the others, channel_left to the kicked.
	await alice.client.conversations.invite({ channel: c.id, users: bob.id });
	await B.next((e) => e.type === 'channel_joined' && e.channel && e.channel.id === c.id, EVENT_TIMEOUT_MS, from);
	const f2 = B.mark();
	const fa = A.mark();
	await alice.client.conversations.kick({ channel: c.id, user: bob.id });
	await A.next((e) => e.type === 'member_left_channel' && e.channel === c.id && e.user === bob.id, EVENT_TIMEOUT_MS, fa);
	await B.next((e) => e.type === 'channel_left' && e.channel === c.id, EVENT_TIMEOUT_MS, f2);
});

test('pin_added / pin_removed', async () => {
	const { alice, bob } = env.fx;
	const { ts } = await alice.client.chat.postMessage({ channel: chan.id, text: `pin me ${uniq('p')}` });
	await bob.client.pins.add({ channel: chan.id, timestamp: ts });
	const ev = await A.next((e) => e.type === 'pin_added' && e.item && e.item.message && e.item.message.ts === ts);
	assert.equal(ev.user, bob.id);
	assert.equal(ev.channel_id, chan.id);
	assert.equal(ev.item.type, 'message');
	assert.equal(ev.item.channel, chan.id);
	assertTs(ev.event_ts, 'event_ts');
	const pl = await alice.client.pins.list({ channel: chan.id });
	assert.ok(pl.items.some((i) => i.message && i.message.ts === ts), 'pin durable when delivered');
	await B.next((e) => e.type === 'pin_added' && e.item && e.item.message && e.item.message.ts === ts);

	await bob.client.pins.remove({ channel: chan.id, timestamp: ts });
	const rm = await A.next((e) => e.type === 'pin_removed' && e.item && e.item.message && e.item.message.ts === ts);
	assert.equal(rm.user, bob.id);
	assert.equal(rm.channel_id, chan.id);
});

test('user_change on users.profile.set, to the org', async () => {
	const { bob } = env.fx;
	const status = `busy ${uniq('s')}`;
	await bob.client.users.profile.set({ profile: { status_text: status, status_emoji: ':no_entry:' } });
	for (const [who, s] of [['alice', A], ['bot', T], ['bob', B]]) {
		const ev = await s.next((e) => e.type === 'user_change' && e.user && e.user.id === bob.id && e.user.profile && e.user.profile.status_text === status, EVENT_TIMEOUT_MS, 0, `user_change to ${who}`);
		assert.equal(ev.user.profile.status_emoji, ':no_entry:');
		assert.equal(ev.user.name, 'bob');
	}
});

test('usergroups: subteam_created, subteam_updated (update, users.update, disable)', async () => {
	const { alice, bob } = env.fx;
	const handle = uniq('coreseniors');
	const g = (await alice.client.usergroups.create({ name: `Core ${handle}`, handle })).usergroup;
	const cr = await B.next((e) => e.type === 'subteam_created' && e.subteam && e.subteam.id === g.id);
	assert.equal(cr.subteam.handle, handle);
	assert.equal(cr.subteam.name, `Core ${handle}`);
	await T.next((e) => e.type === 'subteam_created' && e.subteam && e.subteam.id === g.id);

	await alice.client.usergroups.update({ usergroup: g.id, name: `Renamed ${handle}` });
	await B.next((e) => e.type === 'subteam_updated' && e.subteam && e.subteam.id === g.id && e.subteam.name === `Renamed ${handle}`);

	await alice.client.usergroups.users.update({ usergroup: g.id, users: `${bob.id},${alice.id}` });
	const up = await B.next((e) => e.type === 'subteam_updated' && e.subteam && e.subteam.id === g.id && Array.isArray(e.subteam.users) && e.subteam.users.length === 2,
		EVENT_TIMEOUT_MS, 0, 'subteam_updated with users [alice, bob]');
	assert.deepEqual([...up.subteam.users].sort(), [alice.id, bob.id].sort());

	await alice.client.usergroups.disable({ usergroup: g.id });
	await B.next((e) => e.type === 'subteam_updated' && e.subteam && e.subteam.id === g.id && e.subteam.date_delete > 0,
		EVENT_TIMEOUT_MS, 0, 'subteam_updated with date_delete > 0');
});

test('two sockets of the same user both receive', async () => {
	const { alice, bob } = env.fx;
	const A2 = await connect(alice.client, { label: 'alice#2' });
	const { ts } = await bob.client.chat.postMessage({ channel: chan.id, text: `to both tabs ${uniq('x')}` });
	const e1 = await A.next(isMsg(ts));
	const e2 = await A2.next(isMsg(ts));
	assert.deepEqual(e1, e2, 'same event on both sockets');
	await bob.client.reactions.add({ channel: chan.id, timestamp: ts, name: 'eyes' });
	await A.next((e) => e.type === 'reaction_added' && e.item && e.item.ts === ts);
	await A2.next((e) => e.type === 'reaction_added' && e.item && e.item.ts === ts);
	// Closing one leaves the other working.
	await A2.close();
	const t2 = (await bob.client.chat.postMessage({ channel: chan.id, text: `after tab closed ${uniq('x')}` })).ts;
	await A.next(isMsg(t2));
	// And the sockets of different users are independent: bob's has both.
	await B.next(isMsg(ts));
	await B.next(isMsg(t2));
});

test('mention flag: <@U>, <!channel>, <!everyone> flag the targets; others get the same event unflagged', async () => {
	const { alice, bob, bot } = env.fx;
	const t1 = (await alice.client.chat.postMessage({ channel: chan.id, text: `hey <@${bob.id}>, look` })).ts;
	assert.equal((await B.next(isMsg(t1))).mentioned, true, 'bob by <@bob>');
	assert.equal((await T.next(isMsg(t1))).mentioned, undefined, 'bot not flagged by <@bob>');
	const t2 = (await alice.client.chat.postMessage({ channel: chan.id, text: `<@${bot.bot_user_id}> deploy` })).ts;
	assert.equal((await T.next(isMsg(t2))).mentioned, true, 'bot by <@bot>');
	assert.equal((await B.next(isMsg(t2))).mentioned, undefined, 'bob not flagged by <@bot>');
	for (const kw of ['<!channel>', '<!everyone>', '<!channel|@channel>']) {
		const t = (await alice.client.chat.postMessage({ channel: chan.id, text: `${kw} meeting` })).ts;
		assert.equal((await B.next(isMsg(t))).mentioned, true, `bob by ${kw}`);
		assert.equal((await T.next(isMsg(t))).mentioned, true, `bot by ${kw}`);
	}
	// Not mentions: an unknown user id, text that only looks like one.
	const t3 = (await alice.client.chat.postMessage({ channel: chan.id, text: `<@U0NOSUCHUSR> and @bob and <#${chan.id}> and ${bob.id}` })).ts;
	assert.equal((await B.next(isMsg(t3))).mentioned, undefined, 'no flag without a real mention of bob');
	// A thread reply mentioning bob is flagged too.
	const t4 = (await alice.client.chat.postMessage({ channel: chan.id, text: `in thread <@${bob.id}>`, thread_ts: t1 })).ts;
	assert.equal((await B.next(isMsg(t4))).mentioned, true, 'thread reply mention');
});

// Not in the written contract, but rt.h has rt_drop_token_sessions: a
// revoked token must not keep a live event stream.
test('auth.revoke closes the sockets opened with that token', async () => {
	const { org, alice } = env.fx;
	const dan = await createUser(env.srv, org.id, uniq('dan'));
	await alice.client.conversations.invite({ channel: chan.id, users: dan.id });
	const D = await connect(dan.client, { label: 'dan' });
	await dan.client.auth.revoke();
	const ci = await D.waitClosed();
	assert.equal(ci.code, 1008, `revoked token's socket: ${JSON.stringify(ci)}`);
	const t = (await alice.client.chat.postMessage({ channel: chan.id, text: `after revoke ${uniq('r')}` })).ts;
	await A.next(isMsg(t));
	assert.ok(!D.events.some(isMsg(t)), 'nothing delivered after revoke');
});
