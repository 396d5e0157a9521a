// chat.* methods and the message shapes of conversations.history/replies.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq, assertTs, tsCmp, plain } from './lib/fixture.mjs';

const env = useServer();

// A public channel created by alice with bob and the bot as members.
async function room(prefix = 'chat') {
	const { alice, bob, bot } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq(prefix) })).channel;
	await alice.client.conversations.invite({ channel: c.id, users: `${bob.id},${bot.bot_user_id}` });
	return c.id;
}

test('chat.postMessage by a user: response shape', async () => {
	const { org, alice } = env.fx;
	const ch = await room();
	const r = await alice.client.chat.postMessage({ channel: ch, text: 'hello world' });
	assert.equal(r.ok, true);
	assert.equal(r.channel, ch);
	assertTs(r.ts);
	assert.equal(typeof r.message, 'object');
	assert.equal(r.message.type, 'message');
	assert.equal(r.message.text, 'hello world');
	assert.equal(r.message.user, alice.id);
	assert.equal(r.message.ts, r.ts);
	assert.equal(r.message.team, org.id);
	assert.equal(r.message.bot_id, undefined, 'user posts carry no bot_id');
	assert.equal(r.message.subtype, undefined);
});

test('chat.postMessage by a bot: bot_id and user = bot user', async () => {
	const { org, bot } = env.fx;
	const ch = await room();
	const r = await bot.client.chat.postMessage({ channel: ch, text: 'beep' });
	assertTs(r.ts);
	assert.equal(r.channel, ch);
	assert.equal(r.message.type, 'message');
	assert.equal(r.message.text, 'beep');
	assert.equal(r.message.user, bot.bot_user_id);
	assert.equal(r.message.bot_id, bot.bot_id);
	assert.equal(r.message.team, org.id);
	assert.equal(r.message.ts, r.ts);
	if (r.message.app_id !== undefined) assert.equal(r.message.app_id, bot.id);
	// Same in history (Bolt's ignoreSelf depends on it).
	const h = await bot.client.conversations.history({ channel: ch, limit: 10 });
	const m = h.messages.find((x) => x.ts === r.ts);
	assert.ok(m, 'bot message in history');
	assert.equal(m.bot_id, bot.bot_id);
	assert.equal(m.user, bot.bot_user_id);
});

test('chat.postMessage: mentions round-trip and channel given by #name', async () => {
	const { alice, bob } = env.fx;
	const name = uniq('named');
	const ch = (await alice.client.conversations.create({ name })).channel.id;
	const text = `hi <@${bob.id}> see <#${ch}> and <!here>`;
	const r = await alice.client.chat.postMessage({ channel: ch, text });
	assert.equal(r.message.text, text);
	const r2 = await alice.client.chat.postMessage({ channel: `#${name}`, text: 'by name' });
	assert.equal(r2.channel, ch, 'channel "#name" resolves to the channel id');
});

test('chat.postMessage with blocks only', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*bold* move' } }];
	const r = await alice.client.chat.postMessage({ channel: ch, blocks });
	assertTs(r.ts);
	assert.ok(Array.isArray(r.message.blocks), 'message.blocks echoed');
	assert.equal(r.message.blocks[0].type, 'section');
	assert.equal(r.message.blocks[0].text.text, '*bold* move');
	const h = await alice.client.conversations.history({ channel: ch, limit: 5 });
	const m = h.messages.find((x) => x.ts === r.ts);
	assert.equal(m.blocks[0].text.text, '*bold* move');
});

test('ts values are unique and increasing under concurrent posting', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const posts = await Promise.all(
		Array.from({ length: 30 }, (_, i) => (i % 2 ? alice : bob).client.chat.postMessage({ channel: ch, text: `m${i}` })),
	);
	const tss = posts.map((p) => p.ts);
	tss.forEach((t) => assertTs(t));
	assert.equal(new Set(tss).size, 30, 'every ts unique');
	const h = await alice.client.conversations.history({ channel: ch, limit: 100 });
	const got = plain(h.messages).map((m) => m.ts);
	assert.deepEqual(got, [...tss].sort(tsCmp).reverse(), 'history newest first, all 30 present');
});

