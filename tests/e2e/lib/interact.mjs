// Helpers for the slash command / interactivity e2e tests (not a test
// file): apps with commands, shortcuts and interactivity defined by a Slack
// app manifest, Bolt apps in Socket Mode or behind an HTTP receiver, and a
// person's real-time session to watch live-only events (ephemeral
// messages, views).
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bolt from '@slack/bolt';
import { liveClient } from './fixture.mjs';

const { App, HTTPReceiver, LogLevel } = bolt;

export const DEFAULT_SCOPES = ['chat:write', 'commands', 'channels:read', 'channels:history',
	'channels:join', 'users:read', 'usergroups:read', 'im:history', 'im:read', 'im:write'];

// The manifest of an app with slash commands, shortcuts and interactivity.
export function manifest({
	name, scopes = DEFAULT_SCOPES, events = [], commands = [], shortcuts = [], socket = true,
	requestUrl, optionsUrl,
}) {
	return {
		display_information: { name },
		features: {
			bot_user: { display_name: name },
			slash_commands: commands.map((c) => ({
				command: c.command,
				description: c.description || `${c.command} command`,
				...(c.url || requestUrl ? { url: c.url || requestUrl } : {}),
				should_escape: !!c.should_escape,
			})),
			shortcuts: shortcuts.map((s) => ({
				name: s.name || s.callback_id, type: s.type || 'message', callback_id: s.callback_id,
				description: s.description || s.callback_id,
			})),
		},
		oauth_config: { scopes: { bot: scopes } },
		settings: {
			socket_mode_enabled: socket,
			interactivity: {
				is_enabled: true,
				...(requestUrl ? { request_url: requestUrl } : {}),
				...(optionsUrl ? { message_menu_options_url: optionsUrl } : {}),
			},
			event_subscriptions: { bot_events: events, ...(requestUrl && events.length ? { request_url: requestUrl } : {}) },
		},
	};
}

// `canal admin app create --manifest FILE --json`.
export async function createInteractiveApp(srv, orgId, opts) {
	const dir = await mkdtemp(path.join(tmpdir(), 'canal-manifest-'));
	const file = path.join(dir, 'manifest.json');
	await writeFile(file, JSON.stringify(manifest(opts)));
	const a = await srv.cli('app', 'create', '--org', orgId, '--manifest', file);
	assert.match(a.id, /^A[A-Z0-9]+$/, `app create: ${JSON.stringify(a)}`);
	assert.match(a.bot_token, /^xoxb-/);
	assert.match(a.app_token, /^xapp-/);
	return { ...a, name: opts.name, client: liveClient(srv, a.bot_token) };
}

// A Bolt app in Socket Mode for app; started; stop() in the returned object.
export async function boltSocket(srv, app) {
	const b = new App({
		token: app.bot_token,
		appToken: app.app_token,
		socketMode: true,
		logLevel: LogLevel.ERROR,
		clientOptions: { slackApiUrl: srv.base + '/api/', retryConfig: { retries: 0 } },
	});
	return b;
}

// A local HTTP server in front of a Bolt HTTPReceiver. The app must be
// created with requestUrl = the returned url before the receiver exists
// (the receiver needs the signing secret), so: const h = await
// boltHttpServer(); const app = await create(..., h.url); const b =
// h.attach(app).
export async function boltHttpServer() {
	let listener = null;
	const seen = [];
	const server = http.createServer((req, res) => {
		const rec = { at: Date.now(), headers: req.headers, url: req.url };
		seen.push(rec);
		const origEnd = res.end.bind(res);
		res.end = (...args) => {
			rec.status = res.statusCode;
			rec.body = req.rawBody ? req.rawBody.toString('utf8') : '';
			return origEnd(...args);
		};
		if (!listener) {
			// Before the receiver exists (the app is being created):
			// only Canal's url_verification, answered as Bolt would.
			const chunks = [];
			req.on('data', (d) => chunks.push(d));
			req.on('end', () => {
				let j = null;
				try { j = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON */ }
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
	const url = `http://127.0.0.1:${server.address().port}/slack/events`;
	return {
		url,
		seen,
		attach(srv, app, { signingSecret, endpoints } = {}) {
			const receiver = new HTTPReceiver({
				signingSecret: signingSecret || app.signing_secret, logLevel: LogLevel.ERROR,
				...(endpoints ? { endpoints } : {}),
			});
			const b = new App({
				token: app.bot_token,
				receiver,
				logLevel: LogLevel.ERROR,
				clientOptions: { slackApiUrl: srv.base + '/api/', retryConfig: { retries: 0 } },
			});
			listener = receiver.requestListener;
			return b;
		},
		close: () => new Promise((resolve) => {
			server.closeAllConnections?.();
			server.close(() => resolve());
		}),
	};
}

// POST a JSON body to a response_url; {status, text, json}.
export async function postResponse(url, body) {
	const res = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: typeof body === 'string' ? body : JSON.stringify(body),
		signal: AbortSignal.timeout(10000),
	});
	const text = await res.text();
	let json = null;
	try { json = JSON.parse(text); } catch { /* text */ }
	return { status: res.status, text, json };
}

// A promise with its resolve function, for "the listener ran" signals.
export function deferred() {
	let resolve, reject;
	const p = new Promise((res, rej) => { resolve = res; reject = rej; });
	p.resolve = resolve;
	p.reject = reject;
	return p;
}

// Resolves with v, or rejects after ms with what.
export function within(p, ms, what) {
	let t;
	return Promise.race([
		p.finally(() => clearTimeout(t)),
		new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
	]);
}
