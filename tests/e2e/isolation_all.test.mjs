// Isolation, table-driven over EVERY Web API method: the method list is read
// from src/api/api_methods.c at test time, and a method without a row here
// fails the test, so a new method cannot ship without its isolation check.
//
// For each method, each kind of object it names is probed with objects the
// caller must not see:
//   (a) a private channel the caller is not in,
//   (b) a DM and a group DM of other people,
//   (c) another organisation's public and private channels, messages,
//       users, bots, user groups, emails and the organisation itself,
// and the answer must be exactly the answer for an object that does not
// exist (same error; so no error that tells "it exists": not_in_channel,
// name_taken, already_in_channel...), never ok, and no answer may contain
// any hidden id or text. Methods that take no object are checked for not
// listing hidden objects.
//
// Then tokens: a revoked token, a deactivated person's token and session,
// a removed app's bot and app tokens, and an expired session are refused
// by every method, by rtm.connect and by the /rtm upgrade.
//
// Then real time (extending realtime_isolation.test.mjs): group DMs,
// DM open/close/mark, user-group membership and profile events reach no
// outsider.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { test, useServer, repoRoot } from './lib/server.mjs';
import { uniq, createUser, createApp, makeFixture } from './lib/fixture.mjs';
import { connect, closeAll, openWs, EVENT_TIMEOUT_MS } from './lib/rtm.mjs';

const MARK = `zq${Math.random().toString(36).slice(2, 8)}`; // in every hidden org A text
const MARKB = `zb${Math.random().toString(36).slice(2, 8)}`; // in every org B text
const FAKE = { C: 'C0NOSUCH0000', T: 'T0NOSUCH0000', U: 'U0NOSUCH0000', S: 'S0NOSUCH0000', B: 'B0NOSUCH0000', A: 'A0NOSUCH0000', V: 'V0NOSUCH0000', F: 'F0NOSUCH0000', ts: '1600000000.000100', email: 'nobody-at-all@nowhere.invalid' };

// ---- the method list, from the source ----
const METHODS = [...readFileSync(path.join(repoRoot, 'src/api/api_methods.c'), 'utf8').matchAll(/^\s*\{"([A-Za-z0-9_.]+)",/gm)].map((m) => m[1]);

// ---- fixture ----
let A; // org A: alice (admin), bob, bot, carol, dave
let carol, dave;
let mine; // a public channel of org A with alice, bob, bot, carol in it
let myTs;
let gA; // an org A user group
let P, pTs; // private channel: alice, carol
let DM, dmTs; // alice <-> carol
let MP, mpTs; // alice, carol, dave
let B; // org B: alice (= "eve"), bob, bot
let pubB, pbTs, privB, gB;
let vB; // an App Home view org B's bot published for org B's alice
let fileP, fileB; // files shared only in P (org A) and in privB (org B)
const env = useServer({ setup: async () => {
	A = env.fx;
	const { org, alice, bob, bot } = A;
	carol = await createUser(env.srv, org.id, 'carol');
	dave = await createUser(env.srv, org.id, 'dave');
	const a = alice.client;
	mine = (await a.conversations.create({ name: uniq('mine') })).channel.id;
	await a.conversations.invite({ channel: mine, users: `${bob.id},${carol.id}` });
	await bot.client.conversations.join({ channel: mine });
	myTs = (await a.chat.postMessage({ channel: mine, text: 'visible to all' })).ts;
	gA = (await a.usergroups.create({ name: uniq('Group A'), handle: uniq('ga') })).usergroup.id;

	P = (await a.conversations.create({ name: `secret-${MARK}`, is_private: true })).channel.id;
	await a.conversations.invite({ channel: P, users: carol.id });
	await a.conversations.setTopic({ channel: P, topic: `${MARK} topic` });
	DM = (await a.conversations.open({ users: carol.id })).channel.id;
	MP = (await a.conversations.open({ users: `${carol.id},${dave.id}` })).channel.id;
	const seed = async (ch) => {
		const ts = (await a.chat.postMessage({ channel: ch, text: `${MARK} hidden <@${bob.id}>` })).ts;
		await carol.client.chat.postMessage({ channel: ch, text: `${MARK} reply`, thread_ts: ts });
		await a.reactions.add({ channel: ch, timestamp: ts, name: 'eyes' });
		await a.pins.add({ channel: ch, timestamp: ts });
		return ts;
	};
	pTs = await seed(P);
	dmTs = await seed(DM);
	mpTs = await seed(MP);

	B = await makeFixture(env.srv, { orgName: `Org ${MARKB}` });
	const e = B.alice.client;
	await e.users.profile.set({ profile: { status_text: `${MARKB} status` } });
	pubB = (await e.conversations.create({ name: `pub-${MARKB}` })).channel.id;
	pbTs = (await e.chat.postMessage({ channel: pubB, text: `${MARKB} public in B` })).ts;
	await e.reactions.add({ channel: pubB, timestamp: pbTs, name: 'eyes' });
	await e.pins.add({ channel: pubB, timestamp: pbTs });
	privB = (await e.conversations.create({ name: `priv-${MARKB}`, is_private: true })).channel.id;
	gB = (await e.usergroups.create({ name: `Group ${MARKB}`, handle: `gb-${MARKB}` })).usergroup.id;
	const home = await call(B.bot.bot_token, 'views.publish', { user_id: B.alice.id, view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${MARKB} home` } }] } });
	assert.equal(home.ok, true, `views.publish in org B: ${home._text}`);
	vB = home.view.id;
	fileP = (await a.filesUploadV2({ channel_id: P, filename: `${MARK}.txt`, content: `${MARK} file` })).files[0].files[0].id;
	fileB = (await e.filesUploadV2({ channel_id: privB, filename: `${MARKB}.txt`, content: `${MARKB} file` })).files[0].files[0].id;
	// Its own app can update it (so "not_found" from org A means something).
	const upd = await call(B.bot.bot_token, 'views.update', { view_id: vB, view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${MARKB} home 2` } }] } });
	assert.equal(upd.ok, true, `views.update by its own app: ${upd._text}`);
} });
after(closeAll);

