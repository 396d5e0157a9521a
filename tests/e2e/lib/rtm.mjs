// Real-time (RTM) client helper for the e2e tests (not a test file).
//
//   const c = await connect(alice.client);      // rtm.connect + WebSocket + hello
//   const ev = await c.next((e) => e.type === 'message' && e.ts === ts);
//   await c.none((e) => e.channel === priv.id, (e) => e.text === sentinel);
//   await c.close();
//
// Every event received is kept in c.events (parsed JSON, in arrival order),
// so next() also finds events that arrived before it was called. Waits are
// bounded; "nothing arrived" is proved with a sentinel event that the test
// makes the server send after the actions under test (events reach one
// socket in order, so anything that should not have arrived would have
// arrived before the sentinel).
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import WebSocket from 'ws';

export const EVENT_TIMEOUT_MS = Number(process.env.CANAL_RTM_TIMEOUT_MS || 5000);

const open = new Set(); // every connection still open (closeAll)

function short(x, n = 600) {
	const s = typeof x === 'string' ? x : JSON.stringify(x);
	return s.length > n ? s.slice(0, n) + '…' : s;
}

export class Rtm {
	constructor(ws, info, label) {
		this.ws = ws;
		this.info = info; // rtm.connect answer (url, team, self) or null
		this.label = label || (info && info.self ? `${info.self.name}/${info.self.id}` : 'rtm');
		this.events = [];
		this.raw = []; // every received frame: {binary, data}
		this.badFrames = []; // text frames that are not JSON objects
		this.waiters = new Set();
		this.closeInfo = null; // {code, reason} once closed
		this.errors = [];
		this.pongs = 0; // WebSocket-level pongs
		this.closed = new Promise((resolve) => { this._resolveClosed = resolve; });
		open.add(this);
		ws.on('message', (data, isBinary) => {
			this.raw.push({ binary: isBinary, data });
			if (isBinary) {
				this.badFrames.push({ binary: true, data });
				return;
			}
			let ev;
			try {
				ev = JSON.parse(data.toString('utf8'));
			} catch {
				this.badFrames.push({ binary: false, data: data.toString('utf8') });
				return;
			}
			if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) {
				this.badFrames.push({ binary: false, data: data.toString('utf8') });
				return;
			}
			this.events.push(ev);
			for (const w of [...this.waiters]) w.check(ev, this.events.length - 1);
		});
		ws.on('pong', () => { this.pongs++; });
		ws.on('error', (e) => { this.errors.push(e); });
		ws.on('close', (code, reason) => {
			this.closeInfo = { code, reason: reason.toString('utf8') };
			open.delete(this);
			for (const w of [...this.waiters]) w.closed();
			this._resolveClosed(this.closeInfo);
		});
	}

	get self() { return this.info && this.info.self; }

	// Index to pass as `from` so that only later events count.
	mark() { return this.events.length; }

	// Resolves with the first event matching pred at index >= from
	// (already received or not); rejects after timeoutMs or if the socket
	// closes first.
	next(pred, timeoutMs = EVENT_TIMEOUT_MS, from = 0, what = '') {
		for (let i = from; i < this.events.length; i++) {
			if (pred(this.events[i])) return Promise.resolve(this.events[i]);
		}
		return new Promise((resolve, reject) => {
			const desc = what || pred.toString().replace(/\s+/g, ' ').slice(0, 200);
			const w = {
				check: (ev, i) => {
					if (i >= from && pred(ev)) { done(); resolve(ev); }
				},
				closed: () => {
					done();
					reject(new Error(`${this.label}: socket closed (${JSON.stringify(this.closeInfo)}) before an event matching ${desc}; got ${this.events.length} events, last: ${short(this.events.slice(-5))}`));
				},
			};
			const timer = setTimeout(() => {
				done();
				reject(new Error(`${this.label}: no event matching ${desc} within ${timeoutMs} ms; got ${this.events.length} events, last: ${short(this.events.slice(-8), 1500)}`));
			}, timeoutMs);
			const done = () => { clearTimeout(timer); this.waiters.delete(w); };
			if (this.closeInfo) { w.closed(); return; }
			this.waiters.add(w);
		});
	}

	// Every received event matching pred (from index `from`).
	all(pred, from = 0) {
		return this.events.slice(from).filter(pred);
	}

	// Waits (bounded) for the sentinel event, then asserts that no event
	// matching pred arrived (from index `from`) before or with it.
	async none(pred, sentinel, { timeoutMs = EVENT_TIMEOUT_MS, from = 0, what = '' } = {}) {
		const s = await this.next(sentinel, timeoutMs, from, `sentinel for ${what || 'none()'}`);
		const idx = this.events.indexOf(s, from);
		const bad = this.events.slice(from, idx + 1).filter(pred);
		assert.equal(bad.length, 0, `${this.label}: ${what || 'unexpected events'}: ${short(bad, 3000)}`);
		return s;
	}

	send(obj) {
		this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
	}

	// Round trip through the server: {"type":"ping","id":N} -> pong. Every
	// event queued for this socket before the ping was read has arrived
	// when this resolves (a sentinel for the socket's own actions).
	async ping(timeoutMs = EVENT_TIMEOUT_MS) {
		const id = nextPingId++;
		const from = this.mark();
		this.send({ type: 'ping', id });
		return this.next((e) => e.type === 'pong' && e.reply_to === id, timeoutMs, from, `pong reply_to ${id}`);
	}

	// Closes (bounded); resolves with {code, reason}.
	async close(code = 1000, timeoutMs = 3000) {
		if (this.closeInfo) return this.closeInfo;
		try { this.ws.close(code); } catch { /* not open yet */ }
		let timer;
		const t = new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs); });
		await Promise.race([this.closed, t]);
		clearTimeout(timer);
		if (!this.closeInfo) {
			this.ws.terminate();
			await this.closed;
		}
		return this.closeInfo;
	}

	// Waits (bounded) for the server to close the socket.
	async waitClosed(timeoutMs = EVENT_TIMEOUT_MS) {
		let timer;
		const t = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
		const r = await Promise.race([this.closed, t]);
		clearTimeout(timer);
		if (!r) throw new Error(`${this.label}: server did not close the socket within ${timeoutMs} ms; last events: ${short(this.events.slice(-5))}`);
		return r;
	}
}