test('threads: history excludes replies, carries the thread summary; replies parent first', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const m1 = await alice.client.chat.postMessage({ channel: ch, text: 'one' });
	const parent = await alice.client.chat.postMessage({ channel: ch, text: 'parent' });
	const r1 = await bob.client.chat.postMessage({ channel: ch, text: 'reply 1', thread_ts: parent.ts });
	assert.equal(r1.message.thread_ts, parent.ts, 'reply message.thread_ts');
	const r2 = await alice.client.chat.postMessage({ channel: ch, text: 'reply 2', thread_ts: parent.ts });
	const m3 = await bob.client.chat.postMessage({ channel: ch, text: 'three' });
	for (const t of [r1.ts, r2.ts]) assert.ok(tsCmp(t, parent.ts) > 0, 'reply ts > parent ts');

	const h = await alice.client.conversations.history({ channel: ch });
	for (const m of h.messages) {
		assert.equal(m.type, 'message', `type of ${JSON.stringify(m).slice(0, 200)}`);
		assertTs(m.ts, 'history ts');
		assert.equal(typeof m.text, 'string', 'history text');
		assert.match(m.user, /^[UW][A-Z0-9]+$/, 'history user');
	}
	const msgs = plain(h.messages);
	assert.deepEqual(msgs.map((m) => m.text), ['three', 'parent', 'one'], 'newest first, replies excluded');
	assert.equal(h.has_more, false);
	const p = msgs[1];
	assert.equal(p.ts, parent.ts);
	assert.equal(p.thread_ts, parent.ts, 'parent thread_ts = own ts');
	assert.equal(p.reply_count, 2);
	assert.equal(p.reply_users_count, 2);
	assert.deepEqual([...p.reply_users].sort(), [alice.id, bob.id].sort());
	assert.equal(p.latest_reply, r2.ts);
	assert.equal(msgs[0].reply_count, undefined, 'no thread summary on a message without replies');
	assert.equal(msgs[0].ts, m3.ts);
	assert.equal(msgs[2].ts, m1.ts);

	const rep = await bob.client.conversations.replies({ channel: ch, ts: parent.ts });
	assert.deepEqual(rep.messages.map((m) => m.ts), [parent.ts, r1.ts, r2.ts], 'parent first then oldest->newest');
	assert.equal(rep.has_more, false);
	assert.equal(rep.messages[0].reply_count, 2);
	assert.equal(rep.messages[1].thread_ts, parent.ts);
	assert.equal(rep.messages[1].parent_user_id, alice.id);
	assert.equal(rep.messages[1].user, bob.id);
	assert.equal(rep.messages[2].text, 'reply 2');

	// Asking with a reply's ts returns the whole thread.
	const rep2 = await alice.client.conversations.replies({ channel: ch, ts: r1.ts });
	assert.deepEqual(rep2.messages.map((m) => m.ts), [parent.ts, r1.ts, r2.ts]);

	// A message without replies: replies returns just it.
	const rep3 = await alice.client.conversations.replies({ channel: ch, ts: m1.ts });
	assert.deepEqual(rep3.messages.map((m) => m.ts), [m1.ts]);
});

test('thread reply with reply_broadcast appears in history as thread_broadcast', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const parent = await alice.client.chat.postMessage({ channel: ch, text: 'parent' });
	const b = await bob.client.chat.postMessage({ channel: ch, text: 'loud reply', thread_ts: parent.ts, reply_broadcast: true });
	const h = await alice.client.conversations.history({ channel: ch });
	const m = h.messages.find((x) => x.ts === b.ts);
	assert.ok(m, 'broadcast reply is in history');
	assert.equal(m.subtype, 'thread_broadcast');
	assert.equal(m.thread_ts, parent.ts);
});

test('conversations.replies on unknown ts -> thread_not_found (or message_not_found)', async () => {
	const { alice } = env.fx;
	const ch = await room();
	await expectError(alice.client.conversations.replies({ channel: ch, ts: '1000000000.000001' }), ['thread_not_found', 'message_not_found']);
});

test('chat.postMessage thread_ts pointing nowhere is rejected', async () => {
	const { alice } = env.fx;
	const ch = await room();
	// Slack answers invalid_thread_ts / thread_not_found; it must not create an orphan reply.
	await expectError(
		alice.client.chat.postMessage({ channel: ch, text: 'orphan', thread_ts: '1000000000.000001' }),
		['invalid_thread_ts', 'thread_not_found', 'message_not_found'],
	);
});

