// Files: the SDK's filesUploadV2 (getUploadURLExternal + POST to the
// upload URL + completeUploadExternal), downloads by token and browser
// session, files[] in messages, the size limit, MIME sniffing and
// thumbnails, public links, deletion, an admin's revocation, legacy
// files.upload (streamed multipart), files.list / search.files and the
// upload URL's failure modes (malformed multipart, wrong length, a client
// that disconnects mid-upload).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test, useServer, waitFor } from './lib/server.mjs';
import { connect as rtmConnect, closeAll } from './lib/rtm.mjs';
import { ALL_BOT_SCOPES, createApp, createUser, expectError, uniq, webClient } from './lib/fixture.mjs';
import { png } from './lib/png.mjs';

const MAX_FILE = 300000;
const MAX_BODY = 200000;   // smaller than MAX_FILE: uploads streamed by a known caller are not bound by it
const env = useServer({
	extraArgs: ['--max-file-size', String(MAX_FILE), '--max-body', String(MAX_BODY)],
	setup: async (e) => {
		const { org } = e.fx;
		e.filebot = await createApp(e.srv, org.id, 'filebot', [...ALL_BOT_SCOPES, 'files:write', 'files:read']);
		e.carol = await createUser(e.srv, org.id, 'carol');
	},
});

async function get(url, headers = {}) {
	const res = await fetch(url, { headers });
	return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });

async function roomWith(owner, members, { isPrivate = false } = {}) {
	const ch = (await owner.client.conversations.create({ name: uniq('files'), is_private: isPrivate })).channel.id;
	if (members.length) await owner.client.conversations.invite({ channel: ch, users: members.join(',') });
	return ch;
}

async function historyFiles(client, ch, ts) {
	const h = await client.conversations.history({ channel: ch, limit: 20 });
	const m = h.messages.find((x) => x.ts === ts);
	assert.ok(m, `message ${ts} in history`);
	return m;
}

// The ts of the message that shares the file in ch (files.info shares).
async function shareTs(client, fileId, ch) {
	const info = await client.files.info({ file: fileId });
	const where = info.file.shares.public || info.file.shares.private;
	assert.ok(where && where[ch], `file shared in ${ch}: ${JSON.stringify(info.file.shares)}`);
	return where[ch][0].ts;
}

function blobPath(sha) {
	return path.join(env.srv.dataDir, 'files', sha.slice(0, 2), sha.slice(2));
}

