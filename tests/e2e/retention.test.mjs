// Retention: messages older than their channel's policy (else their
// organisation's) are deleted by the retention job, with everything
// hanging off them (reactions, pins, thread replies' summaries), never
// what a legal hold covers (a channel, or a person's messages anywhere).
//
// Messages are posted now; `canal admin retention run --as-of TS` runs the
// job as of a later moment (what will have expired by then), so a cutoff
// can fall exactly between two messages without a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { useServer, waitFor } from './lib/server.mjs';
import { createUser, createOrg, expectError, uniq, webClient } from './lib/fixture.mjs';

// No rate limits: one test posts over a thousand messages into one channel.
const env = useServer({ extraArgs: ['--rate-limit-factor', '0'] });
const DAY_US = 86400n * 1000000n;

function us(ts) {
	const [s, f] = ts.split('.');
	return BigInt(s) * 1000000n + BigInt(f);
}
function fmt(u) {
	return `${u / 1000000n}.${(u % 1000000n).toString().padStart(6, '0')}`;
}
// --as-of at which messages strictly older than `before` have been kept
// exactly `days` days.
function asOf(before, days) {
	return fmt(us(before) + BigInt(days) * DAY_US);
}

async function run(as) {
	const r = await env.srv.cli('retention', 'run', ...(as ? ['--as-of', as] : []));
	assert.equal(r.ok, true, JSON.stringify(r));
	return r;
}

async function tsList(client, channel) {
	const h = await client.conversations.history({ channel, limit: 1000 });
	return h.messages.map((m) => m.ts);
}

async function chan(client, name, opts = {}) {
	return (await client.conversations.create({ name: uniq(name), ...opts })).channel;
}

test('old messages go with their reactions, pins and threads; newer ones stay; the org policy applies', async () => {
	const { org, alice, bob } = env.fx;
	const c = await chan(alice.client, 'ret');
	await alice.client.conversations.invite({ channel: c.id, users: bob.id });
	const a = (await bob.client.chat.postMessage({ channel: c.id, text: 'old one <@' + alice.id + '>' })).ts;
	await alice.client.reactions.add({ channel: c.id, timestamp: a, name: 'wave' });
	await alice.client.pins.add({ channel: c.id, timestamp: a });
	const r1 = (await alice.client.chat.postMessage({ channel: c.id, text: 'old reply', thread_ts: a })).ts;
	const b = (await bob.client.chat.postMessage({ channel: c.id, text: 'newer' })).ts;
	const r2 = (await alice.client.chat.postMessage({ channel: c.id, text: 'newer reply', thread_ts: b })).ts;

	await env.srv.cli('retention', 'set', '--org', org.id, '--days', '30');
	// Just before a's 30 days are up: nothing goes.
	await run(fmt(us(a) + 30n * DAY_US));
	assert.ok((await tsList(alice.client, c.id)).includes(a));

	const res = await run(asOf(b, 30));
	assert.ok(res.deleted >= 2, JSON.stringify(res));
	const left = await tsList(alice.client, c.id);
	assert.ok(!left.includes(a), 'a deleted');
	assert.ok(left.includes(b), 'b kept');
	await expectError(alice.client.reactions.get({ channel: c.id, timestamp: a }), 'message_not_found');
	assert.deepEqual((await alice.client.pins.list({ channel: c.id })).items, []);
	await expectError(alice.client.conversations.replies({ channel: c.id, ts: a }), 'thread_not_found');
	const thread = await alice.client.conversations.replies({ channel: c.id, ts: b });
	assert.deepEqual(thread.messages.map((m) => m.ts), [b, r2]);
	assert.ok(r1);
	// The mention of alice went too: no unread mention left for her there.
	const counts = await alice.client.apiCall('client.counts', {});
	const row = (counts.channels || []).find((x) => x.id === c.id);
	if (row) assert.equal(row.mention_count, 0);
	await env.srv.cli('retention', 'remove', '--org', org.id);
});

