// search.messages / search.all through @slack/web-api: every modifier of
// the query language, Slack's response shape, paging and sorting, who may
// find what (private channels, DMs, other orgs, through every search
// method), and an index that follows edits and deletions. The index is
// written in the same transaction as the message, so a search right after
// the answer must already see it: no polling.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq, makeFixture, createUser, rawApi } from './lib/fixture.mjs';

let orgB;
const env = useServer({
	setup: async (e) => {
		orgB = await makeFixture(e.srv, { orgName: uniq('OrgB') });
	},
});

// A word no other test uses, one token for the index (letters only).
let wc = 0;
function word() {
	wc++;
	const r = Math.random().toString(36).replace(/[^a-z]/g, '').slice(0, 6);
	return `zq${r}${String.fromCharCode(97 + (wc % 26))}${String.fromCharCode(97 + Math.floor(wc / 26) % 26)}`;
}

async function channel(client, opts = {}) {
	const r = await client.conversations.create({ name: uniq('s'), ...opts });
	return r.channel;
}

async function search(client, query, opts = {}) {
	const r = await client.search.messages({ query, ...opts });
	assert.equal(r.ok, true);
	assert.equal(r.query, query);
	return r.messages;
}

// The texts found, and the ones expected, in the same (sorted) order.
function same(actual, expected, what) {
	assert.deepEqual(actual, [...expected].sort(), what);
}

async function texts(client, query, opts = {}) {
	const m = await search(client, query, { count: 100, ...opts });
	return m.matches.map((x) => x.text).sort();
}

test('search.messages: words, Slack response shape, permalink, username', async () => {
	const { alice, bob } = env.fx;
	const ch = await channel(alice.client);
	await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
	const w1 = word(), w2 = word();
	const p1 = await bob.client.chat.postMessage({ channel: ch.id, text: `the ${w1} broke the ${w2} again` });
	await bob.client.chat.postMessage({ channel: ch.id, text: `only ${w1} here` });

	const m = await search(alice.client, `${w1} ${w2}`);
	assert.equal(m.total, 1, 'both words must match (AND)');
	assert.equal(m.matches.length, 1);
	const hit = m.matches[0];
	assert.equal(hit.type, 'message');
	assert.equal(hit.ts, p1.ts);
	assert.equal(hit.text, `the ${w1} broke the ${w2} again`);
	assert.equal(hit.user, bob.id);
	assert.equal(hit.username, 'bob');
	assert.equal(hit.team, env.fx.org.id);
	assert.equal(typeof hit.iid, 'string');
	assert.equal(typeof hit.score, 'number');
	assert.equal(hit.channel.id, ch.id);
	assert.equal(hit.channel.name, ch.name);
	assert.equal(hit.channel.is_private, false);
	assert.equal(hit.channel.is_channel, true);
	assert.equal(hit.channel.is_im, false);
	assert.equal(hit.channel.is_mpim, false);
	const link = await alice.client.chat.getPermalink({ channel: ch.id, message_ts: p1.ts });
	assert.equal(hit.permalink, link.permalink);
	assert.deepEqual(m.paging, { count: 20, total: 1, page: 1, pages: 1 });
	assert.deepEqual(m.pagination, { total_count: 1, page: 1, per_page: 20, page_count: 1, first: 1, last: 1 });

	// Case-insensitive, and one word finds both.
	assert.equal((await search(alice.client, w1.toUpperCase())).total, 2);
	// Nothing matches: an empty section, not an error.
	const none = await search(alice.client, word());
	assert.equal(none.total, 0);
	assert.deepEqual(none.matches, []);
	assert.equal(none.paging.pages, 0);
});

