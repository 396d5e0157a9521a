// Socket Mode: apps.connections.open, the /link/ WebSocket (hello,
// envelopes, acks, retries, the 10-connection limit, refresh), with raw
// sockets, @slack/socket-mode's SocketModeClient and Bolt in Socket Mode;
// event subscriptions and their scopes.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { SocketModeClient, LogLevel as SmLogLevel } from '@slack/socket-mode';
import bolt from '@slack/bolt';
import { test, useServer, waitFor, CanalServer } from './lib/server.mjs';
import { uniq, webClient, expectError, createOrg, createUser } from './lib/fixture.mjs';
import { closeAll, openWs } from './lib/rtm.mjs';
import {
	createManifestApp, appClient, socketOpen, envelopes, nextEnvelope, ackRaw, sleep,
} from './lib/apps.mjs';

const { App, LogLevel } = bolt;

const SCOPES = ['chat:write', 'channels:read', 'channels:history', 'channels:join', 'app_mentions:read',
	'reactions:read', 'groups:history', 'im:history'];
const EVENTS = ['message.channels', 'app_mention', 'member_joined_channel', 'reaction_added'];

let chan; // public channel of alice, bob
const env = useServer({ setup: async () => {
	const { alice, bob } = env.fx;
	chan = (await alice.client.conversations.create({ name: uniq('apps-sock') })).channel;
	await alice.client.conversations.invite({ channel: chan.id, users: bob.id });
} });
after(closeAll);

const stoppers = [];
after(async () => {
	for (const s of stoppers.reverse()) {
		try { await s(); } catch { /* best effort */ }
	}
});

async function socketApp(name, { events = EVENTS, scopes = SCOPES, join = true } = {}) {
	const app = await createManifestApp(env.srv, env.fx.org.id, { name: uniq(name), events, scopes });
	if (join) await app.client.conversations.join({ channel: chan.id });
	return app;
}

async function post(text, who = env.fx.alice) {
	return (await who.client.chat.postMessage({ channel: chan.id, text })).ts;
}

test('apps.connections.open: app-level token only; ws URL; hello; single-use ticket', async () => {
	const { alice } = env.fx;
	const app = await socketApp('conn', { join: false });
	await expectError(app.client.apps.connections.open(), 'not_allowed_token_type', 'bot token');
	await expectError(alice.client.apps.connections.open(), 'not_allowed_token_type', 'user token');
	await expectError(webClient(env.srv, undefined).apps.connections.open(), 'not_authed', 'no token');
	await expectError(appClient(env.srv, 'xapp-1-bogus').apps.connections.open(), 'invalid_auth', 'bad token');

	// The token as a body argument works too (Slack insists on the header).
	const viaBody = await webClient(env.srv, app.app_token).apps.connections.open();
	assert.equal(viaBody.ok, true);

	const r = await appClient(env.srv, app.app_token).apps.connections.open();
	assert.equal(r.ok, true);
	assert.match(r.url, new RegExp(`^ws://127\\.0\\.0\\.1:${env.srv.port}/link/\\?ticket=[0-9a-f]{32}&app_id=${app.id}$`), r.url);
	const c = await openWs(r.url, { label: 'conn' });
	const hello = await c.next((e) => e.type === 'hello', 5000, 0, 'hello');
	assert.equal(c.events[0], hello, 'hello is the first frame');
	assert.equal(hello.num_connections, 1);
	assert.deepEqual(hello.connection_info, { app_id: app.id });
	assert.equal(hello.debug_info.host, 'canal');
	assert.equal(typeof hello.debug_info.build_number, 'number');
	assert.equal(typeof hello.debug_info.approximate_connection_time, 'number');

	const again = await openWs(r.url).then(() => null, (e) => e);
	assert.equal(again && again.status, 401, `reused ticket: ${again && again.message}`);
	const bogus = await openWs(`ws://127.0.0.1:${env.srv.port}/link/?ticket=${'0'.repeat(32)}&app_id=${app.id}`)
		.then(() => null, (e) => e);
	assert.equal(bogus && bogus.status, 401);
	// A second connection is told there are two.
	const c2 = await socketOpen(env.srv, app, 'conn2');
	assert.equal(c2.hello.num_connections, 2);
	await c.close();
	await c2.close();
});

