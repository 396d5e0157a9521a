// The audit log: every security- and admin-relevant action is recorded
// (sign-ins, failed sign-ins, sign-outs, token creation and revocation,
// role changes, channel archive/unarchive, app installs, retention and
// legal hold changes, exports), readable by the organisation's admins
// through Slack's Audit Logs API (GET /audit/v1/logs), exportable as JSON
// lines, and streamed to a SIEM over HTTP and syslog (UDP and TCP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useServer, CanalServer, runCli } from './lib/server.mjs';
import { createOrg, createUser, expectError, uniq, webClient } from './lib/fixture.mjs';

const env = useServer();
const PW = 'correct horse battery staple';
const UA = 'audit-e2e/1.0';

async function auditGet(token, query = '', { method = 'GET' } = {}) {
	const headers = token ? { authorization: `Bearer ${token}` } : {};
	const res = await fetch(`${env.srv.base}/audit/v1/logs${query ? '?' + query : ''}`, {
		method, headers, signal: AbortSignal.timeout(10000),
	});
	const text = await res.text();
	let json = null;
	try { json = JSON.parse(text); } catch { /* not JSON */ }
	return { status: res.status, json, text };
}

// Every entry of the caller's org matching query, walking the cursor.
async function allEntries(token, query = '') {
	const out = [];
	let cursor = '';
	for (let page = 0; page < 100; page++) {
		const q = [query, 'limit=50', cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&');
		const r = await auditGet(token, q);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.ok, true);
		out.push(...r.json.entries);
		cursor = r.json.response_metadata.next_cursor;
		if (!cursor) return out;
	}
	assert.fail('audit log pagination did not end');
}

async function signin(email, password) {
	const res = await fetch(`${env.srv.base}/auth/signin`, {
		method: 'POST', headers: { 'user-agent': UA }, body: new URLSearchParams({ email, password }),
	});
	return res.json();
}

function find(entries, action, pred = () => true) {
	return entries.find((e) => e.action === action && pred(e));
}

function checkShape(e) {
	assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
	assert.equal(typeof e.date_create, 'number');
	assert.equal(e.actor.type, 'user');
	assert.equal(typeof e.actor.user.id, 'string');
	assert.equal(e.context.location.type, 'workspace');
	assert.equal(typeof e.context.ip_address, 'string');
	assert.equal(typeof e.context.ua, 'string');
	assert.equal(typeof e.details, 'object');
}

