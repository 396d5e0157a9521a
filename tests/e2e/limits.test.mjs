// Abuse and limits: Web API rate limits in Slack's tiers (HTTP 429 +
// Retry-After, and what the official SDK does with them), the per-address
// sign-in lockout, connections per address, header/body/message/blocks
// limits, channels per organisation, slowloris and idle sockets, a flood of
// WebSockets, and the per-socket real-time message limits.
//
// The file's main server runs with the default settings; each limit that
// needs a tighter setting gets its own small server.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { after } from 'node:test';
import { WebClient, LogLevel } from '@slack/web-api';
import { test, useServer, CanalServer, waitFor } from './lib/server.mjs';
import { makeFixture, createUser, expectError, uniq, webClient } from './lib/fixture.mjs';
import { connect, closeAll, openWs, assertHealthy, EVENT_TIMEOUT_MS } from './lib/rtm.mjs';

const PASSWORD = 'correct horse battery staple';
const env = useServer();
after(closeAll);

// Small servers started by tests, stopped at the end (stderr printed if a
// test failed).
const extra = [];
let failed = false;
async function server(extraArgs) {
	const srv = await CanalServer.create({ extraArgs });
	extra.push(srv);
	return srv;
}
after(async () => {
	for (const s of extra) {
		try {
			await s.stop({ keepData: failed });
		} finally {
			if (failed) process.stderr.write(`\n##### extra canal (${s.extraArgs.join(' ')}) stderr #####\n${s.stderrTail(20000)}\n`);
		}
	}
});
function track(fn) {
	return async (t) => {
		try {
			await fn(t);
		} catch (e) {
			failed = true;
			throw e;
		}
	};
}

// One HTTP request over a fresh connection, optionally from a given local
// address (127.0.0.x: every loopback address is a different client).
function httpReq(srv, { method = 'GET', path = '/healthz', headers = {}, body, localAddress } = {}) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port: srv.port, method, path, headers, localAddress, agent: false }, (res) => {
			let data = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { data += d; });
			res.on('end', () => {
				let json = null;
				try { json = JSON.parse(data); } catch { /* not JSON */ }
				resolve({ status: res.statusCode, headers: res.headers, text: data, json });
			});
		});
		req.setTimeout(15000, () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
		req.on('error', reject);
		if (body) req.write(body);
		req.end();
	});
}

// Web API call over the shared keep-alive pool (fetch).
async function api(srv, method, token, args = {}) {
	const res = await fetch(`${srv.base}/api/${method}`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(args),
		signal: AbortSignal.timeout(10000),
	});
	const text = await res.text();
	let json = null;
	try { json = JSON.parse(text); } catch { /* not JSON */ }
	return { status: res.status, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type'), text, json };
}

function signin(srv, email, password, localAddress) {
	return httpReq(srv, {
		method: 'POST',
		path: '/auth/signin',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ email, password }).toString(),
		localAddress,
	});
}

function assert429(r, maxRetry, what) {
	assert.equal(r.status, 429, `${what}: HTTP ${r.status} ${r.text}`);
	assert.deepEqual(r.json, { ok: false, error: 'ratelimited' }, `${what}: body`);
	const ra = r.retryAfter ?? r.headers?.['retry-after'];
	assert.match(String(ra), /^[1-9][0-9]*$/, `${what}: Retry-After must be whole seconds >= 1, got ${ra}`);
	assert.ok(Number(ra) <= maxRetry, `${what}: Retry-After ${ra} > ${maxRetry}`);
	return Number(ra);
}

async function metrics(srv) {
	const res = await fetch(`${srv.base}/metrics`, { signal: AbortSignal.timeout(5000) });
	return res.text();
}
function metric(text, name) {
	const m = new RegExp(`^${name.replace(/[{}"=]/g, '\\$&')} (\\d+)`, 'm').exec(text);
	return m ? Number(m[1]) : null;
}

// ---- rate limits ----

let R; // --rate-limit-factor 1: Slack's own budgets
let rfx;
async function rateServer() {
	if (!R) {
		R = await server(['--rate-limit-factor', '1']);
		rfx = await makeFixture(R);
	}
	return R;
}

