// Durability: everything acknowledged before a restart (clean SIGTERM or a
// SIGKILL crash) is there afterwards; the admin CLI works with the server
// stopped.
import assert from 'node:assert/strict';
import { test, useServer, runCli, waitFor } from './lib/server.mjs';
import { uniq, collect, createUser, tsCmp, expectError } from './lib/fixture.mjs';

const env = useServer();

async function snapshot(client, channel) {
	const msgs = await collect(client, 'conversations.history', { channel }, 'messages', 200);
	return msgs;
}

test('clean restart loses nothing acknowledged', async () => {
	const { alice, bob, bot } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('durable') })).channel;
	const priv = (await alice.client.conversations.create({ name: uniq('durable-priv'), is_private: true })).channel;
	await alice.client.conversations.invite({ channel: ch.id, users: `${bob.id},${bot.bot_user_id}` });
	await alice.client.conversations.setTopic({ channel: ch.id, topic: 'kept topic' });

	// Many concurrent writes; every acknowledged one must survive.
	const N = 60;
	const posted = await Promise.all(Array.from({ length: N }, (_, i) =>
		[alice, bob, bot][i % 3].client.chat.postMessage({ channel: ch.id, text: `durable ${i}` })));
	const tss = posted.map((p) => p.ts);
	const parent = tss[0];
	const reply = (await bob.client.chat.postMessage({ channel: ch.id, text: 'durable reply', thread_ts: parent })).ts;
	await Promise.all(tss.slice(0, 10).map((ts, i) =>
		bob.client.reactions.add({ channel: ch.id, timestamp: ts, name: i % 2 ? 'eyes' : 'white_check_mark' })));
	await alice.client.pins.add({ channel: ch.id, timestamp: tss[5] });
	await alice.client.chat.update({ channel: ch.id, ts: tss[6], text: 'edited before restart' });
	await alice.client.chat.delete({ channel: ch.id, ts: tss[9] }); // alice's own (i % 3 == 0)
	const group = (await alice.client.usergroups.create({ name: uniq('Durable'), handle: uniq('durable') })).usergroup;
	await alice.client.usergroups.users.update({ usergroup: group.id, users: `${alice.id},${bob.id}` });
	await bob.client.users.profile.set({ profile: { title: 'Keeper', status_text: 'restarting' } });
	const dm = (await alice.client.conversations.open({ users: bob.id })).channel.id;
	const dmTs = (await alice.client.chat.postMessage({ channel: dm, text: 'dm survives' })).ts;
	const carol = await createUser(env.srv, env.fx.org.id, uniq('carol'));

	const before = await snapshot(alice.client, ch.id);
	await env.srv.restart();

	// Tokens still valid.
	assert.equal((await alice.client.auth.test()).user_id, alice.id);
	assert.equal((await bot.client.auth.test()).bot_id, bot.bot_id);
	assert.equal((await carol.client.auth.test()).user_id, carol.id);

	const after = await snapshot(alice.client, ch.id);
	assert.deepEqual(after.map((m) => [m.ts, m.text, m.subtype ?? null]), before.map((m) => [m.ts, m.text, m.subtype ?? null]), 'history identical');
	const plainAfter = after.filter((m) => !m.subtype);
	assert.equal(plainAfter.length, N - 1, 'all acknowledged messages minus the deleted one');
	const byTs = new Map(after.map((m) => [m.ts, m]));
	assert.equal(byTs.get(tss[6]).text, 'edited before restart');
	assert.ok(byTs.get(tss[6]).edited, 'edited marker kept');
	assert.ok(!byTs.has(tss[9]), 'deleted stays deleted');
	assert.equal(byTs.get(tss[2]).bot_id, bot.bot_id, 'bot_id kept');
	for (let i = 0; i < 10; i++) {
		if (i === 9) continue;
		const r = byTs.get(tss[i]).reactions;
		assert.ok(r && r.length === 1, `reaction on message ${i}`);
		assert.deepEqual(r[0].users, [bob.id]);
	}
	assert.equal(byTs.get(parent).reply_count, 1);
	assert.equal(byTs.get(parent).latest_reply, reply);
	const rep = await alice.client.conversations.replies({ channel: ch.id, ts: parent });
	assert.deepEqual(rep.messages.map((m) => m.ts), [parent, reply]);

	const info = (await alice.client.conversations.info({ channel: ch.id, include_num_members: true })).channel;
	assert.equal(info.name, ch.name);
	assert.equal(info.topic.value, 'kept topic');
	assert.equal(info.num_members, 3);
	const pinfo = (await alice.client.conversations.info({ channel: priv.id })).channel;
	assert.equal(pinfo.is_private, true);
	await expectError(bob.client.conversations.info({ channel: priv.id }), 'channel_not_found', 'private stays private');

	const pins = await alice.client.pins.list({ channel: ch.id });
	assert.deepEqual(pins.items.map((i) => i.message.ts), [tss[5]]);
	const groups = await alice.client.usergroups.list({ include_users: true });
	const g = groups.usergroups.find((x) => x.id === group.id);
	assert.ok(g, 'user group kept');
	assert.equal(g.handle, group.handle);
	assert.deepEqual([...g.users].sort(), [alice.id, bob.id].sort());
	const prof = (await bob.client.users.profile.get()).profile;
	assert.equal(prof.title, 'Keeper');
	assert.equal(prof.status_text, 'restarting');
	assert.equal((await alice.client.conversations.open({ users: bob.id })).channel.id, dm, 'same DM after restart');
	assert.ok((await bob.client.conversations.history({ channel: dm })).messages.some((m) => m.ts === dmTs));

	// New messages sort after old ones.
	const next = await alice.client.chat.postMessage({ channel: ch.id, text: 'after restart' });
	for (const t of tss) assert.ok(tsCmp(next.ts, t) > 0, 'ts after restart is greater than every ts before');
});