test('chat.update: edited marker, text change visible in history', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const p = await alice.client.chat.postMessage({ channel: ch, text: 'typo' });
	const u = await alice.client.chat.update({ channel: ch, ts: p.ts, text: 'fixed' });
	assert.equal(u.ok, true);
	assert.equal(u.channel, ch);
	assert.equal(u.ts, p.ts, 'edit keeps ts');
	assert.equal(u.text, 'fixed');
	if (u.message) {
		assert.equal(u.message.text, 'fixed');
		assert.equal(u.message.edited?.user, alice.id);
	}
	const h = await alice.client.conversations.history({ channel: ch, limit: 10 });
	const m = h.messages.find((x) => x.ts === p.ts);
	assert.equal(m.text, 'fixed');
	assert.ok(m.edited, 'history message has edited');
	assert.equal(m.edited.user, alice.id);
	assertTs(m.edited.ts, 'edited.ts');
	assert.ok(tsCmp(m.edited.ts, p.ts) >= 0, 'edited.ts not before the message');
	assert.equal(plain(h.messages).length, 1, 'no duplicate message after update');
});

test('chat.update by a bot of its own message', async () => {
	const { bot } = env.fx;
	const ch = await room();
	const p = await bot.client.chat.postMessage({ channel: ch, text: 'v1' });
	const u = await bot.client.chat.update({ channel: ch, ts: p.ts, text: 'v2' });
	assert.equal(u.text, 'v2');
});

test('chat.update errors: cant_update_message, message_not_found, no_text', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const p = await alice.client.chat.postMessage({ channel: ch, text: 'mine' });
	await expectError(bob.client.chat.update({ channel: ch, ts: p.ts, text: 'hijack' }), 'cant_update_message', 'bob editing alice');
	await expectError(alice.client.chat.update({ channel: ch, ts: '1000000000.000001', text: 'x' }), 'message_not_found');
	await expectError(alice.client.chat.update({ channel: ch, ts: p.ts, text: '' }), 'no_text', 'update with empty text');
	await expectError(alice.client.chat.update({ channel: ch, ts: p.ts, text: 'x'.repeat(40001) }), 'msg_too_long');
	const h = await alice.client.conversations.history({ channel: ch, limit: 10 });
	assert.equal(h.messages.find((x) => x.ts === p.ts).text, 'mine', 'unchanged after failed edits');
});

test('chat.delete: removes from history, second delete -> message_not_found', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const keep = await alice.client.chat.postMessage({ channel: ch, text: 'keep' });
	const p = await alice.client.chat.postMessage({ channel: ch, text: 'doomed' });
	const d = await alice.client.chat.delete({ channel: ch, ts: p.ts });
	assert.equal(d.ok, true);
	assert.equal(d.channel, ch);
	assert.equal(d.ts, p.ts);
	const h = await alice.client.conversations.history({ channel: ch });
	assert.deepEqual(plain(h.messages).map((m) => m.ts), [keep.ts]);
	await expectError(alice.client.chat.delete({ channel: ch, ts: p.ts }), 'message_not_found', 'second delete');
	await expectError(alice.client.chat.update({ channel: ch, ts: p.ts, text: 'zombie' }), 'message_not_found', 'update deleted');
	await expectError(bob.client.chat.delete({ channel: ch, ts: keep.ts }), 'cant_delete_message', 'bob deleting alice');
});

test('chat.delete of a thread reply updates the parent summary', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const parent = await alice.client.chat.postMessage({ channel: ch, text: 'parent' });
	const r1 = await bob.client.chat.postMessage({ channel: ch, text: 'r1', thread_ts: parent.ts });
	const r2 = await bob.client.chat.postMessage({ channel: ch, text: 'r2', thread_ts: parent.ts });
	await bob.client.chat.delete({ channel: ch, ts: r2.ts });
	const rep = await alice.client.conversations.replies({ channel: ch, ts: parent.ts });
	assert.deepEqual(rep.messages.map((m) => m.ts), [parent.ts, r1.ts]);
	const h = await alice.client.conversations.history({ channel: ch });
	const p = h.messages.find((m) => m.ts === parent.ts);
	assert.equal(p.reply_count, 1);
	assert.equal(p.latest_reply, r1.ts);
});

test('chat.getPermalink', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const p = await alice.client.chat.postMessage({ channel: ch, text: 'link me' });
	const r = await alice.client.chat.getPermalink({ channel: ch, message_ts: p.ts });
	assert.equal(r.ok, true);
	assert.equal(r.channel, ch);
	assert.equal(typeof r.permalink, 'string');
	assert.match(r.permalink, /^https?:\/\//);
	assert.ok(r.permalink.includes(ch), 'permalink names the channel');
	assert.ok(r.permalink.includes('p' + p.ts.replace('.', '')), `permalink has p<ts without dot>: ${r.permalink}`);
	await expectError(alice.client.chat.getPermalink({ channel: ch, message_ts: '1000000000.000001' }), 'message_not_found');
});

