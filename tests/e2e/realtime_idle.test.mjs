// Idle-based auto away (Slack's: 30 minutes without activity). The server
// runs with --presence-idle-seconds 1, so a connected person with no client
// message on any socket and no Web API call of their own for a second is
// "away" (auto_away), and any activity makes them "active" again, with
// presence_change to subscribers each time. Bots never go idle. Waits are
// for events with a bound, never sleeps.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer } from './lib/server.mjs';
import { uniq, createUser } from './lib/fixture.mjs';
import { connect, closeAll, EVENT_TIMEOUT_MS } from './lib/rtm.mjs';

const env = useServer({ extraArgs: ['--presence-idle-seconds', '1'] });
after(closeAll);

const pc = (user, presence) => (e) => e.type === 'presence_change' && e.user === user.id && (!presence || e.presence === presence);
const msgTs = (ts) => (e) => e.type === 'message' && e.ts === ts;

async function presence(asker, user) {
	const r = await asker.client.users.getPresence({ user: user.id });
	assert.equal(r.ok, true);
	return r;
}

// A watcher socket (its own user, so its API calls touch nobody else)
// subscribed to the given users.
async function watcher(users, label) {
	const w = await createUser(env.srv, env.fx.org.id, uniq('watch'));
	const W = await connect(w.client, { label });
	W.send({ type: 'presence_sub', ids: users.map((u) => u.id) });
	await W.ping();
	return { w, W };
}

test('a connected person with no activity goes away, and back to active on a client message', async () => {
	const { alice } = env.fx;
	const { w, W } = await watcher([alice], 'watch-msg');
	const from = W.mark();
	const A = await connect(alice.client, { label: 'alice' });
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, from, 'alice active on connect');
	// No activity: auto away after the idle timeout (plus one sweep).
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, from, 'alice auto away');
	const p = await presence(w, alice);
	assert.equal(p.presence, 'away', `idle while connected: ${JSON.stringify(p)}`);
	assert.equal(A.closeInfo, null, 'the socket stays open while idle');

	// A ping from the client is activity.
	const f2 = W.mark();
	await A.ping();
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, f2, 'alice active after a ping');
	// ... and typing is too (after going idle again).
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, f2, 'alice away again');
	const ch = (await w.client.conversations.create({ name: uniq('rt-idle') })).channel;
	await w.client.conversations.invite({ channel: ch.id, users: alice.id });
	const f3 = W.mark();
	A.send({ type: 'typing', channel: ch.id });
	const ty = await W.next((e) => e.type === 'user_typing' && e.user === alice.id, EVENT_TIMEOUT_MS, f3);
	assert.equal(ty.channel, ch.id);
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, f3, 'alice active after typing');
	// Exactly one change per transition.
	assert.deepEqual(W.all(pc(alice), from).slice(0, 4).map((e) => e.presence), ['active', 'away', 'active', 'away']);
	await A.close();
	await W.close();
});

test('a Web API call with the person\'s own token is activity; somebody else\'s call about them is not', async () => {
	const { alice, bob } = env.fx;
	const { w, W } = await watcher([alice], 'watch-api');
	const from = W.mark();
	const A = await connect(alice.client, { label: 'alice-api' });
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, from, 'alice auto away');

	// Others asking about alice leave her away.
	assert.equal((await presence(bob, alice)).presence, 'away');
	assert.equal((await presence(w, alice)).presence, 'away');
	await W.ping();
	assert.deepEqual(W.all(pc(alice), from).map((e) => e.presence), ['active', 'away'], 'no change from others\' calls');

	// Her own call (any method) makes her active once it has run: the
	// answer shows what it found (auto away), then presence_change.
	const fOwn = W.mark();
	const own = await presence(alice, alice);
	assert.equal(own.presence, 'away', `own call while idle: ${JSON.stringify(own)}`);
	assert.equal(own.auto_away, true);
	assert.equal(own.manual_away, false);
	assert.equal(own.online, true);
	assert.equal(own.connection_count, 1);
	assert.ok(Math.abs(own.last_activity - Date.now() / 1000) < 60, `last_activity: ${JSON.stringify(own)}`);
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, fOwn, 'alice active after her own API call');
	const again = await presence(alice, alice);
	assert.equal(again.presence, 'active', `own call right after: ${JSON.stringify(again)}`);
	assert.equal(again.auto_away, false);

	// Idle again: getPresence from others says auto away.
	const f2 = W.mark();
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, f2, 'alice away again');
	const p = await presence(bob, alice);
	assert.equal(p.presence, 'away');
	assert.equal('auto_away' in p, false, 'details only for the user themself');
	await alice.client.auth.test();
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, f2, 'alice active after auth.test');
	await A.close();
	await W.close();
});

