// Real-time isolation: non-members of a private channel (bob, a bot with
// every scope), connected the whole time, receive nothing about it, for
// every event type, even when mentioned; another organisation receives
// nothing from this one. Malformed input gets an error event or a close,
// never a crash.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer } from './lib/server.mjs';
import { uniq, createUser, makeFixture, findGeneral } from './lib/fixture.mjs';
import {
	connect, closeAll, rawConnect, frame, closeCode, describeFrame, rawEvents, assertHealthy, EVENT_TIMEOUT_MS,
} from './lib/rtm.mjs';

const MARK = `zq${Math.random().toString(36).slice(2, 8)}`; // in every private text
let carol; // second member of the private channel
let sent; // public sentinel channel: alice, bob, bot, carol
let A, B, T, C, X; // sockets: alice, bob, bot, carol, org B's alice
let orgB;
let sentB; // org B channel for org B's sentinel
const env = useServer({ setup: async () => {
	const { org, alice, bob, bot } = env.fx;
	carol = await createUser(env.srv, org.id, 'carol');
	sent = (await alice.client.conversations.create({ name: uniq('rt-sentinel') })).channel;
	await alice.client.conversations.invite({ channel: sent.id, users: `${bob.id},${carol.id}` });
	await bot.client.conversations.join({ channel: sent.id });
	orgB = await makeFixture(env.srv, { orgName: uniq('OrgB') });
	sentB = await findGeneral(orgB.alice.client);
	A = await connect(alice.client, { label: 'alice' });
	B = await connect(bob.client, { label: 'bob' });
	T = await connect(bot.client, { label: 'bot' });
	C = await connect(carol.client, { label: 'carol' });
	X = await connect(orgB.alice.client, { label: 'orgB-alice' });
} });
after(closeAll);

async function sentinel(text) {
	return (await env.fx.alice.client.chat.postMessage({ channel: sent.id, text })).ts;
}
const msgTs = (ts) => (e) => e.type === 'message' && e.ts === ts;