test('search: "exact phrase", -excluded, word* prefix, stemming', async () => {
	const { alice } = env.fx;
	const ch = await channel(alice.client);
	const a = word(), b = word(), c = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `${a} ${b} first` });
	await alice.client.chat.postMessage({ channel: ch.id, text: `${b} ${a} second` });
	await alice.client.chat.postMessage({ channel: ch.id, text: `${a} ${c} third` });
	same(await texts(alice.client, `"${a} ${b}"`), [`${a} ${b} first`]);
	same(await texts(alice.client, `${a} ${b}`), [`${a} ${b} first`, `${b} ${a} second`]);
	same(await texts(alice.client, `${a} -${c}`), [`${a} ${b} first`, `${b} ${a} second`]);
	same(await texts(alice.client, `${a} -"${b} ${a}"`), [`${a} ${b} first`, `${a} ${c} third`]);
	same(await texts(alice.client, `${a.slice(0, -2)}* third`), [`${a} ${c} third`]);
	// Stemming: a form of the word finds the others.
	const s = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `we ${s}ed it yesterday` });
	same(await texts(alice.client, `${s}ing`), [`we ${s}ed it yesterday`]);
	// Only exclusions: everything visible but those.
	const only = await search(alice.client, `-${a} in:#${ch.name}`);
	assert.deepEqual(only.matches.map((x) => x.text), [`we ${s}ed it yesterday`]);
});

test('search: mrkdwn markup is indexed as a person reads it', async () => {
	const { alice, bob } = env.fx;
	const ch = await channel(alice.client);
	const w = word(), label = word();
	const text = `${w} see <https://example.com/runbook|${label} guide> and <#${ch.id}|${ch.name}> &amp; <@${bob.id}>`;
	await alice.client.chat.postMessage({ channel: ch.id, text });
	same(await texts(alice.client, `"${label} guide"`), [text]);
	same(await texts(alice.client, `${w} example.com`), [text]);
	same(await texts(alice.client, `${w} runbook`), [text]);
	same(await texts(alice.client, `${w} amp`), [], 'entities are not words');
	same(await texts(alice.client, `${w} ${bob.id}`), [text], 'a mention is indexed by its id');
});

test('search: in:#channel, in:<#C…>, in:@user, -in:, unknown in: matches nothing', async () => {
	const { alice, bob } = env.fx;
	const c1 = await channel(alice.client), c2 = await channel(alice.client);
	const w = word();
	await alice.client.chat.postMessage({ channel: c1.id, text: `${w} one` });
	await alice.client.chat.postMessage({ channel: c2.id, text: `${w} two` });
	const dm = (await alice.client.conversations.open({ users: bob.id })).channel.id;
	await bob.client.chat.postMessage({ channel: dm, text: `${w} dm` });

	same(await texts(alice.client, `${w} in:#${c1.name}`), [`${w} one`]);
	same(await texts(alice.client, `${w} in:${c2.name}`), [`${w} two`]);
	same(await texts(alice.client, `${w} in:<#${c2.id}|${c2.name}>`), [`${w} two`]);
	same(await texts(alice.client, `${w} in:${c1.id}`), [`${w} one`]);
	same(await texts(alice.client, `${w} in:@bob`), [`${w} dm`]);
	same(await texts(bob.client, `${w} in:@alice`), [`${w} dm`]);
	same(await texts(alice.client, `${w} in:#${c1.name} in:#${c2.name}`), [`${w} one`, `${w} two`]);
	same(await texts(alice.client, `${w} -in:#${c1.name}`), [`${w} dm`, `${w} two`]);
	const unknown = await search(alice.client, `${w} in:#no-such-channel-here`);
	assert.equal(unknown.total, 0);
	same(await texts(alice.client, `${w} in:@nobody-by-that-name`), []);
	// The DM is found without in: too, with Slack's DM channel shape.
	const all = await search(alice.client, `${w} dm`);
	assert.equal(all.total, 1);
	assert.equal(all.matches[0].channel.id, dm);
	assert.equal(all.matches[0].channel.is_im, true);
	assert.equal(all.matches[0].channel.is_private, true);
	assert.equal(all.matches[0].channel.name, bob.id, "a DM is named after the other person");
});