test('a legal hold on a channel or on a person keeps their messages; releasing it lets them go', async () => {
	const { org, alice, bob } = env.fx;
	const carol = await createUser(env.srv, org.id, uniq('carol'));
	const held = await chan(alice.client, 'held');
	const open = await chan(alice.client, 'open');
	for (const ch of [held, open]) await alice.client.conversations.invite({ channel: ch.id, users: `${bob.id},${carol.id}` });
	const hBob = (await bob.client.chat.postMessage({ channel: held.id, text: 'in held channel' })).ts;
	const oBob = (await bob.client.chat.postMessage({ channel: open.id, text: 'bob, open channel' })).ts;
	const oCarol = (await carol.client.chat.postMessage({ channel: open.id, text: 'carol is on hold' })).ts;
	const dmCarol = (await carol.client.chat.postMessage({ channel: bob.id, text: 'carol in a DM' }));
	const fence = (await alice.client.chat.postMessage({ channel: open.id, text: 'fence' })).ts;

	const hc = await env.srv.cli('hold', 'add', '--org', org.id, '--channel', held.id, '--note', 'litigation');
	assert.match(hc.id, /^H/);
	assert.equal(hc.type, 'channel');
	const hu = await env.srv.cli('hold', 'add', '--org', org.id, '--user', carol.id);
	await env.srv.cli('retention', 'set', '--org', org.id, '--days', '10');
	await run(asOf(fence, 10));

	assert.ok((await tsList(alice.client, held.id)).includes(hBob), 'held channel kept');
	const openLeft = await tsList(alice.client, open.id);
	assert.ok(!openLeft.includes(oBob), 'bob in open channel deleted');
	assert.ok(openLeft.includes(oCarol), 'carol on hold kept');
	assert.ok(openLeft.includes(fence), 'fence kept (not older)');
	const dm = await bob.client.conversations.history({ channel: dmCarol.channel });
	assert.ok(dm.messages.some((m) => m.ts === dmCarol.ts), 'carol kept in DMs too');

	const list = await env.srv.cli('hold', 'list', '--org', org.id);
	assert.deepEqual(list.filter((h) => !h.released).map((h) => h.id).sort(), [hc.id, hu.id].sort());

	await env.srv.cli('hold', 'release', '--org', org.id, '--id', hc.id);
	await env.srv.cli('hold', 'release', '--org', org.id, '--id', hu.id);
	await run(asOf(fence, 10));
	assert.ok(!(await tsList(alice.client, held.id)).includes(hBob), 'released channel: deleted');
	assert.ok(!(await tsList(alice.client, open.id)).includes(oCarol), 'released person: deleted');
	const after = await env.srv.cli('hold', 'list', '--org', org.id);
	assert.ok(after.every((h) => h.released));
	await env.srv.cli('retention', 'remove', '--org', org.id);
});

test('a channel policy overrides the org: longer, shorter, or keep forever', async () => {
	const { org, alice } = env.fx;
	const dflt = await chan(alice.client, 'dflt');
	const long = await chan(alice.client, 'long');
	const forever = await chan(alice.client, 'forever', { is_private: true });
	const post = async (ch) => (await alice.client.chat.postMessage({ channel: ch.id, text: 'x' })).ts;
	const m = { dflt: await post(dflt), long: await post(long), forever: await post(forever) };
	const fence = await post(dflt);

	await env.srv.cli('retention', 'set', '--org', org.id, '--days', '30');
	await alice.client.apiCall('admin.conversations.setCustomRetention', { channel_id: long.id, duration_days: 365 });
	await env.srv.cli('retention', 'set', '--org', org.id, '--channel', forever.id, '--forever');
	const g = await alice.client.apiCall('admin.conversations.getCustomRetention', { channel_id: long.id });
	assert.equal(g.is_policy_enabled, true);
	assert.equal(g.duration_days, 365);

	await run(asOf(fence, 31));
	assert.ok(!(await tsList(alice.client, dflt.id)).includes(m.dflt), 'org policy: deleted');
	assert.ok((await tsList(alice.client, long.id)).includes(m.long), '365-day channel: kept');
	assert.ok((await tsList(alice.client, forever.id)).includes(m.forever), 'forever: kept');

	await run(asOf(fence, 366));
	assert.ok(!(await tsList(alice.client, long.id)).includes(m.long), '365-day channel: deleted after a year');
	assert.ok((await tsList(alice.client, forever.id)).includes(m.forever), 'forever: still kept');

	// A shorter channel policy under an org that keeps everything.
	await env.srv.cli('retention', 'set', '--org', org.id, '--forever');
	const short = await chan(alice.client, 'short');
	const s1 = await post(short);
	const s2 = await post(short);
	await alice.client.apiCall('admin.conversations.setCustomRetention', { channel_id: short.id, duration_days: 1 });
	const keepDflt = await post(dflt);
	await run(asOf(s2, 1));
	const shortLeft = await tsList(alice.client, short.id);
	assert.ok(!shortLeft.includes(s1) && shortLeft.includes(s2));
	assert.ok((await tsList(alice.client, dflt.id)).includes(keepDflt), 'org keeps forever');

	// Removing a channel's policy: it follows the org again.
	await alice.client.apiCall('admin.conversations.removeCustomRetention', { channel_id: short.id });
	const g2 = await alice.client.apiCall('admin.conversations.getCustomRetention', { channel_id: short.id });
	assert.deepEqual([g2.is_policy_enabled, g2.duration_days], [false, 0]);
	const shown = await env.srv.cli('retention', 'show', '--org', org.id);
	assert.ok(shown.some((p) => p.scope === 'org' && p.keep_forever));
	assert.ok(!shown.some((p) => p.channel_id === short.id));
	await env.srv.cli('retention', 'remove', '--org', org.id);
	await env.srv.cli('retention', 'remove', '--org', org.id, '--channel', forever.id);
	await alice.client.apiCall('admin.conversations.removeCustomRetention', { channel_id: long.id });
});