test('a non-member (bob, a bot) receives nothing from a private channel or a DM, for every event type', async () => {
	const { alice, bob, bot } = env.fx;
	const a = alice.client;
	const c = carol.client;
	const from = { B: B.mark(), T: T.mark() };

	// A user group with bob (and carol) in it, made before the actions.
	const g = (await a.usergroups.create({ name: uniq('Seniors'), handle: uniq('seniors') })).usergroup;
	await a.usergroups.users.update({ usergroup: g.id, users: `${bob.id},${carol.id}` });

	const P = (await a.conversations.create({ name: uniq(`secret-${MARK}`), is_private: true })).channel;
	await a.conversations.invite({ channel: P.id, users: carol.id });
	await C.next((e) => e.type === 'message' && e.channel === P.id && e.subtype === 'channel_join', EVENT_TIMEOUT_MS, 0, 'carol sees her join');

	const texts = [
		`${MARK} plain`,
		`${MARK} hey <@${bob.id}>`,
		`${MARK} hey <@${bot.bot_user_id}>`,
		`${MARK} <!channel> all`,
		`${MARK} <!here> online`,
		`${MARK} <!everyone> everyone`,
		`${MARK} <!subteam^${g.id}> seniors`,
	];
	const tss = [];
	for (const t of texts) tss.push((await a.chat.postMessage({ channel: P.id, text: t })).ts);
	const root = tss[0];
	await a.chat.update({ channel: P.id, ts: tss[1], text: `${MARK} edited <@${bob.id}>` });
	await a.chat.delete({ channel: P.id, ts: tss[2] });
	await c.reactions.add({ channel: P.id, timestamp: root, name: 'eyes' });
	await c.reactions.remove({ channel: P.id, timestamp: root, name: 'eyes' });
	await c.reactions.add({ channel: P.id, timestamp: root, name: 'tada' });
	await c.chat.postMessage({ channel: P.id, text: `${MARK} reply <@${bob.id}>`, thread_ts: root });
	await c.chat.postMessage({ channel: P.id, text: `${MARK} broadcast`, thread_ts: root, reply_broadcast: true });
	await a.pins.add({ channel: P.id, timestamp: root });
	await a.pins.remove({ channel: P.id, timestamp: root });
	await a.pins.add({ channel: P.id, timestamp: tss[3] });
	await a.conversations.setTopic({ channel: P.id, topic: `${MARK} topic` });
	await a.conversations.setPurpose({ channel: P.id, purpose: `${MARK} purpose` });
	await a.conversations.rename({ channel: P.id, name: uniq(`renamed-${MARK}`) });
	A.send({ type: 'typing', channel: P.id });
	C.send({ type: 'typing', channel: P.id });
	await a.conversations.mark({ channel: P.id, ts: tss[4] });
	await c.conversations.mark({ channel: P.id, ts: tss[5] });
	await a.conversations.kick({ channel: P.id, user: carol.id });
	await a.conversations.invite({ channel: P.id, users: carol.id });
	await a.conversations.archive({ channel: P.id });
	await a.conversations.unarchive({ channel: P.id });
	await c.conversations.leave({ channel: P.id });
	await a.conversations.invite({ channel: P.id, users: carol.id });
	// bob tries to type into it (not a member): nobody may get it.
	B.send({ type: 'typing', channel: P.id });
	await B.ping();

	// A DM between alice and carol, mentioning bob.
	const dm = (await a.conversations.open({ users: carol.id })).channel.id;
	const d1 = (await a.chat.postMessage({ channel: dm, text: `${MARK} dm <@${bob.id}> <!channel>` })).ts;
	await c.reactions.add({ channel: dm, timestamp: d1, name: 'wave' });
	await a.chat.update({ channel: dm, ts: d1, text: `${MARK} dm edited` });
	await c.chat.postMessage({ channel: dm, text: `${MARK} dm reply`, thread_ts: d1 });
	await a.pins.add({ channel: dm, timestamp: d1 });
	await a.chat.delete({ channel: dm, ts: d1 });
	C.send({ type: 'typing', channel: dm });
	await C.ping();

	// The members did get it (the test means something).
	await A.next((e) => e.type === 'message' && e.ts === tss[6] && e.channel === P.id, EVENT_TIMEOUT_MS, 0, 'alice gets the private message');
	await C.next((e) => e.type === 'message' && e.ts === tss[1] && e.channel === P.id, EVENT_TIMEOUT_MS, 0, 'carol gets the private message');
	await C.next((e) => e.type === 'user_typing' && e.channel === P.id && e.user === alice.id, EVENT_TIMEOUT_MS, 0, 'carol gets alice typing');
	await A.next((e) => e.type === 'user_typing' && e.channel === dm && e.user === carol.id, EVENT_TIMEOUT_MS, 0, 'alice gets carol typing in the DM');

	// Every event type happened, as the members saw it.
	await A.ping();
	await C.ping();
	const kinds = (sock) => new Set(sock.all((e) => JSON.stringify(e).includes(P.id)).map((e) => (e.subtype ? `${e.type}/${e.subtype}` : e.type)));
	const ka = kinds(A);
	const kc = kinds(C);
	process.stderr.write(`# alice saw ${[...ka].join(' ')}\n# carol saw ${[...kc].join(' ')}\n`);
	const want = [
		['alice', ka, ['message']], ['alice', ka, ['message/message_changed']], ['alice', ka, ['message/message_deleted']],
		['alice', ka, ['reaction_added']], ['alice', ka, ['reaction_removed']], ['alice', ka, ['message/message_replied']],
		['alice', ka, ['message/thread_broadcast']], ['alice', ka, ['pin_added']], ['alice', ka, ['pin_removed']],
		['alice', ka, ['message/channel_topic']], ['alice', ka, ['message/channel_purpose']], ['alice', ka, ['message/channel_name']],
		['alice', ka, ['member_joined_channel']], ['alice', ka, ['member_left_channel']],
		['alice', ka, ['channel_rename', 'group_rename']], ['alice', ka, ['channel_archive', 'group_archive']],
		['alice', ka, ['channel_unarchive', 'group_unarchive']], ['alice', ka, ['group_marked']],
		['carol', kc, ['user_typing']], ['carol', kc, ['channel_joined', 'group_joined']], ['carol', kc, ['channel_left', 'group_left']],
	];
	const missing = want.filter(([, k, alts]) => !alts.some((t) => k.has(t))).map(([who, , alts]) => `${who}: ${alts.join('|')}`);
	assert.deepEqual(missing, [], 'members of the private channel did not get these events');

	const s = await sentinel(`sentinel ${uniq('s')}`);
	const leak = (e) => {
		if (e.type === 'error') return false; // an answer to bob's own typing attempt
		const j = JSON.stringify(e);
		return j.includes(P.id) || j.includes(dm) || j.includes(MARK);
	};
	await B.none(leak, msgTs(s), { from: from.B, what: 'bob (non-member) got private-channel / DM events' });
	await T.none(leak, msgTs(s), { from: from.T, what: 'bot (non-member) got private-channel / DM events' });
	// bob's typing attempt reached no member.
	const sa = await A.next(msgTs(s));
	const bobTyping = A.all((e) => e.type === 'user_typing' && e.user === bob.id && e.channel === P.id);
	assert.deepEqual(bobTyping, [], `alice got a non-member's typing in the private channel (before ${sa.ts})`);
	await C.next(msgTs(s));
	assert.deepEqual(C.all((e) => e.type === 'user_typing' && e.user === bob.id && e.channel === P.id), []);
});

