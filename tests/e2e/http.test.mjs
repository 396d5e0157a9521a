// HTTP-level behaviour: encodings, token placement, malformed input, body
// limits, abrupt disconnects, /healthz and /metrics.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, useServer, CanalServer, waitFor } from './lib/server.mjs';
import { rawApi, uniq, ERR_NAME_RE, assertTs } from './lib/fixture.mjs';

let ch; // public channel alice is in
let tok; // alice's token
const env = useServer({ setup: async () => {
	tok = env.fx.alice.token;
	ch = (await env.fx.alice.client.conversations.create({ name: uniq('http') })).channel.id;
} });

const bearer = () => ({ Authorization: `Bearer ${tok}` });
const form = (o) => new URLSearchParams(o).toString();

// Every API answer: HTTP 200, JSON, boolean ok, snake_case error when not ok.
function assertEnvelope(r, what) {
	assert.equal(r.status, 200, `${what}: HTTP status ${r.status}, body ${r.text.slice(0, 300)}`);
	assert.ok(r.json && typeof r.json === 'object', `${what}: body is not JSON: ${r.text.slice(0, 300)}`);
	assert.equal(typeof r.json.ok, 'boolean', `${what}: ok must be a boolean`);
	if (!r.json.ok) assert.match(String(r.json.error), ERR_NAME_RE, `${what}: error name`);
	const ct = r.headers.get('content-type') || '';
	assert.ok(ct.startsWith('application/json'), `${what}: content-type ${ct}`);
}

// Raw HTTP/1.1 exchange over a fresh socket; resolves with everything the
// server sent until it closed (or until `until` matches).
function rawExchangeFull(port, data, { until, timeoutMs = 10000 } = {}) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		let buf = '';
		const timer = setTimeout(() => { s.destroy(); resolve({ buf, closed: false }); }, timeoutMs);
		s.on('connect', () => s.write(data));
		s.on('data', (d) => {
			buf += d.toString('latin1');
			if (until && until(buf)) { clearTimeout(timer); s.destroy(); resolve({ buf, closed: false }); }
		});
		s.on('close', () => { clearTimeout(timer); resolve({ buf, closed: true }); });
		s.on('error', (e) => { clearTimeout(timer); if (buf) resolve({ buf, closed: true }); else reject(e); });
	});
}
async function rawExchange(port, data, opts) {
	return (await rawExchangeFull(port, data, opts)).buf;
}

async function metricsText(srv = env.srv) {
	const res = await fetch(`${srv.base}/metrics`, { signal: AbortSignal.timeout(10000) });
	assert.equal(res.status, 200);
	return { text: await res.text(), ct: res.headers.get('content-type') || '' };
}

// Sum of all samples of a metric whose label set contains every given pair.
function metricSum(text, name, labels = {}) {
	let sum = 0;
	let found = false;
	for (const line of text.split('\n')) {
		if (!line.startsWith(name)) continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
		if (!m || m[1] !== name) continue;
		const ls = {};
		for (const kv of (m[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1]] = kv[2];
		if (Object.entries(labels).every(([k, v]) => ls[k] === v)) {
			sum += Number(m[4]);
			found = true;
		}
	}
	return found ? sum : null;
}

test('GET /healthz -> 200', async () => {
	const res = await fetch(`${env.srv.base}/healthz`);
	assert.equal(res.status, 200);
	await res.text();
});

test('GET /metrics: Prometheus text with the contract metric names', async () => {
	// Generate traffic, including a store commit.
	await env.fx.alice.client.api.test({});
	await env.fx.alice.client.chat.postMessage({ channel: ch, text: 'metrics traffic' });
	await rawApi(env.srv, 'nope.nothing', { headers: bearer() });
	const { text, ct } = await metricsText();
	assert.ok(ct.startsWith('text/plain'), `content-type ${ct}`);
	for (const name of ['canal_http_connections_open', 'canal_api_requests_total', 'canal_store_commits_total', 'canal_store_commit_latency_seconds']) {
		assert.match(text, new RegExp(`^${name}(\\{|_bucket|_sum|_count| )`, 'm'), `metric ${name} present`);
	}
	assert.match(text, /^canal_store_commit_batch_size(_bucket|_sum|_count)?(\{| )/m, 'canal_store_commit_batch_size present');
	assert.match(text, /^canal_api_requests_total\{[^}]*method="chat.postMessage"[^}]*\} /m, 'method label');
	assert.match(text, /^canal_api_requests_total\{[^}]*outcome="[^"]+"[^}]*\} /m, 'outcome label');
	assert.ok(metricSum(text, 'canal_store_commits_total') >= 1, 'at least one commit counted');
	// Every sample line parses.
	for (const line of text.split('\n')) {
		if (!line || line.startsWith('#')) continue;
		assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)( -?\d+)?$/, `bad sample line: ${line}`);
	}
});