test('search: from:@user, from:me, from:<@U…>, -from:, to:@user, to:me', async () => {
	const { org, alice, bob } = env.fx;
	const carol = await createUser(env.srv, org.id, uniq('carol'));
	const ch = await channel(alice.client);
	await alice.client.conversations.invite({ channel: ch.id, users: `${bob.id},${carol.id}` });
	const w = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w} by alice` });
	await bob.client.chat.postMessage({ channel: ch.id, text: `${w} by bob` });
	same(await texts(alice.client, `${w} from:@bob`), [`${w} by bob`]);
	same(await texts(alice.client, `${w} from:bob`), [`${w} by bob`]);
	same(await texts(alice.client, `${w} from:<@${bob.id}>`), [`${w} by bob`]);
	same(await texts(alice.client, `${w} from:me`), [`${w} by alice`]);
	same(await texts(bob.client, `${w} from:me`), [`${w} by bob`]);
	same(await texts(alice.client, `${w} -from:@bob`), [`${w} by alice`]);
	same(await texts(alice.client, `${w} from:@bob from:@alice`), [`${w} by alice`, `${w} by bob`]);
	same(await texts(alice.client, `${w} from:@nobody-by-that-name`), []);
	// A bot's posts are found by its bot user's name, and bot messages are
	// search results like any other.
	const { bot } = env.fx;
	await bot.client.conversations.join({ channel: ch.id });
	await bot.client.chat.postMessage({ channel: ch.id, text: `${w} by the bot` });
	same(await texts(alice.client, `${w} from:@testbot`), [`${w} by the bot`]);
	const byBot = await search(alice.client, `${w} bot`);
	assert.equal(byBot.matches[0].user, bot.bot_user_id);
	assert.equal(byBot.matches[0].bot_id, bot.bot_id);
	// A user of another org is nobody here.
	same(await texts(alice.client, `${w} from:<@${orgB.alice.id}>`), []);

	// to: what was said to someone in DMs (and group DMs) they are in.
	const dmAB = (await alice.client.conversations.open({ users: bob.id })).channel.id;
	const dmAC = (await alice.client.conversations.open({ users: carol.id })).channel.id;
	const t = word();
	await alice.client.chat.postMessage({ channel: dmAB, text: `${t} alice to bob` });
	await bob.client.chat.postMessage({ channel: dmAB, text: `${t} bob to alice` });
	await alice.client.chat.postMessage({ channel: dmAC, text: `${t} alice to carol` });
	await alice.client.chat.postMessage({ channel: ch.id, text: `${t} in a channel` });
	same(await texts(alice.client, `${t} to:@bob`), [`${t} alice to bob`]);
	same(await texts(alice.client, `${t} to:<@${carol.id}>`), [`${t} alice to carol`]);
	same(await texts(alice.client, `${t} to:me`), [`${t} bob to alice`]);
	same(await texts(bob.client, `${t} to:me`), [`${t} alice to bob`]);
	same(await texts(alice.client, `${t} to:@nobody-by-that-name`), []);
});

function day(offsetDays) {
	const d = new Date(Date.now() + offsetDays * 86400000);
	return d.toISOString().slice(0, 10);
}

test('search: before:, after:, on:, during: (UTC days, before/after exclusive)', async () => {
	const { alice } = env.fx;
	const ch = await channel(alice.client);
	const w = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w} dated` });
	const today = day(0);
	const cases = [
		[`on:${today}`, 1], ['on:today', 1], ['on:yesterday', 0], [`on:${day(-1)}`, 0],
		[`before:${day(1)}`, 1], [`before:${today}`, 0], ['before:today', 0],
		[`after:${day(-1)}`, 1], ['after:yesterday', 1], [`after:${today}`, 0],
		[`during:${today.slice(0, 7)}`, 1], [`during:${today.slice(0, 4)}`, 1], ['during:2001', 0],
		[`during:${today}`, 1], ['during:2001-02', 0],
		[`after:${day(-1)} before:${day(1)}`, 1], [`after:${day(1)} before:${day(-1)}`, 0],
	];
	for (const [mod, n] of cases) {
		const m = await search(alice.client, `${w} ${mod}`);
		assert.equal(m.total, n, `${w} ${mod}`);
	}
	// Month names: the most recent such month.
	const month = new Date().toLocaleString('en-US', { month: 'long', timeZone: 'UTC' }).toLowerCase();
	assert.equal((await search(alice.client, `${w} during:${month}`)).total, 1);
	assert.equal((await search(alice.client, `${w} during:${month.slice(0, 3)}`)).total, 1);
});