// Calls until the first 429 (bounded). A bucket refills while we call, so
// up to perMin * elapsed / 60 calls more than the burst may fit.
async function drain(srv, method, token, args, burst, perMin) {
	const t0 = Date.now();
	let oks = 0;
	for (let i = 0; i < burst * 3 + 20; i++) {
		const r = await api(srv, method, token, args);
		if (r.status === 429) {
			const slack = Math.ceil(((Date.now() - t0) / 60000) * perMin) + 1;
			assert.ok(oks >= burst, `${method}: limited after ${oks} calls, the budget is ${burst}`);
			assert.ok(oks <= burst + slack, `${method}: ${oks} calls went through, budget ${burst} (+${slack} refilled)`);
			return r;
		}
		assert.equal(r.status, 200, `${method} #${i}: HTTP ${r.status} ${r.text}`);
		assert.equal(r.json.ok, true, `${method} #${i}: ${r.text}`);
		oks++;
	}
	assert.fail(`${method}: never rate-limited after ${oks} calls (budget ${burst})`);
}

test('rate limits: each tier answers HTTP 429 with Retry-After and Slack\'s body past its budget', track(async () => {
	const srv = await rateServer();
	const { org, alice, bob } = rfx;
	const tok = alice.token;
	// Tier 1 (1/min): rtm.connect.
	assert429(await drain(srv, 'rtm.connect', tok, {}, 1, 1), 60, 'tier 1 rtm.connect');
	// Tier 2 (20/min): conversations.list.
	assert429(await drain(srv, 'conversations.list', tok, {}, 20, 20), 3, 'tier 2 conversations.list');
	// Tier 3 (50/min): conversations.history.
	assert429(await drain(srv, 'conversations.history', tok, { channel: org.general_channel }, 50, 50), 2, 'tier 3 conversations.history');
	// Tier 4 (100/min): users.info. Refused calls take nothing: right
	// after Retry-After a call fits again.
	const wait = assert429(await drain(srv, 'users.info', tok, { user: bob.id }, 100, 100), 1, 'tier 4 users.info');
	await new Promise((res) => setTimeout(res, wait * 1000 + 50));
	assert.equal((await api(srv, 'users.info', tok, { user: bob.id })).json.ok, true, 'a call fits after Retry-After');
	// Special (hundreds/min): auth.test.
	const r = await drain(srv, 'auth.test', tok, {}, 600, 600);
	assert429(r, 1, 'special auth.test');
	assert.match(r.contentType, /^application\/json/);
	// chat.postMessage: 1/s per channel with a burst; other channels have
	// their own budget.
	assert429(await drain(srv, 'chat.postMessage', tok, { channel: org.general_channel, text: 'hi' }, 10, 60), 1, 'chat.postMessage');
	const dm = await api(srv, 'chat.postMessage', tok, { channel: bob.id, text: 'another channel' });
	assert.equal(dm.json.ok, true, `another channel is not limited: ${dm.text}`);
	// Per token: bob is not limited by alice's use.
	for (const m of ['auth.test', 'conversations.list', 'rtm.connect']) {
		const b = await api(srv, m, bob.token);
		assert.equal(b.status, 200, `bob ${m}`);
		assert.equal(b.json.ok, true);
	}
	// Bad tokens are answered, not limited (nothing to key them on).
	for (let i = 0; i < 30; i++) assert.equal((await api(srv, 'auth.test', 'xoxp-nope')).json.error, 'invalid_auth');
	// /metrics counts the refusals per method.
	const text = await metrics(srv);
	assert.ok(metric(text, 'canal_api_requests_total{method="auth.test",outcome="ratelimited"}') >= 1, 'ratelimited outcome in /metrics');
}));

