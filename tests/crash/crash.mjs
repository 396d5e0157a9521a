#!/usr/bin/env node
// Crash-consistency test: many rounds of "drive concurrent writes through the
// Web API, SIGKILL the server at a random moment, check the database, restart,
// check through the API". Run with `make crash-test` (see docs/reliability.md).
//
// Every request is recorded before it is sent. Its answer decides what the
// database may hold afterwards:
//   ok:true            acknowledged: must be there (the last acknowledged
//                      edit's text, every acknowledged reaction and channel)
//   no answer          in flight: may be there or not, but only whole (the
//                      exact text sent, in its thread, with its mentions rows;
//                      the channel with its creator as member)
//   ok:false           refused: must not be there (and is itself a failure:
//                      the load sends nothing the server should refuse)
// Anything else found is a violation: a message whose text we never sent, a
// row without its channel or parent, an edited text without its edited_ts,
// mentions rows that do not match the text, ts out of order or repeated,
// reply counts that do not match the replies, PRAGMA integrity_check not "ok".
//
// The database is checked twice per round: on a copy of the data directory
// (canal.db + canal.db-wal) taken after the kill and before the restart, with
// the sqlite3 CLI, so the check does not disturb the server's own recovery;
// then through the Web API once the server is back.
//
// Environment:
//   CRASH_ROUNDS    rounds (default 50; ~60-90 s in all)
//   CRASH_CLIENTS   parallel clients during the load (default 32)
//   CRASH_MIN_MS, CRASH_MAX_MS   kill moment after the load starts, uniform
//                   (default 50 and 800)
//   CRASH_SEED      seed of the random choices (default: time); printed
//   CRASH_KEEP=1    keep the work directory even when every round passed
//   CANAL_BIN       binary (default build/canal)
// Exit status 0 when every round passed, 1 otherwise (the work directory with
// the data dir and a copy of each failed round's files is kept and printed).
import { execFile } from 'node:child_process';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, copyFile, rm, readdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CanalServer, canalBin } from '../e2e/lib/server.mjs';
import { createOrg, createUser, createApp } from '../e2e/lib/fixture.mjs';

const ROUNDS = Number(process.env.CRASH_ROUNDS || 50);
const CLIENTS = Number(process.env.CRASH_CLIENTS || 32);
const MIN_MS = Number(process.env.CRASH_MIN_MS || 50);
const MAX_MS = Number(process.env.CRASH_MAX_MS || 800);
const SEED = Number(process.env.CRASH_SEED || (Date.now() % 2147483647));
const KEEP = process.env.CRASH_KEEP === '1';
const BASE_CHANNELS = 6;
// The load is many times Slack's rate limits from a handful of tokens, and
// creates channels by the hundred: switch those limits off (servers that
// do not know these settings ignore the variables).
process.env.CANAL_RATE_LIMIT_FACTOR ??= '0';
process.env.CANAL_MAX_CHANNELS_PER_ORG ??= '0';
const EMOJI = ['eyes', 'tada', 'rocket', 'fire', 'wave', 'star', 'zap', 'sparkles'];

// ---- small helpers ----