test('search: has:link, has:reaction, has::emoji:, has:pin, is:thread', async () => {
	const { alice, bob } = env.fx;
	const ch = await channel(alice.client);
	await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
	const w = word();
	const plain = await alice.client.chat.postMessage({ channel: ch.id, text: `${w} plain` });
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w} link <https://example.org/x>` });
	const reacted = await alice.client.chat.postMessage({ channel: ch.id, text: `${w} reacted` });
	await bob.client.reactions.add({ channel: ch.id, timestamp: reacted.ts, name: 'tada' });
	const toned = await alice.client.chat.postMessage({ channel: ch.id, text: `${w} toned` });
	await bob.client.reactions.add({ channel: ch.id, timestamp: toned.ts, name: 'thumbsup::skin-tone-3' });
	const pinned = await alice.client.chat.postMessage({ channel: ch.id, text: `${w} pinned` });
	await alice.client.pins.add({ channel: ch.id, timestamp: pinned.ts });
	await bob.client.chat.postMessage({ channel: ch.id, text: `${w} reply`, thread_ts: plain.ts });

	same(await texts(alice.client, `${w} has:link`), [`${w} link <https://example.org/x>`]);
	same(await texts(alice.client, `${w} has:reaction`), [`${w} reacted`, `${w} toned`]);
	same(await texts(alice.client, `${w} has::tada:`), [`${w} reacted`]);
	same(await texts(alice.client, `${w} has::thumbsup:`), [`${w} toned`], 'any skin tone');
	same(await texts(alice.client, `${w} has::thumbsup::skin-tone-3:`), [`${w} toned`]);
	same(await texts(alice.client, `${w} has::eyes:`), []);
	same(await texts(alice.client, `${w} has:pin`), [`${w} pinned`]);
	same(await texts(alice.client, `${w} is:thread`), [`${w} plain`, `${w} reply`]);
	// Modifiers alone (no words) work too.
	same(await texts(alice.client, `in:#${ch.name} has:pin`), [`${w} pinned`]);
	// The reaction goes, the match goes.
	await bob.client.reactions.remove({ channel: ch.id, timestamp: reacted.ts, name: 'tada' });
	same(await texts(alice.client, `${w} has::tada:`), []);
	const r = await search(alice.client, `${w} reply`);
	assert.equal(r.matches[0].thread_ts, plain.ts);
	assert.match(r.matches[0].permalink, new RegExp(`thread_ts=${plain.ts.replace('.', '\\.')}`));
});

test('search: sort by score or timestamp, sort_dir, count/page, cursor, highlight', async () => {
	const { alice } = env.fx;
	const ch = await channel(alice.client);
	const w = word(), x = word();
	const posted = [];
	for (let i = 0; i < 7; i++) {
		const text = i === 3 ? `${w} ${w} ${w} ${x} strongest` : `${w} number ${i} with some longer filler text around it`;
		posted.push((await alice.client.chat.postMessage({ channel: ch.id, text })).ts);
	}
	const byTs = await search(alice.client, w, { sort: 'timestamp', count: 100 });
	assert.deepEqual(byTs.matches.map((m) => m.ts), [...posted].reverse());
	const asc = await search(alice.client, w, { sort: 'timestamp', sort_dir: 'asc', count: 100 });
	assert.deepEqual(asc.matches.map((m) => m.ts), posted);
	const byScore = await search(alice.client, w);
	assert.equal(byScore.matches[0].ts, posted[3], 'the densest match ranks first');
	assert.ok(byScore.matches[0].score >= byScore.matches[1].score);

	// Pages of 3: 3 + 3 + 1, with Slack's paging numbers.
	const seen = [];
	for (let page = 1; page <= 3; page++) {
		const m = await search(alice.client, w, { sort: 'timestamp', count: 3, page });
		assert.equal(m.total, 7);
		assert.deepEqual(m.paging, { count: 3, total: 7, page, pages: 3 });
		assert.equal(m.pagination.first, (page - 1) * 3 + 1);
		assert.equal(m.pagination.last, Math.min(page * 3, 7));
		seen.push(...m.matches.map((x) => x.ts));
	}
	assert.deepEqual(seen, [...posted].reverse());
	const past = await search(alice.client, w, { count: 3, page: 4 });
	assert.equal(past.total, 7);
	assert.deepEqual(past.matches, []);

	// Cursor paging: cursor=* then next_cursor until it is empty.
	const viaCursor = [];
	let cursor = '*';
	for (let i = 0; i < 10 && cursor; i++) {
		const r = await alice.client.search.messages({ query: w, sort: 'timestamp', count: 3, cursor });
		viaCursor.push(...r.messages.matches.map((x) => x.ts));
		cursor = r.response_metadata.next_cursor;
	}
	assert.deepEqual(viaCursor, [...posted].reverse());

	// highlight=true wraps what matched in U+E000 … U+E001.
	const h = await search(alice.client, `${w} ${x}`, { highlight: true });
	assert.equal(h.matches[0].text, `\ue000${w}\ue001 \ue000${w}\ue001 \ue000${w}\ue001 \ue000${x}\ue001 strongest`);
	const plain = await search(alice.client, `${w} ${x}`);
	assert.equal(plain.matches[0].text, `${w} ${w} ${w} ${x} strongest`);
});