test('each listed action is recorded with actor, entity and context', async () => {
	const { org, alice, bob, bot } = env.fx;
	const carolName = uniq('carol');
	const carol = await createUser(env.srv, org.id, carolName, { password: PW });

	// Sign-in, failed sign-in (known and unknown email), sign-out.
	const ok = await signin(carol.email, PW);
	assert.equal(ok.ok, true);
	assert.equal((await signin(carol.email, 'wrong')).ok, false);
	assert.equal((await signin('nobody@nowhere.test', 'x')).ok, false);
	const out = await fetch(`${env.srv.base}/auth/signout`, {
		method: 'POST', headers: { authorization: `Bearer ${ok.token}`, 'user-agent': UA },
	});
	assert.deepEqual(await out.json(), { ok: true });

	// Tokens: created by the admin CLI, revoked by auth.revoke.
	const tok = await env.srv.cli('user', 'token', '--user', carol.id);
	assert.equal((await webClient(env.srv, tok.token).auth.revoke()).revoked, true);

	// Permission change.
	assert.equal((await env.srv.cli('user', 'role', '--user', bob.id, '--role', 'admin')).changed, true);
	await env.srv.cli('user', 'role', '--user', bob.id, '--role', 'user');

	// Channel visibility: archive / unarchive, public and private.
	const pub = (await alice.client.conversations.create({ name: uniq('pub') })).channel;
	const priv = (await alice.client.conversations.create({ name: uniq('priv'), is_private: true })).channel;
	await alice.client.conversations.archive({ channel: pub.id });
	await alice.client.conversations.unarchive({ channel: pub.id });
	await alice.client.conversations.archive({ channel: priv.id });

	// App installed from a manifest, and removed.
	const man = await alice.client.apps.manifest.create({
		manifest: JSON.stringify({ display_information: { name: 'auditee' }, features: { bot_user: { display_name: 'auditee' } } }),
	});
	await alice.client.apps.manifest.delete({ app_id: man.app_id });

	// Retention and legal holds (CLI and API), and an export.
	await env.srv.cli('retention', 'set', '--org', org.id, '--days', '90');
	await alice.client.apiCall('admin.conversations.setCustomRetention', { channel_id: pub.id, duration_days: 7 });
	const hold = await env.srv.cli('hold', 'add', '--org', org.id, '--user', bob.id, '--note', 'case 7');
	await env.srv.cli('hold', 'release', '--org', org.id, '--id', hold.id);
	const dir = await mkdtemp(path.join(tmpdir(), 'canal-audit-exp-'));
	try {
		await env.srv.cli('export', '--org', org.id, '--out', path.join(dir, 'x'));
	} finally {
		await rm(dir, { recursive: true, force: true });
	}

	// The completion entry is written after the export thread is done:
	// poll (bounded) for it.
	let entries;
	for (let i = 0; i < 100; i++) {
		entries = await allEntries(alice.token);
		if (find(entries, 'manual_export_completed')) break;
		await new Promise((r) => setTimeout(r, 50));
	}
	entries.forEach(checkShape);

	const login = find(entries, 'user_login', (e) => e.entity.user.id === carol.id);
	assert.ok(login, 'user_login');
	assert.equal(login.actor.user.id, carol.id);
	assert.equal(login.actor.user.email, carol.email);
	assert.equal(login.context.ua, UA);
	assert.match(login.context.ip_address, /127\.0\.0\.1/);
	assert.equal(login.context.location.id, org.id);
	assert.equal(login.context.location.name, org.name);

	const failed = find(entries, 'user_login_failed', (e) => e.entity?.user?.id === carol.id);
	assert.ok(failed, 'user_login_failed of a known account');
	assert.equal(failed.details.reason, 'invalid_password');
	// An unknown email belongs to no organisation: not in this org's log.
	assert.equal(find(entries, 'user_login_failed', (e) => e.details.email === 'nobody@nowhere.test'), undefined);

	assert.ok(find(entries, 'user_logout', (e) => e.actor.user.id === carol.id), 'user_logout');
	assert.ok(find(entries, 'user_created', (e) => e.entity.user.id === carol.id), 'user_created');
	const created = find(entries, 'user_token_created', (e) => e.entity.user.id === carol.id && e.actor.user.id === 'USLACKUSER');
	assert.ok(created, 'user_token_created by the operator');
	const revoked = find(entries, 'user_token_revoked', (e) => e.entity.user.id === carol.id);
	assert.ok(revoked, 'user_token_revoked');
	assert.equal(revoked.details.via, 'auth.revoke');
	assert.equal(revoked.actor.user.id, carol.id);

	const toAdmin = find(entries, 'role_change_to_admin', (e) => e.entity.user.id === bob.id);
	assert.ok(toAdmin, 'role_change_to_admin');
	assert.deepEqual(toAdmin.details, { previous_role: 'user', new_role: 'admin' });
	assert.ok(find(entries, 'role_change_to_user', (e) => e.entity.user.id === bob.id), 'role_change_to_user');

	const arch = find(entries, 'public_channel_archive', (e) => e.entity.channel.id === pub.id);
	assert.ok(arch, 'public_channel_archive');
	assert.equal(arch.actor.user.id, alice.id);
	assert.equal(arch.entity.channel.privacy, 'public');
	assert.ok(find(entries, 'public_channel_unarchive', (e) => e.entity.channel.id === pub.id), 'public_channel_unarchive');
	const parch = find(entries, 'private_channel_archive', (e) => e.entity.channel.id === priv.id);
	assert.ok(parch, 'private_channel_archive');
	assert.equal(parch.entity.channel.privacy, 'private');

	const inst = find(entries, 'app_installed', (e) => e.entity.app.id === man.app_id);
	assert.ok(inst, 'app_installed');
	assert.equal(inst.actor.user.id, alice.id);
	assert.ok(find(entries, 'app_uninstalled', (e) => e.entity.app.id === man.app_id), 'app_uninstalled');
	assert.ok(find(entries, 'app_installed', (e) => e.entity.app.id === bot.id), 'the fixture bot install (CLI)');

	const wret = find(entries, 'workspace_retention_changed');
	assert.ok(wret, 'workspace_retention_changed');
	assert.equal(wret.details.duration_days, 90);
	assert.equal(wret.entity.workspace.id, org.id);
	const cret = find(entries, 'channel_retention_changed', (e) => e.entity.channel.id === pub.id);
	assert.ok(cret, 'channel_retention_changed');
	assert.equal(cret.details.duration_days, 7);
	assert.equal(cret.actor.user.id, alice.id);

	const hc = find(entries, 'legal_hold_policy_created', (e) => e.details.hold_id === hold.id);
	assert.ok(hc, 'legal_hold_policy_created');
	assert.equal(hc.entity.user.id, bob.id);
	assert.equal(hc.details.note, 'case 7');
	assert.ok(find(entries, 'legal_hold_policy_released', (e) => e.details.hold_id === hold.id), 'legal_hold_policy_released');

	assert.ok(find(entries, 'manual_export_started', (e) => e.entity.workspace.id === org.id), 'manual_export_started');
	const done = find(entries, 'manual_export_completed');
	assert.ok(done.details.messages >= 1, JSON.stringify(done.details));

	// Newest first.
	for (let i = 1; i < entries.length; i++) assert.ok(entries[i - 1].date_create >= entries[i].date_create);
});