test('chat.meMessage is stored with subtype me_message', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const r = await alice.client.chat.meMessage({ channel: ch, text: 'waves' });
	assert.equal(r.ok, true);
	assert.equal(r.channel, ch);
	assertTs(r.ts);
	const h = await alice.client.conversations.history({ channel: ch, limit: 10 });
	const m = h.messages.find((x) => x.ts === r.ts);
	assert.ok(m, 'me_message in history');
	assert.equal(m.subtype, 'me_message');
	assert.equal(m.text, 'waves');
	assert.equal(m.user, alice.id);
});

test('text limits: 40000 chars ok, 40001 -> msg_too_long; no text -> no_text', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const ok = await alice.client.chat.postMessage({ channel: ch, text: 'é'.repeat(40000) });
	assert.equal(ok.message.text.length, 40000, 'limit counts characters, not bytes');
	await expectError(alice.client.chat.postMessage({ channel: ch, text: 'x'.repeat(40001) }), 'msg_too_long');
	await expectError(alice.client.chat.postMessage({ channel: ch }), 'no_text', 'no text, no blocks');
	await expectError(alice.client.chat.postMessage({ channel: ch, text: '' }), 'no_text', 'empty text');
	const h = await alice.client.conversations.history({ channel: ch, limit: 10 });
	assert.equal(plain(h.messages).length, 1, 'failed posts stored nothing');
});

test('chat.postMessage errors: channel_not_found, not_in_channel for a bot that did not join', async () => {
	const { alice, bot } = env.fx;
	await expectError(alice.client.chat.postMessage({ channel: 'C0NOSUCHCH', text: 'x' }), 'channel_not_found');
	await expectError(alice.client.chat.postMessage({ channel: '#no-such-channel-here', text: 'x' }), 'channel_not_found');
	const ch = (await alice.client.conversations.create({ name: uniq('nobot') })).channel.id;
	await expectError(bot.client.chat.postMessage({ channel: ch, text: 'x' }), 'not_in_channel', 'bot not a member');
	// After joining it can post.
	await bot.client.conversations.join({ channel: ch });
	const r = await bot.client.chat.postMessage({ channel: ch, text: 'now I can' });
	assertTs(r.ts);
});

test('bot posting to a user id lands in the bot<->user DM', async () => {
	const { bob, bot } = env.fx;
	const r = await bot.client.chat.postMessage({ channel: bob.id, text: 'psst' });
	assert.match(r.channel, /^D/, 'DM channel id');
	const h = await bob.client.conversations.history({ channel: r.channel });
	assert.ok(h.messages.some((m) => m.ts === r.ts && m.text === 'psst'), 'bob sees the DM');
	const o = await bob.client.conversations.open({ users: bot.bot_user_id });
	assert.equal(o.channel.id, r.channel, 'same DM as conversations.open');
});

test('reactions are shown on messages in history', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const p = await alice.client.chat.postMessage({ channel: ch, text: 'react to me' });
	await bob.client.reactions.add({ channel: ch, timestamp: p.ts, name: 'eyes' });
	await alice.client.reactions.add({ channel: ch, timestamp: p.ts, name: 'eyes' });
	await alice.client.reactions.add({ channel: ch, timestamp: p.ts, name: 'white_check_mark' });
	const h = await alice.client.conversations.history({ channel: ch, limit: 10 });
	const m = h.messages.find((x) => x.ts === p.ts);
	assert.ok(Array.isArray(m.reactions), 'reactions array');
	const eyes = m.reactions.find((r) => r.name === 'eyes');
	assert.equal(eyes.count, 2);
	assert.deepEqual([...eyes.users].sort(), [alice.id, bob.id].sort());
	const ok = m.reactions.find((r) => r.name === 'white_check_mark');
	assert.deepEqual(ok.users, [alice.id]);
	assert.equal(ok.count, 1);
	const other = (await alice.client.chat.postMessage({ channel: ch, text: 'no reactions' })).ts;
	const h2 = await alice.client.conversations.history({ channel: ch, limit: 10 });
	assert.equal(h2.messages.find((x) => x.ts === other).reactions, undefined, 'reactions omitted when none');
});

