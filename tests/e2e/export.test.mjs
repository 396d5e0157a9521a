// Organisation export in Slack's export layout (users.json, channels.json,
// groups.json, dms.json, mpims.json, <conversation>/<YYYY-MM-DD>.json),
// through the running server (a worker thread) and offline; what the
// Web API shows comes back out of the files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useServer, runCli } from './lib/server.mjs';
import { createOrg, createUser, uniq, TS_RE } from './lib/fixture.mjs';

const env = useServer();

async function tmp(prefix) {
	return mkdtemp(path.join(tmpdir(), prefix));
}

async function readJson(p) {
	return JSON.parse(await readFile(p, 'utf8'));
}

// Every message of a conversation folder, in file order.
async function folderMessages(dir) {
	const files = (await readdir(dir)).sort();
	const out = [];
	for (const f of files) {
		assert.match(f, /^\d{4}-\d{2}-\d{2}\.json$/);
		const day = await readJson(path.join(dir, f));
		assert.ok(Array.isArray(day));
		for (const m of day) {
			const d = new Date(Number(m.ts.split('.')[0]) * 1000).toISOString().slice(0, 10);
			assert.equal(`${d}.json`, f, 'each message in its UTC day file');
		}
		out.push(...day);
	}
	return out;
}

test('round trip: what the API shows is in the export, in Slack\'s layout and shapes', async () => {
	const { org, alice, bob, bot } = env.fx;
	const pub = (await alice.client.conversations.create({ name: uniq('exp-pub') })).channel;
	const priv = (await alice.client.conversations.create({ name: uniq('exp-priv'), is_private: true })).channel;
	await alice.client.conversations.invite({ channel: pub.id, users: `${bob.id},${bot.bot_user_id}` });
	await alice.client.conversations.invite({ channel: priv.id, users: bob.id });
	const parent = (await alice.client.chat.postMessage({ channel: pub.id, text: 'parent with "quotes" & ünïcode' })).ts;
	const reply = (await bob.client.chat.postMessage({ channel: pub.id, text: 'a reply', thread_ts: parent })).ts;
	await alice.client.reactions.add({ channel: pub.id, timestamp: parent, name: 'tada' });
	await bob.client.reactions.add({ channel: pub.id, timestamp: parent, name: 'tada' });
	const edited = (await bob.client.chat.postMessage({ channel: pub.id, text: 'before edit' })).ts;
	await bob.client.chat.update({ channel: pub.id, ts: edited, text: 'after edit' });
	const deleted = (await bob.client.chat.postMessage({ channel: pub.id, text: 'to be deleted' })).ts;
	await bob.client.chat.delete({ channel: pub.id, ts: deleted });
	const fromBot = (await bot.client.chat.postMessage({ channel: pub.id, text: 'beep', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*beep*' } }] })).ts;
	const secret = (await bob.client.chat.postMessage({ channel: priv.id, text: 'private words' })).ts;
	const dm = await alice.client.chat.postMessage({ channel: bob.id, text: 'psst' });
	const mp = (await alice.client.conversations.open({ users: `${bob.id},${bot.bot_user_id}` })).channel;
	await alice.client.chat.postMessage({ channel: mp.id, text: 'group dm' });
	// Another org's data never appears.
	const other = await createOrg(env.srv, uniq('Other'));
	const eve = await createUser(env.srv, other.id, 'eve');
	const eveGeneral = (await eve.client.conversations.list({})).channels[0];
	await eve.client.chat.postMessage({ channel: eveGeneral.id, text: 'not yours' });

	const dir = await tmp('canal-export-');
	try {
		const out = path.join(dir, 'export');
		const r = await env.srv.cli('export', '--org', org.id, '--out', out);
		assert.equal(r.ok, true);
		assert.equal(r.format, 'slack-export-directory');
		assert.ok(r.messages >= 8, JSON.stringify(r));

		const users = await readJson(path.join(out, 'users.json'));
		const byId = Object.fromEntries(users.map((u) => [u.id, u]));
		assert.equal(byId[alice.id].name, 'alice');
		assert.equal(byId[alice.id].profile.email, alice.email);
		assert.equal(byId[bot.bot_user_id].is_bot, true);
		assert.equal(byId[eve.id], undefined, 'no other org in users.json');
		assert.ok(users.every((u) => u.team_id === org.id));

		const channels = await readJson(path.join(out, 'channels.json'));
		const groups = await readJson(path.join(out, 'groups.json'));
		const dms = await readJson(path.join(out, 'dms.json'));
		const mpims = await readJson(path.join(out, 'mpims.json'));
		const pubRow = channels.find((c) => c.id === pub.id);
		assert.equal(pubRow.name, pub.name);
		assert.deepEqual([...pubRow.members].sort(), [alice.id, bob.id, bot.bot_user_id].sort());
		assert.equal(typeof pubRow.topic.value, 'string');
		assert.equal(pubRow.creator, alice.id);
		assert.ok(channels.some((c) => c.is_general));
		assert.ok(!channels.some((c) => c.id === priv.id), 'private channels are not in channels.json');
		assert.ok(groups.some((g) => g.id === priv.id));
		const dmRow = dms.find((d) => d.id === dm.channel);
		assert.deepEqual([...dmRow.members].sort(), [alice.id, bob.id].sort());
		assert.ok(mpims.some((m) => m.id === mp.id));
		assert.ok(!channels.some((c) => c.id === eveGeneral.id));

		// Messages: the history and the thread as the API gives them.
		const exported = await folderMessages(path.join(out, pub.name));
		const hist = (await alice.client.conversations.history({ channel: pub.id, limit: 200 })).messages;
		const thread = (await alice.client.conversations.replies({ channel: pub.id, ts: parent })).messages;
		const api = new Map([...hist, ...thread].map((m) => [m.ts, m]));
		assert.deepEqual(exported.map((m) => m.ts), [...api.keys()].sort(), 'same messages, oldest first');
		for (const m of exported) {
			assert.match(m.ts, TS_RE);
			assert.equal(m.type, 'message');
			assert.equal(m.text, api.get(m.ts).text);
			assert.equal(m.user, api.get(m.ts).user);
		}
		const p = exported.find((m) => m.ts === parent);
		assert.equal(p.thread_ts, parent);
		assert.equal(p.reply_count, 1);
		assert.deepEqual(p.reply_users, [bob.id]);
		assert.equal(p.latest_reply, reply);
		assert.deepEqual(p.reactions, [{ name: 'tada', users: [alice.id, bob.id], count: 2 }]);
		const rp = exported.find((m) => m.ts === reply);
		assert.equal(rp.thread_ts, parent);
		assert.equal(rp.parent_user_id, alice.id);
		const ed = exported.find((m) => m.ts === edited);
		assert.equal(ed.text, 'after edit');
		assert.equal(ed.edited.user, bob.id);
		assert.match(ed.edited.ts, TS_RE);
		assert.equal(exported.find((m) => m.ts === deleted), undefined, 'deleted messages are not exported');
		const bm = exported.find((m) => m.ts === fromBot);
		assert.equal(bm.bot_id, bot.bot_id);
		assert.equal(bm.blocks[0].type, 'section');

		const privMsgs = await folderMessages(path.join(out, priv.name));
		assert.ok(privMsgs.some((m) => m.ts === secret && m.text === 'private words'));
		const dmMsgs = await folderMessages(path.join(out, dm.channel));
		assert.ok(dmMsgs.some((m) => m.text === 'psst'), 'a DM folder is named by its id');
		const all = (await readdir(out)).sort();
		for (const f of ['users.json', 'channels.json', 'groups.json', 'dms.json', 'mpims.json']) assert.ok(all.includes(f), f);
		const dump = JSON.stringify(await Promise.all(all.filter((f) => !f.endsWith('.json')).map((f) => folderMessages(path.join(out, f)))));
		assert.ok(!dump.includes('not yours'), 'another org\'s messages never leak into the export');
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
});

test('files: messages carry files[] as the API shows them, links to this server, bytes not copied; deleted files are tombstones', async () => {
	const { org, alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('exp-files') })).channel;
	await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
	const content = `exported bytes ${uniq('x')}\n`;
	const up = await alice.client.filesUploadV2({ channel_id: ch.id, content, filename: 'notes.txt', title: 'Notes', initial_comment: 'see notes' });
	const f = up.files[0].files[0];
	const gone = (await bob.client.filesUploadV2({ channel_id: ch.id, content: 'bye\n', filename: 'gone.txt' })).files[0].files[0];
	await bob.client.files.delete({ file: gone.id });
	const hist = (await alice.client.conversations.history({ channel: ch.id, limit: 20 })).messages;
	const apiMsg = hist.find((m) => m.files && m.files[0].id === f.id);
	assert.ok(apiMsg);

	const dir = await tmp('canal-export-files-');
	try {
		const out = path.join(dir, 'export');
		const r = await env.srv.cli('export', '--org', org.id, '--out', out);
		assert.equal(r.ok, true);
		const msgs = await folderMessages(path.join(out, ch.name));
		const m = msgs.find((x) => x.ts === apiMsg.ts);
		assert.equal(m.text, 'see notes');
		assert.equal(m.upload, true);
		assert.equal(m.file_ids, undefined, 'Canal\'s internal list is not exported');
		assert.equal(m.files.length, 1);
		const ef = m.files[0];
		// The file object as the Web API shows it in the message.
		for (const k of ['id', 'name', 'title', 'mimetype', 'filetype', 'pretty_type', 'user', 'size', 'mode', 'url_private', 'url_private_download', 'permalink', 'created'])
			assert.deepEqual(ef[k], apiMsg.files[0][k], k);
		assert.equal(ef.name, 'notes.txt');
		assert.equal(ef.title, 'Notes');
		assert.equal(ef.size, Buffer.byteLength(content));
		assert.ok(ef.url_private.startsWith(env.srv.base + '/files-pri/'));
		// The link works with a token that may see the file; the bytes
		// themselves are not in the export.
		const dl = await fetch(ef.url_private, { headers: { authorization: `Bearer ${bob.token}` } });
		assert.equal(await dl.text(), content);
		const names = await readdir(path.join(out, ch.name));
		assert.ok(names.every((n) => /^\d{4}-\d{2}-\d{2}\.json$/.test(n)), names.join(','));
		// A file deleted since: a tombstone, as in the API.
		const gm = msgs.find((x) => x.files && x.files[0].id === gone.id);
		assert.deepEqual(gm.files, [{ id: gone.id, mode: 'tombstone' }]);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
});

test('refusals: unknown org, no --out, a non-empty --out, --out that is a file', async () => {
	const { org } = env.fx;
	const dir = await tmp('canal-export-bad-');
	try {
		await assert.rejects(env.srv.cli('export', '--org', 'TNOPE', '--out', path.join(dir, 'a')), /team_not_found/);
		await assert.rejects(env.srv.cli('export', '--org', org.id), /--out/);
		await mkdir(path.join(dir, 'full'));
		await writeFile(path.join(dir, 'full', 'keep.txt'), 'mine');
		await assert.rejects(env.srv.cli('export', '--org', org.id, '--out', path.join(dir, 'full')), /not an empty directory/);
		assert.equal(await readFile(path.join(dir, 'full', 'keep.txt'), 'utf8'), 'mine', 'nothing overwritten');
		await writeFile(path.join(dir, 'file'), 'x');
		await assert.rejects(env.srv.cli('export', '--org', org.id, '--out', path.join(dir, 'file')), /not an empty directory/);
		// An empty directory is fine.
		await mkdir(path.join(dir, 'empty'));
		assert.equal((await env.srv.cli('export', '--org', org.id, '--out', path.join(dir, 'empty'))).ok, true);
		// A relative --out is the CLI's working directory, not the server's.
		const { execFile } = await import('node:child_process');
		const out = await new Promise((resolve, reject) => execFile(process.env.CANAL_BIN,
			['admin', 'export', '--org', org.id, '--out', 'rel', '--data', env.srv.dataDir, '--json'],
			{ cwd: dir, timeout: 30000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(JSON.parse(stdout)))));
		assert.equal(out.path, path.join(dir, 'rel'));
		assert.ok((await readdir(path.join(dir, 'rel'))).includes('users.json'));
		// A directory that cannot be created: the error is reported, not a crash.
		const r = env.srv.cli('export', '--org', org.id, '--out', '/proc/canal-no-such/x');
		await assert.rejects(r, /internal_error|cannot/);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
});

test('offline export of a stopped server\'s data directory', async () => {
	const data = await tmp('canal-export-off-');
	try {
		const o = await runCli(data, ['org', 'create', 'Offline']);
		const u = await runCli(data, ['user', 'create', '--org', o.id, '--name', 'olga', '--email', 'o@off.test', '--password', 'pw-123456']);
		const out = path.join(data, 'exp');
		const r = await runCli(data, ['export', '--org', o.id, '--out', out]);
		assert.equal(r.ok, true);
		const users = await readJson(path.join(out, 'users.json'));
		assert.ok(users.some((x) => x.id === u.id));
		const general = (await readJson(path.join(out, 'channels.json'))).find((c) => c.is_general);
		const msgs = await folderMessages(path.join(out, general.name));
		assert.ok(msgs.some((m) => m.subtype === 'channel_join' && m.user === u.id));
		const audit = await runCli(data, ['audit', 'export', '--org', o.id, '--out', path.join(data, 'a.jsonl')]);
		const lines = (await readFile(path.join(data, 'a.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
		assert.equal(lines.length, audit.entries);
		assert.ok(lines.some((e) => e.action === 'manual_export_started'));
		assert.ok(lines.some((e) => e.action === 'manual_export_completed' && e.details.messages >= 1));
	} finally {
		await rm(data, { recursive: true, force: true });
	}
});
