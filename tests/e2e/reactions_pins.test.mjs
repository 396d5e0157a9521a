// reactions.* and pins.*.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq, collect } from './lib/fixture.mjs';

const env = useServer();

async function roomWithMessage(text = 'status protocol') {
	const { alice, bob, bot } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('rp') })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: `${bob.id},${bot.bot_user_id}` });
	const p = await alice.client.chat.postMessage({ channel: ch, text });
	return { ch, ts: p.ts };
}

test('reactions.add / get / remove', async () => {
	const { alice, bob, bot } = env.fx;
	const { ch, ts } = await roomWithMessage();
	assert.equal((await bob.client.reactions.add({ channel: ch, timestamp: ts, name: 'eyes' })).ok, true);
	await bot.client.reactions.add({ channel: ch, timestamp: ts, name: 'eyes' });
	await alice.client.reactions.add({ channel: ch, timestamp: ts, name: 'wrench' });
	await expectError(bob.client.reactions.add({ channel: ch, timestamp: ts, name: 'eyes' }), 'already_reacted');

	const g = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	assert.equal(g.ok, true);
	assert.equal(g.type, 'message');
	assert.equal(g.channel, ch);
	assert.equal(g.message.ts, ts);
	assert.equal(g.message.text, 'status protocol');
	const rs = g.message.reactions;
	assert.ok(Array.isArray(rs));
	assert.deepEqual(rs.map((r) => r.name).sort(), ['eyes', 'wrench']);
	const eyes = rs.find((r) => r.name === 'eyes');
	assert.equal(eyes.count, 2);
	assert.deepEqual([...eyes.users].sort(), [bob.id, bot.bot_user_id].sort());
	for (const r of rs) assert.equal(r.count, r.users.length);

	assert.equal((await bob.client.reactions.remove({ channel: ch, timestamp: ts, name: 'eyes' })).ok, true);
	await expectError(bob.client.reactions.remove({ channel: ch, timestamp: ts, name: 'eyes' }), 'no_reaction');
	await expectError(bob.client.reactions.remove({ channel: ch, timestamp: ts, name: 'tada' }), 'no_reaction');
	const g2 = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	const eyes2 = g2.message.reactions.find((r) => r.name === 'eyes');
	assert.deepEqual(eyes2.users, [bot.bot_user_id]);
	assert.equal(eyes2.count, 1);

	await alice.client.reactions.remove({ channel: ch, timestamp: ts, name: 'wrench' });
	await bot.client.reactions.remove({ channel: ch, timestamp: ts, name: 'eyes' });
	const g3 = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	assert.ok(g3.message.reactions === undefined || g3.message.reactions.length === 0, 'no reactions left');
});

test('reactions: skin tones', async () => {
	const { alice, bob } = env.fx;
	const { ch, ts } = await roomWithMessage();
	await alice.client.reactions.add({ channel: ch, timestamp: ts, name: 'thumbsup::skin-tone-2' });
	await bob.client.reactions.add({ channel: ch, timestamp: ts, name: 'white_check_mark' });
	const g = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	const names = g.message.reactions.map((r) => r.name).sort();
	assert.deepEqual(names, ['thumbsup::skin-tone-2', 'white_check_mark'], 'skin tone kept as part of the name');
});

test('reactions errors', async () => {
	const { alice } = env.fx;
	const { ch, ts } = await roomWithMessage();
	await expectError(alice.client.reactions.add({ channel: ch, timestamp: '1000000000.000001', name: 'eyes' }), 'message_not_found');
	await expectError(alice.client.reactions.get({ channel: ch, timestamp: '1000000000.000001' }), 'message_not_found');
	await expectError(alice.client.reactions.add({ channel: 'C0NOSUCHCH', timestamp: ts, name: 'eyes' }), 'channel_not_found');
	await expectError(alice.client.reactions.add({ channel: ch, timestamp: ts, name: 'not a valid name!' }), 'invalid_name');
	await expectError(alice.client.reactions.add({ channel: ch, timestamp: ts }), ['invalid_name', 'invalid_arguments', 'missing_argument'], 'no name');
	await expectError(alice.client.reactions.add({ name: 'eyes' }), ['no_item_specified', 'invalid_arguments', 'missing_argument'], 'no item');
	await expectError(alice.client.reactions.add({ channel: ch, timestamp: 'abc', name: 'eyes' }), ['bad_timestamp', 'invalid_arguments', 'message_not_found'], 'bad ts');
});