test('history window: oldest, latest, inclusive, limit, has_more', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const t = [];
	for (let i = 0; i < 5; i++) t.push((await alice.client.chat.postMessage({ channel: ch, text: `w${i}` })).ts);
	const win = async (opts) => plain((await alice.client.conversations.history({ channel: ch, ...opts })).messages).map((m) => m.ts);

	assert.deepEqual(await win({ oldest: t[1], latest: t[3] }), [t[2]], 'exclusive both ends');
	assert.deepEqual(await win({ oldest: t[1], latest: t[3], inclusive: true }), [t[3], t[2], t[1]], 'inclusive both ends');
	assert.deepEqual(await win({ oldest: t[2] }), [t[4], t[3]], 'oldest exclusive');
	assert.deepEqual(await win({ oldest: t[2], inclusive: true }), [t[4], t[3], t[2]], 'oldest inclusive');
	assert.deepEqual((await win({ latest: t[1] })).slice(0, 1), [t[0]], 'latest exclusive');
	assert.deepEqual((await win({ latest: t[1], inclusive: true })).slice(0, 2), [t[1], t[0]], 'latest inclusive');
	// Seconds-only bounds are accepted.
	const secs = t[0].split('.')[0];
	assert.ok((await win({ oldest: String(Number(secs) - 1) })).length >= 5, 'integer oldest accepted');

	const lim = await alice.client.conversations.history({ channel: ch, limit: 2 });
	assert.equal(lim.messages.length, 2);
	assert.deepEqual(lim.messages.map((m) => m.ts), [t[4], t[3]]);
	assert.equal(lim.has_more, true);
	assert.ok(lim.response_metadata?.next_cursor, 'next_cursor when has_more');
	const all = await alice.client.conversations.history({ channel: ch, oldest: t[0], inclusive: true });
	assert.equal(all.has_more, false);

	await expectError(alice.client.conversations.history({ channel: ch, latest: 'yesterday' }), ['invalid_ts_latest', 'invalid_arguments']);
	await expectError(alice.client.conversations.history({ channel: ch, oldest: 'abc' }), ['invalid_ts_oldest', 'invalid_arguments']);
});

test('text with quotes, backslashes, control characters and non-ASCII round-trips exactly', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const texts = [
		'quote " backslash \\ slash / tab \t newline \n cr \r end',
		'unicode: déjà vu — 日本語 — 🚀🔥 — \u2028\u2029',
		'json-ish {"a":[1,2]} and </script>',
		'percent %41 plus + amp-free',
	];
	for (const text of texts) {
		const r = await alice.client.chat.postMessage({ channel: ch, text });
		assert.equal(r.message.text, text, `postMessage echo of ${JSON.stringify(text)}`);
		const h = await alice.client.conversations.history({ channel: ch, latest: r.ts, inclusive: true, limit: 1 });
		assert.equal(h.messages[0].ts, r.ts);
		assert.equal(h.messages[0].text, text, `history of ${JSON.stringify(text)}`);
	}
});

test('C0 control characters are either kept or stripped, never break JSON', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const text = 'controls \u0001\u0002\u001f and del \u007f end';
	const r = await alice.client.chat.postMessage({ channel: ch, text });
	const stripped = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
	assert.ok([text, stripped].includes(r.message.text), `echo ${JSON.stringify(r.message.text)}`);
	const h = await alice.client.conversations.history({ channel: ch, latest: r.ts, inclusive: true, limit: 1 });
	assert.equal(h.messages[0].text, r.message.text);
});

test('fetching one message: history latest=ts inclusive=true limit=1', async () => {
	const { alice } = env.fx;
	const ch = await room();
	const a = await alice.client.chat.postMessage({ channel: ch, text: 'a' });
	const b = await alice.client.chat.postMessage({ channel: ch, text: 'b' });
	await alice.client.chat.postMessage({ channel: ch, text: 'c' });
	for (const p of [a, b]) {
		const h = await alice.client.conversations.history({ channel: ch, latest: p.ts, inclusive: true, limit: 1 });
		assert.equal(h.messages.length, 1);
		assert.equal(h.messages[0].ts, p.ts);
		assert.equal(h.messages[0].text, p.message.text);
	}
});

test('chat.postMessage with attachments only', async () => {
	const { bot } = env.fx;
	const ch = await room();
	const attachments = [{ fallback: 'build passed', color: '#36a64f', text: 'build passed', fields: [{ title: 'branch', value: 'main', short: true }] }];
	const r = await bot.client.chat.postMessage({ channel: ch, attachments, username: 'ci', icon_emoji: ':robot_face:', unfurl_links: false, mrkdwn: true });
	assertTs(r.ts);
	assert.ok(Array.isArray(r.message.attachments), 'attachments echoed');
	assert.equal(r.message.attachments[0].text, 'build passed');
});

