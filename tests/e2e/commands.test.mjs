// Slash commands (chat.command, the method Slack's client uses), their
// immediate responses and response_url, built-in commands, and ephemeral
// messages (chat.postEphemeral): Bolt in Socket Mode and behind its HTTP
// receiver (so Bolt's own code checks the signatures).
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer, waitFor, CanalServer } from './lib/server.mjs';
import { uniq, expectError, makeFixture } from './lib/fixture.mjs';
import { connect, closeAll } from './lib/rtm.mjs';
import {
	createInteractiveApp, boltSocket, boltHttpServer, postResponse, deferred, within,
} from './lib/interact.mjs';

let chan; // public: alice, bob
let priv; // private: alice only
const env = useServer({ setup: async () => {
	const { alice, bob } = env.fx;
	chan = (await alice.client.conversations.create({ name: uniq('cmd') })).channel;
	await alice.client.conversations.invite({ channel: chan.id, users: bob.id });
	priv = (await alice.client.conversations.create({ name: uniq('cmd-priv'), is_private: true })).channel;
} });
after(closeAll);

const stoppers = [];
after(async () => {
	for (const s of stoppers.reverse()) {
		try { await s(); } catch { /* best effort */ }
	}
});

const command = (who, args) => who.client.apiCall('chat.command', args);

async function history(channel, who = env.fx.alice) {
	return (await who.client.conversations.history({ channel, limit: 100 })).messages;
}

// A Socket Mode Bolt app owning `cmd`, with the listener given.
async function socketCommandApp(cmd, listener, opts = {}) {
	const app = await createInteractiveApp(env.srv, env.fx.org.id, {
		name: uniq('cmdapp'), commands: [{ command: cmd, ...opts }],
	});
	const b = await boltSocket(env.srv, app);
	b.command(cmd, listener);
	await b.start();
	stoppers.push(() => b.stop());
	return { app, bolt: b };
}

test('Bolt Socket Mode: /wheatley payload, ack, ephemeral respond (never stored), in_channel respond (stored)', async () => {
	const { alice, bob, org } = env.fx;
	const seen = deferred();
	const done = deferred();
	const cmd = '/' + uniq('wheatley').replace(/-/g, '');
	const { app } = await socketCommandApp(cmd, async ({ command: c, ack, respond }) => {
		seen.resolve(c);
		await ack();
		await respond(`wheatley (ephemeral) ${c.text}`);
		await respond({ response_type: 'in_channel', text: `wheatley (in_channel) ${c.text}` });
		done.resolve();
	});
	const aliceRtm = await connect(alice.client);
	const bobRtm = await connect(bob.client);

	const r = await command(alice, { channel: chan.id, command: cmd, text: 'help security' });
	assert.equal(r.ok, true);
	assert.equal(r.response, undefined, 'an empty ack shows nothing');
	const p = await within(seen, 5000, 'command listener');
	for (const [k, v] of Object.entries(p)) assert.equal(typeof v, 'string', `${k} is a string`);
	assert.equal(p.command, cmd);
	assert.equal(p.text, 'help security');
	assert.equal(p.team_id, org.id);
	assert.equal(p.channel_id, chan.id);
	assert.equal(p.channel_name, chan.name);
	assert.equal(p.user_id, alice.id);
	assert.equal(p.user_name, 'alice');
	assert.equal(p.api_app_id, app.id);
	assert.equal(p.is_enterprise_install, 'false');
	assert.ok(p.token.length > 0);
	assert.match(p.response_url, new RegExp(`^${env.srv.base}/respond/[0-9a-f]{32}$`));
	assert.match(p.trigger_id, /^\d+\.\d+\.[0-9a-f]+$/);
	await within(done, 5000, 'responds');

	const eph = await aliceRtm.next((e) => e.type === 'message' && e.is_ephemeral && e.text === 'wheatley (ephemeral) help security');
	assert.equal(eph.channel, chan.id);
	assert.equal(eph.user, app.bot_user_id);
	assert.equal(eph.bot_id, app.bot_id);
	assert.match(eph.ts, /^\d{10}\.\d{6}$/);
	const pub = await waitFor(async () => (await history(chan.id)).find((m) => m.text === 'wheatley (in_channel) help security'),
		{ what: 'in_channel response in history' });
	assert.equal(pub.bot_id, app.bot_id);
	assert.equal(pub.user, app.bot_user_id);
	assert.equal(pub.app_id, app.id);
	const all = await history(chan.id);
	assert.equal(all.filter((m) => /ephemeral/.test(m.text)).length, 0, 'the ephemeral response is not stored');
	// bob sees the in_channel message live, never alice's ephemeral one.
	await bobRtm.next((e) => e.type === 'message' && e.text === 'wheatley (in_channel) help security');
	await bobRtm.ping();
	assert.equal(bobRtm.all((e) => e.is_ephemeral).length, 0, 'bob got no ephemeral message');
});