test('reactions.list: items the user reacted to', async () => {
	const { bob } = env.fx;
	const { ch, ts } = await roomWithMessage('list me');
	await bob.client.reactions.add({ channel: ch, timestamp: ts, name: 'eyes' });
	const r = await bob.client.reactions.list({ user: bob.id, limit: 100 });
	assert.ok(Array.isArray(r.items));
	const it = r.items.find((i) => i.channel === ch && i.message?.ts === ts);
	assert.ok(it, `reacted message in reactions.list: ${JSON.stringify(r.items).slice(0, 500)}`);
	assert.equal(it.type, 'message');
	assert.ok(it.message.reactions.some((x) => x.name === 'eyes' && x.users.includes(bob.id)));
	// Default user is the caller.
	const r2 = await bob.client.reactions.list({});
	assert.ok(r2.items.some((i) => i.channel === ch && i.message?.ts === ts));
	// Paginates.
	const all = await collect(bob.client, 'reactions.list', {}, 'items', 1);
	assert.ok(all.some((i) => i.channel === ch && i.message?.ts === ts));
});

test('pins.add / list / remove', async () => {
	const { alice, bob } = env.fx;
	const { ch, ts } = await roomWithMessage('decision: ship it');
	const other = (await alice.client.chat.postMessage({ channel: ch, text: 'not pinned' })).ts;
	assert.equal((await bob.client.pins.add({ channel: ch, timestamp: ts })).ok, true);
	await expectError(alice.client.pins.add({ channel: ch, timestamp: ts }), 'already_pinned');

	const l = await alice.client.pins.list({ channel: ch });
	assert.equal(l.ok, true);
	assert.equal(l.items.length, 1);
	const it = l.items[0];
	assert.equal(it.type, 'message');
	assert.equal(it.channel, ch);
	assert.equal(it.created_by, bob.id);
	assert.ok(Number.isInteger(it.created) && it.created > 1500000000, 'created is unix seconds');
	assert.equal(it.message.ts, ts);
	assert.equal(it.message.text, 'decision: ship it');
	if (it.message.pinned_to !== undefined) assert.ok(it.message.pinned_to.includes(ch));

	await expectError(alice.client.pins.remove({ channel: ch, timestamp: other }), 'not_pinned');
	assert.equal((await alice.client.pins.remove({ channel: ch, timestamp: ts })).ok, true);
	await expectError(alice.client.pins.remove({ channel: ch, timestamp: ts }), 'not_pinned');
	assert.equal((await alice.client.pins.list({ channel: ch })).items.length, 0);
});

test('pins errors', async () => {
	const { alice, bot } = env.fx;
	const { ch } = await roomWithMessage();
	await expectError(alice.client.pins.add({ channel: ch, timestamp: '1000000000.000001' }), 'message_not_found');
	await expectError(alice.client.pins.list({ channel: 'C0NOSUCHCH' }), 'channel_not_found');
	// The bot pins as itself.
	const p = await bot.client.chat.postMessage({ channel: ch, text: 'bot pin' });
	await bot.client.pins.add({ channel: ch, timestamp: p.ts });
	const l = await bot.client.pins.list({ channel: ch });
	assert.equal(l.items.find((i) => i.message.ts === p.ts).created_by, bot.bot_user_id);
});

test('reactions and pins survive message edits; deleted message loses them', async () => {
	const { alice } = env.fx;
	const { ch, ts } = await roomWithMessage();
	await alice.client.reactions.add({ channel: ch, timestamp: ts, name: 'eyes' });
	await alice.client.pins.add({ channel: ch, timestamp: ts });
	await alice.client.chat.update({ channel: ch, ts, text: 'edited' });
	const g = await alice.client.reactions.get({ channel: ch, timestamp: ts });
	assert.equal(g.message.text, 'edited');
	assert.equal(g.message.reactions[0].name, 'eyes');
	assert.equal((await alice.client.pins.list({ channel: ch })).items.length, 1);
	await alice.client.chat.delete({ channel: ch, ts });
	await expectError(alice.client.reactions.get({ channel: ch, timestamp: ts }), 'message_not_found');
	assert.equal((await alice.client.pins.list({ channel: ch })).items.length, 0, 'deleted message unpinned');
});
