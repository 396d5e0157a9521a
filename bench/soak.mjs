// The soak driver (run by bench/soak, which starts the server and passes
// CANAL_URL, CANAL_PID, CANAL_DATA, CANAL_BIN). For SOAK_SECONDS it keeps
// SOAK_WS real-time clients connected (rtm.connect + WebSocket, receiving
// every event, pinging, sending typing, a tenth of them reconnecting every
// 30 s), SOAK_PEOPLE people chatting with user tokens (posts, thread
// replies, reactions added and removed, edits, deletes, history and replies
// reads, conversations.list, users.list, marks, searches, file uploads the
// way filesUploadV2 does them, files.info) and SOAK_BOTS bots posting,
// half with their bot tokens and half through incoming webhooks, over a new
// connection per request. The whole load aims at SOAK_RATE requests/s.
//
// Every 5 s it prints: elapsed, server RSS (VmRSS), open fds, requests/s,
// p50/p99 latency of the interval, WebSocket events/s, errors. At the end:
// whether RSS and fds were flat after warm-up (the last third's maximum
// against the middle third's: flat = within 10 % or 5 MiB for RSS, within
// 10 % or 5 for fds), and the overall figures. Exit status 1 when either
// grew, when a request failed in a way the workload cannot explain, or when
// the server went away.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import WebSocket from 'ws';

const BASE = process.env.CANAL_URL;
const PID = Number(process.env.CANAL_PID);
const DATA = process.env.CANAL_DATA;
const BIN = process.env.CANAL_BIN || 'build/canal';
const SECONDS = Number(process.env.SOAK_SECONDS || 120);
const NWS = Number(process.env.SOAK_WS || 50);
const NPEOPLE = Number(process.env.SOAK_PEOPLE || 20);
const NBOTS = Number(process.env.SOAK_BOTS || 2);
const RATE = Number(process.env.SOAK_RATE || 500);
const PRINT_EVERY_S = 5;
const NCHANNELS = 10;
const EMOJI = ['eyes', 'tada', 'rocket', 'fire', 'wave', 'star', 'zap', 'sparkles', 'heart', 'thumbsup'];

