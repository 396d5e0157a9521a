// Events API request URL verification: saving a request URL (through
// apps.manifest.create / apps.manifest.update or `canal admin app create`)
// sends Slack's signed url_verification challenge, and the URL is kept
// only if the endpoint echoes it (Bolt's HTTPReceiver answers it itself).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after } from 'node:test';
import bolt from '@slack/bolt';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq, expectError } from './lib/fixture.mjs';
import { endpoint } from './lib/apps.mjs';

const { App, HTTPReceiver, LogLevel } = bolt;

const env = useServer();
const closers = [];
after(async () => {
	for (const c of closers.reverse()) {
		try { await c(); } catch { /* best effort */ }
	}
});

function manifest(name, url, { socket = false } = {}) {
	return {
		display_information: { name },
		features: { bot_user: { display_name: name } },
		oauth_config: { scopes: { bot: ['chat:write', 'channels:history', 'channels:join'] } },
		settings: {
			socket_mode_enabled: socket,
			event_subscriptions: { bot_events: ['message.channels'], ...(url ? { request_url: url } : {}) },
		},
	};
}

function verify(secret, rec) {
	const ts = rec.headers['x-slack-request-timestamp'];
	const want = 'v0=' + crypto.createHmac('sha256', secret).update(`v0:${ts}:${rec.body}`).digest('hex');
	return rec.headers['x-slack-signature'] === want;
}

async function ep(answer) {
	const e = await endpoint(answer, { verify: false });
	closers.push(e.close);
	return e;
}

const challenges = (e) => e.seen.filter((r) => r.json && r.json.type === 'url_verification');

function refusedAt(body, re) {
	assert.equal(body.error, 'invalid_manifest');
	assert.equal(body.errors.length, 1, JSON.stringify(body.errors));
	assert.equal(body.errors[0].pointer, '/settings/event_subscriptions/request_url');
	assert.match(body.errors[0].message, re);
}

test('apps.manifest.create: the challenge is signed with the new app\'s secret and echoed', async () => {
	const { alice } = env.fx;
	const e = await ep((req, res, rec) => {
		res.writeHead(200, { 'Content-Type': 'text/plain' });
		res.end(rec.json ? rec.json.challenge : '');
	});
	const r = await alice.client.apiCall('apps.manifest.create', { manifest: manifest(uniq('Vc').slice(0, 30), e.url) });
	assert.equal(r.ok, true);
	const [c] = challenges(e);
	assert.ok(c, 'a url_verification arrived');
	assert.equal(c.headers['content-type'], 'application/json');
	assert.deepEqual(Object.keys(c.json).sort(), ['challenge', 'token', 'type']);
	assert.ok(c.json.challenge.length >= 32);
	assert.equal(c.json.token, r.credentials.verification_token);
	assert.ok(verify(r.credentials.signing_secret, c), 'signed with the secret the app got');
	const ex = await alice.client.apiCall('apps.manifest.export', { app_id: r.app_id });
	assert.equal(ex.manifest.settings.event_subscriptions.request_url, e.url);
});

