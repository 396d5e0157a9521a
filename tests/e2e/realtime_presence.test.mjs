// Presence (connect/disconnect, presence_sub, presence_query,
// users.setPresence) and live mentions: @here reaches online members only,
// @usergroup reaches group members who can see the channel.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq, createUser, expectError } from './lib/fixture.mjs';
import { connect, closeAll, EVENT_TIMEOUT_MS } from './lib/rtm.mjs';

let carol, dave, erin, frank;
let everyone; // public channel with every user (sentinels)
const env = useServer({ setup: async () => {
	const { org, alice, bob } = env.fx;
	carol = await createUser(env.srv, org.id, 'carol');
	dave = await createUser(env.srv, org.id, 'dave');
	erin = await createUser(env.srv, org.id, 'erin');
	frank = await createUser(env.srv, org.id, 'frank');
	everyone = (await alice.client.conversations.create({ name: uniq('rt-all') })).channel;
	await alice.client.conversations.invite({ channel: everyone.id, users: [bob, carol, dave, erin, frank].map((u) => u.id).join(',') });
} });
after(closeAll);

async function presenceOf(asker, user) {
	const r = await asker.client.users.getPresence({ user: user.id });
	assert.equal(r.ok, true);
	assert.ok(['active', 'away'].includes(r.presence), `users.getPresence: ${JSON.stringify(r)}`);
	return r.presence;
}
function waitPresence(asker, user, want, what = '') {
	return waitFor(async () => (await presenceOf(asker, user)) === want, { timeoutMs: EVENT_TIMEOUT_MS, what: `${user.name} ${want} ${what}` });
}
const pc = (user, presence) => (e) => e.type === 'presence_change' && e.user === user.id && (!presence || e.presence === presence);
const msgTs = (ts) => (e) => e.type === 'message' && e.ts === ts;
async function sentinel(text = `sentinel ${uniq('s')}`) {
	return (await env.fx.alice.client.chat.postMessage({ channel: everyone.id, text })).ts;
}

test('presence: away with no socket, active while one is open, away after the last closes', async () => {
	const { alice, bob } = env.fx;
	assert.equal(await presenceOf(bob, alice), 'away', 'no socket yet');
	const W = await connect(bob.client, { label: 'bob-watch' });
	W.send({ type: 'presence_sub', ids: [alice.id] });
	await W.ping();
	const fromSub = W.mark();

	const A1 = await connect(alice.client, { label: 'alice#1' });
	const ev = await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, fromSub);
	assert.deepEqual({ type: ev.type, user: ev.user, presence: ev.presence }, { type: 'presence_change', user: alice.id, presence: 'active' });
	await waitPresence(bob, alice, 'active', 'after connect');
	assert.equal(await presenceOf(alice, alice), 'active', 'own presence');

	// A second socket: still active; closing one of two changes nothing.
	const A2 = await connect(alice.client, { label: 'alice#2' });
	const from = W.mark();
	await A1.close();
	assert.equal(await presenceOf(bob, alice), 'active', 'one socket left');
	await W.ping();
	assert.deepEqual(W.all(pc(alice), from), [], 'no presence_change while a socket is still open');

	await A2.close();
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, from);
	await waitPresence(bob, alice, 'away', 'after the last socket closed');
	// Only one active/away pair each way.
	assert.deepEqual(W.all(pc(alice), fromSub).map((e) => e.presence), ['active', 'away']);

	// A socket killed without a close handshake counts too.
	const f3 = W.mark();
	const A3 = await connect(alice.client, { label: 'alice#3' });
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, f3);
	const f4 = W.mark();
	A3.ws.terminate();
	await W.next(pc(alice, 'away'), 10000, f4);
	await waitPresence(bob, alice, 'away', 'after a dropped TCP connection');
	await W.close();
});

test('presence_change only to sockets subscribed to that user; presence_sub replaces', async () => {
	const { alice, bob } = env.fx;
	const W = await connect(bob.client, { label: 'bob-sub' });
	const E = await connect(erin.client, { label: 'erin-nosub' }); // never subscribes
	W.send({ type: 'presence_sub', ids: [alice.id] });
	await W.ping();
	const from = W.mark();
	const fromE = E.mark();

	const C = await connect(carol.client, { label: 'carol' }); // bob does not follow carol
	const A = await connect(alice.client, { label: 'alice' });
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, from);
	assert.deepEqual(W.all(pc(carol), from), [], 'bob is not subscribed to carol');

	// Replace the subscription: carol only.
	W.send({ type: 'presence_sub', ids: [carol.id] });
	await W.ping();
	const from2 = W.mark();
	await A.close();
	await waitPresence(bob, alice, 'away');
	await C.close();
	await W.next(pc(carol, 'away'), EVENT_TIMEOUT_MS, from2);
	assert.deepEqual(W.all(pc(alice), from2), [], 'alice dropped from the subscription');

	// erin never subscribed: no presence_change at all.
	const s = await sentinel();
	await E.none((e) => e.type === 'presence_change', msgTs(s), { from: fromE, what: 'presence_change without presence_sub' });
	await W.close();
	await E.close();
});

