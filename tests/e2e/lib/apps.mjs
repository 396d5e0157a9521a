// Helpers for the app platform e2e tests (not a test file): apps defined
// by a Slack app manifest through the admin CLI, raw Socket Mode
// connections, and small HTTP endpoints that record what Canal sends.
import assert from 'node:assert/strict';
import http from 'node:http';
import { WebClient, LogLevel } from '@slack/web-api';
import { liveClient } from './fixture.mjs';
import { openWs } from './rtm.mjs';

// `canal admin app create --manifest-json` with the usual manifest shape.
export async function createManifestApp(srv, orgId, {
	name, events = [], scopes, socket = true, requestUrl,
} = {}) {
	const manifest = {
		display_information: { name },
		features: { bot_user: { display_name: name } },
		oauth_config: { scopes: { bot: scopes } },
		settings: {
			socket_mode_enabled: socket,
			event_subscriptions: { bot_events: events, ...(requestUrl ? { request_url: requestUrl } : {}) },
		},
	};
	const a = await srv.cli('app', 'create', '--org', orgId, '--manifest-json', JSON.stringify(manifest));
	assert.match(a.id, /^A[A-Z0-9]+$/, `app create: ${JSON.stringify(a)}`);
	assert.match(a.bot_token, /^xoxb-/);
	assert.match(a.app_token, /^xapp-/);
	assert.match(a.bot_user_id, /^U[A-Z0-9]+$/);
	return { ...a, name, scopes, client: liveClient(srv, a.bot_token) };
}

export function appClient(srv, appToken) {
	return new WebClient(undefined, {
		slackApiUrl: srv.base + '/api/',
		retryConfig: { retries: 0 },
		timeout: 10000,
		logLevel: LogLevel.ERROR,
		headers: { Authorization: `Bearer ${appToken}` },
	});
}

// apps.connections.open + a raw WebSocket (the `ws` package) + hello.
export async function socketOpen(srv, app, label) {
	const r = await appClient(srv, app.app_token).apps.connections.open();
	assert.equal(r.ok, true);
	const c = await openWs(r.url, { label: label || app.name });
	c.url = r.url;
	c.hello = await c.next((e) => e.type === 'hello', 5000, 0, 'hello');
	return c;
}

// The events_api envelopes of a raw socket whose inner event matches pred.
export function envelopes(c, pred = () => true, from = 0) {
	return c.all((e) => e.type === 'events_api' && pred(e.payload.event, e), from);
}

export function nextEnvelope(c, pred, timeoutMs = 5000, from = 0, what = '') {
	return c.next((e) => e.type === 'events_api' && pred(e.payload.event, e), timeoutMs, from, what);
}

export function ackRaw(c, env, payload = {}) {
	c.send({ envelope_id: env.envelope_id, payload });
}

// Answers Slack's url_verification the way Bolt does; true if it was one.
export function answerChallenge(res, rec) {
	if (!rec.json || rec.json.type !== 'url_verification') return false;
	res.writeHead(200, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify({ challenge: rec.json.challenge }));
	return true;
}

// A local HTTP endpoint: answer(req, res, rec) decides; every request is
// recorded as {at, headers, body, json}. Canal's url_verification (sent
// when the URL is saved) is answered here unless verify is false.
export async function endpoint(answer, { verify = true } = {}) {
	const seen = [];
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (d) => chunks.push(d));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			let json = null;
			try { json = JSON.parse(body); } catch { /* form or garbage */ }
			const rec = { at: Date.now(), headers: req.headers, body, json, url: req.url };
			seen.push(rec);
			if (verify && answerChallenge(res, rec)) return;
			answer(req, res, rec);
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${server.address().port}/slack/events`;
	return {
		url,
		seen,
		server,
		close: () => new Promise((resolve) => {
			server.closeAllConnections?.();
			server.close(() => resolve());
		}),
	};
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