test('filesUploadV2: bytes, message with files[], downloads by token and by browser session', async () => {
	const { alice, bob } = env.fx;
	const bot = env.filebot;
	const ch = await roomWith(alice, [bob.id, bot.bot_user_id]);
	const content = 'hello, files\n'.repeat(50);
	const res = await bot.client.filesUploadV2({
		channel_id: ch,
		initial_comment: 'the report',
		filename: 'report.txt',
		title: 'Weekly report',
		content,
	});
	assert.equal(res.ok, true);
	// The SDK returns one completion per group: files[0].files is the list.
	const file = res.files[0].files[0];
	assert.match(file.id, /^F[A-Z0-9]+$/);
	assert.equal(file.name, 'report.txt');
	assert.equal(file.title, 'Weekly report');
	assert.equal(file.size, Buffer.byteLength(content));
	assert.equal(file.mimetype, 'text/plain');
	assert.equal(file.filetype, 'text');
	assert.ok(file.url_private.startsWith(env.srv.base + '/files-pri/'));
	assert.ok(file.url_private_download.includes('/download/'));

	// The message: initial comment as text, no subtype, files[] from the row.
	const ts = await shareTs(bob.client, file.id, ch);
	const m = await historyFiles(bob.client, ch, ts);
	assert.equal(m.text, 'the report');
	assert.equal(m.subtype, undefined);
	assert.equal(m.user, bot.bot_user_id);
	assert.equal(m.upload, true);
	assert.equal(m.files.length, 1);
	assert.equal(m.files[0].id, file.id);
	assert.equal(m.files[0].title, 'Weekly report');
	assert.equal(m.file_ids, undefined);

	// Bytes: the uploader's token, a member's token, a browser session.
	let r = await get(file.url_private, bearer(bot.bot_token));
	assert.equal(r.status, 200);
	assert.equal(r.body.toString(), content);
	assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
	r = await get(file.url_private_download, bearer(bob.token));
	assert.equal(r.status, 200);
	assert.match(r.headers.get('content-disposition'), /^attachment; filename\*=UTF-8''report\.txt$/);
	assert.equal(r.body.toString(), content);
	const si = await fetch(`${env.srv.base}/auth/signin`, {
		method: 'POST',
		body: new URLSearchParams({ email: bob.email, password: 'correct horse battery staple' }),
	});
	const cookie = si.headers.get('set-cookie').split(';')[0];
	r = await get(file.url_private, { cookie });
	assert.equal(r.status, 200);
	assert.equal(r.body.toString(), content);
	// Range requests work (resumable downloads).
	r = await get(file.url_private, { ...bearer(bob.token), range: 'bytes=0-4' });
	assert.equal(r.status, 206);
	assert.equal(r.body.toString(), 'hello');

	// HEAD answers the headers only; other methods are refused.
	const head = await fetch(file.url_private, { method: 'HEAD', headers: bearer(bob.token) });
	assert.equal(head.status, 200);
	assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(content)));
	assert.equal((await fetch(file.url_private, { method: 'POST', headers: bearer(bob.token) })).status, 405);
	// A URL naming the file under another team, or a made-up one: 404.
	assert.equal((await get(file.url_private.replace(/files-pri\/T[A-Z0-9]+-/, 'files-pri/TNOPE-'), bearer(bob.token))).status, 404);
	assert.equal((await get(`${env.srv.base}/files-pri/garbage`, bearer(bob.token))).status, 404);
	assert.equal((await get(file.url_private.replace('/files-pri/', '/files-tmb/').replace(/\/report/, '-64/report'), bearer(bob.token))).status, 404,
		'no thumbnails for text');
	// No credentials: 401; a bad token: 401.
	assert.equal((await get(file.url_private)).status, 401);
	assert.equal((await get(file.url_private, bearer('xoxp-nope'))).status, 401);

	// Content-addressed on disk, never in a temp file afterwards.
	const info = await bob.client.files.info({ file: file.id });
	assert.equal(info.file.id, file.id);
	assert.deepEqual(info.file.channels, [ch]);
	assert.equal(info.file.is_public, true);
	const tmp = path.join(env.srv.dataDir, 'files', 'tmp');
	assert.deepEqual(fs.readdirSync(tmp), []);
});

test('private channel: only members (and the uploader) see or download the file', async () => {
	const { alice, bob } = env.fx;
	const carol = env.carol;
	const ch = await roomWith(alice, [bob.id], { isPrivate: true });
	const res = await bob.client.filesUploadV2({ channel_id: ch, filename: 'secret.txt', content: 'top secret' });
	const file = res.files[0].files[0];
	assert.equal((await get(file.url_private, bearer(alice.token))).status, 200);
	assert.equal((await get(file.url_private, bearer(carol.token))).status, 404);
	await expectError(carol.client.files.info({ file: file.id }), 'file_not_found');
	const list = await carol.client.files.list({});
	assert.ok(!list.files.some((f) => f.id === file.id), 'files.list hides it from non-members');
	const own = await bob.client.files.list({ user: bob.id });
	assert.ok(own.files.some((f) => f.id === file.id));
	// Someone in another org never sees it either.
	const other = await env.srv.cli('org', 'create', uniq('Other'));
	const eve = await createUser(env.srv, other.id, 'eve');
	assert.equal((await get(file.url_private, bearer(eve.token))).status, 404);
	await expectError(eve.client.files.info({ file: file.id }), 'file_not_found');
});