test('raw socket: envelope shape, ack, unacked envelope retried with retry_attempt 1', async () => {
	const { org, alice } = env.fx;
	const app = await socketApp('raw');
	const c = await socketOpen(env.srv, app);
	const ts = await post('hello raw');
	const e = await nextEnvelope(c, (ev) => ev.type === 'message' && ev.ts === ts, 5000, 0, 'message');
	assert.match(e.envelope_id, /^[0-9a-f-]{36}$/);
	assert.equal(e.accepts_response_payload, false);
	assert.equal(e.retry_attempt, 0);
	assert.equal(e.retry_reason, '');
	const p = e.payload;
	assert.equal(p.type, 'event_callback');
	assert.equal(p.team_id, org.id);
	assert.equal(p.api_app_id, app.id);
	assert.equal(typeof p.token, 'string');
	assert.match(p.event_id, /^Ev[A-Z0-9]+$/);
	assert.equal(typeof p.event_time, 'number');
	assert.ok(Math.abs(p.event_time - Date.now() / 1000) < 60, `event_time ${p.event_time}`);
	assert.deepEqual(p.authorizations, [{ enterprise_id: null, team_id: org.id, user_id: app.bot_user_id,
		is_bot: true, is_enterprise_install: false }]);
	assert.equal(p.is_ext_shared_channel, false);
	assert.equal(typeof p.event_context, 'string');
	assert.equal(p.event.user, alice.id);
	assert.equal(p.event.text, 'hello raw');
	assert.equal(p.event.channel, chan.id);
	assert.equal(p.event.channel_type, 'channel');
	assert.equal(p.event.event_ts, ts);
	assert.equal(p.event.mentioned, undefined);
	ackRaw(c, e);

	// Not acked: the same envelope comes back after ~3 s, retry_attempt 1.
	const from = c.mark();
	const ts2 = await post('not acked');
	const first = await nextEnvelope(c, (ev) => ev.ts === ts2, 5000, from, 'first try');
	const t0 = Date.now();
	const retry = await nextEnvelope(c, (ev, en) => ev.ts === ts2 && en.retry_attempt === 1, 8000, from, 'retry');
	const waited = Date.now() - t0;
	assert.ok(waited >= 2000 && waited < 6000, `retried after ${waited} ms`);
	assert.equal(retry.retry_reason, 'timeout');
	assert.equal(retry.payload.event_id, first.payload.event_id);
	ackRaw(c, retry);
	// Acked: no third try.
	await sleep(3500);
	assert.equal(envelopes(c, (ev) => ev.ts === ts2, from).length, 2);
	// The acked first message was never resent.
	assert.equal(envelopes(c, (ev) => ev.ts === ts).length, 1);
	await c.close();
});

test('up to 10 connections per app, the 11th refused; each envelope to one connection', async () => {
	const app = await socketApp('many');
	const conns = [];
	for (let i = 0; i < 10; i++) conns.push(await socketOpen(env.srv, app, `many${i}`));
	assert.equal(conns[9].hello.num_connections, 10);
	const r = await appClient(env.srv, app.app_token).apps.connections.open();
	const refused = await openWs(r.url).then(() => null, (e) => e);
	assert.ok(refused, '11th connection must be refused');
	assert.equal(refused.status, 429, refused.message);
	assert.match(refused.body, /too_many_connections/);

	const tss = [];
	for (let i = 0; i < 20; i++) tss.push(await post(`fan ${i}`));
	// Every message arrives exactly once across the ten (each is acked).
	const got = new Map();
	await waitFor(() => {
		for (const c of conns) {
			for (const e of envelopes(c, (ev) => tss.includes(ev.ts) && ev.type === 'message')) {
				if (!got.has(e.envelope_id)) {
					got.set(e.envelope_id, e);
					ackRaw(c, e);
				}
			}
		}
		return new Set([...got.values()].map((e) => e.payload.event.ts)).size === tss.length;
	}, { timeoutMs: 8000, what: 'all 20 messages' });
	assert.equal(got.size, tss.length, 'one envelope per message');
	const used = conns.filter((c) => envelopes(c, (ev) => tss.includes(ev.ts)).length > 0).length;
	assert.ok(used >= 5, `round robin spreads envelopes (used ${used} of 10)`);
	// After closing one, a new one fits again.
	await conns[0].close();
	await waitFor(async () => {
		const rr = await appClient(env.srv, app.app_token).apps.connections.open();
		const c = await openWs(rr.url).then((x) => x, () => null);
		if (c) conns[0] = c;
		return c;
	}, { timeoutMs: 5000, what: 'a free slot after a close' });
	for (const c of conns) await c.close();
});