test('batches: a run bigger than one batch deletes all, while the API keeps answering', async () => {
	const { alice } = env.fx;
	const c = await chan(alice.client, 'bulk');
	const N = 1100; // more than two batches of 500
	for (let i = 0; i < N; i += 50) {
		await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) =>
			alice.client.chat.postMessage({ channel: c.id, text: `m${i + k}` })));
	}
	const fence = (await alice.client.chat.postMessage({ channel: c.id, text: 'fence' })).ts;
	await alice.client.apiCall('admin.conversations.setCustomRetention', { channel_id: c.id, duration_days: 2 });
	const running = env.srv.cli('retention', 'run', '--as-of', asOf(fence, 2));
	// Requests keep being served during the run.
	const during = [];
	for (let i = 0; i < 5; i++) during.push((await alice.client.chat.postMessage({ channel: c.id, text: `during ${i}` })).ts);
	const r = await running;
	assert.ok(r.deleted >= N, JSON.stringify(r));
	assert.ok(r.batches >= 3, JSON.stringify(r));
	const left = await tsList(alice.client, c.id);
	assert.ok(left.includes(fence));
	for (const t of during) assert.ok(left.includes(t));
	assert.equal(left.filter((t) => us(t) < us(fence)).length, 0);
	await alice.client.apiCall('admin.conversations.removeCustomRetention', { channel_id: c.id });
});

test('Slack API errors: not_an_admin, bots refused, channel_not_found, invalid_duration_days, invalid_arguments', async () => {
	const { alice, bob, bot } = env.fx;
	const c = await chan(alice.client, 'errs');
	const call = (client, method, args) => client.apiCall(method, args);
	await expectError(call(bob.client, 'admin.conversations.setCustomRetention', { channel_id: c.id, duration_days: 5 }), 'not_an_admin');
	await expectError(call(bob.client, 'admin.conversations.getCustomRetention', { channel_id: c.id }), 'not_an_admin');
	await expectError(call(webClient(env.srv, bot.bot_token), 'admin.conversations.setCustomRetention', { channel_id: c.id, duration_days: 5 }), 'not_allowed_token_type');
	await expectError(call(alice.client, 'admin.conversations.setCustomRetention', { channel_id: 'CNOPE', duration_days: 5 }), 'channel_not_found');
	await expectError(call(alice.client, 'admin.conversations.setCustomRetention', { duration_days: 5 }), 'invalid_arguments');
	await expectError(call(alice.client, 'admin.conversations.setCustomRetention', { channel_id: c.id }), 'invalid_arguments');
	for (const d of ['abc', 0, -3, 36501, '1.5', { x: 1 }]) {
		await expectError(call(alice.client, 'admin.conversations.setCustomRetention', { channel_id: c.id, duration_days: d }),
			['invalid_duration_days', 'invalid_arguments'], `duration_days=${JSON.stringify(d)}`);
	}
	// Another organisation's channel does not exist for this admin.
	const other = await createOrg(env.srv, uniq('Else'));
	const eve = await createUser(env.srv, other.id, 'eve', { admin: true });
	await expectError(call(eve.client, 'admin.conversations.setCustomRetention', { channel_id: c.id, duration_days: 5 }), 'channel_not_found');
	await expectError(call(eve.client, 'admin.legalHolds.create', { channel_id: c.id }), 'channel_not_found');
	await expectError(call(eve.client, 'admin.legalHolds.create', { user_id: bob.id }), 'user_not_found');
	await expectError(call(eve.client, 'admin.retention.set', { team_id: env.fx.org.id, duration_days: 3 }), 'team_not_found');
	// Private channels of the org are reachable by its admins.
	const priv = await chan(bob.client, 'bobpriv', { is_private: true });
	await call(alice.client, 'admin.conversations.setCustomRetention', { channel_id: priv.id, duration_days: 9 });
	assert.equal((await call(alice.client, 'admin.conversations.getCustomRetention', { channel_id: priv.id })).duration_days, 9);
	await call(alice.client, 'admin.conversations.removeCustomRetention', { channel_id: priv.id });
});

