// Reminders: reminders.add/list/info/complete/delete in Slack's shapes,
// natural-language times, /remind through chat.command, delivery by
// Slackbot in the person's DM at the time (a timer on the loop: short
// "in 1 second" reminders, polled with a bound), and survival across a
// restart.
import assert from 'node:assert/strict';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq, expectError } from './lib/fixture.mjs';

const env = useServer();
const call = (who, method, args) => who.client.apiCall(method, args);

// Slackbot's DM messages to who (newest first).
async function slackbotMessages(who) {
	const ims = await who.client.conversations.list({ types: 'im', limit: 200 });
	const out = [];
	for (const im of ims.channels) {
		const u = await who.client.users.info({ user: im.user });
		if (u.user.name !== 'slackbot' || !u.user.is_bot) continue;
		const h = await who.client.conversations.history({ channel: im.id, limit: 200 });
		out.push(...h.messages);
	}
	return out;
}

async function waitReminder(who, text, timeoutMs = 10000) {
	return waitFor(async () => (await slackbotMessages(who)).find((m) => m.text === `Reminder: ${text}.`),
		{ timeoutMs, intervalMs: 200, what: `Slackbot's "Reminder: ${text}."` });
}

test('reminders.add "in 1 second": Slack\'s shape; Slackbot DMs it at the time, once', async () => {
	const { alice } = env.fx;
	const t0 = Math.floor(Date.now() / 1000);
	const text = uniq('water the plants');
	const r = await call(alice, 'reminders.add', { text, time: 'in 1 second' });
	assert.equal(r.ok, true);
	const rem = r.reminder;
	assert.match(rem.id, /^Rm[A-Z0-9]+$/);
	assert.equal(rem.creator, alice.id);
	assert.equal(rem.user, alice.id);
	assert.equal(rem.text, text);
	assert.equal(rem.recurring, false);
	assert.ok(rem.time >= t0 + 1 && rem.time <= t0 + 3, `time ${rem.time} vs ${t0}`);
	assert.equal(rem.complete_ts, 0);
	const listed = await call(alice, 'reminders.list', {});
	assert.ok(listed.reminders.find((x) => x.id === rem.id));

	const msg = await waitReminder(alice, text);
	const info = await call(alice, 'users.info', { user: msg.user });
	assert.equal(info.user.real_name, 'Slackbot');
	assert.ok(Number(msg.ts) >= rem.time, 'not before its time');
	// Fired once; still listed, incomplete, as on Slack.
	const after = await call(alice, 'reminders.info', { reminder: rem.id });
	assert.equal(after.reminder.complete_ts, 0);
	// A second reminder fires too; the first is not repeated meanwhile.
	const text2 = uniq('second');
	await call(alice, 'reminders.add', { text: text2, time: String(Math.floor(Date.now() / 1000) + 1) });
	await waitReminder(alice, text2);
	const all = await slackbotMessages(alice);
	assert.equal(all.filter((m) => m.text === `Reminder: ${text}.`).length, 1);

	// complete, then delete
	const done = await call(alice, 'reminders.complete', { reminder: rem.id });
	assert.equal(done.ok, true);
	const c = await call(alice, 'reminders.info', { reminder: rem.id });
	assert.ok(c.reminder.complete_ts >= t0);
	assert.equal((await call(alice, 'reminders.delete', { reminder: rem.id })).ok, true);
	await expectError(call(alice, 'reminders.info', { reminder: rem.id }), 'not_found');
	await expectError(call(alice, 'reminders.delete', { reminder: rem.id }), 'not_found');
});