test('metrics: canal_api_requests_total counts calls per method', async () => {
	const before = metricSum((await metricsText()).text, 'canal_api_requests_total', { method: 'api.test' }) ?? 0;
	for (let i = 0; i < 3; i++) await env.fx.alice.client.api.test({ i });
	const after = metricSum((await metricsText()).text, 'canal_api_requests_total', { method: 'api.test' });
	assert.ok(after >= before + 3, `api.test count went ${before} -> ${after}`);
});

test('Python-SDK style: GET with query-string args and token', async () => {
	await env.fx.alice.client.chat.postMessage({ channel: ch, text: 'via get' });
	const r = await rawApi(env.srv, 'conversations.history', { httpMethod: 'GET', query: form({ channel: ch, limit: '5', token: tok }) });
	assertEnvelope(r, 'GET history');
	assert.equal(r.json.ok, true, JSON.stringify(r.json));
	assert.ok(r.json.messages.some((m) => m.text === 'via get'));
	const r2 = await rawApi(env.srv, 'auth.test', { httpMethod: 'GET', headers: bearer() });
	assertEnvelope(r2, 'GET auth.test');
	assert.equal(r2.json.user_id, env.fx.alice.id);
	// GET with query args + header token.
	const r3 = await rawApi(env.srv, 'conversations.info', { httpMethod: 'GET', query: form({ channel: ch }), headers: bearer() });
	assert.equal(r3.json.channel.id, ch);
});

test('JSON body with Authorization header (Python chat.postMessage style)', async () => {
	for (const ctype of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8']) {
		const r = await rawApi(env.srv, 'chat.postMessage', {
			headers: { ...bearer(), 'Content-Type': ctype },
			body: JSON.stringify({ channel: ch, text: `json ${ctype}`, blocks: [{ type: 'section', text: { type: 'plain_text', text: 'native' } }], unfurl_links: false }),
		});
		assertEnvelope(r, `JSON ${ctype}`);
		assert.equal(r.json.ok, true, JSON.stringify(r.json));
		assert.equal(r.json.message.text, `json ${ctype}`);
		assert.equal(r.json.message.blocks[0].text.text, 'native', 'native JSON blocks accepted');
		assertTs(r.json.ts);
	}
});