test('org policy and legal holds over the Web API (admin.retention.*, admin.legalHolds.*)', async () => {
	const { org, alice, bob } = env.fx;
	let g = await alice.client.apiCall('admin.retention.get', {});
	assert.equal(g.team_id, org.id);
	await alice.client.apiCall('admin.retention.set', { duration_days: 45 });
	g = await alice.client.apiCall('admin.retention.get', { team_id: org.id });
	assert.deepEqual([g.is_policy_enabled, g.duration_days, g.keep_forever], [true, 45, false]);
	await alice.client.apiCall('admin.retention.set', { keep_forever: true });
	g = await alice.client.apiCall('admin.retention.get', {});
	assert.deepEqual([g.is_policy_enabled, g.keep_forever], [false, true]);
	await alice.client.apiCall('admin.retention.remove', {});
	await expectError(alice.client.apiCall('admin.retention.set', {}), 'invalid_arguments');
	await expectError(alice.client.apiCall('admin.retention.set', { keep_forever: 'maybe' }), 'invalid_arguments');

	const h = await alice.client.apiCall('admin.legalHolds.create', { user_id: bob.id, note: 'inquiry' });
	assert.equal(h.hold.type, 'user');
	assert.equal(h.hold.target, bob.id);
	assert.equal(h.hold.created_by, alice.id);
	const l = await alice.client.apiCall('admin.legalHolds.list', {});
	assert.ok(l.holds.some((x) => x.id === h.hold.id && !x.released));
	await expectError(alice.client.apiCall('admin.legalHolds.create', {}), 'invalid_arguments');
	await expectError(alice.client.apiCall('admin.legalHolds.create', { user_id: bob.id, channel_id: 'C1' }), 'invalid_arguments');
	await expectError(alice.client.apiCall('admin.legalHolds.create', { user_id: 'UNOPE' }), 'user_not_found');
	await expectError(alice.client.apiCall('admin.legalHolds.release', {}), 'invalid_arguments');
	await expectError(alice.client.apiCall('admin.legalHolds.release', { hold_id: 'HNOPE' }), 'not_found');
	await alice.client.apiCall('admin.legalHolds.release', { hold_id: h.hold.id });
	await expectError(alice.client.apiCall('admin.legalHolds.release', { hold_id: h.hold.id }), 'not_found');
	await expectError(bob.client.apiCall('admin.legalHolds.list', {}), 'not_an_admin');
});

test('admin CLI: usage errors are refused and change nothing', async () => {
	const { org } = env.fx;
	const bad = [
		[['retention', 'set', '--org', org.id], /--days N or --forever/],
		[['retention', 'set', '--org', org.id, '--days', '5', '--forever'], /--days N or --forever/],
		[['retention', 'set', '--org', org.id, '--days', 'ten'], /--days/],
		[['retention', 'set', '--org', org.id, '--days', '0'], /--days/],
		[['retention', 'set', '--org', 'TNOPE', '--days', '5'], /team_not_found/],
		[['retention', 'set', '--org', org.id, '--channel', 'nope', '--days', '5'], /channel_not_found/],
		[['retention', 'run', '--as-of', '1000'], /past/],
		[['retention', 'run', '--as-of', 'soon'], /--as-of/],
		[['hold', 'add', '--org', org.id], /--channel C or --user U/],
		[['hold', 'add', '--org', org.id, '--user', 'UNOPE'], /user_not_found/],
		[['hold', 'release', '--org', org.id, '--id', 'HNOPE'], /hold_not_found/],
		[['hold', 'release', '--org', org.id], /--id/],
	];
	for (const [args, re] of bad) await assert.rejects(env.srv.cli(...args), re, args.join(' '));
	const shown = await env.srv.cli('retention', 'show', '--org', org.id);
	assert.ok(!shown.some((p) => p.scope === 'org'), JSON.stringify(shown));
});