test('images: MIME type sniffed from the bytes, thumbnails made and served', async () => {
	const { alice, bob } = env.fx;
	const ch = await roomWith(alice, [bob.id]);
	const img = png(500, 300);
	// A misleading name: the type comes from the bytes.
	const res = await alice.client.filesUploadV2({ channel_id: ch, filename: 'picture.bin', file: img });
	const file = res.files[0].files[0];
	assert.equal(file.mimetype, 'image/png');
	assert.equal(file.filetype, 'png');
	assert.equal(file.original_w, 500);
	assert.equal(file.original_h, 300);
	for (const n of [64, 80, 160, 360, 480]) {
		assert.ok(file[`thumb_${n}`], `thumb_${n} in ${JSON.stringify(Object.keys(file))}`);
		const r = await get(file[`thumb_${n}`], bearer(bob.token));
		assert.equal(r.status, 200, `thumb_${n}`);
		assert.equal(r.headers.get('content-type'), 'image/png');
		assert.deepEqual([...r.body.subarray(1, 4)], [0x50, 0x4e, 0x47]);
		assert.equal(r.body.readUInt32BE(16), file[`thumb_${n}_w`]);
		assert.equal(r.body.readUInt32BE(20), file[`thumb_${n}_h`]);
	}
	assert.equal(file.thumb_64_w, 64);
	assert.equal(file.thumb_64_h, 38);
	assert.equal(file.thumb_720, undefined, 'no thumbnail bigger than the image');
	const full = await get(file.url_private, bearer(bob.token));
	assert.equal(full.headers.get('content-type'), 'image/png');
	assert.match(full.headers.get('content-disposition'), /^inline/);
	assert.ok(full.body.equals(img));
	// Not visible to non-members of... a public channel is visible to all.
	assert.equal((await get(file.thumb_64, bearer(env.carol.token))).status, 200);
	assert.equal((await get(file.thumb_64)).status, 401);
});

test('a file in a thread; several files in one message; events carry files[]', async () => {
	const { alice, bob } = env.fx;
	const ch = await roomWith(alice, [bob.id]);
	const parent = await alice.client.chat.postMessage({ channel: ch, text: 'thread here' });
	const rtm = await rtmConnect(alice.client);
	const res = await bob.client.filesUploadV2({
		channel_id: ch,
		thread_ts: parent.ts,
		initial_comment: 'two files',
		file_uploads: [
			{ filename: 'a.txt', content: 'aaa' },
			{ filename: 'b.txt', content: 'bbb' },
		],
	});
	const files = res.files[0].files;
	assert.equal(files.length, 2);
	const rep = await alice.client.conversations.replies({ channel: ch, ts: parent.ts });
	const reply = rep.messages.find((m) => m.text === 'two files');
	assert.ok(reply, JSON.stringify(rep.messages));
	assert.deepEqual(reply.files.map((f) => f.name).sort(), ['a.txt', 'b.txt']);
	assert.equal(reply.thread_ts, parent.ts);
	// The real-time message event carries the files, with their titles.
	const ev = await rtm.next((e) => e.type === 'message' && e.text === 'two files');
	assert.equal(ev.channel, ch);
	assert.deepEqual(ev.files.map((f) => f.name).sort(), ['a.txt', 'b.txt']);
	assert.ok(ev.files.every((f) => f.url_private && f.size === 3));
	await closeAll();
});