// Raw Web API call: the JSON answer whatever it is (HTTP status kept).
async function call(token, method, args = {}) {
	const body = new URLSearchParams();
	for (const [k, v] of Object.entries(args)) body.set(k, typeof v === 'string' ? v : JSON.stringify(v));
	const res = await fetch(`${env.srv.base}/api/${method}`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
		body,
		signal: AbortSignal.timeout(10000),
	});
	const text = await res.text();
	let json;
	try { json = JSON.parse(text); } catch { json = { ok: false, error: `not JSON: ${text.slice(0, 100)}` }; }
	json._status = res.status;
	json._text = text;
	return json;
}

// ---- the table: one row per method ----
//
// Kinds of probe (each returns the arguments; the caller's own ids are in `me`):
//   channel(ch, ts, me)   a hidden conversation (with one of its messages)
//   ts(own, ts, me)       a hidden message's ts in a channel the caller sees
//   user(u, me)           another organisation's user
//   usergroup(g, me)      another organisation's user group
//   bot(b)                another organisation's bot id
//   email(e)              another organisation's user's email
//   app(id)               another organisation's app
//   view(id)              a view (App Home) of another organisation's user
//   team(t)               another organisation
//   file(f, me)           a file shared only where the caller cannot see
//   list(me)              no object: arguments lists whose answers must
//                         not mention anything hidden
//   custom(ctx)           a check of its own (names: another org's names
//                         are free in this one)
//   none                  why there is nothing to probe (it is still called
//                         and its answer scanned unless skipCall)
// Someone else's reminder (another person of the caller's organisation,
// and a person of org B) answers exactly as a made-up id does.
async function reminderProbe({ tok, who }, method) {
	const ids = [];
	for (const owner of [carol.token, B.alice.token]) {
		const r = await call(owner, 'reminders.add', { text: `${MARK} ${MARKB}`, time: 'in 1 week' });
		assert.equal(r.ok, true, r._text);
		ids.push(r.reminder.id);
	}
	const fake = await call(tok, method, { reminder: 'Rm0NOSUCH0000' });
	for (const id of ids) {
		const h = await call(tok, method, { reminder: id });
		assert.equal(h.ok, false, `${who} ${method} on another person's reminder: ${h._text}`);
		assert.equal(h.error, fake.error, `${who} ${method}: "${h.error}" vs "${fake.error}" for a made-up id`);
		assert.ok(!h._text.includes(MARK) && !h._text.includes(MARKB), `${who} ${method} leaks: ${h._text}`);
		const still = await call(carol.token, 'reminders.info', { reminder: ids[0] });
		assert.equal(still.ok, true, `${method} by ${who} changed carol's reminder`);
	}
}