test('SIGKILL (crash) loses nothing acknowledged', async () => {
	const { alice, bob } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('crash') })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: bob.id });
	const N = 40;
	const posted = await Promise.all(Array.from({ length: N }, (_, i) =>
		(i % 2 ? alice : bob).client.chat.postMessage({ channel: ch, text: `crash ${i}` })));
	await bob.client.reactions.add({ channel: ch, timestamp: posted[0].ts, name: 'eyes' });
	const name = uniq('made-before-crash');
	const made = (await alice.client.conversations.create({ name })).channel.id;
	const cliUser = await createUser(env.srv, env.fx.org.id, uniq('precrash'));

	const r = await env.srv.kill('SIGKILL');
	assert.equal(r.signal, 'SIGKILL');
	await env.srv.start();

	const msgs = await collect(alice.client, 'conversations.history', { channel: ch }, 'messages', 200);
	const got = new Set(msgs.map((m) => m.ts));
	const missing = posted.filter((p) => !got.has(p.ts)).map((p) => p.ts);
	assert.deepEqual(missing, [], 'acknowledged messages lost in the crash');
	const m0 = msgs.find((m) => m.ts === posted[0].ts);
	assert.deepEqual(m0.reactions?.map((x) => x.name), ['eyes']);
	assert.equal((await alice.client.conversations.info({ channel: made })).channel.name, name);
	assert.equal((await cliUser.client.auth.test()).user_id, cliUser.id, 'user created through the CLI before the crash');
});

test('SIGTERM with requests in flight: clean exit, every answered write is kept', async () => {
	const { alice, bob, bot } = env.fx;
	const ch = (await alice.client.conversations.create({ name: uniq('inflight') })).channel.id;
	await alice.client.conversations.invite({ channel: ch, users: `${bob.id},${bot.bot_user_id}` });
	// SIGTERM is sent from the callback of the 20th answer, while most of the
	// 600 posts are still queued or in flight.
	let acked = 0;
	let exit;
	const onAck = () => {
		if (++acked === 20) exit = env.srv.kill('SIGTERM');
	};
	const calls = Array.from({ length: 600 }, (_, i) => {
		const p = [alice, bob, bot][i % 3].client.chat.postMessage({ channel: ch, text: `inflight ${i}` });
		p.then(onAck, () => {});
		return p;
	});
	await waitFor(() => exit !== undefined, { timeoutMs: 20000, what: '20 answered posts' });
	const settled = await Promise.allSettled(calls);
	const r = await exit;
	assert.equal(r.code, 0, `exit after SIGTERM with requests in flight: ${JSON.stringify(r)}`);
	const answered = settled.filter((x) => x.status === 'fulfilled').map((x) => x.value.ts);
	const apiErrors = settled.filter((x) => x.status === 'rejected' && x.reason?.code === 'slack_webapi_platform_error').map((x) => x.reason.data.error);
	assert.deepEqual([...new Set(apiErrors)].filter((e) => e !== 'service_unavailable'), [], 'only transport errors or service_unavailable while stopping');
	await env.srv.start();
	const msgs = await collect(alice.client, 'conversations.history', { channel: ch }, 'messages', 200);
	const got = new Set(msgs.map((m) => m.ts));
	const lost = answered.filter((t) => !got.has(t));
	assert.deepEqual(lost, [], `${lost.length} of ${answered.length} answered posts lost`);
});

test('admin CLI works while the server is stopped', async () => {
	const { org } = env.fx;
	await env.srv.shutdown();
	const name = uniq('offline');
	const u = await runCli(env.srv.dataDir, ['user', 'create', '--org', org.id, '--name', name, '--email', `${name}@x.test`, '--password', 'pw-offline-123']);
	assert.match(u.token, /^xoxp-/);
	const users = await runCli(env.srv.dataDir, ['user', 'list', '--org', org.id]);
	assert.ok(users.some((x) => x.id === u.id), 'offline-created user listed offline');
	const orgs = await runCli(env.srv.dataDir, ['org', 'list']);
	assert.ok(orgs.some((o) => o.id === org.id));
	await env.srv.start();
	const { webClient } = await import('./lib/fixture.mjs');
	const c = webClient(env.srv, u.token);
	assert.equal((await c.auth.test()).user_id, u.id, 'offline-created token works after start');
	const l = await env.fx.alice.client.users.list({ limit: 1000 });
	assert.ok(l.members.some((m) => m.id === u.id));
});

test('restart twice in a row keeps working', async () => {
	const { alice } = env.fx;
	await env.srv.restart();
	await env.srv.restart();
	assert.equal((await alice.client.auth.test()).ok, true);
});