test('the job runs on its own every --retention-interval seconds', async () => {
	const { CanalServer } = await import('./lib/server.mjs');
	const srv = await CanalServer.create({ extraArgs: ['--retention-interval', '1', '--log-level', 'debug'] });
	try {
		const o = await srv.cli('org', 'create', 'Periodic');
		await srv.cli('retention', 'set', '--org', o.id, '--days', '1');
		const runs = () => (srv.stderr.match(/msg="retention run" channels=1 /g) || []).length;
		const start = Date.now();
		while (runs() < 2) {
			assert.ok(Date.now() - start < 15000, `no periodic runs seen:\n${srv.stderrTail(2000)}`);
			await new Promise((r) => setTimeout(r, 50));
		}
	} finally {
		await srv.stop();
	}
});

// ---- files ----

async function upload(client, channel, content, filename = 'f.txt') {
	const r = await client.filesUploadV2({ channel_id: channel, content, filename, initial_comment: filename });
	return r.files[0].files[0];
}
function blobPath(content) {
	const sha = createHash('sha256').update(content).digest('hex');
	return path.join(env.srv.dataDir, 'files', sha.slice(0, 2), sha.slice(2));
}
async function fileGone(client, file) {
	await expectError(client.files.info({ file: file.id }), 'file_not_found');
	// The server's address as of now (a restart may change its port).
	const r = await fetch(file.url_private.replace(/^https?:\/\/[^/]+/, env.srv.base), { headers: { authorization: `Bearer ${client.token}` } });
	assert.equal(r.status, 404, `download of ${file.id}`);
}
async function fileKept(client, file, content) {
	const info = await client.files.info({ file: file.id });
	assert.equal(info.file.id, file.id);
	const r = await fetch(file.url_private, { headers: { authorization: `Bearer ${client.token}` } });
	assert.equal(r.status, 200, `download of ${file.id}`);
	assert.equal(await r.text(), content);
}