const ROWS = {
	// Admin methods: organisation admins may address any conversation of
	// their own organisation (as Slack's admin API); others get
	// not_an_admin whatever the object, and another org's objects do not
	// exist for anyone.
	'admin.conversations.getCustomRetention': { channel: (ch) => ({ channel_id: ch }) },
	'admin.conversations.removeCustomRetention': { channel: (ch) => ({ channel_id: ch }) },
	'admin.conversations.setCustomRetention': { channel: (ch) => ({ channel_id: ch, duration_days: 30 }) },
	'admin.legalHolds.create': { channel: (ch) => ({ channel_id: ch }), user: (u) => ({ user_id: u }) },
	'admin.legalHolds.list': { list: () => [{}] },
	'admin.legalHolds.release': { none: 'takes a hold id; another organisation\'s is not_found like a made-up one (retention.test.mjs)' },
	'admin.retention.get': { team: (t) => ({ team_id: t }), list: () => [{}] },
	'admin.retention.remove': { team: (t) => ({ team_id: t }) },
	'admin.retention.set': { team: (t) => ({ team_id: t, duration_days: 30 }) },
	'admin.files.restoreAccess': { file: (f) => ({ file: f }) },
	'admin.files.revokeAccess': { file: (f) => ({ file: f }) },
	'api.test': { none: 'takes no object (echoes its own arguments)' },
	'apps.connections.open': { none: 'the calling app token\'s own Socket Mode URL' },
	'apps.manifest.create': { none: 'creates an app in the caller\'s own organisation', skipCall: true },
	'apps.manifest.delete': { app: (id) => ({ app_id: id }) },
	'apps.manifest.export': { app: (id) => ({ app_id: id }) },
	'apps.manifest.update': { app: (id) => ({ app_id: id, manifest: { display_information: { name: 'stolen' } } }) },
	'apps.manifest.validate': { app: (id) => ({ app_id: id, manifest: { display_information: { name: 'x' } } }) },
	'auth.revoke': { none: 'revokes the calling token only', skipCall: true },
	'auth.test': { none: 'describes the caller only' },
	'blocks.action': {
		channel: (ch, ts) => ({ channel: ch, message_ts: ts, action_id: 'a' }),
		ts: (own, ts) => ({ channel: own, message_ts: ts, action_id: 'a' }),
		view: (v) => ({ view_id: v, action_id: 'a' }),
	},
	'blocks.suggest': {
		channel: (ch, ts) => ({ channel: ch, message_ts: ts, action_id: 'a', value: 'abc' }),
		ts: (own, ts) => ({ channel: own, message_ts: ts, action_id: 'a', value: 'abc' }),
		view: (v) => ({ view_id: v, action_id: 'a', value: 'abc' }),
	},
	'bots.info': { bot: (b) => ({ bot: b }) },
	'chat.command': { channel: (ch) => ({ channel: ch, command: '/deploy', text: 'x' }) },
	'chat.delete': { channel: (ch, ts) => ({ channel: ch, ts }), ts: (own, ts) => ({ channel: own, ts }) },
	'chat.getPermalink': { channel: (ch, ts) => ({ channel: ch, message_ts: ts }), ts: (own, ts) => ({ channel: own, message_ts: ts }) },
	'chat.meMessage': { channel: (ch) => ({ channel: ch, text: 'intruder' }) },
	'chat.postEphemeral': {
		channel: (ch, ts, me) => ({ channel: ch, user: me.id, text: 'intruder' }),
		user: (u) => ({ channel: mine, user: u, text: 'x' }),
	},
	'chat.postMessage': {
		channel: (ch) => ({ channel: ch, text: 'intruder' }),
		ts: (own, ts) => ({ channel: own, text: 'reply?', thread_ts: ts }),
		user: (u) => ({ channel: u, text: 'a DM across organisations' }),
	},
	'chat.update': { channel: (ch, ts) => ({ channel: ch, ts, text: 'edited by intruder' }), ts: (own, ts) => ({ channel: own, ts, text: 'x' }) },
	'client.counts': { list: () => [{}] },
	'conversations.archive': { channel: (ch) => ({ channel: ch }) },
	'conversations.close': { channel: (ch) => ({ channel: ch }) },
	'conversations.create': {
		custom: async ({ tok, who, i }) => {
			// Names are per organisation: org B's names are free in org A.
			const name = [`pub-${MARKB}`, `priv-${MARKB}`][i];
			const r = await call(tok, 'conversations.create', { name, is_private: i === 1 });
			assert.equal(r.ok, true, `${who}: creating a channel named like org B's (${name}) must work: ${r._text}`);
		},
	},
	'conversations.history': { channel: (ch) => ({ channel: ch }) },
	'conversations.info': { channel: (ch) => ({ channel: ch }) },
	'conversations.invite': { channel: (ch, ts, me) => ({ channel: ch, users: me.id }), user: (u) => ({ channel: mine, users: u }) },
	'conversations.join': { channel: (ch) => ({ channel: ch }) },
	'conversations.kick': { channel: (ch) => ({ channel: ch, user: A.alice.id }), user: (u) => ({ channel: mine, user: u }) },
	'conversations.leave': { channel: (ch) => ({ channel: ch }) },
	'conversations.list': { list: () => [{ types: 'public_channel,private_channel,mpim,im', limit: 1000 }, { types: 'private_channel,mpim,im', exclude_archived: true }] },
	'conversations.mark': { channel: (ch, ts) => ({ channel: ch, ts }) },
	'conversations.members': { channel: (ch) => ({ channel: ch }) },
	'conversations.open': { channel: (ch) => ({ channel: ch }), user: (u) => ({ users: u }) },
	'conversations.rename': { channel: (ch) => ({ channel: ch, name: uniq('stolen') }) },
	'conversations.replies': { channel: (ch, ts) => ({ channel: ch, ts }), ts: (own, ts) => ({ channel: own, ts }) },
	'conversations.setPurpose': { channel: (ch) => ({ channel: ch, purpose: 'intruder' }) },
	'conversations.setTopic': { channel: (ch) => ({ channel: ch, topic: 'intruder' }) },
	'conversations.unarchive': { channel: (ch) => ({ channel: ch }) },
	'emoji.list': { none: 'no object; the answer is scanned', list: () => [{}] },
	'files.completeUploadExternal': {
		file: (f) => ({ files: [{ id: f, title: 'stolen' }] }),
		channel: (ch) => ({ files: [{ id: FAKE.F }], channel_id: ch }),
	},
	'files.delete': { file: (f) => ({ file: f }) },
	'files.getUploadURLExternal': { none: 'creates an upload of the caller\'s own', list: () => [{ filename: 'x.txt', length: 3 }] },
	'files.info': { file: (f) => ({ file: f }) },
	'files.list': {
		list: () => [{ count: 1000 }, { user: A.alice.id, count: 1000 }, { types: 'all', count: 1000 }],
		channel: (ch) => ({ channel: ch }),
		user: (u) => ({ user: u }),
	},
	'files.revokePublicURL': { file: (f) => ({ file: f }) },
	'files.sharedPublicURL': { file: (f) => ({ file: f }) },
	'files.upload': { none: 'creates a file of the caller\'s own', channel: (ch) => ({ channels: ch, content: 'intruder' }) },
	'pins.add': { channel: (ch, ts) => ({ channel: ch, timestamp: ts }), ts: (own, ts) => ({ channel: own, timestamp: ts }) },
	'pins.list': { channel: (ch) => ({ channel: ch }) },
	'pins.remove': { channel: (ch, ts) => ({ channel: ch, timestamp: ts }), ts: (own, ts) => ({ channel: own, timestamp: ts }) },
	'reactions.add': { channel: (ch, ts) => ({ channel: ch, timestamp: ts, name: 'smiling_imp' }), ts: (own, ts) => ({ channel: own, timestamp: ts, name: 'smiling_imp' }) },
	'reactions.get': { channel: (ch, ts) => ({ channel: ch, timestamp: ts, full: true }), ts: (own, ts) => ({ channel: own, timestamp: ts }) },
	'reactions.list': {
		list: () => [{ full: true }, { user: A.alice.id, full: true }, { user: carol.id, full: true }],
		user: (u) => ({ user: u }),
	},
	'reactions.remove': { channel: (ch, ts) => ({ channel: ch, timestamp: ts, name: 'eyes' }), ts: (own, ts) => ({ channel: own, timestamp: ts, name: 'eyes' }) },
	'reminders.add': { user: (u) => ({ text: 'x', time: 'in 1 week', user: u }) },
	'reminders.complete': { custom: (ctx) => reminderProbe(ctx, 'reminders.complete') },
	'reminders.delete': { custom: (ctx) => reminderProbe(ctx, 'reminders.delete') },
	'reminders.info': { custom: (ctx) => reminderProbe(ctx, 'reminders.info') },
	'reminders.list': { list: () => [{}] },
	'rtm.connect': { none: 'no object: what its socket receives is checked below and in realtime_isolation.test.mjs' },
	'search.files': { list: () => [{ query: 'txt', count: 100 }, { query: 'file', count: 100 }] },
	// Search answers ok (no match) for anything it cannot see, so its rows
	// list: words of the hidden texts (never an id or MARK: the query is
	// echoed back) with every modifier that names people or places.
	'search.all': { list: () => SEARCHES },
	'search.messages': { list: () => SEARCHES },
	'shortcuts.run': { app: (id) => ({ callback_id: 'cb', app_id: id }) },
	'team.info': { team: (t) => ({ team: t }), list: () => [{}] },
	'usergroups.create': {
		custom: async ({ tok, who, i }) => {
			// Group names and handles are per organisation too.
			if (i > 0) return;
			const r = await call(tok, 'usergroups.create', { name: `Group ${MARKB}`, handle: `gb-${MARKB}` });
			assert.equal(r.ok, true, `${who}: a group named like org B's must be creatable: ${r._text}`);
		},
	},
	'usergroups.disable': { usergroup: (g) => ({ usergroup: g }) },
	'usergroups.enable': { usergroup: (g) => ({ usergroup: g }) },
	'usergroups.list': { list: () => [{ include_users: true, include_disabled: true, include_count: true }] },
	'usergroups.update': { usergroup: (g) => ({ usergroup: g, description: 'intruder' }) },
	'usergroups.users.list': { usergroup: (g) => ({ usergroup: g, include_disabled: true }) },
	'usergroups.users.update': { usergroup: (g, me) => ({ usergroup: g, users: me.id }), user: (u) => ({ usergroup: gA, users: u }) },
	'users.conversations': {
		list: () => [{ types: 'public_channel,private_channel,mpim,im' }, { user: A.alice.id, types: 'public_channel,private_channel,mpim,im' }, { user: carol.id, types: 'public_channel,private_channel,mpim,im' }],
		user: (u) => ({ user: u }),
	},
	'users.getPresence': { user: (u) => ({ user: u }) },
	'users.info': { user: (u) => ({ user: u }) },
	'users.list': { list: () => [{ limit: 1000 }] },
	'users.lookupByEmail': { email: (e) => ({ email: e }) },
	'users.prefs.get': {
		none: 'the caller\'s own preferences: it takes no object',
		custom: async ({ tok, who, i }) => {
			// Another person's preferences never show, whatever is asked.
			if (i > 0) return;
			await call(B.alice.token, 'users.prefs.set', { name: 'note', value: MARKB });
			const r = await call(tok, 'users.prefs.get', { user: B.alice.id });
			assert.equal(r._text.includes(MARKB), false, `${who} sees org B's preferences: ${r._text}`);
		},
	},
	'users.prefs.set': { none: 'sets the caller\'s own preferences', list: () => [{ name: 'probe', value: 'x' }] },
	'users.profile.get': { user: (u) => ({ user: u }) },
	'users.profile.set': { user: (u) => ({ user: u, profile: { status_text: 'intruder' } }) },
	'users.setPresence': { none: 'sets the caller\'s own presence', list: () => [{ presence: 'auto' }] },
	'views.close': { view: (v) => ({ view_id: v }) },
	'views.open': { none: 'takes a trigger_id, a secret only the app of that interaction receives' },
	'views.publish': { user: (u) => ({ user_id: u, view: { type: 'home', blocks: [] } }) },
	'views.push': { none: 'takes a trigger_id, a secret only the app of that interaction receives' },
	'views.submit': { view: (v) => ({ view_id: v }) },
	'views.update': { view: (v) => ({ view_id: v, view: { type: 'home', blocks: [] } }) },
};

