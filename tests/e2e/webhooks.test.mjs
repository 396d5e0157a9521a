// Incoming webhooks with the official @slack/webhook client: a URL per app
// and channel (`canal admin webhook create`), `ok` on success, Slack's
// plain-text error bodies and statuses otherwise (slack-api.md §11); the
// message is authored by the app's bot and reaches the channel's members in
// real time.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { IncomingWebhook, IncomingWebhookHTTPError } from '@slack/webhook';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq, expectError } from './lib/fixture.mjs';
import { connect, closeAll } from './lib/rtm.mjs';

let chan; // public channel of alice and bob; the hook's
let hook; // the CLI's answer for the hook into chan
const env = useServer({ setup: async () => {
	const { alice, bob, bot } = env.fx;
	chan = (await alice.client.conversations.create({ name: uniq('feed') })).channel;
	await alice.client.conversations.invite({ channel: chan.id, users: bob.id });
	hook = await env.srv.cli('webhook', 'create', '--app', bot.id, '--channel', chan.id, '--user', alice.id);
} });
after(closeAll);

function webhook(url) {
	return new IncomingWebhook(url, { timeout: 10000 });
}

// Rejects with IncomingWebhookHTTPError: returns {statusCode, body}.
async function expectHttpError(promise, statusCode, body) {
	let res;
	try {
		res = await promise;
	} catch (e) {
		assert.ok(e instanceof IncomingWebhookHTTPError, `expected IncomingWebhookHTTPError, got ${e && (e.stack || e)}`);
		assert.equal(e.code, 'slack_webhook_http_error');
		assert.equal(e.statusCode, statusCode, `status for ${body}: ${e.statusCode} ${e.body}`);
		assert.equal(e.body, body);
		return e;
	}
	assert.fail(`expected HTTP ${statusCode} ${body}, got ${JSON.stringify(res)}`);
}

// POST a raw body to the hook URL.
async function rawPost(url, body, contentType = 'application/json') {
	const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body, signal: AbortSignal.timeout(10000) });
	return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function newest(client, channel) {
	const h = await client.conversations.history({ channel, limit: 1 });
	return h.messages[0];
}

test('webhook create: URL shape; the bot joined the channel', async () => {
	const { org, bot, alice } = env.fx;
	const u = new URL(hook.url);
	assert.equal(`${u.protocol}//${u.host}`, env.srv.base, 'the running server\'s base URL');
	const parts = u.pathname.split('/');
	assert.equal(parts.length, 5, hook.url);
	assert.equal(parts[1], 'services');
	assert.equal(parts[2], org.id);
	assert.equal(parts[3], bot.bot_id);
	assert.match(parts[4], /^[A-Za-z0-9]{16,}$/);
	assert.match(hook.id, /^W[A-Z0-9]+$/);
	const members = await alice.client.conversations.members({ channel: chan.id });
	assert.ok(members.members.includes(bot.bot_user_id), 'the bot is a member of the hook\'s channel');
	const list = await env.srv.cli('webhook', 'list', '--app', bot.id);
	const mine = list.find((w) => w.id === hook.id);
	assert.ok(mine, JSON.stringify(list));
	assert.equal(mine.channel_id, chan.id);
	assert.equal(mine.created_by, alice.id);
	assert.equal(mine.revoked, false);
	assert.ok(!('url' in mine), 'the secret is never listed');
});

test('text: answers ok; the message is the bot\'s, in history, and live for members', async () => {
	const { alice, bob, bot } = env.fx;
	const B = await connect(bob.client, { label: 'bob' });
	const from = B.mark();
	const text = `deploy finished ${uniq('t')}`;
	const r = await webhook(hook.url).send(text);
	assert.deepEqual(r, { text: 'ok' });
	const m = await newest(alice.client, chan.id);
	assert.equal(m.text, text);
	assert.equal(m.bot_id, bot.bot_id);
	assert.equal(m.user, bot.bot_user_id);
	assert.equal(m.app_id, bot.id);
	assert.equal(m.subtype, undefined, 'app webhooks post plain bot messages (no subtype)');
	const ev = await B.next((e) => e.type === 'message' && e.channel === chan.id && e.text === text, undefined, from);
	assert.equal(ev.bot_id, bot.bot_id);
	assert.equal(ev.user, bot.bot_user_id);
	assert.equal(ev.ts, m.ts);
	await B.close();
});