test('presence_query answers presence_change for each id', async () => {
	const { alice, bob } = env.fx;
	const A = await connect(alice.client, { label: 'alice' });
	const W = await connect(bob.client, { label: 'bob-query' });
	const from = W.mark();
	W.send({ type: 'presence_query', ids: [alice.id, dave.id] });
	const a = await W.next(pc(alice), EVENT_TIMEOUT_MS, from);
	const d = await W.next(pc(dave), EVENT_TIMEOUT_MS, from);
	assert.equal(a.presence, 'active');
	assert.equal(d.presence, 'away');
	await A.close();
	await W.close();
});

test('users.setPresence away while connected, auto brings it back; invalid values refused', async () => {
	const { alice, bob } = env.fx;
	const A = await connect(alice.client, { label: 'alice' });
	const W = await connect(bob.client, { label: 'bob-manual' });
	W.send({ type: 'presence_sub', ids: [alice.id] });
	await W.ping();
	await waitPresence(bob, alice, 'active');
	const from = W.mark();

	await alice.client.users.setPresence({ presence: 'away' });
	assert.equal(await presenceOf(bob, alice), 'away', 'manual away while connected');
	assert.equal(await presenceOf(alice, alice), 'away', 'own view');
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, from);

	await alice.client.users.setPresence({ presence: 'auto' });
	assert.equal(await presenceOf(bob, alice), 'active', 'auto while connected');
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, from);
	assert.deepEqual(W.all(pc(alice), from).map((e) => e.presence), ['away', 'active']);

	await expectError(alice.client.users.setPresence({ presence: 'busy' }), ['invalid_presence', 'invalid_arguments']);
	assert.equal(await presenceOf(bob, alice), 'active');
	await A.close();
	await waitPresence(bob, alice, 'away');
	await W.close();
});

test('@here flags online members only; @channel flags every member', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('rt-here') })).channel;
	await alice.client.conversations.invite({ channel: ch.id, users: [bob, carol, dave, erin].map((u) => u.id).join(',') });
	const B = await connect(bob.client, { label: 'bob' });
	const C = await connect(carol.client, { label: 'carol' });
	const E = await connect(erin.client, { label: 'erin' });
	await erin.client.users.setPresence({ presence: 'away' }); // connected but away
	// dave is offline.
	try {
		const here = (await alice.client.chat.postMessage({ channel: ch.id, text: '<!here> standup in 5' })).ts;
		const b = await B.next(msgTs(here));
		const c = await C.next(msgTs(here));
		const e = await E.next(msgTs(here));
		assert.equal(b.mentioned, true, `bob (online) @here: ${JSON.stringify(b)}`);
		assert.equal(c.mentioned, true, 'carol (online) @here');
		assert.equal(e.mentioned, undefined, `erin (connected, manually away) must not be flagged by @here: ${JSON.stringify(e)}`);
		// Checked at the end, so that the rest is checked whatever this says.
		const daveAfterHere = (await dave.client.conversations.info({ channel: ch.id })).channel;
		const erinAfterHere = (await erin.client.conversations.info({ channel: ch.id })).channel;
		const bi = await bob.client.conversations.info({ channel: ch.id });
		assert.equal(bi.channel.mention_count, 1, `bob mention_count after @here: ${JSON.stringify(bi.channel)}`);

		const all = (await alice.client.chat.postMessage({ channel: ch.id, text: '<!channel> release today' })).ts;
		for (const [who, s] of [['bob', B], ['carol', C], ['erin', E]]) {
			const ev = await s.next(msgTs(all));
			assert.equal(ev.mentioned, true, `${who} @channel`);
		}
		const di2 = await dave.client.conversations.info({ channel: ch.id });
		assert.equal(di2.channel.mention_count, daveAfterHere.mention_count + 1, `dave (offline) is mentioned by @channel: ${JSON.stringify(di2.channel)}`);

		const one = (await alice.client.chat.postMessage({ channel: ch.id, text: `<@${carol.id}> can you look?` })).ts;
		assert.equal((await C.next(msgTs(one))).mentioned, true, 'carol by <@carol>');
		assert.equal((await B.next(msgTs(one))).mentioned, undefined, 'bob not flagged by <@carol>');
		const plain = (await alice.client.chat.postMessage({ channel: ch.id, text: 'no mentions here' })).ts;
		assert.equal((await B.next(msgTs(plain))).mentioned, undefined);
		// Only the flag differs.
		const b2 = { ...(await C.next(msgTs(one))) };
		delete b2.mentioned;
		assert.deepEqual(b2, await B.next(msgTs(one)), 'same event apart from "mentioned"');
		assert.equal(erinAfterHere.mention_count, 0, `erin (connected, manually away) must not be counted as mentioned by @here: ${JSON.stringify(erinAfterHere)}`);
		assert.equal(daveAfterHere.mention_count, 0, `dave (offline) must not be counted as mentioned by @here: ${JSON.stringify(daveAfterHere)}`);
	} finally {
		await erin.client.users.setPresence({ presence: 'auto' });
		await Promise.all([B.close(), C.close(), E.close()]);
	}
});