test('size limit: getUploadURLExternal refuses, the upload URL answers 413', async () => {
	const { alice } = env.fx;
	await expectError(alice.client.files.getUploadURLExternal({ filename: 'big.bin', length: MAX_FILE + 1 }),
		'file_upload_size_restricted');
	await expectError(alice.client.files.getUploadURLExternal({ filename: 'zero.bin', length: 0 }), 'missing_argument');
	await expectError(alice.client.files.getUploadURLExternal({ length: 5 }), 'invalid_arguments');
	await expectError(alice.client.files.getUploadURLExternal({ filename: 'x', length: 'many' }), 'invalid_arguments');
	await expectError(alice.client.files.getUploadURLExternal({ filename: 'x', length: 5, alt_txt: 'a'.repeat(1001) }),
		'alt_txt_too_large');

	// More bytes than announced: 413 before the body is read.
	const u = await alice.client.files.getUploadURLExternal({ filename: 'five.txt', length: 5 });
	let r = await fetch(u.upload_url, { method: 'POST', body: 'x'.repeat(6) });
	assert.equal(r.status, 413);
	// Fewer bytes: 400; the upload stays open for a correct try.
	r = await fetch(u.upload_url, { method: 'POST', body: 'abc' });
	assert.equal(r.status, 400);
	r = await fetch(u.upload_url, { method: 'POST', body: 'abcde' });
	assert.equal(r.status, 200);
	assert.equal(await r.text(), 'OK - 5');
	// Spent: a second POST finds no upload.
	r = await fetch(u.upload_url, { method: 'POST', body: 'abcde' });
	assert.equal(r.status, 404);
	// A multipart file part bigger than announced: 413 while streaming.
	const u2 = await alice.client.files.getUploadURLExternal({ filename: 'm.txt', length: 10 });
	const fd = new FormData();
	fd.append('body', new Blob(['y'.repeat(5000)]), 'Untitled');
	r = await fetch(u2.upload_url, { method: 'POST', body: fd });
	assert.equal(r.status, 413);
	// A file over the server's limit through legacy files.upload: 413.
	const fd2 = new FormData();
	fd2.append('file', new Blob([Buffer.alloc(MAX_FILE + 10)]), 'big.bin');
	r = await fetch(`${env.srv.base}/api/files.upload`, { method: 'POST', body: fd2, headers: bearer(alice.token) });
	assert.equal(r.status, 413);
	assert.deepEqual(fs.readdirSync(path.join(env.srv.dataDir, 'files', 'tmp')), []);
});

test('upload URL: unknown or forged URLs, malformed multipart, completion errors', async () => {
	const { alice, bob } = env.fx;
	const u = await alice.client.files.getUploadURLExternal({ filename: 'q.txt', length: 4 });
	const forged = u.upload_url.replace(/\/[^/]+$/, '/0000');
	assert.equal((await fetch(forged, { method: 'POST', body: 'abcd' })).status, 404);
	assert.equal((await fetch(`${env.srv.base}/upload/v1/Fnope/x`, { method: 'POST', body: 'abcd' })).status, 404);
	assert.equal((await fetch(u.upload_url)).status, 405);
	// Multipart with a bad body (no closing delimiter): 400.
	let r = await fetch(u.upload_url, {
		method: 'POST',
		headers: { 'content-type': 'multipart/form-data; boundary=zz' },
		body: '--zz\r\nContent-Disposition: form-data; name="body"; filename="x"\r\n\r\nabcd',
	});
	assert.equal(r.status, 400);
	// Multipart without a boundary parameter: 400.
	r = await fetch(u.upload_url, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'abcd' });
	assert.equal(r.status, 400);

	// Completing before the bytes arrived, someone else's file, unknown ids.
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }] }), 'file_not_found');
	r = await fetch(u.upload_url, { method: 'POST', body: 'abcd' });
	assert.equal(r.status, 200);
	await expectError(bob.client.files.completeUploadExternal({ files: [{ id: u.file_id }] }), 'file_not_found');
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: 'FNOPE' }] }), 'file_not_found');
	await expectError(alice.client.files.completeUploadExternal({ files: '[{"id":' }), 'invalid_arguments');
	await expectError(alice.client.files.completeUploadExternal({ files: [] }), 'invalid_arguments');
	await expectError(alice.client.files.completeUploadExternal({ files: { id: u.file_id } }), 'invalid_arguments');
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id, title: 5 }] }), 'invalid_arguments');
	await expectError(alice.client.files.completeUploadExternal({ files: [{ title: 'no id' }] }), 'invalid_arguments');
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }, { id: u.file_id }] }),
		'invalid_arguments');
	await expectError(alice.client.files.completeUploadExternal({}), 'invalid_arguments');
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }], channel_id: 'CNOPE' }),
		'channel_not_found');
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }], thread_ts: '1.000001' }),
		'invalid_arguments');
	// Not a member of a private channel: it does not exist for her.
	const priv = await roomWith(bob, [], { isPrivate: true });
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }], channel_id: priv }),
		'channel_not_found');
	// Channels she cannot post in: refused before the file changes.
	const notMine = (await bob.client.conversations.create({ name: uniq('nm') })).channel.id;
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }], channel_id: notMine }),
		'not_in_channel');
	const archived = await roomWith(alice, []);
	await alice.client.conversations.archive({ channel: archived });
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }], channel_id: archived }),
		'is_archived');
	const open = await roomWith(alice, []);
	await expectError(alice.client.files.completeUploadExternal({ files: [{ id: u.file_id }], channel_id: open, thread_ts: '1600000000.000100' }),
		'thread_not_found');
	// Still only uploaded: shared nowhere, visible to its uploader.
	const still = await alice.client.files.info({ file: u.file_id });
	assert.deepEqual(still.file.channels, []);
	// Completing without a channel keeps the file private to the uploader.
	const done = await alice.client.files.completeUploadExternal({ files: [{ id: u.file_id, title: 'Q' }] });
	assert.equal(done.files[0].title, 'Q');
	assert.equal((await get(done.files[0].url_private, bearer(alice.token))).body.toString(), 'abcd');
	assert.equal((await get(done.files[0].url_private, bearer(bob.token))).status, 404);

	// Scopes: a bot without files:write cannot upload.
	await expectError(env.fx.bot.client.files.getUploadURLExternal({ filename: 'x', length: 1 }), 'missing_scope');
	await expectError(env.fx.bot.client.files.info({ file: u.file_id }), 'missing_scope');
});