const SEARCHES = [
	{ query: 'hidden' }, { query: 'reply is:thread' }, { query: 'public in', sort: 'timestamp' },
	{ query: 'hidden in:@carol' }, { query: 'hidden in:@dave' }, { query: 'hidden from:@carol' },
	{ query: 'reply from:@carol' }, { query: 'to:@carol' }, { query: 'to:me hidden' },
	{ query: '"public in"', highlight: true }, { query: 'hidden -visible', count: 100 },
];

test('every method in src/api/api_methods.c has an isolation row (and no row is stale)', () => {
	assert.ok(METHODS.length >= 50, `parsed ${METHODS.length} methods from api_methods.c`);
	const missing = METHODS.filter((m) => !ROWS[m]);
	assert.deepEqual(missing, [], `methods without an isolation row in isolation_all.test.mjs: ${missing.join(', ')}`);
	const stale = Object.keys(ROWS).filter((m) => !METHODS.includes(m));
	assert.deepEqual(stale, [], `rows for methods no longer in the table: ${stale.join(', ')}`);
	for (const [m, row] of Object.entries(ROWS)) {
		const kinds = Object.keys(row).filter((k) => k !== 'skipCall');
		assert.ok(kinds.length > 0, `${m}: empty row`);
	}
});

// ---- probing ----

