// Read cursors and unread / mention counts: conversations.mark moves
// last_read and tells every socket of that user (channel_marked,
// group_marked, im_marked); client.counts and conversations.info agree.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer } from './lib/server.mjs';
import { uniq, createUser, assertTs } from './lib/fixture.mjs';
import { connect, closeAll, EVENT_TIMEOUT_MS } from './lib/rtm.mjs';

let carol;
let side; // public channel alice + bob for sentinels
let A1, A2, B; // alice's two sockets, bob's socket
const env = useServer({ setup: async () => {
	const { org, alice, bob } = env.fx;
	carol = await createUser(env.srv, org.id, 'carol');
	side = (await alice.client.conversations.create({ name: uniq('rt-side') })).channel;
	await alice.client.conversations.invite({ channel: side.id, users: bob.id });
	A1 = await connect(alice.client, { label: 'alice#1' });
	A2 = await connect(alice.client, { label: 'alice#2' });
	B = await connect(bob.client, { label: 'bob' });
} });
after(closeAll);

const msgTs = (ts) => (e) => e.type === 'message' && e.ts === ts;

async function counts(user, id) {
	const r = await user.client.apiCall('client.counts');
	assert.equal(r.ok, true);
	for (const k of ['channels', 'mpims', 'ims']) assert.ok(Array.isArray(r[k]), `client.counts.${k}: ${JSON.stringify(r).slice(0, 500)}`);
	const all = [...r.channels, ...r.mpims, ...r.ims];
	const e = all.find((x) => x.id === id);
	assert.ok(e, `client.counts has no entry for ${id}: ${JSON.stringify(r).slice(0, 2000)}`);
	return { entry: e, r };
}

// client.counts and conversations.info must say the same; returns both.
async function checkCounts(user, id, want, what) {
	const { entry } = await counts(user, id);
	const info = (await user.client.conversations.info({ channel: id })).channel;
	const got = { unread_count: entry.unread_count, mention_count: entry.mention_count, has_unreads: entry.has_unreads };
	assert.deepEqual(got, { unread_count: want.unread, mention_count: want.mentions, has_unreads: want.unread > 0 }, `${what}: client.counts entry ${JSON.stringify(entry)}`);
	assert.equal(info.unread_count, want.unread, `${what}: conversations.info unread_count (${JSON.stringify(info)})`);
	assert.equal(info.mention_count, want.mentions, `${what}: conversations.info mention_count`);
	if (want.last_read) {
		assert.equal(entry.last_read, want.last_read, `${what}: client.counts last_read`);
		assert.equal(info.last_read, want.last_read, `${what}: conversations.info last_read`);
	}
	if (want.latest) assert.equal(entry.latest, want.latest, `${what}: client.counts latest`);
	return { entry, info };
}

async function markBoth(user, channel, ts, type) {
	const f1 = A1.mark();
	const f2 = A2.mark();
	const r = await user.client.conversations.mark({ channel, ts });
	assert.equal(r.ok, true);
	const types = Array.isArray(type) ? type : [type];
	const pred = (e) => types.includes(e.type) && e.channel === channel && e.ts === ts;
	const e1 = await A1.next(pred, EVENT_TIMEOUT_MS, f1, `${type} ${channel} ${ts} on alice#1`);
	await A2.next(pred, EVENT_TIMEOUT_MS, f2, `${type} ${channel} ${ts} on alice#2`);
	return e1;
}

async function latestTs(client, channel) {
	const h = await client.conversations.history({ channel, limit: 1 });
	return h.messages[0].ts;
}

test('channel: counts follow posts and marks; both sockets get channel_marked; the other user gets nothing', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('rt-unread') })).channel;
	await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
	const start = await latestTs(alice.client, ch.id);
	const fromB = B.mark();
	const ev0 = await markBoth(alice, ch.id, start, 'channel_marked');
	assertTs(ev0.ts, 'channel_marked.ts');
	await checkCounts(alice, ch.id, { unread: 0, mentions: 0, last_read: start }, 'after marking everything read');

	const m1 = (await bob.client.chat.postMessage({ channel: ch.id, text: `<@${alice.id}> please review` })).ts;
	const m2 = (await bob.client.chat.postMessage({ channel: ch.id, text: 'second' })).ts;
	const m3 = (await bob.client.chat.postMessage({ channel: ch.id, text: 'third' })).ts;
	const ev = await A1.next(msgTs(m1));
	assert.equal(ev.mentioned, true, 'mention flagged for alice');
	await checkCounts(alice, ch.id, { unread: 3, mentions: 1, last_read: start, latest: m3 }, '3 new, 1 mention');

	await markBoth(alice, ch.id, m2, 'channel_marked');
	await checkCounts(alice, ch.id, { unread: 1, mentions: 0, last_read: m2, latest: m3 }, 'marked at the 2nd');
	await markBoth(alice, ch.id, m3, 'channel_marked');
	await checkCounts(alice, ch.id, { unread: 0, mentions: 0, last_read: m3, latest: m3 }, 'marked at the latest');
	// Marking back ("mark unread") moves the cursor back.
	await markBoth(alice, ch.id, start, 'channel_marked');
	await checkCounts(alice, ch.id, { unread: 3, mentions: 1, last_read: start }, 'marked back to the start');
	await markBoth(alice, ch.id, m3, 'channel_marked');

	// @channel counts as a mention.
	const m4 = (await bob.client.chat.postMessage({ channel: ch.id, text: '<!channel> heads up' })).ts;
	await checkCounts(alice, ch.id, { unread: 1, mentions: 1, last_read: m3, latest: m4 }, '@channel');
	await markBoth(alice, ch.id, m4, 'channel_marked');

	// bob got none of alice's marks.
	const s = (await bob.client.chat.postMessage({ channel: side.id, text: `sentinel ${uniq('s')}` })).ts;
	await B.none((e) => ['channel_marked', 'group_marked', 'im_marked'].includes(e.type), msgTs(s), { from: fromB, what: "bob got alice's read marks" });
});