test('a client that disconnects mid-upload leaves no temp file and the upload stays open', async () => {
	const { alice } = env.fx;
	const u = await alice.client.files.getUploadURLExternal({ filename: 'cut.bin', length: 200000 });
	const url = new URL(u.upload_url);
	await new Promise((resolve, reject) => {
		const sock = net.connect(Number(url.port), url.hostname, () => {
			sock.write(`POST ${url.pathname} HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n`);
			sock.write(Buffer.alloc(70000, 1), () => {
				sock.destroy();
				resolve();
			});
		});
		sock.on('error', reject);
	});
	const tmp = path.join(env.srv.dataDir, 'files', 'tmp');
	await waitFor(() => fs.readdirSync(tmp).length === 0, { what: 'temp file removed' });
	// The URL still takes the whole upload afterwards.
	const r = await fetch(u.upload_url, { method: 'POST', body: Buffer.alloc(200000, 2) });
	assert.equal(r.status, 200);
	assert.equal(await r.text(), 'OK - 200000');
});

test('files.delete: tombstone in the message, bytes gone, only uploader or admin', async () => {
	const { alice, bob } = env.fx;
	const ch = await roomWith(alice, [bob.id]);
	const res = await bob.client.filesUploadV2({ channel_id: ch, filename: 'gone.txt', content: `unique ${uniq('c')}` });
	const file = res.files[0].files[0];
	const ts = await shareTs(bob.client, file.id, ch);
	await expectError(env.carol.client.files.delete({ file: file.id }), 'cant_delete_file');
	const info = await bob.client.files.info({ file: file.id });
	const sha = fs.readdirSync(path.join(env.srv.dataDir, 'files')).length; // touch the dir
	assert.ok(sha > 0);
	assert.equal((await bob.client.files.delete({ file: file.id })).ok, true);
	const m = await historyFiles(alice.client, ch, ts);
	assert.deepEqual(m.files, [{ id: file.id, mode: 'tombstone' }]);
	assert.equal((await get(file.url_private, bearer(bob.token))).status, 404);
	await expectError(bob.client.files.info({ file: file.id }), 'file_deleted');
	await expectError(alice.client.files.info({ file: file.id }), 'file_not_found');
	await expectError(bob.client.files.delete({ file: file.id }), 'file_deleted');
	assert.equal(info.file.size > 0, true);
});

