// Races: the same write sent many times at once must take effect exactly
// once, with Slack's error for the losers, and leave consistent state.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { uniq, collect, createUser } from './lib/fixture.mjs';

const env = useServer();

// Runs all calls at once; returns { ok: [results], errors: {code: count} }.
async function race(calls) {
	const settled = await Promise.allSettled(calls.map((f) => f()));
	const ok = [];
	const errors = {};
	for (const s of settled) {
		if (s.status === 'fulfilled') ok.push(s.value);
		else if (s.reason?.code === 'slack_webapi_platform_error') errors[s.reason.data.error] = (errors[s.reason.data.error] || 0) + 1;
		else errors[`transport:${s.reason?.message}`] = (errors[`transport:${s.reason?.message}`] || 0) + 1;
	}
	return { ok, errors };
}

test('concurrent conversations.create with one name: one wins, the rest name_taken', async () => {
	const { alice, bob } = env.fx;
	const name = uniq('race');
	const r = await race(Array.from({ length: 12 }, (_, i) => () => (i % 2 ? alice : bob).client.conversations.create({ name })));
	assert.equal(r.ok.length, 1, `exactly one create succeeds: ${JSON.stringify(r.errors)}`);
	assert.deepEqual(r.errors, { name_taken: 11 });
	const all = await collect(alice.client, 'conversations.list', {}, 'channels', 200);
	assert.equal(all.filter((c) => c.name === name).length, 1, 'one channel with that name');
});

test('concurrent reactions.add by one user: one ok, the rest already_reacted', async () => {
	const { alice } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('rrace') })).channel.id;
	const ts = (await alice.client.chat.postMessage({ channel: ch, text: 'race me' })).ts;
	const r = await race(Array.from({ length: 10 }, () => () => alice.client.reactions.add({ channel: ch, timestamp: ts, name: 'eyes' })));
	assert.equal(r.ok.length, 1);
	assert.deepEqual(r.errors, { already_reacted: 9 });
	const g = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	assert.deepEqual(g.message.reactions, [{ name: 'eyes', users: [alice.id], count: 1 }]);
});

test('concurrent reactions by many users all count', async () => {
	const { alice, org } = env.fx;
	const users = [];
	for (let i = 0; i < 8; i++) users.push(await createUser(env.srv, org.id, uniq('fan')));
	const ch = (await alice.client.conversations.create({ name: uniq('fans') })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: users.map((u) => u.id).join(',') });
	const ts = (await alice.client.chat.postMessage({ channel: ch, text: 'vote' })).ts;
	const r = await race(users.map((u) => () => u.client.reactions.add({ channel: ch, timestamp: ts, name: 'white_check_mark' })));
	assert.equal(r.ok.length, users.length, JSON.stringify(r.errors));
	const g = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	const rx = g.message.reactions.find((x) => x.name === 'white_check_mark');
	assert.equal(rx.count, users.length);
	assert.deepEqual([...rx.users].sort(), users.map((u) => u.id).sort());
	// And removing them all at once leaves nothing.
	const r2 = await race(users.map((u) => () => u.client.reactions.remove({ channel: ch, timestamp: ts, name: 'white_check_mark' })));
	assert.equal(r2.ok.length, users.length, JSON.stringify(r2.errors));
	const g2 = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	assert.ok(!g2.message.reactions || g2.message.reactions.length === 0);
});

test('concurrent conversations.open for the same pair returns one DM', async () => {
	const { alice, org } = env.fx;
	const dave = await createUser(env.srv, org.id, uniq('dave'));
	const r = await race(Array.from({ length: 10 }, (_, i) => () => (i % 2 ? alice.client.conversations.open({ users: dave.id }) : dave.client.conversations.open({ users: alice.id }))));
	assert.equal(r.ok.length, 10, JSON.stringify(r.errors));
	const ids = new Set(r.ok.map((x) => x.channel.id));
	assert.equal(ids.size, 1, `one DM id, got ${[...ids]}`);
	const ims = await collect(alice.client, 'conversations.list', { types: 'im' }, 'channels', 200);
	assert.equal(ims.filter((c) => c.user === dave.id).length, 1, 'one IM with dave in the list');
});