let nextPingId = 1000;

// Opens a WebSocket to url; resolves with an Rtm once open (its listeners
// are attached before any frame can arrive), or rejects with err.status =
// the HTTP status of a refused upgrade.
export function openWs(url, { timeoutMs = EVENT_TIMEOUT_MS, headers, info = null, label } = {}) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, maxPayload: 256 << 20 });
		const rtm = new Rtm(ws, info, label);
		let settled = false;
		const fail = (err) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			try { ws.terminate(); } catch { /* gone */ }
			reject(err);
		};
		const timer = setTimeout(() => fail(new Error(`WebSocket ${url} not open within ${timeoutMs} ms`)), timeoutMs);
		ws.on('unexpected-response', (_req, res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			const done = () => {
				const e = new Error(`upgrade refused: HTTP ${res.statusCode} ${body.slice(0, 200)}`);
				e.status = res.statusCode;
				e.body = body;
				fail(e);
			};
			res.on('end', done);
			res.on('error', done);
			res.on('close', done);
		});
		ws.on('error', (e) => fail(e));
		ws.on('open', () => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			resolve(rtm);
		});
	});
}

// rtm.connect with a WebClient, open the socket, require {"type":"hello"}
// as the first event. Returns an Rtm.
export async function connect(client, { timeoutMs = EVENT_TIMEOUT_MS, label } = {}) {
	const info = await client.rtm.connect();
	assert.equal(info.ok, true, `rtm.connect: ${short(info)}`);
	const c = await openWs(info.url, { timeoutMs, info, label });
	const hello = await c.next((e) => e.type === 'hello', timeoutMs, 0, 'hello');
	assert.equal(c.events[0], hello, `${c.label}: hello must be the first event, got ${short(c.events.slice(0, 3))}`);
	return c;
}