test('the blob is shared by identical uploads and removed with the last one', async () => {
	const { alice } = env.fx;
	const content = `same bytes ${uniq('s')}`;
	const a = (await alice.client.filesUploadV2({ filename: 'one.txt', content })).files[0].files[0];
	const b = (await alice.client.filesUploadV2({ filename: 'two.txt', content })).files[0].files[0];
	const crypto = await import('node:crypto');
	const sha = crypto.createHash('sha256').update(content).digest('hex');
	assert.ok(fs.existsSync(blobPath(sha)), 'content-addressed blob exists');
	await alice.client.files.delete({ file: a.id });
	assert.ok(fs.existsSync(blobPath(sha)), 'still used by the second file');
	assert.equal((await get(b.url_private, bearer(alice.token))).body.toString(), content);
	await alice.client.files.delete({ file: b.id });
	await waitFor(() => !fs.existsSync(blobPath(sha)), { what: 'blob removed' });
});

test('public links: sharedPublicURL works without auth until revoked', async () => {
	const { alice, bob } = env.fx;
	const ch = await roomWith(alice, [bob.id]);
	const file = (await bob.client.filesUploadV2({ channel_id: ch, filename: 'pub.txt', content: 'for everyone' })).files[0].files[0];
	assert.equal((await get(file.permalink_public)).status, 404, 'not public yet');
	await expectError(env.carol.client.files.sharedPublicURL({ file: file.id }), 'no_permission');
	const s = await bob.client.files.sharedPublicURL({ file: file.id });
	assert.equal(s.file.public_url_shared, true);
	let r = await get(s.file.permalink_public);
	assert.equal(r.status, 200);
	assert.equal(r.body.toString(), 'for everyone');
	const v = await bob.client.files.revokePublicURL({ file: file.id });
	assert.equal(v.file.public_url_shared, false);
	r = await get(s.file.permalink_public);
	assert.equal(r.status, 404);
	await expectError(env.filebot.client.files.sharedPublicURL({ file: file.id }), 'not_allowed_token_type');
});

test('an admin revokes access to one file (Web API and CLI): nobody but admins downloads it', async () => {
	const { alice, bob } = env.fx;
	const ch = await roomWith(alice, [bob.id]);
	const file = (await bob.client.filesUploadV2({ channel_id: ch, filename: 'leak.txt', content: 'oops' })).files[0].files[0];
	const ts = await shareTs(bob.client, file.id, ch);
	await bob.client.files.sharedPublicURL({ file: file.id });
	await expectError(bob.client.apiCall('admin.files.revokeAccess', { file: file.id }), 'not_admin');
	const rv = await alice.client.apiCall('admin.files.revokeAccess', { file: file.id });
	assert.equal(rv.file.is_access_revoked, true);
	assert.equal(rv.file.public_url_shared, false);

	assert.equal((await get(file.url_private, bearer(bob.token))).status, 403, 'the uploader too');
	assert.equal((await get(file.url_private, bearer(env.carol.token))).status, 403);
	assert.equal((await get(file.thumb_64 || file.url_private_download, bearer(bob.token))).status, 403);
	assert.equal((await get(file.permalink_public)).status, 404);
	assert.equal((await get(file.url_private, bearer(alice.token))).status, 200, 'admins still can');
	const info = await bob.client.files.info({ file: file.id });
	assert.equal(info.file.file_access, 'revoked');
	const m = await historyFiles(bob.client, ch, ts);
	assert.deepEqual(m.files, [{ id: file.id, mode: 'hidden', file_access: 'revoked' }]);
	await expectError(bob.client.files.sharedPublicURL({ file: file.id }), 'file_access_revoked');

	await alice.client.apiCall('admin.files.restoreAccess', { file: file.id });
	assert.equal((await get(file.url_private, bearer(bob.token))).status, 200);

	// The same through `canal admin file revoke` against the running server.
	const out = await env.srv.cli('file', 'revoke', '--file', file.id);
	assert.equal(out.revoked, true);
	assert.equal((await get(file.url_private, bearer(bob.token))).status, 403);
	await env.srv.cli('file', 'restore', '--file', file.id);
	assert.equal((await get(file.url_private, bearer(bob.token))).status, 200);
	await expectError(alice.client.apiCall('admin.files.revokeAccess', { file: 'FNOPE' }), 'file_not_found');
});