test('concurrent invites of one user: member once, one channel_join', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('irace') })).channel.id;
	const r = await race(Array.from({ length: 8 }, () => () => alice.client.conversations.invite({ channel: ch, users: bob.id })));
	assert.equal(r.ok.length, 1, JSON.stringify(r.errors));
	assert.deepEqual(r.errors, { already_in_channel: 7 });
	const m = (await alice.client.conversations.members({ channel: ch })).members;
	assert.equal(m.filter((x) => x === bob.id).length, 1);
	const h = await alice.client.conversations.history({ channel: ch });
	assert.equal(h.messages.filter((x) => x.subtype === 'channel_join' && x.user === bob.id).length, 1);
});

test('concurrent joins of one user', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('jrace') })).channel.id;
	const r = await race(Array.from({ length: 8 }, () => () => bob.client.conversations.join({ channel: ch })));
	assert.equal(r.ok.length, 8, JSON.stringify(r.errors));
	assert.equal(r.ok.filter((x) => x.warning === 'already_in_channel').length, 7, 'seven already_in_channel warnings');
	const m = (await alice.client.conversations.members({ channel: ch })).members;
	assert.equal(m.filter((x) => x === bob.id).length, 1);
});

test('concurrent usergroups.create with one handle: one wins', async () => {
	const { alice } = env.fx;
	const handle = uniq('grace');
	const r = await race(Array.from({ length: 8 }, (_, i) => () => alice.client.usergroups.create({ name: `${handle} ${i}`, handle })));
	assert.equal(r.ok.length, 1, JSON.stringify(r.errors));
	assert.deepEqual(r.errors, { handle_already_exists: 7 });
});

test('concurrent pins.add: one ok, the rest already_pinned', async () => {
	const { alice } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('prace') })).channel.id;
	const ts = (await alice.client.chat.postMessage({ channel: ch, text: 'pin race' })).ts;
	const r = await race(Array.from({ length: 8 }, () => () => alice.client.pins.add({ channel: ch, timestamp: ts })));
	assert.equal(r.ok.length, 1, JSON.stringify(r.errors));
	assert.deepEqual(r.errors, { already_pinned: 7 });
	assert.equal((await alice.client.pins.list({ channel: ch })).items.length, 1);
});

test('concurrent delete and update of one message', async () => {
	const { alice } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('drace') })).channel.id;
	const ts = (await alice.client.chat.postMessage({ channel: ch, text: 'contended' })).ts;
	const r = await race([
		...Array.from({ length: 4 }, () => () => alice.client.chat.delete({ channel: ch, ts })),
		...Array.from({ length: 4 }, (_, i) => () => alice.client.chat.update({ channel: ch, ts, text: `v${i}` })),
	]);
	const deletes = r.ok.filter((x) => x.text === undefined).length;
	assert.equal(deletes, 1, `exactly one delete succeeds: ok=${JSON.stringify(r.ok)} errors=${JSON.stringify(r.errors)}`);
	for (const k of Object.keys(r.errors)) assert.equal(k, 'message_not_found', `unexpected error ${k}`);
	const h = await alice.client.conversations.history({ channel: ch });
	assert.ok(!h.messages.some((m) => m.ts === ts), 'message gone');
});

test('writes to many channels at once keep per-channel order and counts', async () => {
	const { alice, bob } = env.fx;
	const chans = [];
	for (let i = 0; i < 5; i++) {
		const c = (await alice.client.conversations.create({ name: uniq('many') })).channel.id;
		await alice.client.conversations.invite({ channel: c, users: bob.id });
		chans.push(c);
	}
	const calls = [];
	for (const c of chans) for (let i = 0; i < 20; i++) calls.push(() => (i % 2 ? alice : bob).client.chat.postMessage({ channel: c, text: `${c} ${i}` }));
	const r = await race(calls);
	assert.equal(r.ok.length, 100, JSON.stringify(r.errors));
	for (const c of chans) {
		const mine = r.ok.filter((x) => x.channel === c).map((x) => x.ts);
		const h = await alice.client.conversations.history({ channel: c, limit: 200 });
		const got = h.messages.filter((m) => !m.subtype).map((m) => m.ts);
		assert.equal(got.length, 20);
		assert.deepEqual([...got].sort(), [...mine].sort());
	}
});