test('filters: action (list), actor, entity, oldest/latest; limit and cursor page without repeats', async () => {
	const { alice, bob } = env.fx;
	await env.srv.cli('user', 'role', '--user', bob.id, '--role', 'admin');
	await env.srv.cli('user', 'role', '--user', bob.id, '--role', 'user');
	const byAction = await allEntries(alice.token, 'action=role_change_to_admin,role_change_to_user');
	assert.ok(byAction.length >= 2);
	assert.ok(byAction.every((e) => e.action.startsWith('role_change_to_')));
	const byEntity = await allEntries(alice.token, `entity=${bob.id}`);
	assert.ok(byEntity.length >= 2 && byEntity.every((e) => JSON.stringify(e.entity).includes(bob.id)));
	const byActor = await allEntries(alice.token, 'actor=USLACKUSER');
	assert.ok(byActor.length >= 2 && byActor.every((e) => e.actor.user.id === 'USLACKUSER'));
	const future = Math.floor(Date.now() / 1000) + 3600;
	assert.deepEqual((await auditGet(alice.token, `oldest=${future}`)).json.entries, []);
	assert.deepEqual((await auditGet(alice.token, 'latest=1')).json.entries, []);

	// One entry per page: every entry once, in order.
	const all = await allEntries(alice.token);
	const seen = [];
	let cursor = '';
	for (let i = 0; i < all.length + 2; i++) {
		const r = await auditGet(alice.token, `limit=1${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
		assert.equal(r.json.entries.length <= 1, true);
		seen.push(...r.json.entries.map((e) => e.id));
		cursor = r.json.response_metadata.next_cursor;
		if (!cursor) break;
	}
	assert.deepEqual(seen, all.map((e) => e.id));
	assert.equal(new Set(seen).size, seen.length);
});

test('the Audit Logs API refuses non-admins, bots, bad tokens and bad arguments', async () => {
	const { alice, bob, bot } = env.fx;
	let r = await auditGet(null);
	assert.equal(r.status, 401);
	assert.deepEqual(r.json, { ok: false, error: 'not_authed' });
	r = await auditGet('xoxp-not-a-token');
	assert.equal(r.status, 401);
	assert.equal(r.json.error, 'invalid_auth');
	r = await auditGet(bob.token);
	assert.equal(r.status, 403);
	assert.equal(r.json.error, 'not_an_admin');
	r = await auditGet(bot.bot_token);
	assert.equal(r.status, 403);
	assert.equal(r.json.error, 'not_allowed_token_type');
	r = await auditGet(alice.token, '', { method: 'POST' });
	assert.equal(r.status, 405);
	for (const q of ['limit=abc', 'limit=0', 'oldest=-5', 'latest=x1']) {
		r = await auditGet(alice.token, q);
		assert.equal(r.status, 400, q);
		assert.equal(r.json.error, 'invalid_arguments', q);
	}
	for (const c of ['garbage!!', 'c2VxOg', Buffer.from('other:5').toString('base64url'), Buffer.from('seq:-1').toString('base64url')]) {
		r = await auditGet(alice.token, `cursor=${encodeURIComponent(c)}`);
		assert.equal(r.status, 400, c);
		assert.equal(r.json.error, 'invalid_cursor', c);
	}
	const nope = await fetch(`${env.srv.base}/audit/v1/nothing`, { headers: { authorization: `Bearer ${alice.token}` } });
	assert.equal(nope.status, 404);
	const acts = await (await fetch(`${env.srv.base}/audit/v1/actions`)).json();
	assert.ok(acts.actions.user.includes('user_login'));
	const schemas = await (await fetch(`${env.srv.base}/audit/v1/schemas`)).json();
	assert.ok(schemas.schemas.some((s) => s.type === 'channel'));
	// A revoked admin token is refused too.
	const t = await env.srv.cli('user', 'token', '--user', alice.id);
	await env.srv.cli('token', 'revoke', t.token);
	r = await auditGet(t.token);
	assert.equal(r.status, 401);
	assert.equal(r.json.error, 'token_revoked');
	// A deactivated admin's token as well.
	const ex = await createUser(env.srv, env.fx.org.id, uniq('exadmin'), { admin: true });
	await env.srv.cli('user', 'deactivate', '--user', ex.id);
	r = await auditGet(ex.token);
	assert.equal(r.status, 401);
});

test('each organisation sees only its own entries', async () => {
	const other = await createOrg(env.srv, uniq('Other'));
	const admin2 = await createUser(env.srv, other.id, 'root2', { admin: true });
	const mine = await allEntries(admin2.token);
	assert.ok(mine.length >= 1);
	assert.ok(mine.every((e) => e.context.location.id === other.id), 'only the other org');
	const fxEntries = await allEntries(env.fx.alice.token);
	assert.ok(fxEntries.every((e) => e.context.location.id === env.fx.org.id));
});

test('canal admin audit export writes JSON lines (to stdout or --out), offline too', async () => {
	const { org } = env.fx;
	const lines = await new Promise((resolve, reject) => {
		import('node:child_process').then(({ execFile }) => {
			execFile(process.env.CANAL_BIN, ['admin', 'audit', 'export', '--org', org.id, '--data', env.srv.dataDir],
				{ timeout: 30000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
		});
	});
	const parsed = lines.trim().split('\n').map((l) => JSON.parse(l));
	assert.ok(parsed.length > 5);
	assert.ok(parsed.every((e) => e.context.location.id === org.id));
	for (let i = 1; i < parsed.length; i++) assert.ok(parsed[i - 1].date_create <= parsed[i].date_create, 'oldest first');
	const dir = await mkdtemp(path.join(tmpdir(), 'canal-audit-'));
	try {
		const since = parsed[parsed.length - 1].date_create;
		const r = await env.srv.cli('audit', 'export', '--org', org.id, '--since', String(since), '--out', path.join(dir, 'a.jsonl'));
		assert.equal(r.ok, true);
		assert.ok(r.entries >= 1 && r.entries <= parsed.length);
		const { readFile } = await import('node:fs/promises');
		const text = await readFile(path.join(dir, 'a.jsonl'), 'utf8');
		assert.equal(text.trim().split('\n').length, r.entries);
		await assert.rejects(env.srv.cli('audit', 'export', '--org', 'TNOPE'), /team_not_found/);
		await assert.rejects(env.srv.cli('audit', 'export', '--since', 'yesterday'), /--since/);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
	// Offline: a stopped server's data.
	const d2 = await mkdtemp(path.join(tmpdir(), 'canal-audit-off-'));
	try {
		const o = await runCli(d2, ['org', 'create', 'Offline']);
		await runCli(d2, ['user', 'create', '--org', o.id, '--name', 'x', '--email', 'x@o.test', '--password', 'pw-123456']);
		const r = await runCli(d2, ['audit', 'export', '--org', o.id, '--out', path.join(d2, 'o.jsonl')]);
		assert.ok(r.entries >= 2);
	} finally {
		await rm(d2, { recursive: true, force: true });
	}
});

test('the audit table is append-only: the database refuses UPDATE and DELETE', async () => {
	// Checked through the sqlite3 library by tests/unit/test_audit.c; here:
	// entries survive a restart unchanged.
	const before = await allEntries(env.fx.alice.token);
	await env.srv.restart();
	const after = await allEntries(env.fx.alice.token);
	assert.deepEqual(after, before);
});

// ---- SIEM streaming ----

function waitFor(pred, what, ms = 20000) {
	const start = Date.now();
	return new Promise((resolve, reject) => {
		const tick = () => {
			const v = pred();
			if (v) return resolve(v);
			if (Date.now() - start > ms) return reject(new Error(`timed out waiting for ${what}`));
			setTimeout(tick, 25);
		};
		tick();
	});
}

test('SIEM: JSON lines POSTed to an HTTP endpoint (retried after a failure) and RFC 5424 syslog over UDP', async () => {
	const posts = [];
	let failFirst = 1;
	const hs = http.createServer((req, res) => {
		let body = '';
		req.on('data', (d) => { body += d; });
		req.on('end', () => {
			if (failFirst-- > 0) { res.writeHead(503); res.end(); return; }
			posts.push({ type: req.headers['content-type'], body });
			res.writeHead(200); res.end('ok');
		});
	});
	await new Promise((r) => hs.listen(0, '127.0.0.1', r));
	const udp = dgram.createSocket('udp4');
	const grams = [];
	udp.on('message', (m) => grams.push(m.toString()));
	await new Promise((r) => udp.bind(0, '127.0.0.1', r));
	const srv = await CanalServer.create({
		extraArgs: ['--audit-http-url', `http://127.0.0.1:${hs.address().port}/ingest`,
			'--audit-syslog', `udp://127.0.0.1:${udp.address().port}`],
	});
	try {
		const o = await srv.cli('org', 'create', 'Siem');
		const u = await srv.cli('user', 'create', '--org', o.id, '--name', 'sam', '--email', 'sam@siem.test', '--password', 'pw-123456');
		const lines = () => posts.flatMap((p) => p.body.trim().split('\n').map((l) => JSON.parse(l)));
		await waitFor(() => lines().find((e) => e.action === 'user_created' && e.entity.user.id === u.id), 'HTTP delivery');
		assert.equal(posts[0].type, 'application/x-ndjson');
		// The failed first POST was retried: the entry arrived once, after it.
		assert.equal(lines().filter((e) => e.action === 'user_created').length, 1);
		const g = await waitFor(() => grams.find((m) => m.includes('user_created')), 'syslog datagram');
		assert.match(g, /^<85>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+ canal \d+ user_created - \{/);
		const entry = JSON.parse(g.slice(g.indexOf('{')));
		assert.equal(entry.entity.user.id, u.id);
	} finally {
		await srv.stop();
		hs.close();
		udp.close();
	}
});