test('legacy files.upload: streamed multipart file and `content`', async () => {
	const { alice, bob } = env.fx;
	const ch = await roomWith(alice, [bob.id]);
	const fd = new FormData();
	fd.append('channels', ch);
	fd.append('initial_comment', 'legacy upload');
	fd.append('title', 'Legacy');
	fd.append('file', new Blob([png(40, 20)]), 'tiny.png');
	let r = await fetch(`${env.srv.base}/api/files.upload`, { method: 'POST', body: fd, headers: bearer(alice.token) });
	assert.equal(r.status, 200);
	let j = await r.json();
	assert.equal(j.ok, true, JSON.stringify(j));
	assert.equal(j.file.name, 'tiny.png');
	assert.equal(j.file.title, 'Legacy');
	assert.equal(j.file.mimetype, 'image/png');
	assert.equal(j.file.original_w, 40);
	const dl = await get(j.file.url_private, bearer(bob.token));
	assert.equal(dl.status, 200);
	assert.ok(dl.body.equals(png(40, 20)));

	// `content` instead of a file (form-urlencoded, through the SDK's apiCall).
	const c = await bob.client.apiCall('files.upload', { channels: ch, content: 'a snippet', filename: 'snip.txt' });
	assert.equal(c.file.size, 9);
	assert.equal((await get(c.file.url_private, bearer(alice.token))).body.toString(), 'a snippet');
	await expectError(bob.client.apiCall('files.upload', { channels: ch }), 'no_file_data');
	await expectError(bob.client.apiCall('files.upload', { channels: ch, content: '' }), 'no_file_data');
	await expectError(bob.client.apiCall('files.upload', { channels: 'CNOPE', content: 'x' }), 'channel_not_found');

	// No token at all: not_authed, and nothing kept.
	const fd2 = new FormData();
	fd2.append('file', new Blob(['zzz']), 'z.txt');
	r = await fetch(`${env.srv.base}/api/files.upload`, { method: 'POST', body: fd2 });
	assert.deepEqual(await r.json(), { ok: false, error: 'not_authed' });
	// The token as a form field (curl -F token=...) works, but such a
	// caller, unknown until the end of the body, gets only --max-body.
	const fdTok = new FormData();
	fdTok.append('token', bob.token);
	fdTok.append('channels', ch);
	fdTok.append('file', new Blob([Buffer.alloc(MAX_BODY - 1000, 7)]), 'form-token.bin');
	r = await fetch(`${env.srv.base}/api/files.upload`, { method: 'POST', body: fdTok });
	j = await r.json();
	assert.equal(j.ok, true, JSON.stringify(j));
	assert.equal(j.file.user, bob.id);
	assert.equal(j.file.size, MAX_BODY - 1000);
	const fdBig = new FormData();
	fdBig.append('token', bob.token);
	fdBig.append('file', new Blob([Buffer.alloc(MAX_BODY + 1000, 7)]), 'too-big.bin');
	r = await fetch(`${env.srv.base}/api/files.upload`, { method: 'POST', body: fdBig });
	assert.equal(r.status, 413);
	// With the token in the header the same size is fine (up to --max-file-size).
	const fdHdr = new FormData();
	fdHdr.append('file', new Blob([Buffer.alloc(MAX_BODY + 1000, 8)]), 'big-ok.bin');
	r = await fetch(`${env.srv.base}/api/files.upload`, { method: 'POST', body: fdHdr, headers: bearer(bob.token) });
	j = await r.json();
	assert.equal(j.ok, true, JSON.stringify(j));
	assert.equal(j.file.size, MAX_BODY + 1000);
	await expectError(webClient(env.srv, 'xoxp-bogus').apiCall('files.upload', { content: 'x' }), 'invalid_auth');
	// A failed call (bad channel) leaves no bytes behind.
	const fd3 = new FormData();
	fd3.append('channels', 'CNOPE');
	fd3.append('file', new Blob([`orphan ${uniq('o')}`]), 'o.txt');
	r = await fetch(`${env.srv.base}/api/files.upload`, { method: 'POST', body: fd3, headers: bearer(alice.token) });
	j = await r.json();
	assert.equal(j.error, 'channel_not_found');
	const crypto = await import('node:crypto');
	const orphan = crypto.createHash('sha256').update(await fd3.get('file').text()).digest('hex');
	assert.equal(fs.existsSync(blobPath(orphan)), false, 'no orphan blob');
});