test('a non-member\'s unread / mention counts never include the private channel', async () => {
	const { alice, bob } = env.fx;
	const P = (await alice.client.conversations.create({ name: uniq('secret-counts'), is_private: true })).channel;
	await alice.client.chat.postMessage({ channel: P.id, text: `<@${bob.id}> <!channel> ${MARK}` });
	const r = await bob.client.apiCall('client.counts');
	assert.equal(r.ok, true);
	const all = [...(r.channels || []), ...(r.mpims || []), ...(r.ims || []), ...(r.groups || [])];
	assert.ok(!all.some((x) => x.id === P.id), `bob's client.counts lists the private channel: ${JSON.stringify(all.filter((x) => x.id === P.id))}`);
});

test('another organisation receives nothing from this one (channel_created, messages, profiles, groups, presence)', async () => {
	const { org, alice, bob, bot } = env.fx;
	const from = X.mark();
	// Org B's alice asks for the presence of org A's users.
	X.send({ type: 'presence_sub', ids: [alice.id, bob.id, carol.id] });
	await X.ping();
	const fromAfterSub = X.mark();
	const pub = (await alice.client.conversations.create({ name: uniq('org-a-news') })).channel;
	await alice.client.chat.postMessage({ channel: pub.id, text: `${MARK} org A news <!everyone>` });
	await alice.client.chat.postMessage({ channel: sent.id, text: `${MARK} org A <!channel>` });
	await bob.client.users.profile.set({ profile: { status_text: `${MARK} status` } });
	const g = (await alice.client.usergroups.create({ name: uniq(`OrgA ${MARK}`), handle: uniq('orga') })).usergroup;
	await alice.client.usergroups.update({ usergroup: g.id, description: MARK });
	// Presence flips in org A: a second alice socket and bob's away/auto.
	const A2 = await connect(alice.client, { label: 'alice#2' });
	await A2.close();
	const D = await connect((await createUser(env.srv, org.id, uniq('dora'))).client, { label: 'dora' });
	await D.close();
	B.send({ type: 'typing', channel: sent.id });
	await B.ping();

	const sb = (await orgB.alice.client.chat.postMessage({ channel: sentB.id, text: `org B sentinel ${uniq('s')}` })).ts;
	const ids = [org.id, alice.id, bob.id, carol.id, bot.bot_user_id, pub.id, sent.id, g.id, MARK];
	// An error answer to the presence_sub (echoing the ids) is not a leak.
	const leak = (e) => e.type !== 'error' && ids.some((id) => JSON.stringify(e).includes(id));
	await X.none(leak, msgTs(sb), { from, what: 'org B received org A events' });
	assert.deepEqual(X.all((e) => e.type === 'presence_change', fromAfterSub), [], 'org B got presence_change for org A users');
	// Org A saw its own channel_created.
	await B.next((e) => e.type === 'channel_created' && e.channel && e.channel.id === pub.id);
});

