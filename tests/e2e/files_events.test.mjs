// File events for apps: file_created, file_shared, file_public,
// file_change and file_deleted in Slack's shapes, over Socket Mode (Bolt)
// and the Events API (HTTP), only with files:read, and only to apps whose
// bot can see the file: file_shared to members of the conversation it was
// shared in; the others to members, or to anyone for a public one. An app
// that sees a file in several conversations gets each event once.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import bolt from '@slack/bolt';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq } from './lib/fixture.mjs';
import { createManifestApp, endpoint } from './lib/apps.mjs';

const { App, LogLevel } = bolt;
const FILE_EVENTS = ['file_created', 'file_shared', 'file_public', 'file_change', 'file_deleted'];
const SCOPES = ['chat:write', 'channels:read', 'channels:history', 'channels:join', 'groups:history', 'files:read'];

const env = useServer();
const stoppers = [];
after(async () => {
	for (const s of stoppers.reverse()) {
		try { await s(); } catch { /* best effort */ }
	}
});

// A Bolt app in Socket Mode recording every file event and message.
async function boltApp(name, { scopes = SCOPES } = {}) {
	const app = await createManifestApp(env.srv, env.fx.org.id, {
		name: uniq(name), events: [...FILE_EVENTS, 'message.channels', 'message.groups'], scopes,
	});
	const b = new App({
		token: app.bot_token,
		appToken: app.app_token,
		socketMode: true,
		logLevel: LogLevel.ERROR,
		clientOptions: { slackApiUrl: env.srv.base + '/api/', retryConfig: { retries: 0 } },
	});
	const got = [];
	for (const t of FILE_EVENTS) b.event(t, async ({ event, body }) => { got.push({ ...event, _body: body }); });
	b.event('message', async ({ event }) => { got.push(event); });
	await b.start();
	stoppers.push(() => b.stop());
	return { ...app, got };
}

async function upload(who, channel, content, filename) {
	return (await who.client.filesUploadV2({ channel_id: channel, content, filename })).files[0].files[0];
}

// Waits for the message of text in ch at app (a fence: what the app was
// sent before it has arrived by then, events being delivered in order).
async function fence(app, who, ch) {
	const text = uniq('fence');
	await who.client.chat.postMessage({ channel: ch, text });
	await waitFor(() => app.got.find((e) => e.type === 'message' && e.text === text), { what: `fence at ${app.name}` });
}

const fileEvents = (app, fileId) => app.got.filter((e) => e.type.startsWith('file_') && e.file_id === fileId);