test('rate limits: the SDK gets WebAPIRateLimitedError with rejectRateLimitedCalls, and otherwise waits and succeeds', track(async () => {
	const srv = await rateServer();
	const { org } = rfx;
	const carol = await createUser(srv, org.id, uniq('carol'));
	const ch = (await carol.client.conversations.create({ name: uniq('sdk-limits') })).channel.id;
	const strict = new WebClient(carol.token, { slackApiUrl: `${srv.base}/api/`, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
	let i = 0;
	let err = null;
	for (; i < 40 && !err; i++) {
		try {
			await strict.chat.postMessage({ channel: ch, text: `strict ${i}` });
		} catch (e) {
			err = e;
		}
	}
	assert.ok(err, 'rate-limited within 40 posts');
	assert.equal(err.code, 'slack_webapi_rate_limited_error', `error: ${err.stack}`);
	assert.equal(typeof err.retryAfter, 'number');
	assert.ok(err.retryAfter >= 1 && err.retryAfter <= 1, `retryAfter ${err.retryAfter}`);
	assert.ok(i >= 10, `limited after ${i} posts, the burst is 10`);

	// The default client: pauses its queue for Retry-After and retries.
	const patient = new WebClient(carol.token, { slackApiUrl: `${srv.base}/api/`, logLevel: LogLevel.ERROR });
	const limited = [];
	patient.on('rate_limited', (secs) => limited.push(secs));
	const t0 = Date.now();
	const tss = [];
	for (let k = 0; k < 3; k++) tss.push((await patient.chat.postMessage({ channel: ch, text: `patient ${k}` })).ts);
	assert.equal(tss.length, 3);
	assert.ok(limited.length >= 1, 'the client saw rate_limited');
	assert.ok(limited.every((s) => s >= 1), `Retry-After values ${limited}`);
	assert.ok(Date.now() - t0 >= 900, 'the client waited');
	const h = await carol.client.conversations.history({ channel: ch, limit: 100 });
	for (const ts of tss) assert.ok(h.messages.some((m) => m.ts === ts), 'every retried post is stored once');
	assert.equal(h.messages.filter((m) => /^patient /.test(m.text)).length, 3, 'no duplicate posts');
}));

test('--rate-limit-factor 0 disables rate limits; the default (50) leaves normal automated use alone', track(async () => {
	assert.match(env.srv.stderr, /msg="?limits"? rate_limit_factor=50 .*per_ip=256/, 'defaults are logged at start');
	const off = await server(['--rate-limit-factor', '0']);
	const fx = await makeFixture(off);
	for (let i = 0; i < 5; i++) assert.equal((await api(off, 'rtm.connect', fx.alice.token)).status, 200, 'tier 1 is not limited');
	// The default server: 100 history calls and 60 posts to one channel at once.
	const { alice } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('busy') })).channel.id;
	const posts = await Promise.all(Array.from({ length: 60 }, (_, i) => api(env.srv, 'chat.postMessage', alice.token, { channel: ch, text: `m${i}` })));
	assert.deepEqual(posts.filter((p) => p.status !== 200), [], 'no post refused');
	for (let i = 0; i < 100; i++) assert.equal((await api(env.srv, 'conversations.history', alice.token, { channel: ch })).status, 200);
}));

// ---- sign-in lockout ----

test('sign-in: 5 failures from one address lock it out (429 + Retry-After, even for the right password); other addresses are unaffected', track(async () => {
	const { alice } = env.fx;
	const A = '127.0.0.2';
	for (let i = 0; i < 5; i++) {
		const r = await signin(env.srv, alice.email, `wrong-${i}`, A);
		assert.equal(r.status, 200, `failure ${i + 1}: ${r.text}`);
		assert.deepEqual(r.json, { ok: false, error: 'invalid_auth' });
	}
	const locked = await signin(env.srv, alice.email, PASSWORD, A);
	const ra = assert429(locked, 60, 'locked address, right password');
	assert.ok(ra >= 55, `the first lockout lasts a minute, Retry-After ${ra}`);
	assert.equal(locked.headers['set-cookie'], undefined, 'no session while locked out');
	// Unknown accounts are locked out the same way (no account probing).
	assert429(await signin(env.srv, 'nobody@nowhere.test', 'x', A), 60, 'locked address, unknown account');
	// Another address signs in.
	const other = await signin(env.srv, alice.email, PASSWORD, '127.0.0.3');
	assert.equal(other.status, 200);
	assert.equal(other.json.ok, true, other.text);
	// The API is not affected by a sign-in lockout.
	assert.equal((await alice.client.auth.test()).ok, true);
}));

test('sign-in: parallel guesses cannot slip past the limit', track(async () => {
	const { bob } = env.fx;
	const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => signin(env.srv, bob.email, `guess-${i}`, '127.0.0.4')));
	const checked = rs.filter((r) => r.status === 200);
	const refused = rs.filter((r) => r.status === 429);
	assert.equal(checked.length + refused.length, 16, rs.map((r) => r.status).join(','));
	assert.ok(checked.length <= 5, `${checked.length} passwords were checked, at most 5 may be`);
	for (const r of checked) assert.equal(r.json.error, 'invalid_auth');
	for (const r of refused) assert429(r, 60, 'parallel guess');
}));