if (!BASE || !PID || !DATA) {
	console.error('soak.mjs is run by bench/soak (it needs CANAL_URL, CANAL_PID, CANAL_DATA)');
	process.exit(2);
}
const url = new URL(BASE);
if (url.hostname !== '127.0.0.1') {
	console.error(`soak: loopback only, not ${BASE}`);
	process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const rnd = Math.random;

// ---- the server process ----

function serverAlive() {
	try {
		process.kill(PID, 0);
		return true;
	} catch {
		return false;
	}
}
function rssKiB() {
	const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${PID}/status`, 'utf8'));
	return m ? Number(m[1]) : NaN;
}
const fdCount = () => readdirSync(`/proc/${PID}/fd`).length;

// ---- admin CLI and Web API ----

function cli(...args) {
	return new Promise((resolve, reject) => {
		execFile(BIN, ['admin', ...args, '--data', DATA, '--json'], { timeout: 30000 }, (err, stdout, stderr) => {
			if (err) return reject(new Error(`canal admin ${args.join(' ')}: ${err.message}\n${stderr}`));
			resolve(JSON.parse(stdout));
		});
	});
}

// Measurements of the current interval and of the whole run.
const iv = { lat: [], reqs: 0, errors: new Map(), wsEvents: 0 };
const all = { lat: [], reqs: 0, errors: new Map(), wsEvents: 0, transport: 0 };
let measuring = false; // setup requests are not measured
const count = (map, k) => map.set(k, (map.get(k) || 0) + 1);

// Errors the workload itself can cause (people race on shared messages).
const BENIGN = new Set(['message_not_found', 'thread_not_found', 'already_reacted', 'no_reaction', 'cant_update_message', 'cant_delete_message']);

// Form-encoded POST, as the Slack SDKs send. keepAlive agents for people,
// a fresh connection per request for bots (connection churn).
function api(agent, token, method, params) {
	const body = new URLSearchParams(params).toString();
	const t0 = process.hrtime.bigint();
	return new Promise((resolve) => {
		const req = http.request({
			host: url.hostname, port: url.port, path: `/api/${method}`, method: 'POST', agent, timeout: 15000,
			headers: {
				'content-type': 'application/x-www-form-urlencoded',
				authorization: `Bearer ${token}`,
				'content-length': Buffer.byteLength(body),
			},
		}, (res) => {
			let d = '';
			res.setEncoding('utf8');
			res.on('data', (x) => { d += x; });
			res.on('end', () => {
				const ms = Number(process.hrtime.bigint() - t0) / 1e6;
				let j = null;
				try { j = JSON.parse(d); } catch { /* below */ }
				if (measuring) {
					iv.lat.push(ms); all.lat.push(ms); iv.reqs++; all.reqs++;
					if (!j || !j.ok) {
						const e = j ? j.error : `http_${res.statusCode}`;
						count(iv.errors, e); count(all.errors, `${method}:${e}`);
					}
				}
				resolve(j || { ok: false, error: `http_${res.statusCode}` });
			});
		});
		req.on('timeout', () => req.destroy(new Error('timeout')));
		req.on('error', (e) => {
			if (measuring) {
				iv.reqs++; all.reqs++; all.transport++;
				count(iv.errors, 'transport'); count(all.errors, `${method}:transport:${e.code || e.message}`);
			}
			resolve({ ok: false, error: 'transport' });
		});
		req.end(body);
	});
}

// A raw POST outside the Web API, counted like one: `label` names it in the
// error table, and the answer is good when ok(status, text) says so.
function postRaw(label, pathname, body, contentType, ok) {
	const t0 = process.hrtime.bigint();
	return new Promise((resolve) => {
		const req = http.request({
			host: url.hostname, port: url.port, path: pathname, method: 'POST', timeout: 15000,
			headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
		}, (res) => {
			let d = '';
			res.setEncoding('utf8');
			res.on('data', (x) => { d += x; });
			res.on('end', () => {
				const ms = Number(process.hrtime.bigint() - t0) / 1e6;
				const good = ok(res.statusCode, d);
				if (measuring) {
					iv.lat.push(ms); all.lat.push(ms); iv.reqs++; all.reqs++;
					if (!good) { count(iv.errors, `${label}_${res.statusCode}`); count(all.errors, `${label}:${res.statusCode} ${d.slice(0, 40)}`); }
				}
				resolve(good);
			});
		});
		req.on('timeout', () => req.destroy(new Error('timeout')));
		req.on('error', (e) => {
			if (measuring) {
				iv.reqs++; all.reqs++; all.transport++;
				count(iv.errors, 'transport'); count(all.errors, `${label}:transport:${e.code || e.message}`);
			}
			resolve(false);
		});
		req.end(body);
	});
}

// An incoming webhook: JSON POST to /services/..., plain-text answer "ok".
function hook(pathname, payload) {
	return postRaw('webhook', pathname, JSON.stringify(payload), 'application/json',
		(status, text) => status === 200 && text === 'ok');
}

// A file shared the way the SDK's filesUploadV2 does it: an upload URL, the
// bytes POSTed to it, then the completion that posts the message.
async function upload(p, ch) {
	const bytes = `soak file ${++seq} from ${p.name}\n${'log line\n'.repeat(1 + Math.floor(rnd() * 400))}`;
	const filename = `soak-${seq}.log`;
	const u = await api(p.agent, p.token, 'files.getUploadURLExternal', { filename, length: Buffer.byteLength(bytes) });
	if (!u.ok) return;
	const posted = await postRaw('upload', new URL(u.upload_url).pathname, bytes, 'application/octet-stream',
		(status) => status === 200);
	if (!posted) return;
	const res = await api(p.agent, p.token, 'files.completeUploadExternal', {
		files: JSON.stringify([{ id: u.file_id, title: filename }]), channel_id: ch,
	});
	if (res.ok) uploaded.push(res.files[0].id);
}

async function must(agent, token, method, params) {
	const r = await api(agent, token, method, params);
	if (!r.ok) throw new Error(`setup: ${method} ${JSON.stringify(params)}: ${JSON.stringify(r)}`);
	return r;
}

// ---- real-time clients ----

class WsClient {
	constructor(person) {
		this.person = person;
		this.ws = null;
		this.pingId = 0;
		this.closedByUs = false;
	}

	async open() {
		const r = await must(this.person.agent, this.person.token, 'rtm.connect', {});
		await new Promise((resolve, reject) => {
			const ws = new WebSocket(r.url, { perMessageDeflate: false, handshakeTimeout: 10000 });
			this.ws = ws;
			const timer = setTimeout(() => reject(new Error('no hello within 10 s')), 10000);
			ws.on('message', (data) => {
				if (measuring) { iv.wsEvents++; all.wsEvents++; }
				if (timer && data.length < 200 && data.toString().includes('"hello"')) {
					clearTimeout(timer);
					resolve();
				}
			});
			ws.on('error', (e) => { clearTimeout(timer); reject(e); });
			ws.on('close', () => {
				if (!this.closedByUs && measuring) {
					count(iv.errors, 'ws_closed'); count(all.errors, 'ws:closed_by_server');
				}
			});
		});
	}

	send(obj) {
		if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
	}

	async close() {
		this.closedByUs = true;
		if (!this.ws || this.ws.readyState === WebSocket.CLOSED) return;
		await new Promise((resolve) => {
			const t = setTimeout(() => { this.ws.terminate(); resolve(); }, 3000);
			this.ws.once('close', () => { clearTimeout(t); resolve(); });
			this.ws.close(1000);
		});
	}
}

// ---- the workload ----

const recent = new Map(); // channel -> [ts ...] (latest 200 posts we saw acknowledged)
const own = new Map(); // person id -> [{ch, ts}] (their latest posts)
const myReactions = new Set(); // `${user}|${ch}|${ts}|${name}`
function remember(map, k, v, max = 200) {
	if (!map.has(k)) map.set(k, []);
	const a = map.get(k);
	a.push(v);
	if (a.length > max) a.shift();
}

// Words the posts carry, which searches look for; files shared so far.
const WORDS = ['soak', 'lorem', 'ipsum', 'from', 'edited', 'person1', 'person2'];
const uploaded = [];

let seq = 0;
function text(p) {
	seq++;
	const r = rnd();
	const mention = r < 0.1 ? ` <@${pick(people).id}>` : r < 0.12 ? ' <!here>' : '';
	return `soak ${seq} from ${p.name}${mention} ${'lorem ipsum '.repeat(Math.floor(rnd() * 20))}`;
}

async function personAction(p) {
	const ch = pick(p.channels);
	const tss = recent.get(ch) || [];
	const r = rnd();
	if (r < 0.25 || tss.length === 0) {
		const res = await api(p.agent, p.token, 'chat.postMessage', { channel: ch, text: text(p) });
		if (res.ok) { remember(recent, ch, res.ts); remember(own, p.id, { ch, ts: res.ts }, 50); }
	} else if (r < 0.35) {
		await api(p.agent, p.token, 'chat.postMessage', { channel: ch, text: text(p), thread_ts: pick(tss) });
	} else if (r < 0.47) {
		const ts = pick(tss);
		const name = pick(EMOJI);
		const k = `${p.id}|${ch}|${ts}|${name}`;
		if (myReactions.has(k)) {
			myReactions.delete(k);
			await api(p.agent, p.token, 'reactions.remove', { channel: ch, timestamp: ts, name });
		} else {
			myReactions.add(k);
			await api(p.agent, p.token, 'reactions.add', { channel: ch, timestamp: ts, name });
		}
	} else if (r < 0.55) {
		const mine = own.get(p.id) || [];
		if (mine.length) {
			const m = pick(mine);
			await api(p.agent, p.token, 'chat.update', { channel: m.ch, ts: m.ts, text: `${text(p)} (edited)` });
		}
	} else if (r < 0.57) {
		const mine = own.get(p.id) || [];
		if (mine.length) {
			const m = mine.shift();
			const list = recent.get(m.ch) || [];
			const i = list.indexOf(m.ts);
			if (i >= 0) list.splice(i, 1);
			await api(p.agent, p.token, 'chat.delete', { channel: m.ch, ts: m.ts });
		}
	} else if (r < 0.77) {
		await api(p.agent, p.token, 'conversations.history', { channel: ch, limit: 50 });
	} else if (r < 0.82) {
		await api(p.agent, p.token, 'conversations.replies', { channel: ch, ts: pick(tss), limit: 50 });
	} else if (r < 0.87) {
		await api(p.agent, p.token, 'conversations.list', { limit: 200, types: 'public_channel,private_channel' });
	} else if (r < 0.91) {
		await api(p.agent, p.token, 'users.list', { limit: 200 });
	} else if (r < 0.95) {
		await api(p.agent, p.token, 'conversations.mark', { channel: ch, ts: pick(tss) });
	} else if (r < 0.965) {
		await api(p.agent, p.token, 'search.messages', { query: `${pick(WORDS)} ${pick(WORDS)}`, count: 20 });
	} else if (r < 0.975) {
		await upload(p, ch);
	} else if (r < 0.98 && uploaded.length) {
		await api(p.agent, p.token, 'files.info', { file: pick(uploaded) });
	} else {
		await api(p.agent, p.token, 'conversations.info', { channel: ch });
	}
}

async function botAction(b) {
	if (b.hooks.length && rnd() < 0.5) {
		await hook(pick(b.hooks), { text: `webhook ${b.name} alert ${++seq}: disk at ${Math.floor(rnd() * 100)} %` });
		return;
	}
	const ch = pick(b.channels);
	const res = await api(undefined, b.token, 'chat.postMessage', { channel: ch, text: `bot ${b.name} report ${++seq}: all systems nominal` });
	if (res.ok) remember(recent, ch, res.ts);
}

// Paced loop: one action every `everyMs` on average, catching up (without
// bursts of more than a few) when an answer came late.
async function actor(fn, everyMs, until) {
	let next = Date.now() + rnd() * everyMs;
	while (Date.now() < until) {
		const wait = next - Date.now();
		if (wait > 0) await sleep(wait);
		else if (wait < -5 * everyMs) next = Date.now();
		await fn();
		next += everyMs * (0.5 + rnd());
	}
}

// ---- report ----

function pct(sorted, p) {
	if (!sorted.length) return NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const mib = (kib) => (kib / 1024).toFixed(1);

let people = [];

async function main() {
	console.log(`soak: ${SECONDS} s, ${NWS} WebSocket clients, ${NPEOPLE} people, ${NBOTS} bots, aiming at ${RATE} Web API req/s, server pid ${PID}`);

	// Setup: an org, people, bots, channels with some of each as members.
	const org = await cli('org', 'create', `soak${Date.now() % 100000}`);
	for (let i = 0; i < NPEOPLE; i++) {
		const name = `person${i}`;
		const u = await cli('user', 'create', '--org', org.id, '--name', name, '--email', `${name}@soak.test`, '--password', 'soak soak soak soak');
		people.push({ id: u.id, name, token: u.token, agent: new http.Agent({ keepAlive: true, maxSockets: 4 }), channels: [] });
	}
	const bots = [];
	for (let i = 0; i < NBOTS; i++) {
		const a = await cli('app', 'create', '--org', org.id, '--name', `soakbot${i}`, '--scopes', 'chat:write,channels:read,channels:join,channels:history');
		bots.push({ id: a.bot_user_id, app: a.id, name: `soakbot${i}`, token: a.bot_token, channels: [], hooks: [] });
	}
	const owner = people[0];
	const channels = [];
	for (let i = 0; i < NCHANNELS; i++) {
		const c = (await must(owner.agent, owner.token, 'conversations.create', { name: `soak-${i}` })).channel.id;
		channels.push(c);
		owner.channels.push(c);
		// About half of the people in each channel, every bot.
		const members = people.slice(1).filter((_, k) => (k + i) % 2 === 0);
		for (const m of members) m.channels.push(c);
		if (members.length) await must(owner.agent, owner.token, 'conversations.invite', { channel: c, users: members.map((m) => m.id).join(',') });
		for (const b of bots) {
			await must(undefined, b.token, 'conversations.join', { channel: c });
			b.channels.push(c);
		}
	}
	for (const p of people) if (!p.channels.length) p.channels.push(channels[0]);
	// Incoming webhooks: each bot gets one into each of three channels.
	for (const b of bots) {
		for (const c of b.channels.slice(0, 3)) {
			const h = await cli('webhook', 'create', '--app', b.app, '--channel', c);
			b.hooks.push(new URL(h.url).pathname);
		}
	}

	// Real-time clients, spread over the people.
	const wsClients = [];
	for (let i = 0; i < NWS; i++) {
		const c = new WsClient(people[i % people.length]);
		await c.open();
		wsClients.push(c);
	}
	console.log(`soak: setup done (org ${org.id}, ${channels.length} channels, ${bots.reduce((n, b) => n + b.hooks.length, 0)} webhooks, ${wsClients.length} sockets open)`);

	// Run.
	measuring = true;
	const t0 = Date.now();
	const until = t0 + SECONDS * 1000;
	const nActors = people.length + bots.length;
	const everyMs = (nActors * 1000) / RATE;
	const actors = [
		...people.map((p) => actor(() => personAction(p), everyMs, until)),
		...bots.map((b) => actor(() => botAction(b), everyMs, until)),
	];
	// Sockets: pings and typing; a tenth reconnect every 30 s.
	let pingN = 0;
	const pinger = setInterval(() => {
		for (const c of wsClients) {
			c.send({ id: ++pingN, type: 'ping' });
			if (rnd() < 0.2) c.send({ id: ++pingN, type: 'typing', channel: pick(c.person.channels) });
		}
	}, 2000);
	let churning = false;
	let reconnects = 0;
	const churn = setInterval(async () => {
		if (churning || Date.now() > until - 5000) return;
		churning = true;
		try {
			for (let k = 0; k < Math.max(1, Math.floor(wsClients.length / 10)); k++) {
				const i = Math.floor(rnd() * wsClients.length);
				await wsClients[i].close();
				const c = new WsClient(wsClients[i].person);
				await c.open();
				wsClients[i] = c;
				reconnects++;
			}
		} catch (e) {
			count(all.errors, `ws:reconnect:${e.message}`);
		} finally {
			churning = false;
		}
	}, 30000);

	// Samples every second, a line every PRINT_EVERY_S.
	const samples = []; // {t, rss, fds}
	let lastPrint = t0;
	let dead = false;
	console.log('   time     rss_MiB   fds   req/s   p50_ms   p99_ms   ws_ev/s   errors');
	const sampler = setInterval(() => {
		if (!serverAlive()) { dead = true; return; }
		const t = (Date.now() - t0) / 1000;
		try {
			samples.push({ t, rss: rssKiB(), fds: fdCount() });
		} catch {
			dead = true;
			return;
		}
		if (Date.now() - lastPrint >= PRINT_EVERY_S * 1000 - 50) {
			const secs = (Date.now() - lastPrint) / 1000;
			lastPrint = Date.now();
			const s = samples[samples.length - 1];
			const lat = iv.lat.sort((a, b) => a - b);
			const errs = [...iv.errors].map(([k, v]) => `${k}=${v}`).join(',') || '0';
			console.log(`${t.toFixed(0).padStart(6)} s  ${mib(s.rss).padStart(8)}  ${String(s.fds).padStart(5)}  ${(iv.reqs / secs).toFixed(0).padStart(6)}  ${f1(pct(lat, 50)).padStart(7)}  ${f1(pct(lat, 99)).padStart(7)}  ${(iv.wsEvents / secs).toFixed(0).padStart(8)}   ${errs}`);
			iv.lat = []; iv.reqs = 0; iv.errors = new Map(); iv.wsEvents = 0;
		}
	}, 1000);

	await Promise.race([
		Promise.all(actors),
		(async () => { while (!dead) await sleep(200); })(),
	]);
	measuring = false;
	clearInterval(sampler); clearInterval(pinger); clearInterval(churn);
	while (churning) await sleep(50);
	await Promise.all(wsClients.map((c) => c.close()));
	for (const p of people) p.agent.destroy();

	// Verdict.
	console.log('');
	let ok = true;
	if (dead) {
		console.log('soak: FAILED: the server went away during the run');
		process.exit(1);
	}
	const third = SECONDS / 3;
	const mid = samples.filter((s) => s.t >= third && s.t < 2 * third);
	const last = samples.filter((s) => s.t >= 2 * third);
	const max = (a, k) => Math.max(...a.map((s) => s[k]));
	const midRss = max(mid, 'rss'), lastRss = max(last, 'rss');
	const midFd = max(mid, 'fds'), lastFd = max(last, 'fds');
	const rssFlat = lastRss <= midRss * 1.10 || lastRss - midRss <= 5 * 1024;
	const fdFlat = lastFd <= midFd * 1.10 || lastFd - midFd <= 5;
	const lat = all.lat.sort((a, b) => a - b);
	const secs = SECONDS;
	console.log(`soak: ${all.reqs} Web API requests (${(all.reqs / secs).toFixed(0)}/s), p50 ${f1(pct(lat, 50))} ms, p99 ${f1(pct(lat, 99))} ms, max ${f1(lat[lat.length - 1])} ms; ${all.wsEvents} WebSocket events (${(all.wsEvents / secs).toFixed(0)}/s); ${reconnects} WebSocket reconnects`);
	console.log(`soak: RSS first/middle/last third max: ${mib(max(samples.filter((s) => s.t < third), 'rss'))} / ${mib(midRss)} / ${mib(lastRss)} MiB -> ${rssFlat ? 'flat' : 'GROWING'} (flat = last within 10 % or 5 MiB of middle)`);
	console.log(`soak: fds first/middle/last third max: ${max(samples.filter((s) => s.t < third), 'fds')} / ${midFd} / ${lastFd} -> ${fdFlat ? 'flat' : 'GROWING'} (flat = last within 10 % or 5 of middle)`);
	if (!rssFlat || !fdFlat) ok = false;
	const unexplained = [...all.errors].filter(([k]) => !BENIGN.has(k.split(':')[1]));
	const benign = [...all.errors].filter(([k]) => BENIGN.has(k.split(':')[1]));
	if (benign.length) console.log(`soak: races between people (expected): ${benign.map(([k, v]) => `${k}=${v}`).join(' ')}`);
	if (unexplained.length) {
		console.log(`soak: FAILED requests: ${unexplained.map(([k, v]) => `${k}=${v}`).join(' ')}`);
		ok = false;
	}
	console.log(`soak: ${ok ? 'PASSED' : 'FAILED'}`);
	process.exit(ok ? 0 : 1);
}

main().catch((e) => {
	console.error(`soak: ${e.stack || e}`);
	process.exit(1);
});