test('immediate response: ack(text) is ephemeral, ack({response_type:"in_channel"}) is a message', async () => {
	const { alice } = env.fx;
	const cmd = '/' + uniq('imm').replace(/-/g, '');
	await socketCommandApp(cmd, async ({ command: c, ack }) => {
		if (c.text === 'public') await ack({ response_type: 'in_channel', text: 'everyone sees this', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*everyone*' } }] });
		else if (c.text === 'blocks') await ack({ blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'only you' } }] });
		else await ack(`pong ${c.text}`);
	});
	const rtm = await connect(alice.client);
	const r1 = await command(alice, { channel: chan.id, command: cmd, text: 'one' });
	assert.equal(r1.response.response_type, 'ephemeral');
	assert.equal(r1.response.text, 'pong one');
	assert.match(r1.response.ts, /^\d{10}\.\d{6}$/);
	const ev = await rtm.next((e) => e.is_ephemeral && e.text === 'pong one');
	assert.equal(ev.ts, r1.response.ts);

	const r2 = await command(alice, { channel: chan.id, command: cmd, text: 'public' });
	assert.equal(r2.response.response_type, 'in_channel');
	const msgs = await history(chan.id);
	const m = msgs.find((x) => x.ts === r2.response.ts);
	assert.ok(m, 'in_channel immediate response stored');
	assert.equal(m.text, 'everyone sees this');
	assert.equal(m.blocks[0].type, 'section');

	const r3 = await command(alice, { channel: chan.id, command: cmd, text: 'blocks' });
	assert.equal(r3.response.response_type, 'ephemeral');
	assert.equal(r3.response.blocks[0].text.text, 'only you');
	assert.ok(!(await history(chan.id)).some((x) => x.ts === r3.response.ts || x.ts === r1.response.ts),
		'ephemeral immediate responses are not stored');
});

test('unknown and malformed commands; channel checks', async () => {
	const { alice, bob } = env.fx;
	await expectError(command(alice, { channel: chan.id, command: '/nosuchcommand', text: '' }), 'invalid_command');
	await expectError(command(alice, { channel: chan.id, command: 'wheatley', text: '' }), 'invalid_command', 'no slash');
	await expectError(command(alice, { channel: chan.id, text: 'x' }), 'invalid_arguments', 'no command');
	await expectError(command(bob, { channel: priv.id, command: '/me', text: 'x' }), 'channel_not_found', 'private channel of others');
	await expectError(command(alice, { channel: 'C0000000000', command: '/me', text: 'x' }), 'channel_not_found');
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('botcmd'), commands: [{ command: '/' + uniq('b').replace(/-/g, '') }] });
	await expectError(app.client.apiCall('chat.command', { channel: chan.id, command: '/me', text: 'x' }), 'not_allowed_token_type', 'bots do not type commands');
	const arch = (await alice.client.conversations.create({ name: uniq('cmd-arch') })).channel;
	await alice.client.conversations.archive({ channel: arch.id });
	await expectError(command(alice, { channel: arch.id, command: '/me', text: 'x' }), 'is_archived');
});