test('search: never finds what the searcher cannot see', async () => {
	const { org, alice, bob } = env.fx;
	const carol = await createUser(env.srv, org.id, uniq('carol'));
	const w = word();
	// A private channel bob is not in, a DM between alice and carol, a
	// group DM, another org's public and private channels.
	const priv = await channel(alice.client, { is_private: true });
	await alice.client.chat.postMessage({ channel: priv.id, text: `${w} private secret` });
	const dm = (await alice.client.conversations.open({ users: carol.id })).channel.id;
	await alice.client.chat.postMessage({ channel: dm, text: `${w} dm secret` });
	const mpim = (await alice.client.conversations.open({ users: `${carol.id},${bob.id}` })).channel.id;
	await alice.client.chat.postMessage({ channel: mpim, text: `${w} group dm secret` });
	const bPub = await channel(orgB.alice.client);
	await orgB.alice.client.chat.postMessage({ channel: bPub.id, text: `${w} other org public` });
	const bPriv = await channel(orgB.alice.client, { is_private: true });
	await orgB.alice.client.chat.postMessage({ channel: bPriv.id, text: `${w} other org private` });
	const pub = await channel(alice.client);
	await alice.client.chat.postMessage({ channel: pub.id, text: `${w} public` });

	// alice sees her own conversations; bob (in the group DM) sees it and
	// the public channel; carol sees the DM and group DM.
	same(await texts(alice.client, w), [`${w} dm secret`, `${w} group dm secret`, `${w} private secret`, `${w} public`]);
	same(await texts(bob.client, w), [`${w} group dm secret`, `${w} public`]);
	same(await texts(carol.client, w), [`${w} dm secret`, `${w} group dm secret`, `${w} public`]);
	same(await texts(orgB.alice.client, w), [`${w} other org private`, `${w} other org public`]);
	same(await texts(orgB.bob.client, w), [`${w} other org public`]);

	// Naming what one cannot see finds nothing, and looks like a name
	// that does not exist.
	for (const q of [`${w} in:#${priv.name}`, `${w} in:${priv.id}`, `${w} in:<#${priv.id}|${priv.name}>`,
		`${w} in:${bPriv.id}`, `${w} in:#${bPub.name}`, `${w} in:${dm}`, `${w} in:@carol`, `${w} private secret`]) {
		const m = await search(bob.client, q);
		assert.equal(m.total, 0, q);
		assert.deepEqual(m.matches, [], q);
	}
	// Counts and pages never include the hidden matches.
	const m = await search(bob.client, w, { count: 1 });
	assert.equal(m.total, 2);
	assert.equal(m.paging.pages, 2);

	// search.all: same rule, and Slack's empty files section.
	const all = await bob.client.search.all({ query: w });
	assert.equal(all.ok, true);
	assert.deepEqual(all.messages.matches.map((x) => x.text).sort(), [`${w} group dm secret`, `${w} public`]);
	assert.equal(all.messages.total, 2);
	assert.deepEqual(all.files.matches, []);
	assert.equal(all.files.total, 0);
	assert.ok(all.files.paging && all.files.pagination);
	const allB = await orgB.bob.client.search.all({ query: `${w} private` });
	assert.equal(allB.messages.total, 0);

	// Leaving a private channel: its messages are no longer found.
	await alice.client.conversations.invite({ channel: priv.id, users: bob.id });
	same(await texts(bob.client, `${w} private`), [`${w} private secret`]);
	await bob.client.conversations.leave({ channel: priv.id });
	same(await texts(bob.client, `${w} private`), []);

	// Archived public channels stay searchable, as on Slack.
	await alice.client.conversations.archive({ channel: pub.id });
	const arch = await search(bob.client, `${w} public`);
	assert.equal(arch.total, 1);
	assert.equal(arch.matches[0].channel.is_archived, true);

	// Bots cannot search (Slack: user tokens only), whatever their scopes.
	await expectError(env.fx.bot.client.search.messages({ query: w }), 'not_allowed_token_type');
	await expectError(env.fx.bot.client.search.all({ query: w }), 'not_allowed_token_type');
	await expectError(orgB.bot.client.search.messages({ query: w }), 'not_allowed_token_type');
});