test('token as a form field; form with charset; booleans as 1/0', async () => {
	const r = await rawApi(env.srv, 'chat.postMessage', {
		headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
		body: form({ token: tok, channel: ch, text: 'a+b & c=d 100%' }),
	});
	assertEnvelope(r, 'form token');
	assert.equal(r.json.ok, true, JSON.stringify(r.json));
	assert.equal(r.json.message.user, env.fx.alice.id);
	const r2 = await rawApi(env.srv, 'chat.postMessage', {
		headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
		body: 'channel=' + ch + '&text=plus+means+space%20and%20this',
	});
	assert.equal(r2.json.ok, true, JSON.stringify(r2.json));
	assert.equal(r2.json.message.text, 'plus means space and this');
	const r3 = await rawApi(env.srv, 'conversations.create', {
		headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' },
		body: form({ name: uniq('bool'), is_private: '1' }),
	});
	assert.equal(r3.json.channel.is_private, true, 'is_private=1 is true');
	const r4 = await rawApi(env.srv, 'conversations.create', {
		headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' },
		body: form({ name: uniq('bool'), is_private: '0' }),
	});
	assert.equal(r4.json.channel.is_private, false, 'is_private=0 is false');
	// Empty body POST with header token.
	const r5 = await rawApi(env.srv, 'auth.test', { headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' });
	assert.equal(r5.json.ok, true);
	// team_id (sent by Bolt listener clients) is accepted.
	const r6 = await rawApi(env.srv, 'conversations.info', { headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: form({ channel: ch, team_id: env.fx.org.id }) });
	assert.equal(r6.json.ok, true, JSON.stringify(r6.json));
});

test('malformed JSON -> 200 invalid_json; non-object JSON -> json_not_object', async () => {
	const r = await rawApi(env.srv, 'chat.postMessage', { headers: { ...bearer(), 'Content-Type': 'application/json' }, body: '{"channel": "C1", "text": ' });
	assertEnvelope(r, 'truncated JSON');
	assert.equal(r.json.ok, false);
	assert.equal(r.json.error, 'invalid_json');
	const r2 = await rawApi(env.srv, 'chat.postMessage', { headers: { ...bearer(), 'Content-Type': 'application/json' }, body: '[1,2,3]' });
	assertEnvelope(r2, 'array JSON');
	assert.equal(r2.json.error, 'json_not_object');
});

test('wrong argument types -> ok:false with a Slack error, never 500', async () => {
	const h = { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' };
	const r = await rawApi(env.srv, 'conversations.list', { headers: h, body: form({ limit: 'abc' }) });
	assertEnvelope(r, 'limit=abc');
	assert.equal(r.json.ok, false);
	assert.ok(['invalid_arguments', 'invalid_limit'].includes(r.json.error), `limit=abc -> ${r.json.error}`);
	const rh = await rawApi(env.srv, 'conversations.history', { headers: h, body: form({ channel: ch, limit: 'abc' }) });
	assert.equal(rh.json.ok, false);
	assert.ok(['invalid_arguments', 'invalid_limit'].includes(rh.json.error), `history limit=abc -> ${rh.json.error}`);

	const j = { ...bearer(), 'Content-Type': 'application/json' };
	const r2 = await rawApi(env.srv, 'chat.postMessage', { headers: j, body: JSON.stringify({ channel: { id: ch }, text: 'x' }) });
	assertEnvelope(r2, 'channel as object');
	assert.equal(r2.json.ok, false, 'channel given as an object must be refused');

	// A battery of odd inputs: each must give a well-formed envelope.
	const odd = [
		['chat.postMessage', j, JSON.stringify({ channel: ch, text: 12345 })],
		['chat.postMessage', j, JSON.stringify({ channel: ch, text: null })],
		['chat.postMessage', j, JSON.stringify({ channel: ch, text: ['a'] })],
		['chat.postMessage', j, JSON.stringify({ channel: ch, text: 'x', thread_ts: { a: 1 } })],
		['chat.postMessage', j, JSON.stringify({ channel: ch, text: 'x', blocks: 'not json' })],
		['chat.postMessage', j, JSON.stringify({ channel: ch, text: 'x', blocks: { type: 'section' } })],
		['chat.postMessage', h, form({ channel: ch, text: 'x', blocks: '[{"type":' })],
		['chat.postMessage', j, JSON.stringify({ channel: ch, text: 'x'.repeat(10), reply_broadcast: 'maybe' })],
		['conversations.history', j, JSON.stringify({ channel: ch, limit: -5 })],
		['conversations.history', j, JSON.stringify({ channel: ch, limit: 1e300 })],
		['conversations.history', j, JSON.stringify({ channel: ch, limit: 2.5 })],
		['conversations.history', j, JSON.stringify({ channel: ch, cursor: ['x'] })],
		['conversations.history', j, JSON.stringify({ channel: ch, oldest: true })],
		['conversations.invite', j, JSON.stringify({ channel: ch, users: [1, 2] })],
		['conversations.invite', h, form({ channel: ch, users: ',,,' })],
		['conversations.open', h, form({ users: ',' })],
		['users.info', j, JSON.stringify({ user: 42 })],
		['reactions.add', j, JSON.stringify({ channel: ch, timestamp: 1234567890.123456, name: 'eyes' })],
		['conversations.create', j, JSON.stringify({ name: { evil: true } })],
		['conversations.create', h, form({ name: 'x\u0000y' })],
		['usergroups.users.update', j, JSON.stringify({ usergroup: null, users: null })],
		['chat.postMessage', h, 'channel=%ZZ&text=%'],
		['chat.postMessage', h, '&&&==&='],
		['api.test', j, '{"a":{"b":{"c":{"d":{"e":{"f":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}}}}}'],
		['api.test', j, '{"a":"\\ud800"}'],
	];
	for (const [method, headers, body] of odd) {
		const res = await rawApi(env.srv, method, { headers, body });
		assertEnvelope(res, `${method} ${body.slice(0, 80)}`);
	}
	// Invalid UTF-8 bytes in a form body.
	const bad = Buffer.concat([Buffer.from(`channel=${ch}&text=`), Buffer.from([0xff, 0xfe, 0xc3])]);
	const r3 = await rawApi(env.srv, 'chat.postMessage', { headers: h, body: bad });
	assertEnvelope(r3, 'invalid UTF-8');
	// ...and if it was accepted, the stored text must be valid UTF-8 JSON (it parsed above).
	const alive = await rawApi(env.srv, 'auth.test', { headers: bearer() });
	assert.equal(alive.json.ok, true, 'server still healthy');
});

test('unknown method -> HTTP 200 unknown_method', async () => {
	const r = await rawApi(env.srv, 'nope.nothing', { headers: bearer() });
	assertEnvelope(r, 'unknown method');
	assert.deepEqual([r.json.ok, r.json.error], [false, 'unknown_method']);
	const r2 = await rawApi(env.srv, 'nope.nothing', {}); // no token either
	assertEnvelope(r2, 'unknown method, no token');
	assert.equal(r2.json.ok, false);
	// No redirects on the API prefix (the SDK treats 3xx as an error).
	const res2 = await fetch(`${env.srv.base}/api/auth.test`, { method: 'POST', headers: bearer(), redirect: 'manual' });
	assert.equal(res2.status, 200);
	await res2.text();
});

test('auth errors are HTTP 200 envelopes', async () => {
	const r = await rawApi(env.srv, 'auth.test', {});
	assertEnvelope(r, 'no token');
	assert.equal(r.json.error, 'not_authed');
	const r2 = await rawApi(env.srv, 'auth.test', { headers: { Authorization: 'Bearer xoxp-nope' } });
	assertEnvelope(r2, 'bad token');
	assert.equal(r2.json.error, 'invalid_auth');
	const r3 = await rawApi(env.srv, 'auth.test', { headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
	assertEnvelope(r3, 'basic auth');
	assert.ok(['not_authed', 'invalid_auth'].includes(r3.json.error));
});

test('client disconnecting mid-request does not hurt the server', async () => {
	const { text: t0 } = await metricsText();
	const open0 = metricSum(t0, 'canal_http_connections_open');
	for (let i = 0; i < 5; i++) {
		await new Promise((resolve, reject) => {
			const s = net.connect(env.srv.port, '127.0.0.1', () => {
				s.write(`POST /api/chat.postMessage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nchannel=C1`, () => {
					s.destroy();
					resolve();
				});
			});
			s.on('error', reject);
		});
	}
	// Half-sent headers too.
	await new Promise((resolve) => {
		const s = net.connect(env.srv.port, '127.0.0.1', () => s.write('POST /api/auth.test HTTP/1.1\r\nHost: x\r\nContent-Le', () => { s.destroy(); resolve(); }));
	});
	const r = await rawApi(env.srv, 'auth.test', { headers: bearer() });
	assert.equal(r.json.ok, true, 'next request works');
	// The aborted connections are released.
	await waitFor(async () => {
		const { text } = await metricsText();
		return metricSum(text, 'canal_http_connections_open') <= open0;
	}, { timeoutMs: 5000, what: 'canal_http_connections_open back to its previous value' });
});

test('keep-alive and pipelining: two requests in one write, answered in order', async () => {
	const req = (m) => `POST /api/${m} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nfoo=bar`;
	const out = await rawExchange(env.srv.port, req('api.test') + req('auth.test'), {
		until: (b) => (b.match(/HTTP\/1\.1 200/g) || []).length >= 2 && b.includes('user_id') && /\}\s*$/.test(b),
	});
	const first = out.indexOf('"args"');
	const second = out.indexOf('"user_id"');
	assert.ok(first >= 0 && second > first, `both answered in order: ${out.slice(0, 600)}`);
});

test('malformed HTTP -> 400, oversized headers -> 431, server survives', async () => {
	const bad = await rawExchange(env.srv.port, 'THIS IS NOT HTTP\r\n\r\n');
	assert.match(bad, /^HTTP\/1\.[01] 400/, `garbage request: ${bad.slice(0, 100)}`);
	const big = await rawExchange(env.srv.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
	assert.match(big, /^HTTP\/1\.[01] 431/, `huge header: ${big.slice(0, 100)}`);
	const r = await rawApi(env.srv, 'auth.test', { headers: bearer() });
	assert.equal(r.json.ok, true);
});

test('100 concurrent requests all succeed', async () => {
	const { alice } = env.fx;
	const rs = await Promise.all(Array.from({ length: 100 }, (_, i) =>
		i % 2 ? alice.client.auth.test() : alice.client.conversations.info({ channel: ch })));
	assert.ok(rs.every((r) => r.ok));
});

test('chunked request body (Transfer-Encoding: chunked) is accepted', async () => {
	const body = form({ channel: ch, text: 'sent in chunks' });
	const half = Math.floor(body.length / 2);
	const chunk = (t) => `${Buffer.byteLength(t).toString(16)}\r\n${t}\r\n`;
	const out = await rawExchange(env.srv.port,
		`POST /api/chat.postMessage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk(body.slice(0, half))}${chunk(body.slice(half))}0\r\n\r\n`);
	assert.match(out, /^HTTP\/1\.1 200/, out.slice(0, 200));
	const json = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, ''));
	assert.equal(json.ok, true, JSON.stringify(json));
	assert.equal(json.message.text, 'sent in chunks');
});

test('query-string args are merged with body args', async () => {
	const r = await rawApi(env.srv, 'chat.postMessage', {
		query: form({ channel: ch }),
		headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' },
		body: form({ text: 'merged args' }),
	});
	assertEnvelope(r, 'query+body');
	assert.equal(r.json.ok, true, JSON.stringify(r.json));
	assert.equal(r.json.channel, ch);
});

test('Authorization header takes precedence over a token field', async () => {
	const r = await rawApi(env.srv, 'auth.test', {
		headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' },
		body: form({ token: env.fx.bob.token }),
	});
	assert.equal(r.json.user_id, env.fx.alice.id);
	// Same token in both places (what Bolt sends) is fine.
	const r2 = await rawApi(env.srv, 'auth.test', {
		headers: { ...bearer(), 'Content-Type': 'application/x-www-form-urlencoded' },
		body: form({ token: tok }),
	});
	assert.equal(r2.json.user_id, env.fx.alice.id);
});

test('HTTP/1.0 request is answered and the connection closed', async () => {
	const { buf: out, closed } = await rawExchangeFull(env.srv.port, `GET /api/auth.test?token=${tok} HTTP/1.0\r\nHost: x\r\n\r\n`, { timeoutMs: 5000 });
	assert.match(out, /^HTTP\/1\.[01] 200/, out.slice(0, 200));
	assert.ok(closed, 'server closed the HTTP/1.0 connection');
	assert.ok(out.includes('"ok":true'), out.slice(0, 400));
});

// Writes `data` in small pieces with pauses (headers split anywhere, body trickled).
function trickle(port, data, { piece = 7, gapMs = 3 } = {}) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		let buf = '';
		let i = 0;
		const timer = setTimeout(() => { s.destroy(); resolve(buf); }, 15000);
		const next = () => {
			if (i >= data.length) return;
			s.write(data.slice(i, i + piece));
			i += piece;
			setTimeout(next, gapMs);
		};
		s.on('connect', next);
		s.on('data', (d) => { buf += d.toString('latin1'); });
		s.on('close', () => { clearTimeout(timer); resolve(buf); });
		s.on('error', (e) => { clearTimeout(timer); if (buf) resolve(buf); else reject(e); });
	});
}