test('an app that never acks: operation_timeout after ~3 s; no connection: dispatch_failed', async () => {
	const { alice } = env.fx;
	const cmd = '/' + uniq('slow').replace(/-/g, '');
	const called = deferred();
	await socketCommandApp(cmd, async () => { called.resolve(); /* never acks */ });
	const t0 = Date.now();
	await expectError(command(alice, { channel: chan.id, command: cmd, text: '' }), 'operation_timeout');
	const took = Date.now() - t0;
	await within(called, 1000, 'listener ran');
	assert.ok(took >= 2500 && took < 3500 + 1500, `answered after ${took} ms`);

	// Socket Mode app with nobody connected.
	const offline = '/' + uniq('off').replace(/-/g, '');
	await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('offline'), commands: [{ command: offline }] });
	const t1 = Date.now();
	await expectError(command(alice, { channel: chan.id, command: offline, text: '' }), 'dispatch_failed');
	assert.ok(Date.now() - t1 < 2500, 'fails fast');
});

test('Bolt HTTP receiver: signed form request, ack body is the immediate response; respond in_channel', async () => {
	const { alice } = env.fx;
	const h = await boltHttpServer();
	stoppers.push(() => h.close());
	const cmd = '/' + uniq('http').replace(/-/g, '');
	const app = await createInteractiveApp(env.srv, env.fx.org.id, {
		name: uniq('httpcmd'), socket: false, requestUrl: h.url, commands: [{ command: cmd }],
	});
	const b = h.attach(env.srv, app);
	const got = deferred();
	b.command(cmd, async ({ command: c, ack, respond }) => {
		got.resolve(c);
		await ack({ text: `http ok ${c.text}` });
		await respond({ response_type: 'in_channel', text: `http public ${c.text}` });
	});
	const r = await command(alice, { channel: chan.id, command: cmd, text: 'x1' });
	assert.equal(r.response.text, 'http ok x1');
	const c = await within(got, 5000, 'listener');
	assert.equal(c.user_id, alice.id);
	const req = h.seen.find((s) => s.status === 200);
	assert.ok(req, `a request Bolt accepted: ${JSON.stringify(h.seen.map((s) => s.status))}`);
	assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
	assert.match(req.headers['x-slack-signature'], /^v0=[0-9a-f]{64}$/);
	assert.match(req.body, /(^|&)command=%2F/);
	await waitFor(async () => (await history(chan.id)).some((m) => m.text === 'http public x1'), { what: 'in_channel via HTTP app' });

	// The same app with the wrong signing secret rejects Canal's request.
	const h2 = await boltHttpServer();
	stoppers.push(() => h2.close());
	const cmd2 = '/' + uniq('badsig').replace(/-/g, '');
	const app2 = await createInteractiveApp(env.srv, env.fx.org.id, {
		name: uniq('badsig'), socket: false, requestUrl: h2.url, commands: [{ command: cmd2 }],
	});
	const b2 = h2.attach(env.srv, app2, { signingSecret: 'not-the-secret' });
	b2.command(cmd2, async ({ ack }) => { await ack('never'); });
	await expectError(command(alice, { channel: chan.id, command: cmd2, text: '' }), 'dispatch_failed');
	assert.equal(h2.seen[0].status, 401, 'Bolt refused the signature');
});