// Close every connection opened through this module (after hooks).
export async function closeAll() {
	await Promise.all([...open].map((c) => c.close().catch(() => {})));
}

// ---- Raw WebSocket client over TCP (for frames no library sends) ----

// One frame. opcode: 1 text, 2 binary, 0 continuation, 8 close, 9 ping, 10 pong.
export function frame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
	const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '', 'utf8');
	const len = data.length;
	let hdr;
	if (len < 126) {
		hdr = Buffer.alloc(2);
		hdr[1] = len;
	} else if (len < 65536) {
		hdr = Buffer.alloc(4);
		hdr[1] = 126;
		hdr.writeUInt16BE(len, 2);
	} else {
		hdr = Buffer.alloc(10);
		hdr[1] = 127;
		hdr.writeBigUInt64BE(BigInt(len), 2);
	}
	hdr[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
	if (!mask) return Buffer.concat([hdr, data]);
	hdr[1] |= 0x80;
	const key = crypto.randomBytes(4);
	const out = Buffer.alloc(len);
	for (let i = 0; i < len; i++) out[i] = data[i] ^ key[i & 3];
	return Buffer.concat([hdr, key, out]);
}

// Parses server frames from a buffer; returns {frames, rest}.
function parseFrames(buf) {
	const frames = [];
	let off = 0;
	for (;;) {
		if (buf.length - off < 2) break;
		const b0 = buf[off];
		const b1 = buf[off + 1];
		let len = b1 & 0x7f;
		let p = off + 2;
		if (len === 126) {
			if (buf.length - p < 2) break;
			len = buf.readUInt16BE(p);
			p += 2;
		} else if (len === 127) {
			if (buf.length - p < 8) break;
			len = Number(buf.readBigUInt64BE(p));
			p += 8;
		}
		const masked = (b1 & 0x80) !== 0;
		if (masked) p += 4; // servers must not mask; tolerate for parsing
		if (buf.length - p < len) break;
		frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload: buf.subarray(p, p + len) });
		off = p + len;
	}
	return { frames, rest: buf.subarray(off) };
}