test('apps.manifest.create refused: wrong challenge, HTTP 500, nothing listening; no app made', async () => {
	const { alice } = env.fx;
	const before = (await alice.client.users.list({ limit: 1000 })).members.length;
	const wrong = await ep((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('not it'); });
	refusedAt(await expectError(alice.client.apiCall('apps.manifest.create', { manifest: manifest('Wrong', wrong.url) }), 'invalid_manifest'),
		/didn't respond with the value of the challenge parameter/);
	const boom = await ep((req, res) => { res.writeHead(500); res.end(); });
	refusedAt(await expectError(alice.client.apiCall('apps.manifest.create', { manifest: manifest('Boom', boom.url) }), 'invalid_manifest'),
		/gave us a 500 error/);
	// A port nobody listens on (a server opened and closed again).
	const gone = http.createServer();
	await new Promise((r) => gone.listen(0, '127.0.0.1', r));
	const port = gone.address().port;
	await new Promise((r) => gone.close(r));
	refusedAt(await expectError(alice.client.apiCall('apps.manifest.create', { manifest: manifest('Gone', `http://127.0.0.1:${port}/x`) }), 'invalid_manifest'),
		/could not be reached \(connection_failed\)/);
	const after2 = (await alice.client.users.list({ limit: 1000 })).members.length;
	assert.equal(after2, before, 'no bot user was created');
});

test('a hung endpoint is refused after 3 s without holding up anyone else', async () => {
	const { alice } = env.fx;
	const hung = await ep(() => { /* never answers */ });
	const t0 = Date.now();
	const pending = alice.client.apiCall('apps.manifest.create', { manifest: manifest('Hung', hung.url) }).catch((err) => err);
	await waitFor(() => challenges(hung).length === 1, { timeoutMs: 5000, what: 'the challenge at the hung endpoint' });
	// The loop is free meanwhile.
	const t1 = Date.now();
	assert.equal((await alice.client.api.test()).ok, true);
	assert.ok(Date.now() - t1 < 1000, 'api.test answered at once');
	const err = await pending;
	refusedAt(err.data, /could not be reached \(http_timeout\)/);
	const took = Date.now() - t0;
	assert.ok(took >= 2500 && took < 10000, `refused after ${took} ms`);
});

test('answers Slack accepts: JSON, form, plain text', async () => {
	const { alice } = env.fx;
	const forms = {
		json: (c) => ['application/json', JSON.stringify({ challenge: c })],
		form: (c) => ['application/x-www-form-urlencoded', `challenge=${c}`],
		text: (c) => ['text/plain', `${c}\n`],
	};
	for (const [kind, f] of Object.entries(forms)) {
		const e = await ep((req, res, rec) => {
			const [ct, body] = f(rec.json.challenge);
			res.writeHead(200, { 'Content-Type': ct });
			res.end(body);
		});
		const r = await alice.client.apiCall('apps.manifest.create', { manifest: manifest(`Ok ${kind}`, e.url) });
		assert.equal(r.ok, true, kind);
	}
});

test('apps.manifest.update: Bolt\'s HTTPReceiver passes the challenge; a changed URL is verified, the same one not', async () => {
	const { alice } = env.fx;
	const name = uniq('Vu').slice(0, 30);
	const r = await alice.client.apiCall('apps.manifest.create', { manifest: manifest(name, null, { socket: true }) });
	// A real Bolt app with the new secret, behind a recording server.
	const seen = [];
	const receiver = new HTTPReceiver({ signingSecret: r.credentials.signing_secret, logLevel: LogLevel.ERROR });
	const app = new App({ token: r.bot_token, receiver, logLevel: LogLevel.ERROR,
		clientOptions: { slackApiUrl: env.srv.base + '/api/', retryConfig: { retries: 0 } } });
	const server = http.createServer((req, res) => {
		const rec = { headers: req.headers };
		seen.push(rec);
		const end = res.end.bind(res);
		res.end = (...a) => { rec.status = res.statusCode; rec.body = req.rawBody ? req.rawBody.toString() : ''; return end(...a); };
		receiver.requestListener(req, res);
	});
	await new Promise((res) => server.listen(0, '127.0.0.1', res));
	closers.push(() => new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }));
	const url = `http://127.0.0.1:${server.address().port}/slack/events`;
	const got = [];
	app.message(async ({ message }) => { got.push(message); });

	const up = await alice.client.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: manifest(name, url) });
	assert.equal(up.ok, true);
	assert.equal(seen.length, 1);
	assert.equal(seen[0].status, 200, 'Bolt checked the signature and answered');
	assert.equal(JSON.parse(seen[0].body).type, 'url_verification');
	// Events now go there.
	const bot = (await import('./lib/fixture.mjs')).webClient(env.srv, r.bot_token);
	const ch = (await alice.client.conversations.create({ name: uniq('verified') })).channel;
	await bot.conversations.join({ channel: ch.id });
	const { ts } = await alice.client.chat.postMessage({ channel: ch.id, text: 'to the verified URL' });
	await waitFor(() => got.find((m) => m.ts === ts), { timeoutMs: 5000, what: 'the event at Bolt' });
	// Saving the same URL again sends no new challenge.
	const n = seen.length;
	const m2 = manifest(name, url);
	m2.display_information.description = 'changed, URL the same';
	assert.equal((await alice.client.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: m2 })).ok, true);
	assert.equal(seen.length, n);

	// A Bolt receiver with another secret refuses the challenge (401): the
	// update fails and the old URL stays.
	const other = new HTTPReceiver({ signingSecret: 'some-other-secret-entirely', logLevel: LogLevel.ERROR });
	new App({ token: r.bot_token, receiver: other, logLevel: LogLevel.ERROR, // eslint-disable-line no-new
		clientOptions: { slackApiUrl: env.srv.base + '/api/', retryConfig: { retries: 0 } } });
	const server2 = http.createServer((req, res) => other.requestListener(req, res));
	await new Promise((res) => server2.listen(0, '127.0.0.1', res));
	closers.push(() => new Promise((res) => { server2.closeAllConnections(); server2.close(() => res()); }));
	const url2 = `http://127.0.0.1:${server2.address().port}/slack/events`;
	refusedAt(await expectError(alice.client.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: manifest(name, url2) }), 'invalid_manifest'),
		/gave us a 401 error/);
	const ex = await alice.client.apiCall('apps.manifest.export', { app_id: r.app_id });
	assert.equal(ex.manifest.settings.event_subscriptions.request_url, url);
	// Socket Mode: request URLs are not used, so not verified.
	const sock = manifest(name, url2, { socket: true });
	assert.equal((await alice.client.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: sock })).ok, true);
});