test('response_url: 5 uses, then 404; bad JSON 400; unknown 404; GET 405', async () => {
	const { alice } = env.fx;
	const cmd = '/' + uniq('five').replace(/-/g, '');
	const url = deferred();
	await socketCommandApp(cmd, async ({ command: c, ack }) => { url.resolve(c.response_url); await ack(); });
	await command(alice, { channel: chan.id, command: cmd, text: '' });
	const u = await within(url, 5000, 'response_url');

	const bad = await postResponse(u, '{not json');
	assert.equal(bad.status, 400);
	assert.equal(bad.text, 'invalid_payload');
	const noText = await postResponse(u, { response_type: 'in_channel' });
	assert.equal(noText.status, 400);
	assert.equal(noText.json.error, 'no_text');
	// noText used one: 4 left.
	for (let i = 0; i < 4; i++) {
		const r = await postResponse(u, { text: `use ${i}` });
		assert.equal(r.status, 200, `use ${i}: ${r.text}`);
		assert.deepEqual(r.json, { ok: true });
	}
	const sixth = await postResponse(u, { text: 'one too many' });
	assert.equal(sixth.status, 404);
	assert.equal(sixth.text, 'used_url');

	const unknown = await postResponse(`${env.srv.base}/respond/${'0'.repeat(32)}`, { text: 'x' });
	assert.equal(unknown.status, 404);
	assert.equal(unknown.text, 'expired_url');
	const get = await fetch(u);
	assert.equal(get.status, 405);
	await get.text();
});

test('response_url expires (response-url-ttl setting)', async () => {
	const srv = await CanalServer.create({ extraArgs: ['--response-url-ttl', '1'] });
	try {
		const fx = await makeFixture(srv);
		const c2 = (await fx.alice.client.conversations.create({ name: uniq('ttl') })).channel;
		const cmd = '/' + uniq('ttl').replace(/-/g, '');
		const app = await createInteractiveApp(srv, fx.org.id, { name: uniq('ttlapp'), commands: [{ command: cmd }] });
		const b = await boltSocket(srv, app);
		const url = deferred();
		b.command(cmd, async ({ command: c, ack }) => { url.resolve(c.response_url); await ack(); });
		await b.start();
		try {
			await fx.alice.client.apiCall('chat.command', { channel: c2.id, command: cmd, text: '' });
			const u = await within(url, 5000, 'response_url');
			assert.equal((await postResponse(u, { text: 'in time' })).status, 200);
			await new Promise((r) => setTimeout(r, 1300));
			const late = await postResponse(u, { text: 'too late' });
			assert.equal(late.status, 404);
			assert.equal(late.text, 'expired_url');
		} finally {
			await b.stop();
		}
	} finally {
		await srv.stop();
	}
});

test('should_escape: @handles and #channels reach the app as <@U|name> and <#C|name>', async () => {
	const { alice, bob } = env.fx;
	const cmd = '/' + uniq('esc').replace(/-/g, '');
	const got = deferred();
	await socketCommandApp(cmd, async ({ command: c, ack }) => { got.resolve(c.text); await ack(); }, { should_escape: true });
	await command(alice, { channel: chan.id, command: cmd, text: `ping @bob in #${chan.name} and @nobody` });
	assert.equal(await within(got, 5000, 'text'), `ping <@${bob.id}|bob> in <#${chan.id}|${chan.name}> and @nobody`);
});

test('built-ins: /me, /topic, /purpose, /invite, /shrug, /leave', async () => {
	const { alice, bob } = env.fx;
	const c = (await alice.client.conversations.create({ name: uniq('builtin') })).channel;

	assert.deepEqual(await command(alice, { channel: c.id, command: '/me', text: 'waves' }), { ok: true, response_metadata: { scopes: ['*'] } });
	let msgs = await history(c.id);
	const me = msgs.find((m) => m.subtype === 'me_message');
	assert.equal(me.text, 'waves');
	assert.equal(me.user, alice.id);

	await command(alice, { channel: c.id, command: '/TOPIC', text: 'Launch day' });
	const info = await alice.client.conversations.info({ channel: c.id });
	assert.equal(info.channel.topic.value, 'Launch day');
	await command(alice, { channel: c.id, command: '/purpose', text: 'Ship it' });
	assert.equal((await alice.client.conversations.info({ channel: c.id })).channel.purpose.value, 'Ship it');

	await expectError(command(alice, { channel: c.id, command: '/invite', text: '@nobody-here' }), 'user_not_found');
	await expectError(command(alice, { channel: c.id, command: '/invite', text: '' }), 'no_user');
	await command(alice, { channel: c.id, command: '/invite', text: '@bob' });
	let members = (await alice.client.conversations.members({ channel: c.id })).members;
	assert.ok(members.includes(bob.id), 'bob invited');
	await expectError(command(alice, { channel: c.id, command: '/invite', text: `<@${bob.id}>` }), 'already_in_channel');

	await command(alice, { channel: c.id, command: '/shrug', text: 'oh well' });
	msgs = await history(c.id);
	assert.ok(msgs.some((m) => m.text === 'oh well ¯\\_(ツ)_/¯' && m.user === alice.id), 'shrug posted');

	await command(bob, { channel: c.id, command: '/leave', text: '' });
	members = (await alice.client.conversations.members({ channel: c.id })).members;
	assert.ok(!members.includes(bob.id), 'bob left');
});