test('replying to a reply stays in the root thread (or is refused), never nests', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const parent = await alice.client.chat.postMessage({ channel: ch, text: 'root' });
	const r1 = await bob.client.chat.postMessage({ channel: ch, text: 'r1', thread_ts: parent.ts });
	let r2;
	try {
		r2 = await alice.client.chat.postMessage({ channel: ch, text: 'r2', thread_ts: r1.ts });
	} catch (e) {
		assert.ok(['cannot_reply_to_message', 'invalid_thread_ts'].includes(e.data?.error), `unexpected ${e.data?.error ?? e}`);
		return;
	}
	assert.equal(r2.message.thread_ts, parent.ts, 'reply to a reply attaches to the root');
	const rep = await alice.client.conversations.replies({ channel: ch, ts: parent.ts });
	assert.deepEqual(rep.messages.map((m) => m.ts), [parent.ts, r1.ts, r2.ts]);
	const h = await alice.client.conversations.history({ channel: ch });
	assert.equal(h.messages.find((m) => m.ts === parent.ts).reply_count, 2);
	assert.equal(h.messages.find((m) => m.ts === r1.ts), undefined);
});

test('reactions and edits on thread replies show in conversations.replies', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const parent = await alice.client.chat.postMessage({ channel: ch, text: 'root' });
	const r1 = await bob.client.chat.postMessage({ channel: ch, text: 'r1', thread_ts: parent.ts });
	await alice.client.reactions.add({ channel: ch, timestamp: r1.ts, name: 'eyes' });
	await bob.client.chat.update({ channel: ch, ts: r1.ts, text: 'r1 edited' });
	const rep = await alice.client.conversations.replies({ channel: ch, ts: parent.ts });
	const m = rep.messages.find((x) => x.ts === r1.ts);
	assert.equal(m.text, 'r1 edited');
	assert.ok(m.edited);
	assert.deepEqual(m.reactions, [{ name: 'eyes', users: [alice.id], count: 1 }]);
	assert.equal(m.thread_ts, parent.ts);
	const g = await alice.client.reactions.get({ channel: ch, timestamp: r1.ts });
	assert.equal(g.message.ts, r1.ts);
});

test('archived channel refuses writes with is_archived', async () => {
	const { alice, bob } = env.fx;
	const ch = await room();
	const p = await alice.client.chat.postMessage({ channel: ch, text: 'before archive' });
	await alice.client.conversations.archive({ channel: ch });
	await expectError(alice.client.chat.postMessage({ channel: ch, text: 'x' }), 'is_archived', 'postMessage');
	await expectError(alice.client.chat.postMessage({ channel: ch, text: 'x', thread_ts: p.ts }), 'is_archived', 'thread reply');
	await expectError(alice.client.chat.meMessage({ channel: ch, text: 'x' }), 'is_archived', 'meMessage');
	await expectError(alice.client.conversations.invite({ channel: ch, users: env.fx.bot.bot_user_id }), 'is_archived', 'invite');
	await expectError(bob.client.conversations.join({ channel: ch }), ['is_archived', 'already_in_channel'], 'join');
	await expectError(alice.client.conversations.setTopic({ channel: ch, topic: 'x' }), 'is_archived', 'setTopic');
	await alice.client.conversations.unarchive({ channel: ch });
	await alice.client.chat.postMessage({ channel: ch, text: 'back' });
});

test('message metadata: stored and returned; bad JSON and bad shape get Slack\'s errors', async () => {
	const { alice } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('meta') })).channel.id;
	const metadata = { event_type: 'case_opened', event_payload: { case: 'CX0000701893' } };
	const r = await alice.client.chat.postMessage({ channel: ch, text: 'with metadata', metadata });
	const h = await alice.client.conversations.history({ channel: ch, include_all_metadata: true, limit: 1 });
	assert.equal(h.messages[0].ts, r.ts);
	assert.deepEqual(h.messages[0].metadata, metadata);
	await expectError(alice.client.apiCall('chat.postMessage', { channel: ch, text: 'x', metadata: '{not json' }),
		'invalid_metadata_format', 'metadata that is not JSON');
	await expectError(alice.client.chat.postMessage({ channel: ch, text: 'x', metadata: { event_type: 7 } }),
		'invalid_metadata_schema', 'metadata without a string event_type');
});