let C; // --max-channels-per-org 5 --signin-lockout-seconds 1
async function smallServer() {
	if (!C) C = await server(['--max-channels-per-org', '5', '--signin-lockout-seconds', '1']);
	return C;
}

test('sign-in: each lockout doubles the last one (exponential backoff)', track(async () => {
	const srv = await smallServer();
	const org = await srv.cli('org', 'create', uniq('Lock'));
	const u = await createUser(srv, org.id, 'locky');
	const A = '127.0.0.5';
	const waits = [];
	for (let round = 0; round < 3; round++) {
		for (let i = 0; i < 5; i++) assert.equal((await signin(srv, u.email, 'wrong', A)).json.error, 'invalid_auth', `round ${round} failure ${i + 1}`);
		const r = await signin(srv, u.email, PASSWORD, A);
		waits.push(assert429(r, 60, `round ${round}`));
		await new Promise((res) => setTimeout(res, waits[round] * 1000 + 100));
	}
	assert.deepEqual(waits, [1, 2, 4], 'lockouts of 1, 2 and 4 seconds');
	// Over: the right password works again.
	const ok = await signin(srv, u.email, PASSWORD, A);
	assert.equal(ok.json.ok, true, ok.text);
}));

// ---- connections, headers, bodies, messages ----

test('connections per address: past --max-connections-per-ip the next one gets 503; other addresses still connect', track(async () => {
	const srv = await server(['--max-connections-per-ip', '4']);
	const A = '127.0.0.6';
	const socks = [];
	const open = (localAddress) => new Promise((resolve, reject) => {
		const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress }, () => resolve(s));
		s.on('error', reject);
	});
	const readAll = (s) => new Promise((resolve) => {
		let data = '';
		s.setEncoding('latin1');
		s.on('data', (d) => { data += d; });
		s.on('close', () => resolve(data));
		s.on('error', () => {});
	});
	try {
		for (let i = 0; i < 4; i++) socks.push(await open(A));
		await waitFor(async () => metric(await metrics(srv), 'canal_http_connections_open') >= 4, { what: '4 connections open' });
		const fifth = await open(A);
		fifth.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
		const text = await Promise.race([readAll(fifth), new Promise((_, rej) => setTimeout(() => rej(new Error('no answer to the 5th connection')), 10000))]);
		assert.match(text, /^HTTP\/1\.1 503 /, `5th connection from one address: ${text.slice(0, 200)}`);
		// Another address is served.
		const other = await httpReq(srv, { localAddress: '127.0.0.7' });
		assert.equal(other.status, 200);
		// The four held ones work.
		const held = socks[0];
		const answer = new Promise((resolve) => held.once('data', (d) => resolve(d.toString('latin1'))));
		held.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
		assert.match(await answer, /^HTTP\/1\.1 200 /);
		assert.ok(metric(await metrics(srv), 'canal_http_connections_refused_total') >= 1);
		// Closing one frees a place.
		socks.shift().destroy();
		await waitFor(async () => (await httpReq(srv, { localAddress: A }).catch(() => ({ status: 0 }))).status === 200, { what: 'a place freed for the address' });
	} finally {
		for (const s of socks) s.destroy();
	}
}));

test('headers over the limit get 431, bodies over it 413 (before the body is read)', track(async () => {
	const big = await httpReq(env.srv, { path: '/api/api.test', headers: { 'x-big': 'a'.repeat(20000) } });
	assert.equal(big.status, 431);
	const res = await new Promise((resolve, reject) => {
		const s = net.connect(env.srv.port, '127.0.0.1', () => {
			s.write('POST /api/api.test HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11000000\r\n\r\n');
		});
		let data = '';
		s.setEncoding('latin1');
		s.on('data', (d) => { data += d; });
		s.on('close', () => resolve(data));
		s.on('error', reject);
		s.setTimeout(10000, () => { s.destroy(); resolve(data); });
	});
	assert.match(res, /^HTTP\/1\.1 413 /, res.slice(0, 200));
	await assertHealthy(env.srv);
}));