test('SocketModeClient: hello, events, acks, unacked retry', async () => {
	const app = await socketApp('smc');
	const sm = new SocketModeClient({
		appToken: app.app_token,
		logLevel: SmLogLevel.ERROR,
		clientOptions: { slackApiUrl: env.srv.base + '/api/' },
	});
	stoppers.push(() => sm.disconnect());
	const seen = [];
	let skipOnce = null;
	sm.on('slack_event', async ({ ack, type, body, retry_num: retryNum, retry_reason: retryReason }) => {
		seen.push({ type, body, retryNum, retryReason });
		if (type === 'events_api' && body.event.text === skipOnce && retryNum === 0) return; // no ack
		await ack();
	});
	await sm.start();
	const ts = await post('hello smc');
	const ev = await waitFor(() => seen.find((s) => s.body && s.body.event && s.body.event.ts === ts),
		{ timeoutMs: 5000, what: 'message via SocketModeClient' });
	assert.equal(ev.type, 'events_api');
	assert.equal(ev.body.event.type, 'message');
	assert.equal(ev.retryNum, 0);

	skipOnce = 'skip me';
	const ts2 = await post('skip me');
	const retried = await waitFor(() => seen.find((s) => s.body && s.body.event && s.body.event.ts === ts2 && s.retryNum === 1),
		{ timeoutMs: 8000, what: 'retry of the unacked envelope' });
	assert.equal(retried.retryReason, 'timeout');
	await sleep(3500);
	assert.equal(seen.filter((s) => s.body && s.body.event && s.body.event.ts === ts2).length, 2);
	await sm.disconnect();
});

test('Bolt in Socket Mode: app.message -> say() reply in history; app_mention', async () => {
	const { alice } = env.fx;
	const app = await socketApp('boltsm');
	const bolt = new App({
		token: app.bot_token,
		appToken: app.app_token,
		socketMode: true,
		logLevel: LogLevel.ERROR,
		clientOptions: { slackApiUrl: env.srv.base + '/api/', retryConfig: { retries: 0 } },
	});
	const mentions = [];
	bolt.message('hello', async ({ message, say }) => {
		await say(`hi <@${message.user}>`);
	});
	bolt.event('app_mention', async ({ event }) => { mentions.push(event); });
	await bolt.start();
	stoppers.push(() => bolt.stop());

	const ts = await post('hello bolt');
	const reply = await waitFor(async () => {
		const h = await alice.client.conversations.history({ channel: chan.id, oldest: ts, limit: 20 });
		return h.messages.find((m) => m.text === `hi <@${alice.id}>`);
	}, { timeoutMs: 5000, intervalMs: 100, what: 'the Bolt reply in history' });
	assert.equal(reply.user, app.bot_user_id);
	assert.equal(reply.bot_id, app.bot_id);

	const mts = await post(`<@${app.bot_user_id}> are you there?`);
	const m = await waitFor(() => mentions.find((e) => e.ts === mts), { timeoutMs: 5000, what: 'app_mention' });
	assert.equal(m.type, 'app_mention');
	assert.equal(m.user, alice.id);
	assert.equal(m.channel, chan.id);
	// Its own reply did not make it answer itself (ignoreSelf): one reply only.
	await sleep(500);
	const h = await alice.client.conversations.history({ channel: chan.id, oldest: ts, limit: 50 });
	assert.equal(h.messages.filter((x) => x.text === `hi <@${alice.id}>`).length, 1);
	await bolt.stop();
});

test('subscriptions and scopes: no channels:history, not a member, not subscribed -> nothing', async () => {
	const control = await socketApp('control');
	const noScope = await socketApp('noscope', { scopes: SCOPES.filter((s) => s !== 'channels:history' && s !== 'app_mentions:read') });
	const outsider = await socketApp('outsider', { join: false });
	const mentionOnly = await socketApp('mentiononly', { events: ['app_mention'], join: false });
	const cc = await socketOpen(env.srv, control);
	const cn = await socketOpen(env.srv, noScope);
	const co = await socketOpen(env.srv, outsider);
	const cm = await socketOpen(env.srv, mentionOnly);
	const ts = await post(`scoped <@${noScope.bot_user_id}> <@${mentionOnly.bot_user_id}>`);
	await nextEnvelope(cc, (ev) => ev.ts === ts, 5000, 0, 'control app gets the message');
	// The mention-only app (not a member of the public channel) gets app_mention only.
	const am = await nextEnvelope(cm, (ev) => ev.type === 'app_mention' && ev.ts === ts, 5000, 0, 'app_mention');
	assert.equal(am.payload.event.channel, chan.id);
	ackRaw(cm, am);
	await sleep(700);
	assert.deepEqual(envelopes(cn, (ev) => ev.ts === ts), [], 'no channels:history: no message, no app_mention');
	assert.deepEqual(envelopes(co, (ev) => ev.ts === ts), [], 'not a member: no message');
	assert.equal(envelopes(cm, (ev) => ev.ts === ts).length, 1, 'app_mention only');
	// The no-scope app still gets what its scopes allow: member_joined_channel.
	const { bob } = env.fx;
	const from = cn.mark();
	await env.fx.alice.client.conversations.kick({ channel: chan.id, user: bob.id });
	await env.fx.alice.client.conversations.invite({ channel: chan.id, users: bob.id });
	const mj = await nextEnvelope(cn, (ev) => ev.type === 'member_joined_channel' && ev.user === bob.id, 5000, from, 'member_joined_channel');
	assert.equal(mj.payload.event.channel, chan.id);
	for (const c of [cc, cn, co, cm]) await c.close();
});