const same = () => [['bob', A.bob.token, { id: A.bob.id }], ['bot', A.bot.bot_token, { id: A.bot.bot_user_id }]];
const other = () => [['alice', A.alice.token, { id: A.alice.id }], ['bot', A.bot.bot_token, { id: A.bot.bot_user_id }]];
const secretsA = () => [P, DM, MP, MARK, fileP];
const secretsB = () => [fileB, B.org.id, B.alice.id, B.bob.id, B.bot.id, B.bot.bot_user_id, B.bot.bot_id, B.alice.email, gB, pubB, privB, vB, MARKB];

function leaks(answer, secrets) {
	const text = answer._text;
	return secrets.filter((s) => text.includes(s));
}

// Probes (method, kind) with the hidden object and with a made-up one; the
// answers must match and reveal nothing.
async function probe(failures, method, kind, who, tok, hiddenArgs, fakeArgs, secrets, { okIfFakeOk = false } = {}) {
	const h = await call(tok, method, hiddenArgs);
	const f = await call(tok, method, fakeArgs);
	const label = `${who} ${method} [${kind}] ${JSON.stringify(hiddenArgs)}`;
	const leaked = leaks(h, secrets);
	if (leaked.length) failures.push(`${label}: answer contains ${leaked.join(', ')}: ${h._text.slice(0, 300)}`);
	if (h._status !== 200) failures.push(`${label}: HTTP ${h._status}`);
	if (h.ok && !(okIfFakeOk && f.ok)) failures.push(`${label}: ok with a hidden object: ${h._text.slice(0, 300)}`);
	else if (!h.ok && h.error !== f.error) failures.push(`${label}: "${h.error}" but "${f.error}" for one that does not exist (reveals it exists)`);
	return h;
}

const results = {}; // method -> kinds probed (for the coverage check)
function probed(method, kind) {
	(results[method] ||= new Set()).add(kind);
}

test('(a)(b) private channels, DMs and group DMs of others: every method answers as if they did not exist', async () => {
	const failures = [];
	const hidden = [['private channel', P, pTs], ['DM', DM, dmTs], ['group DM', MP, mpTs]];
	for (const method of METHODS) {
		const row = ROWS[method];
		if (!row) continue;
		for (const [who, tok, me] of same()) {
			for (const [what, ch, ts] of hidden) {
				if (row.file && what === 'private channel') {
					await probe(failures, method, 'file in a private channel', who, tok, row.file(fileP, me), row.file(FAKE.F, me), secretsA());
					probed(method, 'file');
				}
				if (row.channel) {
					await probe(failures, method, `channel: ${what}`, who, tok, row.channel(ch, ts, me), row.channel(FAKE.C, FAKE.ts, me), secretsA());
					probed(method, 'channel');
				}
				if (row.ts) {
					await probe(failures, method, `ts in ${what}`, who, tok, row.ts(mine, ts, me), row.ts(mine, FAKE.ts, me), secretsA(), { okIfFakeOk: true });
					probed(method, 'ts');
				}
			}
			if (row.list) {
				for (const args of row.list(me)) {
					const r = await call(tok, method, args);
					const leaked = leaks(r, secretsA());
					if (leaked.length) failures.push(`${who} ${method} ${JSON.stringify(args)} lists ${leaked.join(', ')}: ${r._text.slice(0, 300)}`);
				}
				probed(method, 'list');
			}
		}
	}
	assert.deepEqual(failures, [], `leaks:\n${failures.join('\n')}`);
});