test('files.list and search.files: filters, paging, visibility', async () => {
	const { alice, bob } = env.fx;
	const carol = env.carol;
	const tag = uniq('needle');
	const pub = await roomWith(alice, [bob.id, carol.id]);
	const priv = await roomWith(alice, [bob.id], { isPrivate: true });
	for (let i = 0; i < 3; i++)
		await bob.client.filesUploadV2({ channel_id: pub, filename: `${tag}-${i}.txt`, content: `p${i}` });
	await bob.client.filesUploadV2({ channel_id: priv, filename: `${tag}-secret.txt`, content: 's' });

	const s = await bob.client.search.files({ query: tag });
	assert.equal(s.files.total, 4);
	assert.equal(s.files.matches.length, 4);
	const sc = await carol.client.search.files({ query: tag });
	assert.equal(sc.files.total, 3, 'carol does not see the private one');
	assert.ok(sc.files.matches.every((f) => !f.name.includes('secret')));
	const p2 = await carol.client.search.files({ query: tag, count: 2, page: 2 });
	assert.equal(p2.files.matches.length, 1);
	assert.equal(p2.files.paging.pages, 2);
	await expectError(carol.client.search.files({}), 'invalid_arguments');

	// search.all carries the same files section, with the same visibility.
	const all = await carol.client.search.all({ query: tag });
	assert.equal(all.files.total, 3, 'search.all: carol does not see the private one');
	assert.ok(all.files.matches.every((f) => !f.name.includes('secret')));
	assert.equal((await bob.client.search.all({ query: tag })).files.total, 4);
	assert.equal((await bob.client.search.all({ query: `-${tag} in:#nowhere` })).files.total, 0,
		'no positive words: no files');

	const byChan = await bob.client.files.list({ channel: pub });
	assert.equal(byChan.files.length, 3);
	assert.ok(byChan.files[0].created >= byChan.files[2].created, 'newest first');
	const paged = await bob.client.files.list({ channel: pub, count: 2, page: 1 });
	assert.equal(paged.files.length, 2);
	assert.deepEqual(paged.paging, { count: 2, total: 3, page: 1, pages: 2 });
	const imgs = await bob.client.files.list({ channel: pub, types: 'images' });
	assert.equal(imgs.files.length, 0);
	await expectError(bob.client.files.list({ channel: 'CNOPE' }), 'channel_not_found');
	await expectError(bob.client.files.list({ user: 'UNOPE' }), 'user_not_found');
	await expectError(bob.client.files.info({}), 'invalid_arguments');
	await expectError(bob.client.files.info({ file: 'FNOPE' }), 'file_not_found');
});

test('uploads survive a restart (rows and bytes)', async () => {
	const { alice, bob } = env.fx;
	const ch = await roomWith(alice, [bob.id]);
	const file = (await alice.client.filesUploadV2({ channel_id: ch, filename: 'keep.txt', content: 'kept' })).files[0].files[0];
	// What a crash mid-upload would leave behind goes at the next start.
	const stale = path.join(env.srv.dataDir, 'files', 'tmp', 'up-stale1');
	fs.writeFileSync(stale, 'half an upload');
	await env.srv.restart();
	assert.equal(fs.existsSync(stale), false, 'interrupted upload removed at start');
	const r = await get(file.url_private.replace(/^http:\/\/[^/]+/, env.srv.base), bearer(bob.token));
	assert.equal(r.status, 200);
	assert.equal(r.body.toString(), 'kept');
	const info = await bob.client.files.info({ file: file.id });
	assert.equal(info.file.name, 'keep.txt');
});