test('a revoked app token or a deleted app: its sockets get link_disabled and close', async () => {
	const revoked = await socketApp('revoked', { join: false });
	const deleted = await socketApp('deleted', { join: false });
	const kept = await socketApp('kept', { join: false });
	const cr = await socketOpen(env.srv, revoked);
	const cd = await socketOpen(env.srv, deleted);
	const ck = await socketOpen(env.srv, kept);
	await env.srv.cli('token', 'revoke', revoked.app_token);
	const d1 = await cr.next((e) => e.type === 'disconnect', 5000, 0, 'disconnect');
	assert.equal(d1.reason, 'link_disabled');
	assert.equal((await cr.waitClosed(5000)).code, 1008);
	await expectError(appClient(env.srv, revoked.app_token).apps.connections.open(), ['token_revoked', 'invalid_auth']);
	await env.srv.cli('app', 'delete', '--app', deleted.id);
	const d2 = await cd.next((e) => e.type === 'disconnect', 5000, 0, 'disconnect');
	assert.equal(d2.reason, 'link_disabled');
	assert.equal((await cd.waitClosed(5000)).code, 1008);
	// The other app's socket is untouched.
	await sleep(300);
	assert.equal(ck.closeInfo, null);
	assert.equal(ck.all((e) => e.type === 'disconnect').length, 0);
	await ck.close();
});

test('refresh: disconnect refresh_requested, SocketModeClient reconnects, events while away arrive', async () => {
	const srv = await CanalServer.create({ extraArgs: ['--apps-connection-lifetime', '6'] });
	stoppers.push(() => srv.stop());
	try {
		const org = await createOrg(srv, uniq('Refresh'));
		const alice = await createUser(srv, org.id, 'alice');
		const ch = (await alice.client.conversations.create({ name: uniq('refresh') })).channel;
		const app = await createManifestApp(srv, org.id, { name: uniq('refresher'), events: EVENTS, scopes: SCOPES });
		await app.client.conversations.join({ channel: ch.id });

		// The raw view first: disconnect 3 s in (lifetime 6 s: half-way), then our close 5 s later.
		const raw = await socketOpen(srv, app, 'raw-refresh');
		assert.equal(raw.hello.debug_info.approximate_connection_time, 6);
		const d = await raw.next((e) => e.type === 'disconnect', 6000, 0, 'disconnect');
		assert.equal(d.reason, 'refresh_requested');
		assert.equal(d.debug_info.host, 'canal');
		const closed = await raw.waitClosed(8000);
		assert.equal(closed.code, 1000);

		const sm = new SocketModeClient({
			appToken: app.app_token,
			logLevel: SmLogLevel.ERROR,
			clientOptions: { slackApiUrl: srv.base + '/api/' },
		});
		stoppers.push(() => sm.disconnect());
		const texts = [];
		let connects = 0;
		let closes = 0;
		sm.on('connected', () => { connects++; });
		sm.on('close', () => { closes++; });
		sm.on('slack_event', async ({ ack, type, body }) => {
			await ack();
			if (type === 'events_api' && body.event.type === 'message') texts.push(body.event.text);
		});
		await sm.start();
		await alice.client.chat.postMessage({ channel: ch.id, text: 'before refresh' });
		await waitFor(() => texts.includes('before refresh'), { timeoutMs: 5000, what: 'first message' });
		// The server asks for a refresh; the client closes and waits 5 s.
		await waitFor(() => closes >= 1, { timeoutMs: 8000, what: 'the client closing after disconnect' });
		await alice.client.chat.postMessage({ channel: ch.id, text: 'while away' });
		await waitFor(() => connects >= 2, { timeoutMs: 10000, what: 'the client reconnecting by itself' });
		await waitFor(() => texts.includes('while away'), { timeoutMs: 5000, what: 'the message posted while away' });
		await alice.client.chat.postMessage({ channel: ch.id, text: 'after refresh' });
		await waitFor(() => texts.includes('after refresh'), { timeoutMs: 5000, what: 'a message after the reconnect' });
		assert.equal(texts.filter((t) => t === 'while away').length, 1, 'delivered once');
		await sm.disconnect();
	} catch (e) {
		process.stderr.write(`\n##### refresh server stderr #####\n${srv.stderrTail()}\n`);
		throw e;
	}
});