// ---- malformed input: an error event or a close, never a crash ----

async function expectErrorEvent(sock, payload, what) {
	const from = sock.mark();
	sock.send(payload);
	const ev = await sock.next((e) => e.type === 'error', EVENT_TIMEOUT_MS, from, `error event for ${what}`);
	assert.equal(typeof ev.error, 'object', `${what}: error event has an error object: ${JSON.stringify(ev)}`);
	await sock.ping(); // still open and answering
	await assertHealthy(env.srv, `after ${what}`);
	return ev;
}

test('malformed JSON and unknown types: an error event, the socket stays open', async () => {
	const s = await connect(env.fx.alice.client, { label: 'alice-malformed' });
	for (const p of ['not json', '{"type":', '{}', '[]', '42', '"ping"', 'null', '{"type":42}', '{"type":""}', '{"id":3}', '\u0000\u0001']) {
		await expectErrorEvent(s, p, `text frame ${JSON.stringify(p)}`);
	}
	const ev = await expectErrorEvent(s, JSON.stringify({ type: 'no_such_type', id: 77 }), 'unknown type with id');
	assert.equal(ev.reply_to, 77, `error for an unknown type answers reply_to: ${JSON.stringify(ev)}`);
	assert.equal(s.closeInfo, null, 'socket still open');
	await s.close();
});

test('odd but well-formed client messages never crash or close the socket', async () => {
	const s = await connect(env.fx.alice.client, { label: 'alice-odd' });
	const odd = [
		{ type: 'typing' },
		{ type: 'typing', channel: 'C0NOSUCHCHAN' },
		{ type: 'typing', channel: 42 },
		{ type: 'typing', channel: sent.id.repeat(200) },
		{ type: 'presence_sub' },
		{ type: 'presence_sub', ids: 'U123' },
		{ type: 'presence_sub', ids: [1, null, {}, 'U0NOSUCH', 'x'.repeat(1000)] },
		{ type: 'presence_sub', ids: Array.from({ length: 5000 }, (_, i) => `U${String(i).padStart(9, '0')}`) },
		{ type: 'presence_query', ids: ['U0NOSUCH'] },
		{ type: 'presence_query', ids: {} },
		{ type: 'ping' },
		{ type: 'ping', id: 'abc' },
		{ type: 'ping', id: -1 },
		{ type: 'ping', id: 1e300 },
		{ type: 'message', channel: sent.id, text: 'RTM posting is not supported' },
		{ type: 'hello' },
		{ type: 'error' },
	];
	for (const m of odd) {
		s.send(m);
		await s.ping();
		assert.equal(s.closeInfo, null, `socket closed after ${JSON.stringify(m).slice(0, 100)}`);
		await assertHealthy(env.srv, `after ${JSON.stringify(m).slice(0, 100)}`);
	}
	// Deeply nested JSON.
	s.send('['.repeat(100000) + ']'.repeat(100000));
	s.send('{"a":'.repeat(50000) + '1' + '}'.repeat(50000));
	await s.ping(10000).catch((e) => { if (!s.closeInfo) throw e; });
	await assertHealthy(env.srv, 'after deeply nested JSON');
	await s.close();
});