test('file events: shapes, Socket Mode and Events API, files:read, visibility, once per app', async () => {
	const { alice } = env.fx;
	const pub = (await alice.client.conversations.create({ name: uniq('fev-pub') })).channel.id;
	const pubOther = (await alice.client.conversations.create({ name: uniq('fev-pub2') })).channel.id;
	const priv = (await alice.client.conversations.create({ name: uniq('fev-priv'), is_private: true })).channel.id;
	const privIn = (await alice.client.conversations.create({ name: uniq('fev-priv2'), is_private: true })).channel.id;

	const a = await boltApp('filesa');
	await a.client.conversations.join({ channel: pub });
	await alice.client.conversations.invite({ channel: privIn, users: a.bot_user_id });
	// No files:read: no file events, messages still.
	const noScope = await boltApp('filesb', { scopes: SCOPES.filter((s) => s !== 'files:read') });
	await noScope.client.conversations.join({ channel: pub });
	// Events API over HTTP.
	const ep = await endpoint((req, res) => { res.writeHead(200); res.end(); });
	stoppers.push(() => ep.close());
	const h = await createManifestApp(env.srv, env.fx.org.id, {
		name: uniq('filesh'), events: FILE_EVENTS, scopes: SCOPES, socket: false, requestUrl: ep.url,
	});
	await h.client.conversations.join({ channel: pub });

	// A file shared where the app's bot is: file_created, file_shared.
	const f1 = await upload(alice, pub, 'one\n', 'one.txt');
	await waitFor(() => fileEvents(a, f1.id).length === 2, { what: 'file_created + file_shared at a' });
	const created = fileEvents(a, f1.id).find((e) => e.type === 'file_created');
	assert.deepEqual(Object.keys(created).filter((k) => k !== '_body').sort(), ['event_ts', 'file', 'file_id', 'type', 'user_id']);
	assert.deepEqual(created.file, { id: f1.id });
	assert.equal(created.user_id, alice.id);
	const shared = fileEvents(a, f1.id).find((e) => e.type === 'file_shared');
	assert.equal(shared.channel_id, pub);
	assert.equal(shared.user_id, alice.id);
	assert.deepEqual(shared.file, { id: f1.id });
	assert.match(shared.event_ts, /^\d{10}\.\d{6}$/);
	assert.equal(shared._body.type, 'event_callback');
	assert.equal(shared._body.api_app_id, a.id);
	// Over HTTP too, as a signed event_callback.
	const viaHttp = await waitFor(() => ep.seen.find((r) => r.json && r.json.event && r.json.event.type === 'file_shared' && r.json.event.file_id === f1.id), { what: 'file_shared over HTTP' });
	assert.equal(viaHttp.json.event.channel_id, pub);
	assert.equal(viaHttp.json.api_app_id, h.id);
	assert.ok(viaHttp.headers['x-slack-signature'].startsWith('v0='));

	// A public conversation the bot is not in: it can see the file
	// (file_created), but file_shared is for the conversation's members.
	const f2 = await upload(alice, pubOther, 'two\n', 'two.txt');
	// A private conversation the bot is not in: nothing at all.
	const f3 = await upload(alice, priv, 'three\n', 'three.txt');

	// Public link on and off: file_public, then file_change.
	await alice.client.files.sharedPublicURL({ file: f1.id });
	await alice.client.files.revokePublicURL({ file: f1.id });
	await alice.client.files.sharedPublicURL({ file: f3.id });
	// An admin's revocation: file_change; deletion: file_deleted.
	await alice.client.apiCall('admin.files.revokeAccess', { file: f1.id });
	await alice.client.files.delete({ file: f1.id });
	await alice.client.files.delete({ file: f3.id });

	await fence(a, alice, pub);
	assert.deepEqual(fileEvents(a, f2.id).map((e) => e.type), ['file_created']);
	assert.deepEqual(fileEvents(a, f3.id), [], 'a private conversation the bot is not in');
	assert.deepEqual(fileEvents(a, f1.id).map((e) => e.type),
		['file_created', 'file_shared', 'file_public', 'file_change', 'file_change', 'file_deleted']);
	const pubEv = fileEvents(a, f1.id).find((e) => e.type === 'file_public');
	assert.equal(pubEv.user_id, alice.id);
	assert.deepEqual(pubEv.file, { id: f1.id });
	const del = fileEvents(a, f1.id).find((e) => e.type === 'file_deleted');
	assert.deepEqual(del.channel_ids, [pub]);

	// Without files:read: messages yes, file events never.
	await fence(noScope, alice, pub);
	assert.deepEqual(noScope.got.filter((e) => e.type.startsWith('file_')), []);
	assert.ok(noScope.got.some((e) => e.type === 'message' && e.files && e.files[0].id === f1.id), 'the file_share message itself');

	// A file the app sees in two conversations: each event once.
	const f4 = await upload(alice, privIn, 'four\n', 'four.txt');
	execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(env.srv.dataDir, 'canal.db'),
		`INSERT INTO file_shares(file_id, channel_id, ts) SELECT file_id, '${pub}', ts FROM file_shares WHERE file_id = '${f4.id}'`]);
	await alice.client.files.sharedPublicURL({ file: f4.id });
	await alice.client.files.delete({ file: f4.id });
	await fence(a, alice, pub);
	assert.deepEqual(fileEvents(a, f4.id).map((e) => e.type), ['file_created', 'file_shared', 'file_public', 'file_deleted']);
	assert.equal(fileEvents(a, f4.id).find((e) => e.type === 'file_shared').channel_id, privIn);
	// The HTTP app (in pub only) heard of f4 once as well.
	await waitFor(() => ep.seen.some((r) => r.json?.event?.type === 'file_deleted' && r.json.event.file_id === f4.id), { what: 'file_deleted over HTTP' });
	assert.deepEqual(ep.seen.filter((r) => r.json?.event?.file_id === f4.id).map((r) => r.json.event.type).sort(), ['file_deleted', 'file_public']);
	assert.deepEqual(ep.seen.filter((r) => r.json?.event?.file_id === f3.id), []);
});