test('(c) another organisation: its channels, messages, users, bots, groups, emails and itself are invisible to every method', async () => {
	const failures = [];
	const customs = []; // run last: they create org A objects named like org B's
	for (const method of METHODS) {
		const row = ROWS[method];
		if (!row) continue;
		for (const [i, [who, tok, me]] of other().entries()) {
			const probes = [];
			if (row.channel) for (const [ch, ts] of [[pubB, pbTs], [privB, pbTs]]) probes.push(['channel', row.channel(ch, ts, me), row.channel(FAKE.C, FAKE.ts, me)]);
			if (row.ts) probes.push(['ts', row.ts(mine, pbTs, me), row.ts(mine, FAKE.ts, me), { okIfFakeOk: true }]);
			if (row.user) for (const u of [B.alice.id, B.bot.bot_user_id]) probes.push(['user', row.user(u, me), row.user(FAKE.U, me)]);
			if (row.usergroup) probes.push(['usergroup', row.usergroup(gB, me), row.usergroup(FAKE.S, me)]);
			if (row.bot) probes.push(['bot', row.bot(B.bot.bot_id), row.bot(FAKE.B)]);
			if (row.email) probes.push(['email', row.email(B.alice.email), row.email(FAKE.email)]);
			if (row.app) probes.push(['app', row.app(B.bot.id), row.app(FAKE.A)]);
			if (row.view) probes.push(['view', row.view(vB), row.view(FAKE.V)]);
			if (row.team) probes.push(['team', row.team(B.org.id), row.team(FAKE.T)]);
			if (row.file) probes.push(['file', row.file(fileB, me), row.file(FAKE.F, me)]);
			for (const [kind, h, f, opts] of probes) {
				await probe(failures, method, kind, who, tok, h, f, secretsB(), opts);
				probed(method, kind);
			}
			if (row.list) {
				for (const args of row.list(me)) {
					const r = await call(tok, method, args);
					const leaked = leaks(r, secretsB());
					if (leaked.length) failures.push(`${who} ${method} ${JSON.stringify(args)} shows org B's ${leaked.join(', ')}: ${r._text.slice(0, 300)}`);
				}
			}
			if (row.custom) {
				customs.push(async () => {
					try {
						await row.custom({ tok, who, i });
					} catch (e) {
						failures.push(`${who} ${method}: ${e.message}`);
					}
				});
				probed(method, 'custom');
			}
			if (row.none && !row.skipCall && !row.list) {
				const r = await call(tok, method, {});
				const leaked = leaks(r, secretsB());
				if (leaked.length) failures.push(`${who} ${method} shows org B's ${leaked.join(', ')}`);
				probed(method, 'none');
			}
			if (row.none) probed(method, 'none');
		}
	}
	// And org B sees nothing of org A's hidden objects nor its public ones.
	for (const [who, tok] of [['org B alice', B.alice.token], ['org B bot', B.bot.bot_token]]) {
		for (const method of ['conversations.list', 'users.list', 'usergroups.list', 'client.counts', 'users.conversations', 'reactions.list']) {
			const r = await call(tok, method, ROWS[method].list({})[0]);
			const leaked = leaks(r, [A.org.id, A.alice.id, A.bob.id, mine, gA, ...secretsA()]);
			if (leaked.length) failures.push(`${who} ${method} shows org A's ${leaked.join(', ')}`);
		}
	}
	for (const c of customs) await c();
	assert.deepEqual(failures, [], `leaks:\n${failures.join('\n')}`);
});

test('every row was exercised', () => {
	const idle = METHODS.filter((m) => ROWS[m] && !results[m]);
	assert.deepEqual(idle, [], `rows never probed (did the probe tests run?): ${idle.join(', ')}`);
});

test('private channel names: taken names answer name_taken as in Slack, and nothing else leaks through names', async () => {
	// Slack keeps one name space per workspace for public and private
	// channels, so creating or renaming to a private channel's name says
	// name_taken; that is all it says (no id, no members).
	const r = await call(A.bob.token, 'conversations.create', { name: `secret-${MARK}` });
	assert.equal(r.ok, false);
	assert.equal(r.error, 'name_taken');
	assert.deepEqual(leaks(r, [P]), []);
	// Lookups by name never resolve a private channel for a non-member.
	for (const method of ['conversations.info', 'conversations.history', 'chat.postMessage']) {
		for (const name of [`secret-${MARK}`, `#secret-${MARK}`]) {
			const h = await call(A.bob.token, method, { channel: name, text: 'x' });
			const f = await call(A.bob.token, method, { channel: `no-such-${MARK}`, text: 'x' });
			assert.equal(h.ok, false, `${method} ${name}: ${h._text}`);
			assert.equal(h.error, f.error, `${method} ${name}: ${h.error} vs ${f.error}`);
		}
	}
});

// ---- tokens ----