test('message length: msg_too_long past 40000 characters; blocks: invalid_blocks past 50', track(async () => {
	const { alice, org } = env.fx;
	const ch = org.general_channel;
	const ok = await alice.client.chat.postMessage({ channel: ch, text: 'é'.repeat(40000) });
	assert.equal(ok.ok, true);
	await expectError(alice.client.chat.postMessage({ channel: ch, text: 'x'.repeat(40001) }), 'msg_too_long', 'post 40001 chars');
	await expectError(alice.client.chat.update({ channel: ch, ts: ok.ts, text: 'y'.repeat(40001) }), 'msg_too_long', 'update 40001 chars');
	const block = (i) => ({ type: 'section', text: { type: 'mrkdwn', text: `b${i}` } });
	const fifty = await alice.client.chat.postMessage({ channel: ch, text: 'blocks', blocks: Array.from({ length: 50 }, (_, i) => block(i)) });
	assert.equal(fifty.ok, true);
	await expectError(alice.client.chat.postMessage({ channel: ch, text: 'blocks', blocks: Array.from({ length: 51 }, (_, i) => block(i)) }), 'invalid_blocks', '51 blocks');
}));

test('channels per organisation: too_many_channels past --max-channels-per-org; DMs and other orgs are not counted', track(async () => {
	const srv = await smallServer();
	const fx = await makeFixture(srv);
	const a = fx.alice.client;
	// #general is one of the five.
	const made = [];
	for (let i = 0; i < 4; i++) made.push((await a.conversations.create({ name: uniq('c'), is_private: i % 2 === 1 })).channel.id);
	await expectError(a.conversations.create({ name: uniq('one-too-many') }), 'too_many_channels', '6th channel');
	await expectError(fx.bot.client.conversations.create({ name: uniq('bot-too') }), 'too_many_channels', '6th channel (bot)');
	// Archived channels still count.
	await a.conversations.archive({ channel: made[0] });
	await expectError(a.conversations.create({ name: uniq('after-archive') }), 'too_many_channels', 'after an archive');
	// DMs are not channels here.
	assert.equal((await a.conversations.open({ users: fx.bob.id })).ok, true);
	// Another organisation has its own budget.
	const other = await makeFixture(srv);
	assert.equal((await other.alice.client.conversations.create({ name: uniq('theirs') })).ok, true);
}));

// ---- slow and idle clients ----

test('slowloris: a client dripping header bytes is cut within the idle timeout; idle sockets are closed', track(async () => {
	const srv = await server(['--idle-timeout-ms', '500']);
	// One header byte every 100 ms: faster than the idle timeout, so only a
	// deadline fixed at the first byte cuts it.
	const drip = await new Promise((resolve, reject) => {
		const s = net.connect(srv.port, '127.0.0.1', () => {
			const t0 = Date.now();
			let data = '';
			s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
			const timer = setInterval(() => { if (!s.destroyed) s.write('a'); }, 100);
			s.setEncoding('latin1');
			s.on('data', (d) => { data += d; });
			s.on('error', () => {});
			s.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - t0, data }); });
			setTimeout(() => { clearInterval(timer); s.destroy(); }, 10000);
		});
		s.on('error', reject);
	});
	assert.ok(drip.ms < 4000, `a dripping client was kept ${drip.ms} ms (idle timeout 500 ms)`);
	assert.match(drip.data, /^HTTP\/1\.1 408 /, `a partial request gets 408: ${drip.data.slice(0, 100)}`);
	// A client that connects and says nothing.
	const idle = await new Promise((resolve, reject) => {
		const s = net.connect(srv.port, '127.0.0.1', () => {
			const t0 = Date.now();
			s.on('close', () => resolve(Date.now() - t0));
			s.on('error', () => {});
			setTimeout(() => s.destroy(), 10000);
		});
		s.on('error', reject);
	});
	assert.ok(idle < 4000, `an idle socket was kept ${idle} ms`);
	// Dripping the BODY (headers complete, one body byte every 100 ms) is
	// cut too: the body's deadline is fixed at the request's first byte.
	const body = await new Promise((resolve, reject) => {
		const s = net.connect(srv.port, '127.0.0.1', () => {
			const t0 = Date.now();
			let data = '';
			s.write('POST /api/api.test HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\na=');
			const timer = setInterval(() => { if (!s.destroyed) s.write('b'); }, 100);
			s.setEncoding('latin1');
			s.on('data', (d) => { data += d; });
			s.on('error', () => {});
			s.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - t0, data }); });
			setTimeout(() => { clearInterval(timer); s.destroy(); }, 10000);
		});
		s.on('error', reject);
	});
	assert.ok(body.ms < 4000, `a client dripping its body was kept ${body.ms} ms (idle timeout 500 ms)`);
	assert.match(body.data, /^HTTP\/1\.1 408 /, `a partial body gets 408: ${body.data.slice(0, 100)}`);
	await assertHealthy(srv, 'after slow clients');
}));