test('private channel -> group_marked; DM -> im_marked (ims[]); group DM -> mpims[]', async () => {
	const { alice, bob } = env.fx;
	const g = (await alice.client.conversations.create({ name: uniq('rt-unread-priv'), is_private: true })).channel;
	await alice.client.conversations.invite({ channel: g.id, users: bob.id });
	await markBoth(alice, g.id, await latestTs(alice.client, g.id), 'group_marked');
	const p1 = (await bob.client.chat.postMessage({ channel: g.id, text: 'private 1' })).ts;
	const p2 = (await bob.client.chat.postMessage({ channel: g.id, text: `private 2 <@${alice.id}>` })).ts;
	await checkCounts(alice, g.id, { unread: 2, mentions: 1, latest: p2 }, 'private channel');
	await markBoth(alice, g.id, p1, 'group_marked');
	await checkCounts(alice, g.id, { unread: 1, mentions: 1, last_read: p1 }, 'private channel after mark');

	const dm = (await bob.client.conversations.open({ users: alice.id })).channel.id;
	const d1 = (await bob.client.chat.postMessage({ channel: dm, text: 'dm 1' })).ts;
	const d2 = (await bob.client.chat.postMessage({ channel: dm, text: 'dm 2' })).ts;
	const { entry, r } = await counts(alice, dm);
	assert.ok(r.ims.some((x) => x.id === dm), `the DM is listed in ims[]: ${JSON.stringify(r)}`);
	assert.equal(entry.unread_count, 2, `DM unread: ${JSON.stringify(entry)}`);
	assert.equal(entry.has_unreads, true);
	assert.equal(entry.latest, d2);
	const di = (await alice.client.conversations.info({ channel: dm })).channel;
	assert.equal(di.unread_count, 2, `DM conversations.info: ${JSON.stringify(di)}`);
	await markBoth(alice, dm, d1, 'im_marked');
	assert.equal((await counts(alice, dm)).entry.unread_count, 1);
	assert.equal((await alice.client.conversations.info({ channel: dm })).channel.unread_count, 1);
	await markBoth(alice, dm, d2, 'im_marked');
	assert.equal((await counts(alice, dm)).entry.has_unreads, false);

	const mp = (await bob.client.conversations.open({ users: `${alice.id},${carol.id}` })).channel.id;
	const q = (await carol.client.chat.postMessage({ channel: mp, text: 'group dm' })).ts;
	const m = await counts(alice, mp);
	assert.ok(m.r.mpims.some((x) => x.id === mp), `the group DM is listed in mpims[]: ${JSON.stringify(m.r)}`);
	assert.equal(m.entry.unread_count, 1);
	assert.equal(m.entry.latest, q);
	// The contract names no event for group DMs: Slack's legacy group_marked, or mpim_marked.
	await markBoth(alice, mp, q, ['group_marked', 'mpim_marked']);
	assert.equal((await counts(alice, mp)).entry.unread_count, 0);
});

test('counts are per user and survive reconnecting', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('rt-unread-2') })).channel;
	await alice.client.conversations.invite({ channel: ch.id, users: `${bob.id},${carol.id}` });
	for (const u of [alice, bob, carol]) await u.client.conversations.mark({ channel: ch.id, ts: await latestTs(alice.client, ch.id) });
	const t1 = (await carol.client.chat.postMessage({ channel: ch.id, text: `<@${bob.id}> one` })).ts;
	const t2 = (await carol.client.chat.postMessage({ channel: ch.id, text: 'two' })).ts;
	await checkCounts(bob, ch.id, { unread: 2, mentions: 1, latest: t2 }, 'bob');
	await checkCounts(alice, ch.id, { unread: 2, mentions: 0, latest: t2 }, 'alice');
	await bob.client.conversations.mark({ channel: ch.id, ts: t1 });
	await checkCounts(bob, ch.id, { unread: 1, mentions: 0, last_read: t1 }, 'bob after his mark');
	await checkCounts(alice, ch.id, { unread: 2, mentions: 0 }, 'alice unaffected by bob');
	// A fresh socket and fresh calls see the same.
	const A3 = await connect(alice.client, { label: 'alice#3' });
	await checkCounts(alice, ch.id, { unread: 2, mentions: 0, latest: t2 }, 'alice after reconnect');
	await A3.close();
});