test('SIEM: syslog over TCP with octet counting, reconnecting when the collector comes back', async () => {
	let buf = '';
	const conns = new Set();
	const collector = net.createServer((s) => {
		conns.add(s);
		s.setEncoding('utf8');
		s.on('data', (d) => { buf += d; });
		s.on('close', () => conns.delete(s));
	});
	await new Promise((r) => collector.listen(0, '127.0.0.1', r));
	const port = collector.address().port;
	const srv = await CanalServer.create({ extraArgs: ['--audit-syslog', `tcp://127.0.0.1:${port}`] });
	try {
		const o = await srv.cli('org', 'create', 'SiemTcp');
		await srv.cli('user', 'create', '--org', o.id, '--name', 'tina', '--email', 't@siem.test', '--password', 'pw-123456');
		await waitFor(() => buf.includes('user_created'), 'TCP syslog frame');
		// Octet counting: "LEN <85>1 ..." with LEN the byte length.
		const m = /^(\d+) /.exec(buf);
		assert.ok(m, buf.slice(0, 80));
		const len = Number(m[1]);
		const frame = Buffer.from(buf).subarray(m[0].length, m[0].length + len).toString();
		assert.match(frame, /^<85>1 /);
		// The collector drops the connection; the next entry still arrives.
		for (const s of conns) s.destroy();
		buf = '';
		await srv.cli('user', 'create', '--org', o.id, '--name', 'tom', '--email', 'tom@siem.test', '--password', 'pw-123456');
		await waitFor(() => buf.includes('"name":"tom"'), 'TCP delivery after reconnect', 30000);
	} finally {
		await srv.stop();
		collector.close();
	}
});