test('files: expired ones go with their bytes; holds, a forever channel and the longest-keeping place keep them', async () => {
	const { org, alice } = env.fx;
	const carol = await createUser(env.srv, org.id, uniq('carol'));
	const exp = await chan(alice.client, 'fexp');
	const forever = await chan(alice.client, 'fkeep');
	const held = await chan(alice.client, 'fheld');
	await alice.client.conversations.invite({ channel: exp.id, users: carol.id });
	const A = `only here ${uniq('a')}\n`;
	const B = `same bytes twice ${uniq('b')}\n`;
	const C = `shared in two places ${uniq('c')}\n`;
	const D = `under a channel hold ${uniq('d')}\n`;
	const E = `uploaded by a person on hold ${uniq('e')}\n`;
	const f1 = await upload(alice.client, exp.id, A, 'a.txt');
	const f2 = await upload(alice.client, exp.id, B, 'b.txt');
	const f2keep = await upload(alice.client, forever.id, B, 'b-again.txt');
	const f3 = await upload(alice.client, exp.id, C, 'c.txt');
	const f4 = await upload(alice.client, held.id, D, 'd.txt');
	const f5 = await upload(carol.client, exp.id, E, 'e.txt');
	const f1ts = (await alice.client.files.info({ file: f1.id })).file.shares.public[exp.id][0].ts;
	// f3 is also shared in the forever channel (a second share of one file,
	// which the Web API has no call for: written the way the files store keeps it).
	execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(env.srv.dataDir, 'canal.db'),
		`INSERT INTO file_shares(file_id, channel_id, ts) SELECT file_id, '${forever.id}', ts FROM file_shares WHERE file_id = '${f3.id}'`]);
	assert.ok((await alice.client.files.info({ file: f3.id })).file.channels.includes(forever.id));
	const fence = (await alice.client.chat.postMessage({ channel: exp.id, text: 'fence' })).ts;

	for (const ch of [exp, held]) await alice.client.apiCall('admin.conversations.setCustomRetention', { channel_id: ch.id, duration_days: 10 });
	await env.srv.cli('retention', 'set', '--org', org.id, '--channel', forever.id, '--forever');
	const hc = await env.srv.cli('hold', 'add', '--org', org.id, '--channel', held.id);
	const hu = await env.srv.cli('hold', 'add', '--org', org.id, '--user', carol.id);

	// Not yet 10 days: everything stays.
	let r = await run(asOf(fence, 9));
	assert.equal(r.files_deleted, 0, JSON.stringify(r));
	await fileKept(alice.client, f1, A);

	r = await run(asOf(fence, 10));
	assert.equal(r.files_deleted, 2, JSON.stringify(r));
	// Expired: the row, the download and (no other file has them) the bytes.
	await fileGone(alice.client, f1);
	assert.ok(!(await tsList(alice.client, exp.id)).includes(f1ts), 'the message that carried it is gone too');
	await waitFor(() => !fs.existsSync(blobPath(A)), { what: 'blob of f1 removed' });
	// Expired, but another file has the same bytes: the bytes stay.
	await fileGone(alice.client, f2);
	await fileKept(alice.client, f2keep, B);
	assert.ok(fs.existsSync(blobPath(B)));
	// Also shared in a channel that keeps forever: the longest-keeping place wins.
	await fileKept(alice.client, f3, C);
	// Legal holds: on a channel it is shared in, on its uploader.
	await fileKept(alice.client, f4, D);
	await fileKept(alice.client, f5, E);
	const list = await alice.client.files.list({ channel: exp.id });
	assert.deepEqual(list.files.map((f) => f.id).sort(), [f3.id, f5.id].sort());

	// Holds released: what they kept goes on the next run.
	await env.srv.cli('hold', 'release', '--org', org.id, '--id', hc.id);
	await env.srv.cli('hold', 'release', '--org', org.id, '--id', hu.id);
	r = await run(asOf(fence, 10));
	assert.equal(r.files_deleted, 2, JSON.stringify(r));
	await fileGone(alice.client, f4);
	await fileGone(alice.client, f5);
	await waitFor(() => !fs.existsSync(blobPath(D)) && !fs.existsSync(blobPath(E)), { what: 'held blobs removed' });
	await fileKept(alice.client, f3, C);

	// The forever channel's policy removed: f3 and f2keep follow nobody's
	// policy there (no org policy): still kept.
	await env.srv.cli('retention', 'remove', '--org', org.id, '--channel', forever.id);
	r = await run(asOf(fence, 10));
	await fileKept(alice.client, f3, C);
	await fileKept(alice.client, f2keep, B);
	for (const ch of [exp, held]) await alice.client.apiCall('admin.conversations.removeCustomRetention', { channel_id: ch.id });
});

test('files: an offline run (server stopped) deletes expired files and their bytes too', async () => {
	const { org, alice } = env.fx;
	const c = await chan(alice.client, 'foff');
	const content = `offline ${uniq('o')}\n`;
	const f = await upload(alice.client, c.id, content, 'off.txt');
	const fence = (await alice.client.chat.postMessage({ channel: c.id, text: 'fence' })).ts;
	await alice.client.apiCall('admin.conversations.setCustomRetention', { channel_id: c.id, duration_days: 3 });
	assert.ok(fs.existsSync(blobPath(content)));
	await env.srv.shutdown();
	try {
		const { runCli } = await import('./lib/server.mjs');
		const r = await runCli(env.srv.dataDir, ['retention', 'run', '--as-of', asOf(fence, 3)]);
		assert.equal(r.files_deleted, 1, JSON.stringify(r));
		assert.ok(!fs.existsSync(blobPath(content)), 'bytes removed by the offline run');
	} finally {
		await env.srv.start();
	}
	await fileGone(alice.client, f);
	await alice.client.apiCall('admin.conversations.removeCustomRetention', { channel_id: c.id });
	assert.equal((await alice.client.apiCall('admin.conversations.getCustomRetention', { channel_id: c.id })).is_policy_enabled, false);
	assert.ok((await alice.client.files.list({ channel: c.id })).files.every((x) => x.id !== f.id), `gone from ${org.id}'s listing`);
});