test('revoked, deactivated, removed-app and expired tokens are refused by every method, rtm.connect and the /rtm upgrade', async () => {
	const { org, alice } = A;
	const rita = await createUser(env.srv, org.id, uniq('rita'));
	const dina = await createUser(env.srv, org.id, uniq('dina'));
	const dinaSession = (await env.srv.cli('user', 'session', '--user', dina.id)).token;
	const app = await createApp(env.srv, org.id, uniq('doomed'));
	const expired = await env.srv.cli('user', 'session', '--user', alice.id, '--expires-in', '-5');
	assert.match(expired.token, /^xoxc-/);
	const shortLived = (await env.srv.cli('user', 'session', '--user', alice.id, '--expires-in', '2')).token;
	assert.equal((await call(shortLived, 'auth.test')).ok, true, 'a fresh session works');
	// Tickets taken while the tokens were good; used after they are not.
	const tickets = {};
	for (const [k, t] of [['rita', rita.token], ['dina', dina.token], ['bot', app.bot_token]]) {
		const r = await call(t, 'rtm.connect');
		assert.equal(r.ok, true, `${k} rtm.connect before: ${r._text}`);
		tickets[k] = r.url;
	}
	// Live sockets before (the server may close them; it must not keep
	// serving events to them — checked below).
	await env.srv.cli('token', 'revoke', rita.token);
	const deact = await env.srv.cli('user', 'deactivate', '--user', dina.id);
	assert.ok(deact.revoked >= 2, `deactivate revoked her tokens and sessions: ${JSON.stringify(deact)}`);
	const del = await env.srv.cli('app', 'delete', '--app', app.id);
	assert.ok(del.revoked >= 2, `app delete revoked bot and app tokens: ${JSON.stringify(del)}`);
	const apps = await env.srv.cli('app', 'list', '--org', org.id);
	assert.equal(apps.find((x) => x.id === app.id).deleted, true);
	assert.equal((await alice.client.users.info({ user: app.bot_user_id })).user.deleted, true, 'the bot user is deleted with its app');
	await new Promise((r) => setTimeout(r, 3100)); // expiry is checked in whole seconds

	const cases = [
		['revoked token', rita.token, ['token_revoked']],
		['deactivated user token', dina.token, ['account_inactive']],
		['deactivated user session', dinaSession, ['account_inactive']],
		['removed app bot token', app.bot_token, ['account_inactive', 'token_revoked']],
		['removed app app-level token', app.app_token, ['account_inactive', 'token_revoked']],
		['expired session', expired.token, ['token_expired']],
		['session past its expiry', shortLived, ['token_expired']],
		['made-up token', 'xoxp-1-2-nope', ['invalid_auth']],
	];
	const failures = [];
	for (const [what, tok, want] of cases) {
		for (const method of METHODS) {
			const r = await call(tok, method, { channel: mine, user: alice.id, text: 'x' });
			if (method === 'api.test' && r.ok && want[0] === 'invalid_auth') continue; // api.test needs no token
			if (r.ok || !want.includes(r.error)) failures.push(`${what}: ${method} answered ${r._text.slice(0, 200)} (want ${want.join('/')})`);
		}
	}
	assert.deepEqual(failures, [], failures.join('\n'));

	// The upgrade: tickets of tokens revoked since, and bad session cookies.
	for (const [k, url] of Object.entries(tickets)) {
		const err = await openWs(url, { label: `ticket ${k}` }).then((c) => { c.close(); return null; }, (e) => e);
		assert.ok(err && err.status === 401, `${k}'s ticket after revocation: ${err ? err.message : 'connected'}`);
	}
	for (const [what, tok] of [['deactivated session', dinaSession], ['expired session', expired.token], ['lapsed session', shortLived]]) {
		const err = await openWs(`ws://127.0.0.1:${env.srv.port}/rtm`, { headers: { cookie: `canal_session=${tok}` } }).then((c) => { c.close(); return null; }, (e) => e);
		assert.ok(err && err.status === 401, `${what} cookie: ${err ? err.message : 'connected'}`);
	}
	// A good session cookie does connect (the refusals above mean something).
	const good = (await env.srv.cli('user', 'session', '--user', alice.id)).token;
	const ok = await openWs(`ws://127.0.0.1:${env.srv.port}/rtm`, { headers: { cookie: `canal_session=${good}` } });
	await ok.next((e) => e.type === 'hello', EVENT_TIMEOUT_MS, 0, 'hello');
	await ok.close();
});

// ---- real time ----