test('a new socket makes an idle person active; manual away stays away through activity', async () => {
	const { alice } = env.fx;
	const { W } = await watcher([alice], 'watch-new');
	const from = W.mark();
	const A = await connect(alice.client, { label: 'alice-1' });
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, from, 'alice auto away');
	const f2 = W.mark();
	const A2 = await connect(alice.client, { label: 'alice-2' });
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, f2, 'a second socket is activity');
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, f2, 'both sockets idle');

	// Manually away while idle: no change at all (she was away already,
	// and the call's activity must not flicker her to active first).
	const f3 = W.mark();
	await alice.client.users.setPresence({ presence: 'away' });
	await A.ping();
	await alice.client.auth.test();
	assert.equal((await presence(env.fx.bob, alice)).presence, 'away', 'manual away wins over activity');
	await W.ping();
	assert.deepEqual(W.all(pc(alice), f3), [], 'no change while manually away');
	await alice.client.users.setPresence({ presence: 'auto' });
	await W.next(pc(alice, 'active'), EVENT_TIMEOUT_MS, f3, 'auto + recent activity (the setPresence call itself)');
	await A.close();
	await A2.close();
	await W.close();
});

test('bots never go idle; @here skips idle people', async () => {
	const { alice, bob, bot } = env.fx;
	const botUser = { id: bot.bot_user_id };
	const T = await connect(bot.client, { label: 'bot' });
	const { w, W } = await watcher([alice, botUser], 'watch-bot');
	const ch = (await w.client.conversations.create({ name: uniq('rt-idle-here') })).channel;
	await w.client.conversations.invite({ channel: ch.id, users: [alice.id, bob.id].join(',') });
	const from = W.mark();
	const A = await connect(alice.client, { label: 'alice-here' });
	// alice connected after the bot: once she is idle, the bot has been
	// quiet at least as long.
	await W.next(pc(alice, 'away'), EVENT_TIMEOUT_MS, from, 'alice auto away');
	assert.equal((await presence(w, botUser)).presence, 'active', 'bot still active');
	assert.deepEqual(W.all(pc(botUser, 'away'), 0), [], 'no away for the bot');

	// @here while alice is idle: she gets the message, not the mention.
	const here = (await w.client.chat.postMessage({ channel: ch.id, text: '<!here> anyone?' })).ts;
	const ev = await A.next(msgTs(here));
	assert.equal(ev.mentioned, undefined, `idle alice flagged by @here: ${JSON.stringify(ev)}`);
	const info = (await alice.client.conversations.info({ channel: ch.id })).channel;
	assert.equal(info.mention_count, 0, `idle alice counted by @here: ${JSON.stringify(info)}`);
	// That call made her active: the next @here reaches her (a ping right
	// before keeps the window for going idle again far below the second).
	await A.ping();
	const here2 = (await w.client.chat.postMessage({ channel: ch.id, text: '<!here> now?' })).ts;
	const ev2 = await A.next(msgTs(here2));
	assert.equal(ev2.mentioned, true, `active alice not flagged by @here: ${JSON.stringify(ev2)}`);
	await A.close();
	await T.close();
	await W.close();
});