test('search: the index follows edits and deletions', async () => {
	const { alice, bob } = env.fx;
	const ch = await channel(alice.client);
	await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
	const before = word(), after = word();
	const p = await alice.client.chat.postMessage({ channel: ch.id, text: `status ${before}` });
	assert.equal((await search(bob.client, before)).total, 1);
	await alice.client.chat.update({ channel: ch.id, ts: p.ts, text: `status ${after}` });
	assert.equal((await search(bob.client, before)).total, 0, 'the old text is gone from the index');
	const m = await search(bob.client, after);
	assert.equal(m.total, 1);
	assert.equal(m.matches[0].text, `status ${after}`);
	assert.equal(m.matches[0].ts, p.ts);
	await alice.client.chat.delete({ channel: ch.id, ts: p.ts });
	assert.equal((await search(bob.client, after)).total, 0, 'a deleted message is not found');

	// A thread parent deleted under its replies becomes a tombstone: the
	// words are gone, the replies stay findable.
	const gone = word(), kept = word();
	const parent = await alice.client.chat.postMessage({ channel: ch.id, text: `${gone} parent` });
	await bob.client.chat.postMessage({ channel: ch.id, thread_ts: parent.ts, text: `${kept} reply` });
	await alice.client.chat.delete({ channel: ch.id, ts: parent.ts });
	assert.equal((await search(bob.client, gone)).total, 0);
	assert.equal((await search(bob.client, kept)).total, 1);
	// System messages (joins) are not search results.
	assert.equal((await search(bob.client, `has joined in:#${ch.name}`)).total, 0);
});

test('search: malformed queries and arguments get clear errors', async () => {
	const { alice } = env.fx;
	const bad = [
		['"unbalanced phrase', /unbalanced quote/],
		['word before:2024-13-01', /before:2024-13-01 is not a date/],
		['word after:someday', /not a date/],
		['word on:2024-02-30', /not a date/],
		['word during:20x4', /not a date/],
		['word has:feelings', /has:feelings/],
		['word is:happy', /is:happy/],
		['word in:', /in: needs a value/],
		['word -has:link', /can be excluded/],
		['a '.repeat(65), /more than 64/],
		['x'.repeat(2001), /longer than/],
	];
	for (const [q, re] of bad) {
		const e = await expectError(alice.client.search.messages({ query: q }), 'invalid_query', q.slice(0, 40));
		assert.match(e.response_metadata.messages[0], re, q.slice(0, 40));
	}
	await expectError(alice.client.search.messages({}), 'no_query');
	await expectError(alice.client.search.messages({ query: '   ' }), 'no_query');
	await expectError(alice.client.search.all({ query: '' }), 'no_query');
	await expectError(alice.client.search.messages({ query: 'x', count: 'many' }), 'invalid_arguments');
	await expectError(alice.client.search.messages({ query: 'x', page: 0 }), 'invalid_arguments');
	await expectError(alice.client.search.messages({ query: 'x', highlight: 'maybe' }), 'invalid_arguments');
	await expectError(alice.client.search.messages({ query: 'x', cursor: 'garbage' }), 'invalid_cursor');
	// count above the maximum is clamped, as Slack does.
	const big = await search(alice.client, word(), { count: 5000 });
	assert.equal(big.paging.count, 100);
	// Punctuation only: a query that matches nothing, not an error.
	assert.equal((await search(alice.client, '!!! ???')).total, 0);
	// Unknown key:value pairs are words; FTS syntax in a query is text.
	assert.equal((await search(alice.client, 'foo:bar NEAR(a b) OR AND NOT * ^x')).total, 0);
	// No token / a bad token.
	const r = await rawApi(env.srv, 'search.messages', { body: new URLSearchParams({ query: 'x' }) });
	assert.equal(r.json.error, 'not_authed');
	const r2 = await rawApi(env.srv, 'search.messages', { body: new URLSearchParams({ query: 'x', token: 'xoxp-nope' }) });
	assert.equal(r2.json.error, 'invalid_auth');
	// A JSON body with the wrong types.
	const r3 = await rawApi(env.srv, 'search.messages', {
		headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
		body: JSON.stringify({ query: { nested: true } }),
	});
	assert.equal(r3.json.ok, false);
	assert.equal(r3.json.error, 'no_query');
});