test('request delivered in tiny pieces (split headers, trickled body) is parsed', async () => {
	const body = form({ channel: ch, text: 'slow but steady' });
	const req = `POST /api/chat.postMessage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
	const out = await trickle(env.srv.port, req);
	assert.match(out, /^HTTP\/1\.1 200/, out.slice(0, 200));
	assert.ok(out.includes('slow but steady') && out.includes('"ok":true'), out.slice(0, 500));
});

test('hundreds of idle connections do not block service', async () => {
	const socks = [];
	try {
		// From three source addresses: one address may hold at most 256
		// (--max-connections-per-ip; limits.test.mjs tests that limit).
		for (let i = 0; i < 300; i++) {
			socks.push(await new Promise((resolve, reject) => {
				const s = net.connect({ port: env.srv.port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (i % 3)}` }, () => resolve(s));
				s.on('error', reject);
			}));
		}
		const { text } = await metricsText();
		assert.ok(metricSum(text, 'canal_http_connections_open') >= 300, 'connections_open counts idle sockets');
		const r = await rawApi(env.srv, 'auth.test', { headers: bearer() });
		assert.equal(r.json.ok, true);
	} finally {
		for (const s of socks) s.destroy();
	}
	const r2 = await rawApi(env.srv, 'auth.test', { headers: bearer() });
	assert.equal(r2.json.ok, true);
});