test('real time: group DMs, DM open/close/mark, user-group and profile events reach no outsider', async () => {
	const { alice, bob, bot } = A;
	const RMARK = `${MARK}rt`;
	const Ab = await connect(alice.client, { label: 'alice' });
	const Cs = await connect(carol.client, { label: 'carol' });
	const Ds = await connect(dave.client, { label: 'dave' });
	const Bs = await connect(bob.client, { label: 'bob' });
	const Ts = await connect(bot.client, { label: 'bot' });
	const Xs = await connect(B.alice.client, { label: 'orgB-alice' });
	const XTs = await connect(B.bot.client, { label: 'orgB-bot' });
	const from = { B: Bs.mark(), T: Ts.mark(), X: Xs.mark(), XT: XTs.mark() };
	const a = alice.client;
	const c = carol.client;

	// A new group DM (mpim_joined), everything that can happen in it.
	const erin = await createUser(env.srv, A.org.id, uniq('erin'));
	const mp = (await a.conversations.open({ users: `${carol.id},${erin.id}` })).channel.id;
	const t1 = (await a.chat.postMessage({ channel: mp, text: `${RMARK} <@${bob.id}> <!channel> <!here>` })).ts;
	await c.reactions.add({ channel: mp, timestamp: t1, name: 'tada' });
	await c.reactions.remove({ channel: mp, timestamp: t1, name: 'tada' });
	await a.pins.add({ channel: mp, timestamp: t1 });
	await a.pins.remove({ channel: mp, timestamp: t1 });
	await c.chat.postMessage({ channel: mp, text: `${RMARK} reply`, thread_ts: t1 });
	await a.chat.update({ channel: mp, ts: t1, text: `${RMARK} edited <@${bob.id}>` });
	const t2 = (await a.chat.postMessage({ channel: mp, text: `${RMARK} doomed` })).ts;
	await a.chat.delete({ channel: mp, ts: t2 });
	await a.conversations.mark({ channel: mp, ts: t1 });
	await a.conversations.close({ channel: mp });
	await a.conversations.open({ channel: mp });
	Ab.send({ type: 'typing', channel: mp });
	// The existing DM: mark, close, open, typing; and the older group DM.
	await a.conversations.mark({ channel: DM, ts: dmTs });
	await a.conversations.close({ channel: DM });
	await a.conversations.open({ channel: DM });
	Cs.send({ type: 'typing', channel: DM });
	Ds.send({ type: 'typing', channel: MP });
	await dave.client.chat.postMessage({ channel: MP, text: `${RMARK} in the old group DM` });
	// Outsiders try to type into them.
	Bs.send({ type: 'typing', channel: mp });
	Bs.send({ type: 'typing', channel: DM });
	await Bs.ping();
	// Org A: a user group's members and a profile change (org B must not see).
	await a.usergroups.users.update({ usergroup: gA, users: `${carol.id},${dave.id}` });
	await a.usergroups.disable({ usergroup: gA });
	await a.usergroups.enable({ usergroup: gA });
	// (org-wide news: bob may see it; org B must not)
	const status = `status ${uniq('st')}`;
	await c.users.profile.set({ profile: { status_text: status } });
	await Ab.ping();
	await Cs.ping();

	// The members got these (so the test means something).
	const kinds = (s, ids) => new Set(s.all((e) => ids.some((id) => JSON.stringify(e).includes(id))).map((e) => (e.subtype ? `${e.type}/${e.subtype}` : e.type)));
	const ka = kinds(Ab, [mp, DM]);
	const kc = kinds(Cs, [mp, DM, gA, carol.id]);
	const kd = kinds(Ds, [MP]);
	const want = [
		['alice', ka, ['mpim_joined', 'group_joined']], ['alice', ka, ['message']], ['alice', ka, ['reaction_added']],
		['alice', ka, ['reaction_removed']], ['alice', ka, ['pin_added']], ['alice', ka, ['pin_removed']],
		['alice', ka, ['message/message_replied']], ['alice', ka, ['message/message_changed']], ['alice', ka, ['message/message_deleted']],
		['alice', ka, ['mpim_marked', 'group_marked']], ['alice', ka, ['mpim_close']], ['alice', ka, ['mpim_open']],
		['alice', ka, ['im_marked']], ['alice', ka, ['im_close']], ['alice', ka, ['im_open']],
		['carol', kc, ['user_typing']], ['carol', kc, ['subteam_members_changed']], ['carol', kc, ['subteam_updated']], ['carol', kc, ['user_change']],
		['alice', kinds(Ab, [MP]), ['user_typing']], ['dave', kd, ['message']],
	];
	const missing = want.filter(([, k, alts]) => !alts.some((t) => k.has(t))).map(([w, , alts]) => `${w}: ${alts.join('|')}`);
	process.stderr.write(`# alice saw ${[...ka].join(' ')}\n# carol saw ${[...kc].join(' ')}\n`);
	assert.deepEqual(missing, [], 'members did not get these events');

	// Sentinels: one post each side, after everything above.
	const sA = (await a.chat.postMessage({ channel: mine, text: `sentinel ${uniq('s')}` })).ts;
	const gen = (await B.alice.client.conversations.list({ types: 'public_channel' })).channels.find((x) => x.is_general).id;
	await B.bot.client.conversations.join({ channel: gen });
	const sB = (await B.alice.client.chat.postMessage({ channel: gen, text: `sentinel ${uniq('s')}` })).ts;
	const isTs = (ts) => (e) => e.type === 'message' && e.ts === ts;
	const leakA = (e) => e.type !== 'error' && [mp, DM, MP, RMARK, MARK].some((s) => JSON.stringify(e).includes(s));
	await Bs.none(leakA, isTs(sA), { from: from.B, what: 'bob got group DM / DM events' });
	await Ts.none(leakA, isTs(sA), { from: from.T, what: 'the bot got group DM / DM events' });
	const leakToB = (e) => e.type !== 'error' && [A.org.id, alice.id, carol.id, dave.id, gA, mine, mp, DM, MP, RMARK, MARK, status].some((s) => JSON.stringify(e).includes(s));
	await Xs.none(leakToB, isTs(sB), { from: from.X, what: 'org B got org A events' });
	await XTs.none(leakToB, isTs(sB), { from: from.XT, what: 'org B\'s bot got org A events' });
	// No member received an outsider's typing.
	for (const s of [Ab, Cs]) assert.deepEqual(s.all((e) => e.type === 'user_typing' && e.user === bob.id), [], `${s.label} got bob's typing`);
	for (const s of [Ab, Cs, Ds, Bs, Ts, Xs, XTs]) await s.close();
});
