// Events API over HTTP: signed event_callback POSTs checked by Bolt's own
// HTTPReceiver, retries with X-Slack-Retry-Num / -Reason, a hung endpoint
// that holds up nobody else, and a bad signature rejected by the app.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after } from 'node:test';
import bolt from '@slack/bolt';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq } from './lib/fixture.mjs';
import { createManifestApp, endpoint, sleep } from './lib/apps.mjs';

const { App, HTTPReceiver, LogLevel } = bolt;

const SCOPES = ['chat:write', 'channels:read', 'channels:history', 'channels:join', 'app_mentions:read'];
const EVENTS = ['message.channels', 'app_mention'];

let chan;
const env = useServer({ setup: async () => {
	chan = (await env.fx.alice.client.conversations.create({ name: uniq('apps-http') })).channel;
} });

const closers = [];
after(async () => {
	for (const c of closers.reverse()) {
		try { await c(); } catch { /* best effort */ }
	}
});

async function httpApp(name, url) {
	const app = await createManifestApp(env.srv, env.fx.org.id, {
		name: uniq(name), events: EVENTS, scopes: SCOPES, socket: false, requestUrl: url,
	});
	await app.client.conversations.join({ channel: chan.id });
	return app;
}

async function post(text) {
	return (await env.fx.alice.client.chat.postMessage({ channel: chan.id, text })).ts;
}

function verify(secret, rec) {
	const ts = rec.headers['x-slack-request-timestamp'];
	const want = 'v0=' + crypto.createHmac('sha256', secret).update(`v0:${ts}:${rec.body}`).digest('hex');
	return rec.headers['x-slack-signature'] === want;
}