test('--max-body 1024: larger bodies get HTTP 413, smaller ones work', async () => {
	const srv = await CanalServer.create({ extraArgs: ['--max-body', '1024'] });
	let ok = false;
	try {
		const org = await srv.cli('org', 'create', 'Small');
		const u = await srv.cli('user', 'create', '--org', org.id, '--name', 'small', '--email', 'small@x.test', '--password', 'pw-small-123');
		const h = { Authorization: `Bearer ${u.token}`, 'Content-Type': 'application/x-www-form-urlencoded' };
		const small = await rawApi(srv, 'api.test', { headers: h, body: form({ a: 'x'.repeat(500) }) });
		assert.equal(small.status, 200);
		assert.equal(small.json.ok, true);
		const body = 'a=' + 'x'.repeat(4000);
		const resp = await rawExchange(srv.port, `POST /api/api.test HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`, { until: (b) => /\r\n\r\n/.test(b) });
		const status = Number((/^HTTP\/1\.[01] (\d{3})/.exec(resp) || [])[1]);
		assert.equal(status, 413);
		// Declared length alone is enough to refuse (answered before the body is read).
		const early = await rawExchange(srv.port, `POST /api/api.test HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000000\r\n\r\n`, { until: (b) => /\r\n\r\n/.test(b) });
		assert.match(early, /^HTTP\/1\.[01] 413/, `huge Content-Length: ${early.slice(0, 100)}`);
		const again = await rawApi(srv, 'api.test', { headers: h, body: form({ a: 'y' }) });
		assert.equal(again.json.ok, true, 'server fine after 413');
		ok = true;
	} finally {
		try {
			await srv.stop({ keepData: !ok });
		} finally {
			if (!ok) process.stderr.write(`\n##### canal (--max-body) stderr #####\n${srv.stderrTail()}\n`);
		}
	}
});