// A hand-rolled client: rtm.connect, HTTP upgrade over a raw TCP socket,
// then raw frames. rs.frames collects server frames; rs.ended is true once
// the server closed TCP.
export async function rawConnect(client, srv, { timeoutMs = EVENT_TIMEOUT_MS } = {}) {
	const info = await client.rtm.connect();
	const u = new URL(info.url);
	const sock = net.connect(Number(u.port || srv.port), u.hostname);
	const key = crypto.randomBytes(16).toString('base64');
	const rs = {
		sock, frames: [], ended: false, buf: Buffer.alloc(0), head: null, waiters: new Set(),
		write(b) { sock.write(b); },
		// Resolves with the first frame matching pred (bounded).
		nextFrame(pred, ms = timeoutMs, what = 'frame') {
			const f = rs.frames.find(pred);
			if (f) return Promise.resolve(f);
			return new Promise((resolve, reject) => {
				const w = () => {
					const g = rs.frames.find(pred);
					if (g) { cleanup(); resolve(g); } else if (rs.ended) { cleanup(); reject(new Error(`raw socket ended before ${what}; frames: ${short(rs.frames.map(describeFrame))}`)); }
				};
				const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${what} within ${ms} ms; frames: ${short(rs.frames.map(describeFrame))} ended=${rs.ended}`)); }, ms);
				const cleanup = () => { clearTimeout(timer); rs.waiters.delete(w); };
				rs.waiters.add(w);
			});
		},
		// Resolves when the server closes TCP (bounded).
		waitEnd(ms = timeoutMs) {
			if (rs.ended) return Promise.resolve();
			return new Promise((resolve, reject) => {
				const w = () => { if (rs.ended) { cleanup(); resolve(); } };
				const timer = setTimeout(() => { cleanup(); reject(new Error(`server did not close TCP within ${ms} ms; frames: ${short(rs.frames.map(describeFrame))}`)); }, ms);
				const cleanup = () => { clearTimeout(timer); rs.waiters.delete(w); };
				rs.waiters.add(w);
			});
		},
		// Resolves when the server sent a close frame or closed TCP (bounded).
		waitCloseOrEnd(ms = timeoutMs) {
			const done = () => rs.ended || rs.frames.some((f) => f.opcode === 8);
			if (done()) return Promise.resolve();
			return new Promise((resolve, reject) => {
				const w = () => { if (done()) { cleanup(); resolve(); } };
				const timer = setTimeout(() => { cleanup(); reject(new Error(`no close frame and TCP still open after ${ms} ms; frames: ${short(rs.frames.map(describeFrame))}`)); }, ms);
				const cleanup = () => { clearTimeout(timer); rs.waiters.delete(w); };
				rs.waiters.add(w);
			});
		},
		destroy() { sock.destroy(); },
	};
	const wake = () => { for (const w of [...rs.waiters]) w(); };
	await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`raw upgrade: no 101 within ${timeoutMs} ms (got ${short(rs.buf.toString('latin1'))})`)), timeoutMs);
		sock.on('error', (e) => { clearTimeout(timer); rs.ended = true; wake(); reject(e); });
		sock.on('close', () => { rs.ended = true; wake(); });
		sock.on('end', () => { rs.ended = true; wake(); });
		sock.on('data', (d) => {
			rs.buf = Buffer.concat([rs.buf, d]);
			if (!rs.head) {
				const i = rs.buf.indexOf('\r\n\r\n');
				if (i < 0) return;
				rs.head = rs.buf.subarray(0, i).toString('latin1');
				rs.buf = rs.buf.subarray(i + 4);
				clearTimeout(timer);
				if (!/^HTTP\/1\.1 101/.test(rs.head)) {
					reject(new Error(`raw upgrade refused: ${rs.head.split('\r\n')[0]}`));
					return;
				}
				resolve();
			}
			const { frames, rest } = parseFrames(rs.buf);
			rs.frames.push(...frames);
			rs.buf = Buffer.from(rest);
			wake();
		});
		sock.write(
			`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
			`Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
		);
	});
	const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
	assert.match(rs.head, new RegExp(`\\r\\nsec-websocket-accept: *${accept.replace(/[+/=]/g, '\\$&')}`, 'i'), `Sec-WebSocket-Accept in ${rs.head}`);
	return rs;
}

export function describeFrame(f) {
	if (f.opcode === 8) {
		const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
		return { close: code, reason: f.payload.subarray(2).toString('utf8') };
	}
	if (f.opcode === 1) return { text: f.payload.toString('utf8').slice(0, 200) };
	return { opcode: f.opcode, len: f.payload.length, fin: f.fin };
}

export function closeCode(f) {
	return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
}

// Text frames of a raw connection parsed as JSON (unparseable ones skipped).
export function rawEvents(rs) {
	const out = [];
	for (const f of rs.frames) {
		if (f.opcode !== 1) continue;
		try { out.push(JSON.parse(f.payload.toString('utf8'))); } catch { /* not JSON */ }
	}
	return out;
}

// GET /healthz must answer 200 (the server survived).
export async function assertHealthy(srv, what = '') {
	let res;
	try {
		res = await fetch(`${srv.base}/healthz`, { signal: AbortSignal.timeout(5000) });
	} catch (e) {
		throw new Error(`/healthz unreachable ${what}: ${e.message}`);
	}
	await res.text();
	assert.equal(res.status, 200, `/healthz ${what}`);
	assert.ok(srv.running, `canal still running ${what}`);
}