// A Bolt app behind a local server that records each request (the
// receiver is created after the app exists: it needs the signing secret;
// Bolt's listener buffers the body into req.rawBody, recorded at the end).
async function boltHttp(name, { secret } = {}) {
	let listener = null;
	const seen = [];
	const server = http.createServer((req, res) => {
		const rec = { at: Date.now(), headers: req.headers };
		seen.push(rec);
		const origEnd = res.end.bind(res);
		res.end = (...args) => {
			rec.status = res.statusCode;
			rec.body = req.rawBody ? req.rawBody.toString('utf8') : '';
			try { rec.json = JSON.parse(rec.body); } catch { rec.json = null; }
			return origEnd(...args);
		};
		if (!listener) {
			// The app is being created: answer its url_verification as
			// Bolt would (the receiver needs the secret the app gets).
			const chunks = [];
			req.on('data', (d) => chunks.push(d));
			req.on('end', () => {
				req.rawBody = Buffer.concat(chunks);
				let j = null;
				try { j = JSON.parse(req.rawBody.toString('utf8')); } catch { /* not JSON */ }
				if (j && j.type === 'url_verification') {
					res.writeHead(200, { 'Content-Type': 'application/json' });
					res.end(JSON.stringify({ challenge: j.challenge }));
					return;
				}
				res.writeHead(503);
				res.end();
			});
			return;
		}
		listener(req, res);
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	closers.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
	const url = `http://127.0.0.1:${server.address().port}/slack/events`;
	const app = await httpApp(name, url);
	const receiver = new HTTPReceiver({ signingSecret: secret || app.signing_secret, logLevel: LogLevel.ERROR });
	const b = new App({
		token: app.bot_token,
		receiver,
		logLevel: LogLevel.ERROR,
		clientOptions: { slackApiUrl: env.srv.base + '/api/', retryConfig: { retries: 0 } },
	});
	listener = receiver.requestListener;
	return { app, ep: { url, seen }, bolt: b };
}

test('Bolt HTTPReceiver: signed message events arrive; app.message -> say()', async () => {
	const { alice } = env.fx;
	const { app, ep, bolt: b } = await boltHttp('bolthttp');
	const got = [];
	b.message('ping', async ({ message, say }) => {
		got.push(message);
		await say(`pong <@${message.user}>`);
	});
	const ts = await post('ping http');
	await waitFor(() => got.find((m) => m.ts === ts), { timeoutMs: 5000, what: 'message at the Bolt app' });
	const rec = ep.seen.find((r) => r.json && r.json.event && r.json.event.ts === ts);
	assert.ok(rec, 'request recorded');
	assert.equal(rec.headers['content-type'], 'application/json');
	assert.ok(verify(app.signing_secret, rec), 'signature over the exact body');
	assert.ok(Math.abs(Number(rec.headers['x-slack-request-timestamp']) - Date.now() / 1000) < 60);
	assert.equal(rec.headers['x-slack-retry-num'], undefined);
	assert.equal(rec.status, 200);
	const body = rec.json;
	assert.equal(body.type, 'event_callback');
	assert.equal(body.api_app_id, app.id);
	assert.equal(body.team_id, env.fx.org.id);
	assert.match(body.event_id, /^Ev/);
	assert.equal(body.authorizations[0].user_id, app.bot_user_id);
	await waitFor(async () => {
		const h = await alice.client.conversations.history({ channel: chan.id, oldest: ts, limit: 20 });
		return h.messages.find((m) => m.text === `pong <@${alice.id}>`);
	}, { timeoutMs: 5000, intervalMs: 100, what: 'the reply in history' });
});

test('an endpoint answering 500 is retried with X-Slack-Retry-Num and the same event_id', async () => {
	const seenIds = new Set();
	const ep = await endpoint((req, res, rec) => {
		const id = rec.json && rec.json.event_id;
		if (id && !seenIds.has(id)) {
			seenIds.add(id);
			res.writeHead(500);
			res.end('boom');
			return;
		}
		res.writeHead(200);
		res.end();
	});
	closers.push(ep.close);
	const app = await httpApp('flaky', ep.url);
	const ts = await post('flaky delivery');
	const reqs = () => ep.seen.filter((r) => r.json && r.json.event && r.json.event.ts === ts);
	await waitFor(() => reqs().length >= 2, { timeoutMs: 5000, what: 'the retry' });
	const [a, b] = reqs();
	assert.equal(a.headers['x-slack-retry-num'], undefined);
	assert.equal(b.headers['x-slack-retry-num'], '1');
	assert.equal(b.headers['x-slack-retry-reason'], 'http_error');
	assert.equal(b.json.event_id, a.json.event_id);
	assert.ok(b.at - a.at >= 800, `retried after ${b.at - a.at} ms`);
	assert.ok(verify(app.signing_secret, b), 'the retry is signed too');
	await sleep(1500);
	assert.equal(reqs().length, 2, 'delivered: no more retries');
});

test('an answer with X-Slack-No-Retry: 1 is not retried; a 500 without it is', async () => {
	const ep = await endpoint((req, res, rec) => {
		const text = rec.json && rec.json.event && rec.json.event.text;
		res.writeHead(500, text === 'refuse retries' ? { 'X-Slack-No-Retry': '1' } : {});
		res.end('no');
	});
	closers.push(ep.close);
	await httpApp('noretry', ep.url);
	const ts = await post('refuse retries');
	const reqs = () => ep.seen.filter((r) => r.json && r.json.event && r.json.event.ts === ts);
	await waitFor(() => reqs().length >= 1, { timeoutMs: 5000, what: 'the first delivery' });
	const id = reqs()[0].json.event_id;
	// Out of deliveries after the one attempt: nothing can follow.
	await waitFor(() => new RegExp(`app event dropped after retries[^\n]*event_id=${id} attempts=1`).test(env.srv.stderr),
		{ timeoutMs: 5000, what: 'the event given up at once' });
	assert.match(env.srv.stderr, new RegExp(`app refused retries[^\n]*event_id=${id} status=500`));
	assert.equal(reqs().length, 1);
	assert.equal(reqs()[0].headers['x-slack-retry-num'], undefined);
	// Control: the same endpoint without the header hears a retry.
	const ts2 = await post('retry me');
	await waitFor(() => ep.seen.find((r) => r.json && r.json.event && r.json.event.ts === ts2 &&
		r.headers['x-slack-retry-num'] === '1'), { timeoutMs: 5000, what: 'the retry without the header' });
});

test('a hung endpoint delays nobody else; it is retried with http_timeout', async () => {
	const hung = await endpoint(() => { /* never answers */ });
	closers.push(hung.close);
	const healthy = await endpoint((req, res) => { res.writeHead(200); res.end(); });
	closers.push(healthy.close);
	await httpApp('hung', hung.url);
	await httpApp('healthy', healthy.url);
	const tss = [];
	for (let i = 0; i < 8; i++) {
		const t0 = Date.now();
		const ts = await post(`busy ${i}`);
		tss.push(ts);
		await waitFor(() => healthy.seen.find((r) => r.json && r.json.event && r.json.event.ts === ts),
			{ timeoutMs: 1000, intervalMs: 10, what: `healthy app gets message ${i} within 1 s` });
		assert.ok(Date.now() - t0 < 1000);
	}
	// The hung endpoint holds a few requests at a time, then hears retries.
	const hungReqs = () => hung.seen.filter((r) => r.json && r.json.event && tss.includes(r.json.event.ts));
	assert.ok(hungReqs().length <= 4, `at most 4 in flight to the hung app, saw ${hungReqs().length}`);
	const retry = await waitFor(() => hungReqs().find((r) => r.headers['x-slack-retry-num'] === '1'),
		{ timeoutMs: 12000, what: 'a retry to the hung endpoint' });
	assert.equal(retry.headers['x-slack-retry-reason'], 'http_timeout');
	// Still healthy meanwhile.
	const ts = await post('still fine');
	await waitFor(() => healthy.seen.find((r) => r.json && r.json.event && r.json.event.ts === ts),
		{ timeoutMs: 1000, intervalMs: 10, what: 'healthy after the retries began' });
});

test('a bad signature is the app\'s to refuse (Bolt: 401); Canal counts the failure', async () => {
	const { ep } = await boltHttp('badsig', { secret: 'not-the-signing-secret' });
	const ts = await post('badly signed');
	await waitFor(() => ep.seen.find((r) => r.json && r.json.event && r.json.event.ts === ts && r.status === 401),
		{ timeoutMs: 5000, what: 'Bolt answering 401' });
	await waitFor(() => /app event delivery failed[^\n]*status=401/.test(env.srv.stderr),
		{ timeoutMs: 5000, what: 'the failure in the server log' });
});