test('a flood of client messages: error events or a close, never a crash; others unaffected', async () => {
	const s = await connect(env.fx.alice.client, { label: 'alice-flood' });
	for (let i = 0; i < 2000; i++) s.send({ type: 'typing', channel: sent.id });
	for (let i = 0; i < 200; i++) s.send('garbage');
	const from = s.mark();
	s.send({ type: 'ping', id: 9 });
	const r = await Promise.race([
		s.next((e) => e.type === 'pong' && e.reply_to === 9, 15000, from, 'pong after the flood').then(() => 'pong', (e) => (s.closeInfo ? 'closed' : Promise.reject(e))),
		s.closed.then(() => 'closed'),
	]);
	if (r === 'closed') assert.ok([1008, 1013].includes(s.closeInfo.code), `flood: close ${JSON.stringify(s.closeInfo)}`);
	await assertHealthy(env.srv, 'after a flood');
	await A.ping();
	// Typing events fanned out to bob are bounded by the server too: bob's
	// socket is still open.
	await B.ping();
	await s.close();
});

test('binary frame -> close 1003; non-UTF-8 text -> close 1007', async () => {
	const s1 = await connect(env.fx.alice.client, { label: 'alice-binary' });
	s1.ws.send(Buffer.from([1, 2, 3, 0xff]), { binary: true });
	const c1 = await s1.waitClosed();
	assert.equal(c1.code, 1003, `binary frame: close ${JSON.stringify(c1)}`);
	await assertHealthy(env.srv, 'after a binary frame');

	const s2 = await connect(env.fx.alice.client, { label: 'alice-utf8' });
	s2.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0xfe, 0x7d]), { binary: false });
	const c2 = await s2.waitClosed();
	assert.equal(c2.code, 1007, `invalid UTF-8 text: close ${JSON.stringify(c2)}`);
	await assertHealthy(env.srv, 'after invalid UTF-8');

	// Overlong encoding and a surrogate: invalid UTF-8 too.
	for (const bytes of [[0x22, 0xc0, 0xaf, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]]) {
		const s = await connect(env.fx.alice.client, { label: 'alice-utf8b' });
		s.ws.send(Buffer.from(bytes), { binary: false });
		const c = await s.waitClosed();
		assert.equal(c.code, 1007, `invalid UTF-8 ${Buffer.from(bytes).toString('hex')}: close ${JSON.stringify(c)}`);
	}
	await assertHealthy(env.srv, 'after invalid UTF-8 variants');
	// Others are unaffected.
	await A.ping();
});

test('a valid fragmented message with an interleaved ping works (raw frames)', async () => {
	const rs = await rawConnect(env.fx.alice.client, env.srv);
	await rs.nextFrame((f) => f.opcode === 1 && f.payload.toString().includes('hello'), EVENT_TIMEOUT_MS, 'hello');
	const msg = Buffer.from(JSON.stringify({ type: 'ping', id: 5 }));
	rs.write(frame(1, msg.subarray(0, 7), { fin: false }));
	rs.write(frame(9, 'are you there'));
	rs.write(frame(0, msg.subarray(7, 12), { fin: false }));
	rs.write(frame(0, msg.subarray(12), { fin: true }));
	const pong = await rs.nextFrame((f) => f.opcode === 10, EVENT_TIMEOUT_MS, 'WebSocket pong');
	assert.equal(pong.payload.toString(), 'are you there', 'pong echoes the ping payload');
	await rs.nextFrame((f) => f.opcode === 1 && f.payload.toString().includes('"pong"'), EVENT_TIMEOUT_MS, 'pong event');
	const ev = rawEvents(rs).find((e) => e.type === 'pong');
	assert.equal(ev.reply_to, 5);
	assert.ok(rs.frames.every((f) => !f.masked), 'server frames are never masked');
	// A clean close: the server answers with a close frame.
	rs.write(frame(8, Buffer.from([0x03, 0xe8])));
	const cf = await rs.nextFrame((f) => f.opcode === 8, EVENT_TIMEOUT_MS, 'close reply');
	assert.equal(closeCode(cf), 1000, `close reply: ${JSON.stringify(describeFrame(cf))}`);
	await rs.waitEnd();
	await assertHealthy(env.srv, 'after a clean raw close');
});