test('search: finds the text of Block Kit blocks and legacy attachments, and follows their edits', async () => {
	const { alice, bob, bot } = env.fx;
	const ch = await channel(alice.client);
	await bot.client.conversations.join({ channel: ch.id });
	const [wh, ws, wf, wc2, wr, wt, wa, wv, wp] = [word(), word(), word(), word(), word(), word(), word(), word(), word()];
	// An alert as bots post them: a short text fallback, the story in blocks.
	const p = await bot.client.chat.postMessage({
		channel: ch.id,
		text: 'Alert',
		blocks: [
			{ type: 'header', text: { type: 'plain_text', text: `Disk ${wh}` } },
			{ type: 'section', text: { type: 'mrkdwn', text: `*host* <https://x.test/h|${ws}> is full` },
				fields: [{ type: 'mrkdwn', text: `*Severity* ${wf}` }] },
			{ type: 'context', elements: [{ type: 'plain_text', text: `paged by ${wc2}` }] },
			{ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [
				{ type: 'text', text: `runbook ${wr} ` }, { type: 'user', user_id: alice.id }] }] },
		],
	});
	// A legacy attachment (CI bots, old integrations).
	await bot.client.chat.postMessage({
		channel: ch.id,
		text: 'Build',
		attachments: [{ pretext: `pre ${wp}`, title: `Build ${wt} failed`, text: `step ${wa}`,
			fields: [{ title: 'Branch', value: `feature-${wv}`, short: true }], fallback: 'Build failed' }],
	});
	for (const w of [wh, ws, wf, wc2, wr]) {
		const m = await search(alice.client, w);
		assert.equal(m.total, 1, `block text ${w}`);
		assert.equal(m.matches[0].ts, p.ts);
		assert.equal(m.matches[0].text, 'Alert', 'the match is the message as stored');
	}
	for (const w of [wt, wa, wv, wp])
		same(await texts(alice.client, w), ['Build'], `attachment text ${w}`);
	// Words from different parts of one message: both must be there.
	assert.equal((await search(alice.client, `${wh} ${wf}`)).total, 1);
	assert.equal((await search(alice.client, `"${wt} failed"`)).total, 1, 'phrases inside attachments');
	assert.equal((await search(alice.client, `${wh} -${wc2}`)).total, 0, 'exclusions see block text');
	// A mention inside rich_text is found by the person's name.
	assert.equal((await search(alice.client, `${wr} alice`)).total, 1);

	// Editing the blocks re-indexes them; the old words are gone.
	const wn = word();
	await bot.client.chat.update({ channel: ch.id, ts: p.ts, text: 'Alert',
		blocks: [{ type: 'section', text: { type: 'plain_text', text: `resolved ${wn}` } }] });
	assert.equal((await search(alice.client, wh)).total, 0, 'old block text after an edit');
	assert.equal((await search(alice.client, wn)).total, 1, 'new block text after an edit');
	await bot.client.chat.delete({ channel: ch.id, ts: p.ts });
	assert.equal((await search(alice.client, wn)).total, 0, 'deleted');

	// Blocks in a private channel stay private.
	const priv = await channel(alice.client, { is_private: true });
	const wx = word();
	await alice.client.chat.postMessage({ channel: priv.id, text: 'x',
		blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `secret ${wx}` } }] });
	assert.equal((await search(alice.client, wx)).total, 1);
	assert.equal((await search(bob.client, wx)).total, 0, 'a private channel never leaks');
});