// mulberry32: reproducible choices for a given CRASH_SEED (the server's
// timing is not, so a seed reproduces the shape of a run, not its outcome).
let rngState = SEED >>> 0;
function rnd() {
	rngState = (rngState + 0x6d2b79f5) >>> 0;
	let t = rngState;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// "1700000000.000123" <-> 1700000000000123 (microseconds, as the DB stores it)
const tsToUs = (ts) => BigInt(ts.replace('.', ''));
const usToTs = (us) => {
	const s = String(us).padStart(7, '0');
	return `${s.slice(0, -6)}.${s.slice(-6)}`;
};

function sqlite(dbPath, sql, json = true) {
	const args = ['-bail', ...(json ? ['-json'] : []), dbPath, sql];
	return new Promise((resolve, reject) => {
		execFile('sqlite3', args, { maxBuffer: 512 << 20, timeout: 60000 }, (err, stdout, stderr) => {
			if (err) return reject(new Error(`sqlite3 ${sql.slice(0, 80)}: ${err.message}\n${stderr}`));
			if (!json) return resolve(stdout.trim());
			resolve(stdout.trim() ? JSON.parse(stdout) : []);
		});
	});
}

function apiErrorKind(e) {
	if (e && e.refused) return { refused: true, error: e.error };
	return { refused: false, error: (e && (e.code || e.message)) || String(e) };
}

// The load's and the checks' Web API client: form-encoded POSTs (what the
// Slack SDKs send) over one keep-alive connection per client. @slack/web-api
// does the setup; for the load it is about ten times slower than this, and
// the test wants the server, not the client, to be the busy side. An
// answer {"ok":false} rejects with {refused:true, error}; a transport error
// (the kill) rejects with the socket's error.
function loadClient(srvRef, token) {
	let agent = null;
	let port = null;
	return {
		call(method, params) {
			if (port !== srvRef.port) {
				if (agent) agent.destroy();
				agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
				port = srvRef.port;
			}
			const body = new URLSearchParams(params).toString();
			return new Promise((resolve, reject) => {
				const req = http.request({
					host: '127.0.0.1', port, path: `/api/${method}`, method: 'POST', agent, timeout: 10000,
					headers: {
						'content-type': 'application/x-www-form-urlencoded',
						authorization: `Bearer ${token}`,
						'content-length': Buffer.byteLength(body),
					},
				}, (res) => {
					let d = '';
					res.setEncoding('utf8');
					res.on('data', (x) => { d += x; });
					res.on('error', reject);
					res.on('end', () => {
						let j;
						try { j = JSON.parse(d); } catch { return reject(new Error(`HTTP ${res.statusCode}: not JSON: ${d.slice(0, 200)}`)); }
						if (j.ok) resolve(j);
						else reject({ refused: true, error: j.error, status: res.statusCode });
					});
				});
				req.on('timeout', () => req.destroy(new Error('timeout')));
				req.on('error', reject);
				req.end(body);
			});
		},
		close() { if (agent) agent.destroy(); },
	};
}

// ---- the model of what was sent and what was acknowledged ----

const runTag = Math.random().toString(36).slice(2, 7);
const PREFIX = `ct${runTag} `; // every message text we send starts with it
const RECENT = 300; // replies, edits and reactions go to one of the latest messages

// A text is "<PREFIX>r<round> w<client> #<seq> <kind> xxx...": its first five
// words name the request that sent it, the rest is padding.
const textId = (t) => t.split(' ', 5).join(' ');
const sha3 = (t) => createHash('sha3-256').update(t, 'utf8').digest('hex').toUpperCase();
function msgHash(m) { // sha3 of m.text, computed once per text
	if (m.hashOf !== m.text) {
		m.hash = sha3(m.text);
		m.hashOf = m.text;
	}
	return m.hash;
}

const model = {
	channels: new Map(), // id -> {id, name, creator, base}
	baseIds: [], // the base channels (everyone is a member)
	createdBy: new Map(), // user id -> [ids of channels they created]
	msgs: new Map(), // `${ch}/${ts}` -> {ch, ts, threadTs, user, text, pendingEdit, editing}
	topByChannel: new Map(), // ch -> [keys of acknowledged top-level messages, oldest first]
	ownByUser: new Map(), // user id -> [keys of acknowledged own messages, oldest first]
	repliesByParent: new Map(), // parent key -> [reply ts]
	inflightPosts: new Map(), // text id -> {text, ch, threadTs, user}
	refusedIds: new Set(), // ids of refused posts / edits (must never appear)
	reactions: new Map(), // `${key}|${name}|${user}` -> 'acked' | 'inflight'
	inflightCreates: new Map(), // name -> {creator}
	maxUs: 0n, // highest message ts acknowledged or found
};

function addMsg(m) {
	const key = `${m.ch}/${m.ts}`;
	model.msgs.set(key, m);
	if (!m.threadTs) {
		if (!model.topByChannel.has(m.ch)) model.topByChannel.set(m.ch, []);
		model.topByChannel.get(m.ch).push(key);
	} else {
		const pk = `${m.ch}/${m.threadTs}`;
		if (!model.repliesByParent.has(pk)) model.repliesByParent.set(pk, []);
		model.repliesByParent.get(pk).push(m.ts);
	}
	if (!model.ownByUser.has(m.user)) model.ownByUser.set(m.user, []);
	model.ownByUser.get(m.user).push(key);
	const us = tsToUs(m.ts);
	if (us > model.maxUs) model.maxUs = us;
	return key;
}

function addChannel(c) {
	model.channels.set(c.id, c);
	if (c.base) model.baseIds.push(c.id);
	else {
		if (!model.createdBy.has(c.creator)) model.createdBy.set(c.creator, []);
		model.createdBy.get(c.creator).push(c.id);
	}
	if (!model.topByChannel.has(c.id)) model.topByChannel.set(c.id, []);
}

// Remembers the oldest message a round touched per channel: the API check
// after the restart reads history from there (ts null: a new message).
function touch(ctl, ch, ts) {
	const us = ts ? tsToUs(ts) : ctl.startMaxUs + 1n;
	const cur = ctl.touched.get(ch);
	if (cur === undefined || (cur !== null && us < cur)) ctl.touched.set(ch, us);
}

const pickRecent = (arr) => arr[arr.length - 1 - Math.floor(rnd() * Math.min(arr.length, RECENT))];

// ---- the load ----

let textSeq = 0;
const mentionable = []; // user ids a text may mention
function makeText(round, w, kind) {
	textSeq++;
	// Mostly short, sometimes long enough for overflow pages; a tenth
	// mention someone (rows in the mentions table, in the same job).
	const pad = rnd() < 0.03 ? 2000 + Math.floor(rnd() * 6000) : Math.floor(rnd() * 200);
	const mention = rnd() < 0.1 ? `<@${pick(mentionable)}> ` : '';
	return `${PREFIX}r${round} w${w.n} #${textSeq} ${kind} ${mention}${'x'.repeat(pad)}`;
}
const mentionsIn = (head) => [...head.matchAll(/<@([UW][A-Z0-9]+)>/g)].map((m) => m[1]).sort().join(',');

class Stats {
	constructor() {
		this.sent = 0; this.acked = 0; this.inflight = 0; this.refused = 0;
		this.byKind = {};
	}
	note(kind, what) {
		this.byKind[kind] ||= { acked: 0, inflight: 0 };
		if (what === 'acked') { this.acked++; this.byKind[kind].acked++; }
		else if (what === 'inflight') { this.inflight++; this.byKind[kind].inflight++; }
		else this.refused++;
	}
}

async function runWorker(w, round, ctl, stats, violations) {
	const u = w.identity;
	while (!ctl.stop) {
		const r = rnd();
		const mine = model.createdBy.get(u.id) || [];
		const ch = mine.length && rnd() < 0.2 ? pickRecent(mine) : pick(model.baseIds);
		let kind;
		if (r < 0.40) kind = 'post';
		else if (r < 0.55) kind = 'reply';
		else if (r < 0.75) kind = 'edit';
		else if (r < 0.98) kind = 'react';
		else kind = 'create';
		if (u.isBot && kind === 'create') kind = 'post';

		const tops = model.topByChannel.get(ch) || [];
		if ((kind === 'reply' || kind === 'react') && tops.length === 0) kind = 'post';
		let editKey = null;
		if (kind === 'edit') {
			const own = model.ownByUser.get(u.id) || [];
			for (let tries = 0; tries < 4 && own.length; tries++) {
				const k = pickRecent(own);
				if (!model.msgs.get(k).editing) { editKey = k; break; }
			}
			if (!editKey) kind = 'post';
		}

		stats.sent++;
		try {
			if (kind === 'post' || kind === 'reply') {
				const text = makeText(round, w, kind);
				const threadTs = kind === 'reply' ? model.msgs.get(pickRecent(tops)).ts : null;
				model.inflightPosts.set(textId(text), { text, ch, threadTs, user: u.id });
				const args = { channel: ch, text };
				if (threadTs) args.thread_ts = threadTs;
				touch(ctl, ch, threadTs);
				let res;
				try {
					res = await w.load.call('chat.postMessage', args);
				} catch (e) {
					const k = apiErrorKind(e);
					if (k.refused) {
						model.inflightPosts.delete(textId(text));
						model.refusedIds.add(textId(text));
						violations.push(`${kind} refused: ${k.error} (${ch} ${textId(text)})`);
						stats.note(kind, 'refused');
					} else {
						stats.note(kind, 'inflight');
					}
					continue;
				}
				model.inflightPosts.delete(textId(text));
				if (res.channel !== ch || typeof res.ts !== 'string') {
					violations.push(`${kind}: bad answer ${JSON.stringify(res).slice(0, 300)}`);
					continue;
				}
				const us = tsToUs(res.ts);
				if (w.lastUs !== undefined && us <= w.lastUs) {
					violations.push(`ts not increasing for one client: ${res.ts} after ${usToTs(w.lastUs)}`);
				}
				w.lastUs = us;
				if (us <= ctl.startMaxUs) {
					violations.push(`ts ${res.ts} acknowledged this round is not after every earlier ts (${usToTs(ctl.startMaxUs)})`);
				}
				const key = `${ch}/${res.ts}`;
				if (model.msgs.has(key)) violations.push(`ts ${res.ts} handed out twice in ${ch}`);
				addMsg({ ch, ts: res.ts, threadTs, user: u.id, text, pendingEdit: null, editing: false });
				stats.note(kind, 'acked');
			} else if (kind === 'edit') {
				const m = model.msgs.get(editKey);
				const text = makeText(round, w, 'edit');
				m.editing = true;
				m.pendingEdit = text;
				touch(ctl, m.ch, m.ts);
				try {
					await w.load.call('chat.update', { channel: m.ch, ts: m.ts, text });
				} catch (e) {
					const k = apiErrorKind(e);
					if (k.refused) {
						m.pendingEdit = null;
						m.editing = false;
						model.refusedIds.add(textId(text));
						violations.push(`edit refused: ${k.error} (${m.ch} ${m.ts})`);
						stats.note(kind, 'refused');
					} else {
						stats.note(kind, 'inflight'); // stays editing: resolved after the crash
					}
					continue;
				}
				m.text = text;
				m.pendingEdit = null;
				m.editing = false;
				stats.note(kind, 'acked');
			} else if (kind === 'react') {
				const key = pickRecent(tops);
				const m = model.msgs.get(key);
				const free = EMOJI.filter((n) => !model.reactions.has(`${key}|${n}|${u.id}`));
				if (!free.length) { stats.sent--; continue; }
				const name = pick(free);
				const rk = `${key}|${name}|${u.id}`;
				model.reactions.set(rk, 'inflight');
				touch(ctl, m.ch, m.ts);
				try {
					await w.load.call('reactions.add', { channel: m.ch, timestamp: m.ts, name });
				} catch (e) {
					const k = apiErrorKind(e);
					if (k.refused) {
						model.reactions.delete(rk);
						violations.push(`reactions.add refused: ${k.error} (${rk})`);
						stats.note(kind, 'refused');
					} else {
						stats.note(kind, 'inflight');
					}
					continue;
				}
				model.reactions.set(rk, 'acked');
				stats.note(kind, 'acked');
			} else {
				const name = `ct-${runTag}-r${round}-w${w.n}-${++textSeq}`;
				model.inflightCreates.set(name, { creator: u.id });
				let res;
				try {
					res = await w.load.call('conversations.create', { name });
				} catch (e) {
					const k = apiErrorKind(e);
					if (k.refused) {
						model.inflightCreates.delete(name);
						violations.push(`conversations.create refused: ${k.error} (${name})`);
						stats.note(kind, 'refused');
					} else {
						stats.note(kind, 'inflight');
					}
					continue;
				}
				model.inflightCreates.delete(name);
				addChannel({ id: res.channel.id, name, creator: u.id, base: false });
				ctl.touched.set(res.channel.id, null);
				stats.note(kind, 'acked');
			}
		} catch (e) {
			violations.push(`driver error in ${kind}: ${e.stack || e}`);
		}
	}
}

// ---- checks on the copy of the data directory (after the kill) ----

async function copyDataDir(dataDir, dest) {
	await mkdir(dest, { recursive: true });
	for (const f of await readdir(dataDir)) {
		if (f.startsWith('canal.db')) await copyFile(path.join(dataDir, f), path.join(dest, f));
	}
	return path.join(dest, 'canal.db');
}

async function checkDb(dbPath, round, violations, found) {
	const integ = await sqlite(dbPath, 'PRAGMA integrity_check;', false);
	if (integ !== 'ok') violations.push(`PRAGMA integrity_check: ${integ.slice(0, 2000)}`);
	const fk = await sqlite(dbPath, 'PRAGMA foreign_key_check;', false);
	if (fk !== '') violations.push(`PRAGMA foreign_key_check: ${fk.slice(0, 2000)}`);

	const orphanChecks = {
		'messages without their channel':
			'SELECT channel_id, ts FROM messages WHERE channel_id NOT IN (SELECT id FROM channels) LIMIT 20',
		'members without their channel':
			'SELECT channel_id, user_id FROM members WHERE channel_id NOT IN (SELECT id FROM channels) LIMIT 20',
		'reactions without their message':
			'SELECT r.channel_id, r.ts, r.name FROM reactions r WHERE NOT EXISTS'
			+ ' (SELECT 1 FROM messages m WHERE m.channel_id=r.channel_id AND m.ts=r.ts) LIMIT 20',
		'replies without their parent':
			'SELECT m.channel_id, m.ts FROM messages m WHERE m.thread_ts IS NOT NULL AND m.thread_ts<>m.ts'
			+ ' AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.channel_id=m.channel_id AND p.ts=m.thread_ts) LIMIT 20',
		'mentions without their message':
			'SELECT x.channel_id, x.ts FROM mentions x WHERE NOT EXISTS'
			+ ' (SELECT 1 FROM messages m WHERE m.channel_id=x.channel_id AND m.ts=x.ts) LIMIT 20',
	};
	for (const [what, sql] of Object.entries(orphanChecks)) {
		const rows = await sqlite(dbPath, sql);
		if (rows.length) violations.push(`${what}: ${JSON.stringify(rows)}`);
	}

	// Channels: acknowledged ones exist with their name; an in-flight create
	// is there whole (creator a member) or not at all; no other of ours.
	const chRows = await sqlite(dbPath, `SELECT id, name FROM channels WHERE name LIKE 'ct-${runTag}-%'`);
	const memRows = await sqlite(dbPath, `SELECT m.channel_id, m.user_id FROM members m JOIN channels c ON c.id=m.channel_id WHERE c.name LIKE 'ct-${runTag}-%'`);
	const members = new Set(memRows.map((r) => `${r.channel_id}/${r.user_id}`));
	const dbChannels = new Map(chRows.map((r) => [r.id, r.name]));
	for (const c of model.channels.values()) {
		if (!dbChannels.has(c.id)) violations.push(`acknowledged channel ${c.id} (${c.name}) lost`);
		else if (dbChannels.get(c.id) !== c.name) violations.push(`channel ${c.id} is named ${dbChannels.get(c.id)}, expected ${c.name}`);
	}
	for (const [id, name] of dbChannels) {
		if (model.channels.has(id)) continue;
		const pend = model.inflightCreates.get(name);
		if (!pend) {
			violations.push(`channel ${id} (${name}) present but never created by an acknowledged or in-flight request`);
			continue;
		}
		if (!members.has(`${id}/${pend.creator}`)) violations.push(`channel ${id} (${name}) present without its creator as member (half a create)`);
		found.channels.push({ id, name, creator: pend.creator });
	}
	for (const c of model.channels.values()) {
		if (!c.base && dbChannels.has(c.id) && !members.has(`${c.id}/${c.creator}`)) {
			violations.push(`channel ${c.id} (${c.name}) lost its creator's membership`);
		}
	}

	// Messages of our channels: identified by the request id at the start
	// of the text, compared whole through its hash.
	const ours = [...model.channels.keys(), ...found.channels.map((c) => c.id)];
	const inList = ours.map((id) => `'${id}'`).join(',');
	const rows = await sqlite(dbPath,
		'SELECT channel_id, ts, thread_ts, subtype, user_id, substr(text, 1, 80) AS head, hex(sha3(text)) AS h, edited_ts' +
		` FROM messages WHERE channel_id IN (${inList})`);
	const seen = new Set();
	const editRe = /^\S+ r\d+ w\d+ #\d+ edit$/;
	// Mentions are written in the message's job: they match its text.
	const mrows = await sqlite(dbPath,
		'SELECT channel_id, ts, group_concat(target) AS targets FROM' +
		` (SELECT channel_id, ts, target FROM mentions WHERE channel_id IN (${inList}) AND target IS NOT NULL ORDER BY target)` +
		' GROUP BY channel_id, ts');
	const mentionRows = new Map(mrows.map((r) => [`${r.channel_id}/${usToTs(r.ts)}`, r.targets]));
	for (const r of rows) {
		const ts = usToTs(r.ts);
		const key = `${r.channel_id}/${ts}`;
		seen.add(key);
		const head = r.head ?? '';
		if (!head.startsWith(PREFIX)) {
			if (!r.subtype) violations.push(`message ${key} with a text we never sent: ${JSON.stringify(head)}`);
			continue; // a system message (channel_join, ...)
		}
		const wantMentions = mentionsIn(head);
		const gotMentions = mentionRows.get(key) || '';
		if (wantMentions !== gotMentions) {
			violations.push(`message ${key}: mentions rows [${gotMentions}] do not match its text [${wantMentions}] (${textId(head)})`);
		}
		const id = textId(head);
		const isEdit = editRe.test(id);
		if (isEdit !== (Number(r.edited_ts) !== 0)) {
			violations.push(`message ${key}: text ${isEdit ? 'is an edit' : 'is the original'} but edited_ts=${r.edited_ts}`);
		}
		const m = model.msgs.get(key);
		if (m) {
			if (id === textId(m.text)) {
				if (r.h !== msgHash(m)) violations.push(`message ${key}: text of ${id} is not what was sent (hash differs)`);
			} else if (m.pendingEdit && id === textId(m.pendingEdit)) {
				if (r.h !== sha3(m.pendingEdit)) violations.push(`message ${key}: text of edit ${id} is not what was sent (hash differs)`);
				found.edits.push({ key, text: m.pendingEdit });
			} else {
				violations.push(`message ${key}: text ${JSON.stringify(id)} is neither the acknowledged ${JSON.stringify(textId(m.text))} nor an edit in flight ${JSON.stringify(m.pendingEdit ? textId(m.pendingEdit) : null)}`);
			}
			continue;
		}
		const pend = model.inflightPosts.get(id);
		if (!pend) {
			const why = model.refusedIds.has(id) ? 'a refused request' : 'no request in flight';
			violations.push(`message ${key} present but unacknowledged, with the text of ${why}: ${JSON.stringify(id)}`);
			continue;
		}
		if (r.h !== sha3(pend.text)) violations.push(`message ${key} (in flight): text of ${id} is not what was sent (hash differs)`);
		const wantThread = pend.threadTs ? String(tsToUs(pend.threadTs)) : null;
		const gotThread = r.thread_ts === null || r.thread_ts === undefined ? null : String(r.thread_ts);
		if (pend.ch !== r.channel_id || pend.user !== r.user_id || (wantThread && gotThread !== wantThread) ||
		    (!wantThread && gotThread !== null && gotThread !== String(r.ts))) {
			violations.push(`message ${key} (in flight) landed differently: ${JSON.stringify(r).slice(0, 200)} vs ${JSON.stringify({ ...pend, text: id })}`);
		}
		if (tsToUs(ts) <= found.startMaxUs) violations.push(`message ${key} from this round is not after the earlier ts ${usToTs(found.startMaxUs)}`);
		found.posts.push({ ch: r.channel_id, ts, threadTs: pend.threadTs, user: pend.user, text: pend.text });
	}
	for (const [key, m] of model.msgs) {
		if (!seen.has(key)) violations.push(`acknowledged message ${key} lost (${textId(m.text)})`);
	}

	// Reactions.
	const rr = await sqlite(dbPath, `SELECT channel_id, ts, name, user_id FROM reactions WHERE channel_id IN (${inList})`);
	const rset = new Set();
	for (const r of rr) {
		const rk = `${r.channel_id}/${usToTs(r.ts)}|${r.name}|${r.user_id}`;
		rset.add(rk);
		const st = model.reactions.get(rk);
		if (!st) violations.push(`reaction ${rk} present but never requested`);
		else if (st === 'inflight') found.reactions.push(rk);
	}
	for (const [rk, st] of model.reactions) {
		if (st === 'acked' && !rset.has(rk)) violations.push(`acknowledged reaction ${rk} lost`);
	}
	return rows.length;
}

// After the check: what was found of the in-flight requests is now known
// state; what was not found never happened (nothing can bring it back).
function adopt(found) {
	for (const c of found.channels) addChannel({ ...c, base: false });
	model.inflightCreates.clear();
	for (const p of found.posts) addMsg({ ...p, pendingEdit: null, editing: false });
	model.inflightPosts.clear();
	const edited = new Map(found.edits.map((e) => [e.key, e.text]));
	for (const [key, m] of model.msgs) {
		if (edited.has(key)) m.text = edited.get(key);
		m.pendingEdit = null;
		m.editing = false;
	}
	const landed = new Set(found.reactions);
	for (const [rk, st] of model.reactions) {
		if (st === 'inflight') {
			if (landed.has(rk)) model.reactions.set(rk, 'acked');
			else model.reactions.delete(rk);
		}
	}
}

// After a violation the model follows the database again, so one loss is
// reported once rather than in every later round.
async function resync(dbPath) {
	const rows = await sqlite(dbPath, 'SELECT channel_id, ts, text FROM messages');
	const have = new Map(rows.map((r) => [`${r.channel_id}/${usToTs(r.ts)}`, r.text]));
	for (const [key, m] of [...model.msgs]) {
		if (!have.has(key)) {
			model.msgs.delete(key);
			const lists = [model.topByChannel.get(m.ch), model.ownByUser.get(m.user)];
			for (const arr of lists) {
				const i = arr ? arr.indexOf(key) : -1;
				if (i >= 0) arr.splice(i, 1);
			}
			const reps = m.threadTs && model.repliesByParent.get(`${m.ch}/${m.threadTs}`);
			if (reps && reps.includes(m.ts)) reps.splice(reps.indexOf(m.ts), 1);
		} else if (have.get(key) !== m.text && (have.get(key) || '').startsWith(PREFIX)) {
			m.text = have.get(key);
		}
	}
	const rr = await sqlite(dbPath, 'SELECT channel_id, ts, name, user_id FROM reactions');
	const rset = new Set(rr.map((r) => `${r.channel_id}/${usToTs(r.ts)}|${r.name}|${r.user_id}`));
	for (const rk of [...model.reactions.keys()]) if (!rset.has(rk)) model.reactions.delete(rk);
	const ch = await sqlite(dbPath, 'SELECT id FROM channels');
	const cset = new Set(ch.map((r) => r.id));
	for (const id of [...model.channels.keys()]) if (!cset.has(id)) model.channels.delete(id);
	model.baseIds = model.baseIds.filter((id) => cset.has(id));
	for (const [u, ids] of model.createdBy) model.createdBy.set(u, ids.filter((id) => cset.has(id)));
}

// ---- checks through the Web API (after the restart) ----

async function allPages(client, method, args, key) {
	const out = [];
	let cursor;
	for (let page = 0; page < 100000; page++) {
		const r = await client.call(method, { ...args, limit: 999, ...(cursor ? { cursor } : {}) });
		out.push(...r[key]);
		cursor = r.response_metadata && r.response_metadata.next_cursor;
		if (!cursor) return out;
	}
	throw new Error(`${method}: pagination does not end`);
}

// Reads the history of each channel in `since` (channel -> oldest ts to
// read, or null for all of it) and compares it with the model: order, texts,
// reply counts, reactions, and every acknowledged top-level message there.
async function checkApi(client, violations, since, touchedParents) {
	const reacts = new Map();
	for (const rk of model.reactions.keys()) {
		const [key, name, user] = rk.split('|');
		if (!reacts.has(key)) reacts.set(key, new Set());
		reacts.get(key).add(`${name}|${user}`);
	}
	let n = 0;
	for (const [chId, oldest] of since) {
		const c = model.channels.get(chId);
		if (!c) continue;
		if (!c.base) {
			const info = await client.call('conversations.info', { channel: c.id });
			if (info.channel.name !== c.name) violations.push(`API: channel ${c.id} named ${info.channel.name}, expected ${c.name}`);
		}
		const hist = await allPages(client, 'conversations.history',
			{ channel: c.id, ...(oldest ? { oldest, inclusive: true } : {}) }, 'messages');
		let prev = null;
		const seen = new Set();
		for (const h of hist) {
			const us = tsToUs(h.ts);
			if (seen.has(h.ts)) violations.push(`API: ts ${h.ts} twice in the history of ${c.id}`);
			seen.add(h.ts);
			if (prev !== null && us >= prev) violations.push(`API: history of ${c.id} out of order: ${h.ts} after ${usToTs(prev)}`);
			prev = us;
			if (h.subtype && !(h.text || '').startsWith(PREFIX)) continue;
			n++;
			const key = `${c.id}/${h.ts}`;
			const m = model.msgs.get(key);
			if (!m) { violations.push(`API: unknown message ${key} in history (${textId(h.text || '')})`); continue; }
			if (h.text !== m.text) violations.push(`API: message ${key} reads ${JSON.stringify(textId(h.text))}, expected ${JSON.stringify(textId(m.text))}`);
			if (Boolean(h.edited) !== / edit$/.test(textId(m.text))) violations.push(`API: message ${key} edited=${JSON.stringify(h.edited)} with text ${textId(m.text)}`);
			const reps = model.repliesByParent.get(key) || [];
			if ((h.reply_count || 0) !== reps.length) violations.push(`API: ${key} reply_count ${h.reply_count || 0}, ${reps.length} replies exist`);
			if (reps.length && h.latest_reply !== reps.reduce((a, b) => (tsToUs(a) > tsToUs(b) ? a : b))) {
				violations.push(`API: ${key} latest_reply ${h.latest_reply} is not the newest reply`);
			}
			const got = new Set();
			for (const r of h.reactions || []) {
				if (r.count !== r.users.length) violations.push(`API: ${key} reaction ${r.name} count ${r.count} with ${r.users.length} users`);
				for (const u of r.users) got.add(`${r.name}|${u}`);
			}
			const exp = reacts.get(key) || new Set();
			if (got.size !== exp.size || [...exp].some((x) => !got.has(x))) {
				violations.push(`API: ${key} reactions ${JSON.stringify([...got])}, expected ${JSON.stringify([...exp])}`);
			}
		}
		const oldestUs = oldest ? tsToUs(oldest) : 0n;
		for (const k of model.topByChannel.get(c.id) || []) {
			const ts = k.slice(c.id.length + 1);
			if (tsToUs(ts) >= oldestUs && !seen.has(ts)) violations.push(`API: acknowledged message ${k} missing from history`);
		}
	}
	// Threads that changed: every reply there, in ts order, with its text.
	for (const pk of touchedParents) {
		const [ch, ts] = pk.split('/');
		const rep = await allPages(client, 'conversations.replies', { channel: ch, ts }, 'messages');
		const got = rep.filter((m) => m.ts !== ts).map((m) => m.ts);
		const want = (model.repliesByParent.get(pk) || []).slice().sort((a, b) => (tsToUs(a) < tsToUs(b) ? -1 : 1));
		if (!rep[0] || rep[0].ts !== ts) violations.push(`API: replies of ${pk} do not start with the parent`);
		if (JSON.stringify(got) !== JSON.stringify(want)) {
			violations.push(`API: replies of ${pk}: got ${got.length} ${JSON.stringify(got.slice(0, 5))}, expected ${want.length} ${JSON.stringify(want.slice(0, 5))}`);
		}
		for (const m of rep) {
			if (m.ts === ts) continue;
			const mm = model.msgs.get(`${ch}/${m.ts}`);
			if (mm && m.text !== mm.text) violations.push(`API: reply ${ch}/${m.ts} reads ${textId(m.text)}, expected ${textId(mm.text)}`);
		}
	}
	return n;
}

// ---- main ----

async function main() {
	const work = await mkdtemp(path.join(tmpdir(), 'canal-crash-'));
	const dataDir = path.join(work, 'data');
	await mkdir(dataDir);
	console.log(`crash-test: ${ROUNDS} rounds, ${CLIENTS} clients, kill ${MIN_MS}-${MAX_MS} ms into the load, seed ${SEED}`);
	// Every round restarts the same binary: a private copy, so a rebuild
	// during the run changes nothing.
	const bin = path.join(work, 'canal');
	const orig = canalBin();
	await copyFile(orig, bin);
	await chmod(bin, 0o755);
	process.env.CANAL_BIN = bin;
	console.log(`crash-test: binary ${orig} (run from a copy), work dir ${work}`);
	const srv = new CanalServer({ dataDir, ownsDataDir: false });
	await srv.start();

	// Setup (not crash-tested): an org, five people, a bot, base channels.
	const org = await createOrg(srv, `Crash ${runTag}`);
	const people = [];
	for (const n of ['alice', 'bob', 'carol', 'dave', 'erin']) {
		const u = await createUser(srv, org.id, n, { admin: n === 'alice' });
		people.push({ id: u.id, name: n, client: u.client, token: u.token, isBot: false });
	}
	const app = await createApp(srv, org.id, 'crashbot');
	const bot = { id: app.bot_user_id, name: 'crashbot', client: app.client, token: app.bot_token, isBot: true };
	const alice = people[0];
	for (let i = 0; i < BASE_CHANNELS; i++) {
		const name = `ct-${runTag}-base${i}`;
		const c = (await alice.client.conversations.create({ name })).channel;
		await alice.client.conversations.invite({ channel: c.id, users: [...people.slice(1), bot].map((p) => p.id).join(',') });
		addChannel({ id: c.id, name, creator: alice.id, base: true });
	}
	const identities = [...people, bot];
	mentionable.push(...identities.map((p) => p.id));
	const reader = loadClient(srv, alice.token); // the API checks' client
	const workers = Array.from({ length: CLIENTS }, (_, n) => {
		const identity = identities[n % identities.length];
		return { n, identity, load: loadClient(srv, identity.token) };
	});

	let passed = 0;
	let failed = 0;
	const t0 = Date.now();
	for (let round = 1; round <= ROUNDS; round++) {
		const violations = [];
		const stats = new Stats();
		const ctl = { stop: false, startMaxUs: model.maxUs, touched: new Map() };
		const killAt = MIN_MS + Math.floor(rnd() * (MAX_MS - MIN_MS + 1));

		// Load, then SIGKILL at killAt.
		const loadStart = Date.now();
		const running = workers.map((w) => runWorker(w, round, ctl, stats, violations));
		await sleep(killAt);
		// No new requests from here on: what is unanswered now is in flight.
		ctl.stop = true;
		const killedAfter = Date.now() - loadStart;
		const exit = await srv.kill('SIGKILL');
		await Promise.all(running);
		if (exit.signal !== 'SIGKILL') violations.push(`server was not killed by SIGKILL: ${JSON.stringify(exit)} (it died on its own?)`);
		const inflightAtKill = model.inflightPosts.size + model.inflightCreates.size +
			[...model.msgs.values()].filter((m) => m.editing).length +
			[...model.reactions.values()].filter((s) => s === 'inflight').length;

		// Check a copy of the files as the kill left them.
		const copyDir = path.join(work, `round-${round}`);
		const dbCopy = await copyDataDir(dataDir, copyDir);
		const found = { posts: [], edits: [], reactions: [], channels: [], startMaxUs: ctl.startMaxUs };
		let rows = 0;
		const d0 = Date.now();
		try {
			rows = await checkDb(dbCopy, round, violations, found);
		} catch (e) {
			violations.push(`database check failed: ${e.message}`);
		}
		const dbMs = Date.now() - d0;
		const touchedParents = new Set();
		for (const m of model.msgs.values()) if (m.threadTs && tsToUs(m.ts) > ctl.startMaxUs) touchedParents.add(`${m.ch}/${m.threadTs}`);
		for (const p of found.posts) if (p.threadTs) touchedParents.add(`${p.ch}/${p.threadTs}`);
		const landed = found.posts.length + found.edits.length + found.reactions.length + found.channels.length;
		for (const c of found.channels) ctl.touched.set(c.id, null);
		adopt(found);
		// The API check reads what this round touched; every tenth round
		// and the last one read everything.
		const full = round % 10 === 0 || round === ROUNDS;
		const since = new Map();
		for (const id of model.channels.keys()) {
			if (full) since.set(id, null);
			else if (ctl.touched.has(id)) {
				const us = ctl.touched.get(id);
				since.set(id, us === null || us <= 0n ? null : usToTs(us));
			}
		}

		// Restart on the same data dir, check through the API.
		const r0 = Date.now();
		let apiMsgs = 0;
		try {
			await srv.start();
		} catch (e) {
			violations.push(`restart failed: ${e.message}`);
		}
		const restartMs = Date.now() - r0;
		const a0 = Date.now();
		if (srv.running) {
			try {
				apiMsgs = await checkApi(reader, violations, since, touchedParents);
			} catch (e) {
				violations.push(`API check failed: ${e.stack || e}`);
			}
		}

		const apiMs = Date.now() - a0;
		const k = stats.byKind;
		const fmt = (x) => (k[x] ? `${k[x].acked}/${k[x].inflight}` : '0/0');
		const line = `round ${String(round).padStart(3)}: kill at ${String(killedAfter).padStart(4)} ms; ` +
			`acked/in flight: post ${fmt('post')} reply ${fmt('reply')} edit ${fmt('edit')} react ${fmt('react')} create ${fmt('create')}; ` +
			`in flight ${inflightAtKill}, landed ${landed}; ` +
			`checked: db ${rows} msgs ${dbMs} ms, api ${apiMsgs} msgs${full ? ' (all)' : ''} ${apiMs} ms; restart ${restartMs} ms`;
		if (violations.length) {
			failed++;
			console.log(`${line}  FAILED`);
			for (const v of violations.slice(0, 50)) console.log(`    - ${v}`);
			if (violations.length > 50) console.log(`    ... ${violations.length - 50} more`);
			console.log(`    files as the kill left them: ${copyDir}`);
			try { await resync(dbCopy); } catch (e) { console.log(`    (resync failed: ${e.message})`); }
		} else {
			passed++;
			console.log(`${line}  ok`);
			await rm(copyDir, { recursive: true, force: true });
		}
		if (!srv.running) {
			console.log('crash-test: the server does not start any more; stopping');
			break;
		}
	}

	// A clean stop at the end, and one more integrity check.
	let finalOk = true;
	try {
		await srv.shutdown();
		const integ = await sqlite(path.join(dataDir, 'canal.db'), 'PRAGMA integrity_check;', false);
		if (integ !== 'ok') { finalOk = false; console.log(`final integrity_check: ${integ}`); }
	} catch (e) {
		finalOk = false;
		console.log(`final stop: ${e.message}`);
	}
	if (!finalOk) failed++;
	const secs = ((Date.now() - t0) / 1000).toFixed(1);
	console.log(`crash-test: ${model.msgs.size} messages, ${model.reactions.size} reactions, ${model.channels.size} channels in the end; ${secs} s`);
	console.log(`${passed} passed, ${failed} failed`);
	if (failed) {
		console.log(`crash-test: data dir kept: ${dataDir}`);
		console.log(`--- server stderr (tail) ---\n${srv.stderrTail(6000)}`);
		process.exit(1);
	}
	if (KEEP) console.log(`crash-test: work dir kept: ${work}`);
	else await rm(work, { recursive: true, force: true });
	process.exit(0);
}

main().catch((e) => {
	console.error(`crash-test: ${e.stack || e}`);
	console.log('0 passed, 1 failed');
	process.exit(1);
});