test('chat.postEphemeral: live to one member only, never in history; errors', async () => {
	const { alice, bob } = env.fx;
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('ephbot') });
	await app.client.conversations.join({ channel: chan.id });
	const aliceRtm = await connect(alice.client);
	const bobRtm = await connect(bob.client);

	const r = await app.client.chat.postEphemeral({ channel: chan.id, user: alice.id, text: 'just for you', blocks: [{ type: 'section', text: { type: 'plain_text', text: 'psst' } }] });
	assert.equal(r.ok, true);
	assert.match(r.message_ts, /^\d{10}\.\d{6}$/);
	const ev = await aliceRtm.next((e) => e.is_ephemeral && e.ts === r.message_ts);
	assert.equal(ev.type, 'message');
	assert.equal(ev.text, 'just for you');
	assert.equal(ev.channel, chan.id);
	assert.equal(ev.user, app.bot_user_id);
	assert.equal(ev.bot_id, app.bot_id);
	assert.equal(ev.blocks[0].text.text, 'psst');
	await bobRtm.ping();
	assert.equal(bobRtm.all((e) => e.ts === r.message_ts).length, 0, 'bob never sees it');
	assert.ok(!(await history(chan.id)).some((m) => m.ts === r.message_ts || m.text === 'just for you'), 'not stored');

	// A person may post one too (user token), in a thread.
	const parent = await alice.client.chat.postMessage({ channel: chan.id, text: 'thread' });
	const r2 = await alice.client.chat.postEphemeral({ channel: chan.id, user: bob.id, text: 'whisper', thread_ts: parent.ts });
	const ev2 = await bobRtm.next((e) => e.is_ephemeral && e.ts === r2.message_ts);
	assert.equal(ev2.user, alice.id);
	assert.equal(ev2.thread_ts, parent.ts);
	const replies = await alice.client.conversations.replies({ channel: chan.id, ts: parent.ts });
	assert.equal(replies.messages.length, 1, 'no reply stored');

	await expectError(app.client.chat.postEphemeral({ channel: priv.id, user: alice.id, text: 'x' }), 'channel_not_found', 'bot outside private channel');
	await expectError(app.client.chat.postEphemeral({ channel: chan.id, user: 'U0000000000', text: 'x' }), 'user_not_found');
	const outsider = (await alice.client.conversations.create({ name: uniq('eph-out') })).channel;
	await app.client.conversations.join({ channel: outsider.id });
	await expectError(app.client.chat.postEphemeral({ channel: outsider.id, user: bob.id, text: 'x' }), 'user_not_in_channel');
	await expectError(app.client.chat.postEphemeral({ channel: chan.id, user: bob.id }), 'no_text');
	await expectError(app.client.chat.postEphemeral({ channel: chan.id, user: bob.id, blocks: [{ text: 'no type' }] }), 'invalid_blocks');
	const noScope = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('noscope'), scopes: ['channels:join'] });
	await noScope.client.conversations.join({ channel: chan.id });
	const e = await expectError(noScope.client.chat.postEphemeral({ channel: chan.id, user: bob.id, text: 'x' }), 'missing_scope');
	assert.equal(e.needed, 'chat:write');
});