test('search: a mention is found by the person\'s name, display name and real name, also after a rename', async () => {
	const { alice, bob } = env.fx;
	const ch = await channel(alice.client);
	await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
	const w = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w} ping <@${bob.id}> please` });
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w} nobody named here` });
	same(await texts(alice.client, `${w} bob`), [`${w} ping <@${bob.id}> please`], 'by handle');
	same(await texts(alice.client, `${w} @bob`), [`${w} ping <@${bob.id}> please`], 'by @handle');
	same(await texts(alice.client, `${w} -bob`), [`${w} nobody named here`], 'excluded by name');
	// Display and real names, as set now: old messages follow the rename.
	const disp = word(), first = word(), last = word();
	await bob.client.users.profile.set({ profile: { display_name: disp, real_name: `${first} ${last}` } });
	same(await texts(alice.client, `${w} ${disp}`), [`${w} ping <@${bob.id}> please`], 'by display name');
	same(await texts(alice.client, `${w} ${last}`), [`${w} ping <@${bob.id}> please`], 'by a word of the real name');
	same(await texts(alice.client, `${w} "${first} ${last}"`), [`${w} ping <@${bob.id}> please`], 'by the full real name');
	const disp2 = word();
	await bob.client.users.profile.set({ profile: { display_name: disp2 } });
	assert.equal((await search(alice.client, `${w} ${disp}`)).total, 0, 'the old display name no longer names him');
	assert.equal((await search(alice.client, `${w} ${disp2}`)).total, 1, 'the new one does');
	// A labelled mention (<@U|name>, older clients) is found by the label and the person.
	const w2 = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w2} cc <@${bob.id}|oldname>` });
	assert.equal((await search(alice.client, `${w2} oldname`)).total, 1);
	assert.equal((await search(alice.client, `${w2} ${disp2}`)).total, 1);
	// Names of people in another org name nobody here.
	const w3 = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w3} cc <@${orgB.bob.id}>` });
	assert.equal((await search(alice.client, `${w3} bob`)).total, 0, 'another org\'s bob is not ours');
});

test('search: dates are days in the searcher\'s time zone (users.prefs.set tz), UTC when unset', async () => {
	const { alice, bob } = env.fx;
	const ch = await channel(alice.client);
	await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
	const w = word();
	await alice.client.chat.postMessage({ channel: ch.id, text: `${w} dated` });
	// A zone whose calendar day differs from UTC's right now.
	const now = new Date();
	const east = now.getUTCHours() >= 10;
	const tz = east ? 'Pacific/Kiritimati' : 'Pacific/Pago_Pago';  // UTC+14 / UTC-11
	const utcDay = now.toISOString().slice(0, 10);
	const localDay = new Date(now.getTime() + (east ? 14 : -11) * 3600e3).toISOString().slice(0, 10);
	assert.notEqual(localDay, utcDay);

	const set = await alice.client.apiCall('users.prefs.set', { name: 'tz', value: tz });
	assert.equal(set.prefs.tz, tz);
	const info = await alice.client.users.info({ user: alice.id });
	assert.equal(info.user.tz, tz);
	assert.equal((await search(alice.client, `${w} on:${localDay}`)).total, 1, 'the searcher\'s day');
	assert.equal((await search(alice.client, `${w} on:${utcDay}`)).total, 0, 'not the UTC day');
	assert.equal((await search(alice.client, `${w} on:today`)).total, 1, 'today where the searcher is');
	assert.equal((await search(alice.client, `${w} during:${localDay}`)).total, 1);
	assert.equal((await search(alice.client, `${w} ${east ? 'after' : 'before'}:${utcDay}`)).total, 1);
	// bob has no zone: UTC.
	assert.equal((await search(bob.client, `${w} on:${utcDay}`)).total, 1);
	assert.equal((await search(bob.client, `${w} on:${localDay}`)).total, 0);

	// Unknown zones, and paths dressed as zones, are refused; null is UTC again.
	for (const bad of ['Mars/Olympus', '../../etc/passwd', '/etc/localtime', 'Europe/../UTC', '', 'x'.repeat(80)])
		await expectError(alice.client.apiCall('users.prefs.set', { name: 'tz', value: bad }), 'invalid_prefs', bad);
	const r = await rawApi(env.srv, 'users.prefs.set', {
		headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
		body: JSON.stringify({ prefs: { tz: 7 } }),
	});
	assert.equal(r.json.error, 'invalid_prefs');
	assert.equal((await alice.client.users.info({ user: alice.id })).user.tz, tz, 'a refused zone changes nothing');
	await alice.client.apiCall('users.prefs.set', { prefs: JSON.stringify({ tz: null }) });
	assert.equal((await alice.client.users.info({ user: alice.id })).user.tz, 'UTC');
	assert.equal((await search(alice.client, `${w} on:${utcDay}`)).total, 1);
});