// ---- WebSockets ----

function fdCount(pid) {
	return readdirSync(`/proc/${pid}/fd`).length;
}

test('a WebSocket flood past --max-ws-connections is refused with 503 before the upgrade; open sockets keep working', track(async () => {
	const srv = await server(['--max-ws-connections', '50', '--rate-limit-factor', '0']);
	const fx = await makeFixture(srv);
	const sess = await srv.cli('user', 'session', '--user', fx.alice.id);
	assert.match(sess.token, /^xoxc-/);
	const url = `ws://127.0.0.1:${srv.port}/rtm`;
	const headers = { cookie: `canal_session=${sess.token}` };
	const fds0 = fdCount(srv.child.pid);
	const socks = [];
	for (let i = 0; i < 50; i += 10) {
		const batch = await Promise.all(Array.from({ length: 10 }, () => openWs(url, { headers, label: 'flood' })));
		socks.push(...batch);
	}
	for (const s of socks) await s.next((e) => e.type === 'hello', EVENT_TIMEOUT_MS, 0, 'hello');
	// The flood: every upgrade past the limit is refused with an HTTP 503.
	const refused = await Promise.allSettled(Array.from({ length: 30 }, () => openWs(url, { headers, label: 'over' })));
	const statuses = refused.map((r) => (r.status === 'rejected' ? r.reason.status : 101));
	assert.deepEqual([...new Set(statuses)], [503], `upgrades past the limit: ${statuses.join(',')}`);
	// The others still work, and so does HTTP.
	await Promise.all(socks.map((s) => s.ping()));
	await assertHealthy(srv, 'during the flood');
	assert.equal((await webClient(srv, fx.alice.token).auth.test()).ok, true);
	const m = await metrics(srv);
	assert.equal(metric(m, 'canal_ws_connections_open'), 50);
	// Refused upgrades leave no descriptors behind.
	await waitFor(() => fdCount(srv.child.pid) <= fds0 + 50 + 8, { what: `fds back near ${fds0} + 50 (now ${fdCount(srv.child.pid)})` });
	// Room again once some close.
	await Promise.all(socks.splice(0, 5).map((s) => s.close()));
	await waitFor(async () => metric(await metrics(srv), 'canal_ws_connections_open') <= 45, { what: 'closed sockets gone' });
	const again = await openWs(url, { headers, label: 'again' });
	await again.next((e) => e.type === 'hello', EVENT_TIMEOUT_MS, 0, 'hello after room');
	socks.push(again);
	await Promise.all(socks.map((s) => s.close()));
}));

test('real-time: a socket flooding messages gets error events past 50/s and is closed (1008) past 200/s; others are unaffected', track(async () => {
	const { alice, bob } = env.fx;
	const A = await connect(alice.client, { label: 'alice' });
	const B = await connect(bob.client, { label: 'bob-flood' });
	// 150 in a burst: whatever second boundary it straddles, one second
	// holds more than 50.
	let from = B.mark();
	for (let i = 0; i < 150; i++) B.send({ type: 'ping', id: 5000 + i });
	const err = await B.next((e) => e.type === 'error', EVENT_TIMEOUT_MS, from, 'rate-limit error event');
	assert.equal(err.error.code, 3, JSON.stringify(err));
	assert.match(err.error.msg, /rate limit/);
	await new Promise((r) => setTimeout(r, 1100));
	await B.ping(); // still open
	// 600 in a burst: past 200 in one second the socket is closed.
	from = B.mark();
	for (let i = 0; i < 600; i++) {
		if (B.closeInfo) break;
		B.send({ type: 'ping', id: 9000 + i });
	}
	const closed = await B.waitClosed();
	assert.equal(closed.code, 1008, `close: ${JSON.stringify(closed)}`);
	await A.ping();
	await assertHealthy(env.srv, 'after a real-time flood');
	// bob reconnects fine.
	const B2 = await connect(bob.client, { label: 'bob-again' });
	await B2.ping();
	await B2.close();
	await A.close();
}));