test('raw HTTP: text/plain ok, form payload=, JSON sent as text/plain, GET refused', async () => {
	const { alice } = env.fx;
	const a = await rawPost(hook.url, JSON.stringify({ text: 'raw json' }));
	assert.equal(a.status, 200);
	assert.equal(a.text, 'ok');
	assert.match(a.type, /^text\/plain/);
	const f = await rawPost(hook.url, `payload=${encodeURIComponent(JSON.stringify({ text: 'form payload' }))}`, 'application/x-www-form-urlencoded');
	assert.equal(f.status, 200);
	assert.equal(f.text, 'ok');
	assert.equal((await newest(alice.client, chan.id)).text, 'form payload');
	// fetch's default type for a string body is text/plain: still JSON.
	const n = await fetch(hook.url, { method: 'POST', body: JSON.stringify({ text: 'untyped json' }), signal: AbortSignal.timeout(10000) });
	assert.equal(n.status, 200);
	assert.equal(await n.text(), 'ok');
	assert.equal((await newest(alice.client, chan.id)).text, 'untyped json');
	const g = await fetch(hook.url, { signal: AbortSignal.timeout(10000) });
	assert.equal(g.status, 405);
	await g.text();
});

test('blocks only, attachments, thread_ts replies; a body channel is ignored', async () => {
	const { alice, bot } = env.fx;
	const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Build* passed' } }];
	assert.deepEqual(await webhook(hook.url).send({ blocks }), { text: 'ok' });
	let m = await newest(alice.client, chan.id);
	assert.deepEqual(m.blocks, blocks);
	assert.equal(m.bot_id, bot.bot_id);

	const attachments = [{ color: '#36a64f', text: 'attached', fallback: 'attached' }];
	assert.deepEqual(await webhook(hook.url).send({ text: 'with attachment', attachments }), { text: 'ok' });
	m = await newest(alice.client, chan.id);
	assert.equal(m.attachments.length, 1);
	assert.equal(m.attachments[0].text, 'attached');

	const parent = (await alice.client.chat.postMessage({ channel: chan.id, text: 'release thread' })).ts;
	const general = (await alice.client.conversations.list({ types: 'public_channel', limit: 200 })).channels.find((c) => c.is_general);
	assert.deepEqual(await webhook(hook.url).send({ text: 'reply from the hook', thread_ts: parent, channel: general.id }), { text: 'ok' });
	const rep = await alice.client.conversations.replies({ channel: chan.id, ts: parent });
	assert.equal(rep.messages.length, 2);
	assert.equal(rep.messages[1].text, 'reply from the hook');
	assert.equal(rep.messages[1].thread_ts, parent);
	assert.equal(rep.messages[1].bot_id, bot.bot_id);
});

test('errors: no_text, invalid_payload, no_service (unknown, wrong ids), unknown thread', async () => {
	const { bot } = env.fx;
	await expectHttpError(webhook(hook.url).send({}), 400, 'no_text');
	await expectHttpError(webhook(hook.url).send({ text: '' }), 400, 'no_text');
	await expectHttpError(webhook(hook.url).send({ blocks: [] }), 400, 'no_text');
	const bad = await rawPost(hook.url, '{"text": "unterminated');
	assert.deepEqual([bad.status, bad.text], [400, 'invalid_payload']);
	const arr = await rawPost(hook.url, '["text"]');
	assert.deepEqual([arr.status, arr.text], [400, 'invalid_payload']);
	const empty = await rawPost(hook.url, '');
	assert.deepEqual([empty.status, empty.text], [400, 'invalid_payload']);
	const badBlocks = await rawPost(hook.url, JSON.stringify({ blocks: [{ text: 'no type' }] }));
	assert.deepEqual([badBlocks.status, badBlocks.text], [400, 'invalid_blocks']);

	const u = new URL(hook.url);
	const [, , t, b, secret] = u.pathname.split('/');
	await expectHttpError(webhook(`${env.srv.base}/services/${t}/${b}/${secret}x`).send('x'), 404, 'no_service');
	await expectHttpError(webhook(`${env.srv.base}/services/T0WRONG/${b}/${secret}`).send('x'), 404, 'no_service');
	await expectHttpError(webhook(`${env.srv.base}/services/${t}/B0WRONG/${secret}`).send('x'), 404, 'no_service');
	await expectHttpError(webhook(`${env.srv.base}/services/${t}/${b}`).send('x'), 404, 'no_service');
	await expectHttpError(webhook(hook.url).send({ text: 'x', thread_ts: '1234567890.123456' }), 400, 'thread_not_found');
	assert.ok(bot.bot_id);
});