test('protocol violations (raw frames) close the connection, never crash the server', async () => {
	const cases = [
		['unmasked client frame', () => frame(1, '{"type":"ping","id":1}', { mask: false })],
		['RSV1 set without an extension', () => frame(1, '{"type":"ping","id":1}', { rsv: 4 })],
		['reserved opcode 3', () => frame(3, 'x')],
		['reserved control opcode 0xB', () => frame(0xb, 'x')],
		['continuation with nothing to continue', () => frame(0, 'x')],
		['fragmented control frame', () => frame(9, 'x', { fin: false })],
		['control frame over 125 bytes', () => frame(9, 'x'.repeat(126))],
		['new text frame inside a fragmented message', () => Buffer.concat([frame(1, '{"ty', { fin: false }), frame(1, 'pe":"ping"}')])],
		['64-bit length of 2^62', () => {
			const h = Buffer.alloc(14);
			h[0] = 0x81; h[1] = 0xff; h.writeBigUInt64BE(1n << 62n, 2);
			return Buffer.concat([h, Buffer.from('abcd')]);
		}],
		['64-bit length with the top bit set', () => {
			const h = Buffer.alloc(14);
			h[0] = 0x81; h[1] = 0xff; h.writeBigUInt64BE(1n << 63n, 2);
			return h;
		}],
		['close frame with a 1-byte payload', () => frame(8, Buffer.from([3]))],
		['close frame with an invalid code 999', () => frame(8, Buffer.from([0x03, 0xe7]))],
		['close frame with invalid UTF-8 reason', () => frame(8, Buffer.from([0x03, 0xe8, 0xff, 0xfe]))],
	];
	for (const [what, make] of cases) {
		const rs = await rawConnect(env.fx.alice.client, env.srv);
		await rs.nextFrame((f) => f.opcode === 1, EVENT_TIMEOUT_MS, `hello (${what})`);
		rs.write(make());
		// Failing the connection: a close frame, or TCP closed.
		try {
			await rs.waitCloseOrEnd(EVENT_TIMEOUT_MS);
		} catch (e) {
			rs.destroy();
			throw new Error(`${what}: the server neither sent a close frame nor closed TCP: ${e.message}`);
		}
		const cf = rs.frames.find((f) => f.opcode === 8);
		rs.destroy();
		if (cf) {
			const code = closeCode(cf);
			assert.ok(code === null || (code >= 1000 && code < 5000 && ![1004, 1005, 1006, 1015].includes(code)), `${what}: close code ${code} must be a valid code`);
		}
		await assertHealthy(env.srv, `after ${what}`);
	}
	// A connection dropped mid-frame.
	const rs = await rawConnect(env.fx.alice.client, env.srv);
	rs.write(frame(1, 'x'.repeat(1000)).subarray(0, 300));
	rs.destroy();
	await assertHealthy(env.srv, 'after a connection dropped mid-frame');
	await A.ping();
});

test('an oversized text message: error event or close, the server stays up', async () => {
	const s = await connect(env.fx.alice.client, { label: 'alice-big' });
	const from = s.mark();
	s.send(JSON.stringify({ type: 'typing', channel: sent.id, pad: 'x'.repeat(8 << 20) }));
	const r = await Promise.race([
		s.next((e) => e.type === 'error', 15000, from, 'error event for an 8 MiB message').then((e) => ({ error: e }), (e) => (s.closeInfo ? { close: s.closeInfo } : Promise.reject(e))),
		s.closed.then((c) => ({ close: c })),
	]);
	// Either is fine (a close may also reach us as 1006 when the server
	// resets the connection while the client is still sending).
	if (r.error) await s.ping();
	await assertHealthy(env.srv, 'after an 8 MiB message');
	await s.close();
	await A.ping();
});