test('@usergroup flags online group members who can see the channel, and only them', async () => {
	const { alice, bob } = env.fx;
	const handle = uniq('coreseniors');
	const g = (await alice.client.usergroups.create({ name: `Core seniors ${handle}`, handle })).usergroup;
	await alice.client.usergroups.users.update({ usergroup: g.id, users: [bob, carol, dave, frank].map((u) => u.id).join(',') });
	const ch = (await alice.client.conversations.create({ name: uniq('rt-support') })).channel;
	await alice.client.conversations.invite({ channel: ch.id, users: [bob, carol, dave, erin].map((u) => u.id).join(',') });
	const priv = (await alice.client.conversations.create({ name: uniq('rt-escalations'), is_private: true })).channel;
	await alice.client.conversations.invite({ channel: priv.id, users: bob.id });

	const B = await connect(bob.client, { label: 'bob' });
	const C = await connect(carol.client, { label: 'carol' });
	const E = await connect(erin.client, { label: 'erin' });
	const F = await connect(frank.client, { label: 'frank' }); // in the group, not in either channel
	const fromF = F.mark();
	const fromC = C.mark();

	const text = `<!subteam^${g.id}|@${handle}>, can someone check this case?`;
	const ts = (await alice.client.chat.postMessage({ channel: ch.id, text })).ts;
	assert.equal((await B.next(msgTs(ts))).mentioned, true, 'bob (group member, online, channel member)');
	assert.equal((await C.next(msgTs(ts))).mentioned, true, 'carol (group member, online, channel member)');
	const e = await E.next(msgTs(ts));
	assert.equal(e.text, text);
	assert.equal(e.mentioned, undefined, 'erin (not in the group) gets the message unflagged');

	// In a private channel only its members hear about it.
	const pts = (await alice.client.chat.postMessage({ channel: priv.id, text: `<!subteam^${g.id}> urgent` })).ts;
	assert.equal((await B.next(msgTs(pts))).mentioned, true, 'bob in the private channel');

	const s = await sentinel();
	await F.none((x) => x.type === 'message' && (x.ts === ts || x.ts === pts), msgTs(s), { from: fromF, what: 'frank (group member, not a channel member)' });
	await C.none((x) => x.channel === priv.id || x.ts === pts, msgTs(s), { from: fromC, what: 'carol (group member, not in the private channel)' });
	await E.none((x) => x.channel === priv.id, msgTs(s), { what: 'erin and the private channel' });

	// Mention counts follow: bob counted in both, erin in neither.
	const bi = await bob.client.conversations.info({ channel: ch.id });
	assert.equal(bi.channel.mention_count, 1, `bob mention_count: ${JSON.stringify(bi.channel)}`);
	const ei = await erin.client.conversations.info({ channel: ch.id });
	assert.equal(ei.channel.mention_count, 0, `erin mention_count: ${JSON.stringify(ei.channel)}`);
	const ci = await carol.client.apiCall('client.counts');
	assert.ok(!ci.channels.some((x) => x.id === priv.id), 'carol has no counts for the private channel');
	await Promise.all([B.close(), C.close(), E.close(), F.close()]);
});