test('archived channel: 410 channel_is_archived; revoked hook: 404 no_service', async () => {
	const { alice, bot } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('arch') })).channel;
	const h = await env.srv.cli('webhook', 'create', '--app', bot.id, '--channel', ch.id);
	assert.deepEqual(await webhook(h.url).send('before archiving'), { text: 'ok' });
	await alice.client.conversations.archive({ channel: ch.id });
	await expectHttpError(webhook(h.url).send('after archiving'), 410, 'channel_is_archived');
	await alice.client.conversations.unarchive({ channel: ch.id });

	const h2 = await env.srv.cli('webhook', 'create', '--app', bot.id, '--channel', ch.id);
	assert.deepEqual(await webhook(h2.url).send('still fine'), { text: 'ok' });
	const rv = await env.srv.cli('webhook', 'revoke', '--id', h2.id);
	assert.equal(rv.ok, true);
	await expectHttpError(webhook(h2.url).send('after revoking'), 404, 'no_service');
	const list = await env.srv.cli('webhook', 'list', '--app', bot.id);
	assert.equal(list.find((w) => w.id === h2.id).revoked, true);
	// Creating a hook into an archived channel is refused.
	await alice.client.conversations.archive({ channel: ch.id });
	await assert.rejects(env.srv.cli('webhook', 'create', '--app', bot.id, '--channel', ch.id), /is_archived/);
});

test('a hook of a deleted app stops; a private channel needs a member installer', async () => {
	const { alice, bob, org } = env.fx;
	const app = await env.srv.cli('app', 'create', '--org', org.id, '--name', uniq('hookapp'), '--scopes', 'chat:write');
	const priv = (await alice.client.conversations.create({ name: uniq('priv'), is_private: true })).channel;
	await assert.rejects(env.srv.cli('webhook', 'create', '--app', app.id, '--channel', priv.id, '--user', bob.id), /channel_not_found/);
	const h = await env.srv.cli('webhook', 'create', '--app', app.id, '--channel', priv.id, '--user', alice.id);
	assert.deepEqual(await webhook(h.url).send('private hello'), { text: 'ok' });
	assert.equal((await newest(alice.client, priv.id)).text, 'private hello');
	await alice.client.apiCall('apps.manifest.delete', { app_id: app.id });
	await expectHttpError(webhook(h.url).send('after delete'), 404, 'no_service');
});

test('hooks survive a restart (new port, same secret)', async () => {
	const { alice, bot } = env.fx;
	const u = new URL(hook.url);
	await env.srv.restart();
	const url = `${env.srv.base}${u.pathname}`;
	assert.deepEqual(await webhook(url).send('after restart'), { text: 'ok' });
	const m = await waitFor(async () => {
		const x = await newest(alice.client, chan.id);
		return x.text === 'after restart' && x;
	}, { what: 'the post-restart message' });
	assert.equal(m.bot_id, bot.bot_id);
	const list = await env.srv.cli('webhook', 'list', '--app', bot.id);
	assert.ok(list.some((w) => w.id === hook.id && !w.revoked));
	await expectError(alice.client.conversations.info({ channel: 'C0NOPE' }), 'channel_not_found');
});
