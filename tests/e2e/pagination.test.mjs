// Cursor pagination through client.paginate with tiny page sizes: every
// item exactly once, cursors never repeat, the loop ends.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { uniq, collect, createUser, tsCmp } from './lib/fixture.mjs';

const extraUsers = [];
const env = useServer({ setup: async () => {
	for (let i = 0; i < 5; i++) extraUsers.push(await createUser(env.srv, env.fx.org.id, uniq('pg')));
} });

function assertOnce(ids, what) {
	const seen = new Map();
	for (const id of ids) seen.set(id, (seen.get(id) || 0) + 1);
	const dups = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id}x${n}`);
	assert.deepEqual(dups, [], `${what}: items seen more than once`);
}

test('conversations.list limit=1', async () => {
	const { alice } = env.fx;
	const made = [];
	for (let i = 0; i < 7; i++) made.push((await alice.client.conversations.create({ name: uniq('plist') })).channel.id);
	const pages = {};
	const items = await collect(alice.client, 'conversations.list', {}, 'channels', 1, { pages });
	const ids = items.map((c) => c.id);
	assertOnce(ids, 'conversations.list');
	for (const id of made) assert.ok(ids.includes(id), `channel ${id} missing from paginated list`);
	assert.ok(pages.count >= made.length, `at least ${made.length} pages, got ${pages.count}`);
	// Same set as one big page.
	const big = await alice.client.conversations.list({ limit: 1000 });
	assert.deepEqual([...ids].sort(), big.channels.map((c) => c.id).sort(), 'paginated == unpaginated');
	assert.ok(!big.response_metadata?.next_cursor, 'no next_cursor on the last page');
});

test('conversations.list with types and exclude_archived, limit=2', async () => {
	const { alice } = env.fx;
	const priv = [];
	for (let i = 0; i < 3; i++) priv.push((await alice.client.conversations.create({ name: uniq('ppriv'), is_private: true })).channel.id);
	const arch = (await alice.client.conversations.create({ name: uniq('parch') })).channel.id;
	await alice.client.conversations.archive({ channel: arch });
	const items = await collect(alice.client, 'conversations.list', { types: 'public_channel,private_channel', exclude_archived: true }, 'channels', 2);
	const ids = items.map((c) => c.id);
	assertOnce(ids, 'conversations.list types');
	for (const id of priv) assert.ok(ids.includes(id));
	assert.ok(!ids.includes(arch), 'archived excluded across pages');
});

test('conversations.members limit=2', async () => {
	const { alice, bob, bot } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('pmem') })).channel.id;
	const expected = [alice.id, bob.id, bot.bot_user_id, ...extraUsers.map((u) => u.id)];
	await alice.client.conversations.invite({ channel: ch, users: expected.slice(1).join(',') });
	const members = await collect(alice.client, 'conversations.members', { channel: ch }, 'members', 2);
	assertOnce(members, 'conversations.members');
	assert.deepEqual([...members].sort(), [...expected].sort());
});

test('users.list limit=2', async () => {
	const { alice, bob, bot } = env.fx;
	const users = await collect(alice.client, 'users.list', {}, 'members', 2);
	const ids = users.map((u) => u.id);
	assertOnce(ids, 'users.list');
	for (const id of [alice.id, bob.id, bot.bot_user_id, ...extraUsers.map((u) => u.id)]) {
		assert.ok(ids.includes(id), `user ${id} missing from paginated users.list`);
	}
	const big = await alice.client.users.list({ limit: 1000 });
	assert.deepEqual([...ids].sort(), big.members.map((u) => u.id).sort(), 'paginated == unpaginated');
});

test('users.conversations limit=1', async () => {
	const { bob } = env.fx;
	const made = [];
	for (let i = 0; i < 4; i++) made.push((await bob.client.conversations.create({ name: uniq('puc') })).channel.id);
	const items = await collect(bob.client, 'users.conversations', {}, 'channels', 1);
	const ids = items.map((c) => c.id);
	assertOnce(ids, 'users.conversations');
	for (const id of made) assert.ok(ids.includes(id));
});

test('conversations.history limit=2 over 25 messages (with a thread)', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('phist') })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: bob.id });
	const posted = [];
	for (let i = 0; i < 25; i++) posted.push((await (i % 3 ? alice : bob).client.chat.postMessage({ channel: ch, text: `msg ${i}` })).ts);
	await bob.client.chat.postMessage({ channel: ch, text: 'hidden reply', thread_ts: posted[10] });
	const pages = {};
	const msgs = await collect(alice.client, 'conversations.history', { channel: ch }, 'messages', 2, { pages });
	const ts = msgs.map((m) => m.ts);
	assertOnce(ts, 'conversations.history');
	const sorted = [...ts].sort(tsCmp).reverse();
	assert.deepEqual(ts, sorted, 'newest first across pages');
	const plainTs = msgs.filter((m) => !m.subtype).map((m) => m.ts);
	assert.deepEqual(plainTs, [...posted].reverse(), 'all 25 messages exactly once, no thread reply');
	assert.ok(pages.count >= 13, `>= 13 pages, got ${pages.count}`);

	// has_more agrees with next_cursor on each page.
	let cursor;
	for (let i = 0; i < 100; i++) {
		const r = await alice.client.conversations.history({ channel: ch, limit: 7, cursor });
		const next = r.response_metadata?.next_cursor || '';
		assert.equal(r.has_more, next !== '', 'has_more iff next_cursor');
		if (!next) break;
		cursor = next;
	}
});

test('conversations.history pagination combined with oldest/latest', async () => {
	const { alice } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('pwin') })).channel.id;
	const t = [];
	for (let i = 0; i < 9; i++) t.push((await alice.client.chat.postMessage({ channel: ch, text: `w${i}` })).ts);
	const msgs = await collect(alice.client, 'conversations.history', { channel: ch, oldest: t[1], latest: t[7] }, 'messages', 2);
	assert.deepEqual(msgs.map((m) => m.ts), t.slice(2, 7).reverse(), 'window respected on every page');
});

test('conversations.replies limit=2 over a long thread', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('prep') })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: bob.id });
	const parent = (await alice.client.chat.postMessage({ channel: ch, text: 'swarm here' })).ts;
	const replies = [];
	for (let i = 0; i < 7; i++) replies.push((await bob.client.chat.postMessage({ channel: ch, text: `r${i}`, thread_ts: parent })).ts);
	const msgs = await collect(alice.client, 'conversations.replies', { channel: ch, ts: parent }, 'messages', 2);
	assert.equal(msgs[0].ts, parent, 'parent first');
	// Slack repeats the parent at the top of each page; replies must each appear once, in order.
	const rest = msgs.filter((m) => m.ts !== parent).map((m) => m.ts);
	assert.deepEqual(rest, replies, 'every reply exactly once, oldest first');
});

test('oversized limit is clamped, not rejected', async () => {
	const { alice } = env.fx;
	assert.equal((await alice.client.conversations.list({ limit: 100000 })).ok, true);
	assert.equal((await alice.client.users.list({ limit: 100000 })).ok, true);
	const ch = (await alice.client.conversations.create({ name: uniq('pclamp') })).channel.id;
	assert.equal((await alice.client.conversations.history({ channel: ch, limit: 100000 })).ok, true);
});