test('times: natural language, recurring shapes; errors', async () => {
	const { alice, bob, bot } = env.fx;
	const now = Math.floor(Date.now() / 1000);
	const in5 = (await call(alice, 'reminders.add', { text: 'a', time: 'in 5 minutes' })).reminder;
	assert.ok(Math.abs(in5.time - (now + 300)) <= 2);
	const tmr = (await call(alice, 'reminders.add', { text: 'b', time: 'tomorrow at 3pm' })).reminder;
	const d = new Date(tmr.time * 1000);
	assert.equal(d.getUTCHours(), 15);
	assert.ok(tmr.time > now && tmr.time <= now + 2 * 86400);
	const at = (await call(alice, 'reminders.add', { text: 'c', time: 'at 9:30am' })).reminder;
	assert.equal(new Date(at.time * 1000).getUTCMinutes(), 30);
	const weekly = (await call(alice, 'reminders.add', { text: 'standup', time: 'every Monday at 10am' })).reminder;
	assert.equal(weekly.recurring, true);
	assert.deepEqual(weekly.recurrence, { frequency: 'weekly', weekdays: ['monday'] });
	assert.equal(weekly.time, undefined);
	const daily = (await call(alice, 'reminders.add', { text: 'pills', time: 'at 8am', recurrence: 'every day' })).reminder;
	assert.deepEqual(daily.recurrence, { frequency: 'daily' });
	const wd = (await call(alice, 'reminders.add', { text: 'log hours', time: 'every weekday at 5pm' })).reminder;
	assert.deepEqual(wd.recurrence.weekdays, ['monday', 'tuesday', 'wednesday', 'thursday', 'friday']);
	await expectError(call(alice, 'reminders.complete', { reminder: weekly.id }), 'cannot_complete_recurring');

	await expectError(call(alice, 'reminders.add', { text: 'x', time: 'whenever you like' }), 'cannot_parse');
	await expectError(call(alice, 'reminders.add', { text: 'x', time: String(now - 10) }), 'cannot_parse', 'a time in the past');
	await expectError(call(alice, 'reminders.add', { text: 'x', time: 'every blue moon' }), 'cannot_parse');
	await expectError(call(alice, 'reminders.add', { time: 'in 5 minutes' }), 'invalid_arguments');
	await expectError(call(alice, 'reminders.add', { text: 'x' }), 'invalid_arguments');
	await expectError(call(alice, 'reminders.add', { text: 'x'.repeat(4001), time: 'in 5 minutes' }), 'msg_too_long');
	await expectError(call(alice, 'reminders.add', { text: 'x', time: 'in 5 minutes', user: bob.id }), 'cannot_add_others');
	await expectError(call(alice, 'reminders.add', { text: 'x', time: 'in 5 minutes', user: bot.bot_user_id || bot.user_id }), ['cannot_add_bot', 'user_not_found']);
	await expectError(call(alice, 'reminders.add', { text: 'x', time: 'in 5 minutes', user: 'U0NOSUCH' }), 'user_not_found');
	await expectError(call(alice, 'reminders.info', {}), 'invalid_arguments');
	await expectError(call(alice, 'reminders.info', { reminder: 'Rm0NOSUCH' }), 'not_found');
	// Someone else's reminder does not exist for you.
	await expectError(call(bob, 'reminders.info', { reminder: in5.id }), 'not_found');
	await expectError(call(bob, 'reminders.delete', { reminder: in5.id }), 'not_found');
	await expectError(call(bob, 'reminders.complete', { reminder: in5.id }), 'not_found');
	assert.ok(!(await call(bob, 'reminders.list', {})).reminders.find((x) => x.id === in5.id));
	// Bots have no reminders.
	await expectError(call(bot, 'reminders.list', {}), 'not_allowed_token_type');
});

test('/remind through chat.command: both word orders; the confirmation is ephemeral', async () => {
	const { alice } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('remind') })).channel;
	const what = uniq('stretch');
	const r = await call(alice, 'chat.command', { channel: ch.id, command: '/remind', text: `me to ${what} in 1 second` });
	assert.equal(r.ok, true);
	assert.equal(r.response.response_type, 'ephemeral');
	assert.match(r.response.text, new RegExp(`OK, I'll remind you “${what}”`));
	// Nothing stored in the channel.
	const h = await alice.client.conversations.history({ channel: ch.id, limit: 10 });
	assert.ok(!h.messages.find((m) => (m.text || '').includes(what)));
	await waitReminder(alice, what);

	const r2 = await call(alice, 'chat.command', { channel: ch.id, command: '/remind', text: 'me every weekday at 9am to check the board' });
	assert.match(r2.response.text, /check the board/);
	const l = await call(alice, 'reminders.list', {});
	const rec = l.reminders.find((x) => x.text === 'check the board');
	assert.equal(rec.recurring, true);

	await expectError(call(alice, 'chat.command', { channel: ch.id, command: '/remind', text: 'me to do things sometime' }), 'cannot_parse');
	await expectError(call(alice, 'chat.command', { channel: ch.id, command: '/remind', text: '' }), 'cannot_parse');
	await expectError(call(alice, 'chat.command', { channel: ch.id, command: '/remind', text: `@${env.fx.bob.name || 'bob'} to x in 5 minutes` }), 'cannot_add_others');
});

test('reminders survive a restart and fire after it', async () => {
	const { alice } = env.fx;
	const text = uniq('after restart');
	const r = await call(alice, 'reminders.add', { text, time: 'in 2 seconds' });
	const keep = (await call(alice, 'reminders.add', { text: 'next week', time: 'in 1 week' })).reminder;
	await env.srv.restart();
	const l = await call(alice, 'reminders.list', {});
	assert.ok(l.reminders.find((x) => x.id === keep.id));
	await waitReminder(alice, text, 15000);
	assert.equal((await call(alice, 'reminders.info', { reminder: r.reminder.id })).reminder.text, text);
});