test('a bad SIEM target stops the server from starting with a clear message', async () => {
	const dataDir = await mkdtemp(path.join(tmpdir(), 'canal-siem-bad-'));
	try {
		await assert.rejects(CanalServer.create({ dataDir, extraArgs: ['--audit-syslog', 'carrier-pigeon://x'] }), /audit-syslog/);
		await assert.rejects(CanalServer.create({ dataDir, extraArgs: ['--audit-syslog', 'udp://nohostport'] }), /audit-syslog/);
		await assert.rejects(CanalServer.create({ dataDir, extraArgs: ['--audit-http-url', 'ftp://x'] }), /audit-http-url/);
	} finally {
		await rm(dataDir, { recursive: true, force: true });
	}
});

test('not_an_admin for the admin retention methods too', async () => {
	const { bob } = env.fx;
	await expectError(bob.client.apiCall('admin.retention.get', {}), 'not_an_admin');
});

test('files: deletion, public links and an admin revoking / restoring access are recorded; refusals are not', async () => {
	const { alice, bob } = env.fx;
	const carol = await createUser(env.srv, env.fx.org.id, uniq('carol'));
	const ch = (await bob.client.conversations.create({ name: uniq('auditfiles') })).channel.id;
	const up = async (name) => (await bob.client.filesUploadV2({ channel_id: ch, content: `${name} ${uniq('x')}\n`, filename: name, title: `Title ${name}` })).files[0].files[0];
	const f = await up('plan.txt');
	const g = await up('gone.txt');

	await bob.client.files.sharedPublicURL({ file: f.id });
	await bob.client.files.revokePublicURL({ file: f.id });
	await alice.client.apiCall('admin.files.revokeAccess', { file: f.id });
	await alice.client.apiCall('admin.files.revokeAccess', { file: f.id });   // no change: no entry
	await alice.client.apiCall('admin.files.restoreAccess', { file: f.id });
	await env.srv.cli('file', 'revoke', '--file', f.id);
	await env.srv.cli('file', 'restore', '--file', f.id);
	// Refused: nothing recorded.
	await expectError(carol.client.apiCall('admin.files.revokeAccess', { file: f.id }), 'not_admin');
	await expectError(carol.client.files.delete({ file: g.id }), 'cant_delete_file');
	await expectError(carol.client.files.sharedPublicURL({ file: f.id }), 'no_permission');
	await bob.client.files.delete({ file: g.id });

	const ef = (await allEntries(alice.token, `entity=${f.id}`)).reverse();   // oldest first
	assert.deepEqual(ef.map((e) => [e.action, e.actor.user.id]), [
		['file_public_link_created', bob.id],
		['file_public_link_revoked', bob.id],
		['file_access_revoked', alice.id],
		['file_access_restored', alice.id],
		['file_access_revoked', 'USLACKUSER'],
		['file_access_restored', 'USLACKUSER'],
	]);
	for (const e of ef) {
		checkShape(e);
		assert.equal(e.entity.type, 'file');
		assert.deepEqual(e.entity.file, { id: f.id, name: 'plan.txt', title: 'Title plan.txt', filetype: 'text' });
	}
	const eg = await allEntries(alice.token, `entity=${g.id}`);
	assert.deepEqual(eg.map((e) => [e.action, e.actor.user.id]), [['file_deleted', bob.id]]);
	assert.equal(eg[0].entity.file.name, 'gone.txt');
	// Nothing by carol.
	assert.deepEqual(await allEntries(alice.token, `actor=${carol.id}`), []);
	// The actions are listed.
	const acts = await (await fetch(`${env.srv.base}/audit/v1/actions`)).json();
	for (const a of ['file_deleted', 'file_public_link_created', 'file_public_link_revoked', 'file_access_revoked', 'file_access_restored'])
		assert.ok(acts.actions.file.includes(a), a);
});