test('canal admin app create: verified too; --signing-secret lets a waiting Bolt app pass', async () => {
	const secret = 'moved-from-slack-' + crypto.randomBytes(8).toString('hex');
	const receiver = new HTTPReceiver({ signingSecret: secret, logLevel: LogLevel.ERROR });
	new App({ token: 'xoxb-unused', receiver, logLevel: LogLevel.ERROR, tokenVerificationEnabled: false, // eslint-disable-line no-new
		clientOptions: { slackApiUrl: env.srv.base + '/api/', retryConfig: { retries: 0 } } });
	const statuses = [];
	const server = http.createServer((req, res) => {
		const end = res.end.bind(res);
		res.end = (...a) => { statuses.push(res.statusCode); return end(...a); };
		receiver.requestListener(req, res);
	});
	await new Promise((res) => server.listen(0, '127.0.0.1', res));
	closers.push(() => new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }));
	const url = `http://127.0.0.1:${server.address().port}/slack/events`;
	const a = await env.srv.cli('app', 'create', '--org', env.fx.org.id, '--manifest-json',
		JSON.stringify(manifest('Moved', url)), '--signing-secret', secret);
	assert.match(a.id, /^A/);
	assert.equal(a.signing_secret, secret);
	assert.deepEqual(statuses, [200]);
	// --name=value spelling too.
	const b = await env.srv.cli('app', 'create', '--org', env.fx.org.id, `--manifest-json=${JSON.stringify(manifest('Moved3', url))}`,
		`--signing-secret=${secret}`);
	assert.equal(b.signing_secret, secret);
	assert.deepEqual(statuses, [200, 200]);
	// Without the secret the same Bolt app refuses: so does the CLI.
	await assert.rejects(env.srv.cli('app', 'create', '--org', env.fx.org.id, '--manifest-json',
		JSON.stringify(manifest('Moved2', url))), /invalid_manifest[\s\S]*401 error/);
	assert.deepEqual(statuses, [200, 200, 401]);
	await assert.rejects(env.srv.cli('app', 'create', '--org', env.fx.org.id, '--name', 'x',
		'--signing-secret', 'short'), /invalid_arguments/);
});
