// Interaction state across a server restart (clean SIGTERM): open modals
// can still be updated, pushed onto and submitted; App Home views stay
// published; response URLs keep their remaining uses and their expiry;
// ephemeral messages keep working buttons. Trigger ids (3 s) are not kept.
// The Bolt apps run in Socket Mode; each is stopped before a restart and a
// new one started after it (the server comes back on a new port).
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer, waitFor, CanalServer } from './lib/server.mjs';
import { uniq, expectError, makeFixture } from './lib/fixture.mjs';
import { connect, closeAll } from './lib/rtm.mjs';
import { createInteractiveApp, boltSocket, postResponse, deferred, within } from './lib/interact.mjs';

let chan;
const env = useServer({ setup: async () => {
	const { alice, bob } = env.fx;
	chan = (await alice.client.conversations.create({ name: uniq('rs') })).channel;
	await alice.client.conversations.invite({ channel: chan.id, users: bob.id });
} });
after(closeAll);

const running = new Set();
after(async () => {
	for (const b of running) {
		try { await b.stop(); } catch { /* best effort */ }
	}
});

const call = (who, method, args) => who.client.apiCall(method, args);

// A Bolt app for app on srv, set up by wire(bolt), started.
async function startBolt(srv, app, wire) {
	const b = await boltSocket(srv, app);
	wire(b);
	await b.start();
	running.add(b);
	return b;
}

async function stopBolt(b) {
	running.delete(b);
	await b.stop();
}

// A response URL names the server it came from; after a restart on a new
// port the same path is reached at the new address (a real deployment
// keeps its address).
const rebase = (srv, url) => srv.base + new URL(url).pathname;

const BUTTON = [{
	type: 'actions', block_id: 'act', elements: [
		{ type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' }, value: 'v1' },
	],
}];

const MODAL = (extra = {}) => ({
	type: 'modal',
	callback_id: 'rs_form',
	title: { type: 'plain_text', text: 'Ticket' },
	submit: { type: 'plain_text', text: 'Send' },
	private_metadata: 'kept',
	blocks: [
		{ type: 'input', block_id: 'title', label: { type: 'plain_text', text: 'Title' }, element: { type: 'plain_text_input', action_id: 'v' } },
		{ type: 'actions', block_id: 'more', elements: [{ type: 'button', action_id: 'more_btn', text: { type: 'plain_text', text: 'More' }, value: 'm' }] },
	],
	...extra,
});

test('a modal opened before a restart is updated, pushed onto and submitted after it', async () => {
	const { alice } = env.fx;
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('rsmodal') });
	await app.client.conversations.join({ channel: chan.id });
	const opened = deferred();
	const b1 = await startBolt(env.srv, app, (b) => {
		b.action('go', async ({ ack, body, client }) => {
			await ack();
			opened.resolve((await client.views.open({ trigger_id: body.trigger_id, view: MODAL({ external_id: uniq('ext') }) })).view);
		});
	});
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'open a ticket', blocks: BUTTON });
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'go' });
	const view = await within(opened, 5000, 'views.open');
	await stopBolt(b1);

	await env.srv.restart();

	// The app updates it by id and by external_id; stale hash still refused.
	const u1 = await app.client.views.update({ view_id: view.id, hash: view.hash, view: MODAL({ private_metadata: 'after-restart' }) });
	assert.equal(u1.view.id, view.id);
	assert.equal(u1.view.private_metadata, 'after-restart');
	assert.equal(u1.view.external_id, view.external_id, 'external_id kept');
	await expectError(app.client.views.update({ view_id: view.id, hash: view.hash, view: MODAL() }), 'hash_conflict');
	const u2 = await app.client.views.update({ external_id: view.external_id, view: MODAL({ private_metadata: 'by-ext' }) });
	assert.equal(u2.view.id, view.id);

	// Its button still produces block_actions from the view; the app pushes.
	const pushed = deferred();
	const submitted = deferred();
	const b2 = await startBolt(env.srv, app, (b) => {
		b.action('more_btn', async ({ ack, body, client }) => {
			await ack();
			assert.equal(body.view.id, view.id);
			pushed.resolve((await client.views.push({ trigger_id: body.trigger_id, view: MODAL({ callback_id: 'rs_top' }) })).view);
		});
		b.view('rs_top', async ({ ack, body }) => { submitted.resolve(body); await ack({ response_action: 'clear' }); });
	});
	await call(alice, 'blocks.action', { view_id: view.id, action_id: 'more_btn', block_id: 'more' });
	const top = await within(pushed, 5000, 'views.push');
	assert.equal(top.previous_view_id, view.id);
	assert.equal(top.root_view_id, view.id);

	// Restart again with two views stacked; submitting the top one reaches the app.
	await stopBolt(b2);
	await env.srv.restart();
	const b3 = await startBolt(env.srv, app, (b) => {
		b.view('rs_top', async ({ ack, body }) => { submitted.resolve(body); await ack({ response_action: 'clear' }); });
	});
	const r = await call(alice, 'views.submit', { view_id: top.id, values: JSON.stringify({ title: { v: { value: 'Printer on fire' } } }) });
	assert.equal(r.response_action, 'clear');
	const body = await within(submitted, 5000, 'view_submission');
	assert.equal(body.type, 'view_submission');
	assert.equal(body.view.id, top.id);
	assert.equal(body.view.previous_view_id, view.id);
	assert.equal(body.view.state.values.title.v.value, 'Printer on fire');
	await stopBolt(b3);

	// clear closed the whole stack, and that too survives a restart.
	await env.srv.restart();
	await expectError(app.client.views.update({ view_id: view.id, view: MODAL() }), 'not_found');
	await expectError(app.client.views.update({ view_id: top.id, view: MODAL() }), 'not_found');
	await expectError(call(alice, 'views.submit', { view_id: top.id, values: '{}' }), 'not_found');
});

test('App Home (views.publish) stays published across a restart until replaced', async () => {
	const { alice, bob } = env.fx;
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('rshome') });
	const home = (text) => ({ type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, ...BUTTON] });
	const ra = await app.client.views.publish({ user_id: alice.id, view: home('Alice home') });
	const rb = await app.client.views.publish({ user_id: bob.id, view: home('Bob home') });

	await env.srv.restart();

	// Still there: the old hash is refused, the current one accepted, same id.
	await expectError(app.client.views.publish({ user_id: alice.id, hash: 'stale.hash', view: home('x') }), 'hash_conflict');
	const clicked = deferred();
	const b = await startBolt(env.srv, app, (x) => {
		x.action('go', async ({ ack, body }) => { await ack(); clicked.resolve(body); });
	});
	await call(alice, 'blocks.action', { view_id: ra.view.id, action_id: 'go', block_id: 'act' });
	const body = await within(clicked, 5000, 'block_actions from the home view');
	assert.equal(body.view.id, ra.view.id);
	assert.equal(body.view.type, 'home');
	assert.equal(body.view.blocks[0].text.text, 'Alice home');
	await expectError(call(bob, 'blocks.action', { view_id: ra.view.id, action_id: 'go' }), 'not_found', 'someone else\'s home');
	await stopBolt(b);

	const rtm = await connect(alice.client);
	const r2 = await app.client.views.publish({ user_id: alice.id, hash: ra.view.hash, view: home('Replaced') });
	assert.equal(r2.view.id, ra.view.id, 'one home view per app and person');
	await rtm.next((e) => e.type === 'view_published' && e.view.id === ra.view.id);

	await env.srv.restart();
	const r3 = await app.client.views.update({ view_id: ra.view.id, hash: r2.view.hash, view: home('Updated') });
	assert.equal(r3.view.id, ra.view.id);
	assert.equal(r3.view.blocks[0].text.text, 'Updated');
	const r4 = await app.client.views.publish({ user_id: bob.id, hash: rb.view.hash, view: home('Bob again') });
	assert.equal(r4.view.id, rb.view.id);
});

test('a slash command\'s response_url works after a restart, keeping its 5 uses', async () => {
	const { alice, bob } = env.fx;
	const cmd = '/' + uniq('rscmd').replace(/-/g, '');
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('rscmd'), commands: [{ command: cmd }] });
	const got = deferred();
	const b = await startBolt(env.srv, app, (x) => {
		x.command(cmd, async ({ command: c, ack }) => { got.resolve(c.response_url); await ack(); });
	});
	await call(alice, 'chat.command', { channel: chan.id, command: cmd, text: 'deploy' });
	const url = await within(got, 5000, 'response_url');
	const r1 = await postResponse(url, { response_type: 'in_channel', text: 'deploy started' });
	assert.equal(r1.status, 200, r1.text);
	await stopBolt(b);

	await env.srv.restart();

	const u = rebase(env.srv, url);
	const bobRtm = await connect(bob.client);
	const r2 = await postResponse(u, { response_type: 'in_channel', text: 'deploy finished' });
	assert.equal(r2.status, 200, r2.text);
	await bobRtm.next((e) => e.type === 'message' && e.text === 'deploy finished' && e.channel === chan.id);
	const hist = (await alice.client.conversations.history({ channel: chan.id, limit: 20 })).messages;
	assert.ok(hist.some((m) => m.text === 'deploy finished' && m.bot_id === app.bot_id), 'posted as the app');
	for (let i = 3; i <= 5; i++) assert.equal((await postResponse(u, { text: `use ${i}` })).status, 200, `use ${i}`);
	const sixth = await postResponse(u, { text: 'one too many' });
	assert.equal(sixth.status, 404);
	assert.equal(sixth.text, 'used_url');

	// Used up stays used up.
	await env.srv.restart();
	const later = await postResponse(rebase(env.srv, url), { text: 'still no' });
	assert.equal(later.status, 404);
	assert.equal(later.text, 'used_url');
	// Bad bodies are still refused (and cost no use of a live URL).
	const fresh = deferred();
	const b2 = await startBolt(env.srv, app, (x) => {
		x.command(cmd, async ({ command: c, ack }) => { fresh.resolve(c.response_url); await ack(); });
	});
	await call(alice, 'chat.command', { channel: chan.id, command: cmd, text: 'again' });
	const url2 = await within(fresh, 5000, 'second response_url');
	await stopBolt(b2);
	await env.srv.restart();
	const bad = await postResponse(rebase(env.srv, url2), '{not json');
	assert.equal(bad.status, 400);
	assert.equal(bad.text, 'invalid_payload');
	assert.equal((await postResponse(rebase(env.srv, url2), { text: 'fine' })).status, 200);
});

test('ephemeral message buttons and their response_url work after a restart', async () => {
	const { alice } = env.fx;
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('rseph') });
	await app.client.conversations.join({ channel: chan.id });
	const e = await app.client.chat.postEphemeral({ channel: chan.id, user: alice.id, text: 'only you', blocks: BUTTON });

	await env.srv.restart();

	const bodies = [];
	const b = await startBolt(env.srv, app, (x) => {
		x.action('go', async ({ ack, body }) => { await ack(); bodies.push(body); });
	});
	await expectError(call(env.fx.bob, 'blocks.action', { channel: chan.id, message_ts: e.message_ts, action_id: 'go' }), 'message_not_found', 'not bob\'s');
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: e.message_ts, action_id: 'go' });
	await waitFor(() => bodies.length === 1, { what: 'block_actions on the ephemeral' });
	assert.equal(bodies[0].container.is_ephemeral, true);
	assert.equal(bodies[0].container.message_ts, e.message_ts);
	await stopBolt(b);

	await env.srv.restart();
	const rtm = await connect(alice.client);
	const r = await postResponse(rebase(env.srv, bodies[0].response_url), { replace_original: true, text: 'replaced after restart' });
	assert.equal(r.status, 200, r.text);
	const rep = await rtm.next((x) => x.is_ephemeral && x.replace_original && x.ts === e.message_ts);
	assert.equal(rep.text, 'replaced after restart');
	assert.ok(!(await alice.client.conversations.history({ channel: chan.id, limit: 100 })).messages.some((m) => /only you|replaced after/.test(m.text)), 'never in history');
});

test('trigger ids are not kept across a restart (valid 3 s anyway)', async () => {
	const { alice } = env.fx;
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('rstrig') });
	await app.client.conversations.join({ channel: chan.id });
	const trig = deferred();
	const b = await startBolt(env.srv, app, (x) => {
		x.action('go', async ({ ack, body }) => { await ack(); trig.resolve(body.trigger_id); });
	});
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'trig', blocks: BUTTON });
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'go' });
	const t = await within(trig, 5000, 'trigger_id');
	await stopBolt(b);
	await env.srv.restart();
	await expectError(app.client.views.open({ trigger_id: t, view: MODAL() }), 'invalid_trigger_id');
});

test('response_url expiry holds across a restart (response-url-ttl)', async () => {
	const srv = await CanalServer.create({ extraArgs: ['--response-url-ttl', '2'] });
	try {
		const fx = await makeFixture(srv);
		const c2 = (await fx.alice.client.conversations.create({ name: uniq('rsttl') })).channel;
		const cmd = '/' + uniq('rsttl').replace(/-/g, '');
		const app = await createInteractiveApp(srv, fx.org.id, { name: uniq('rsttlapp'), commands: [{ command: cmd }] });
		const url = deferred();
		const b = await startBolt(srv, app, (x) => {
			x.command(cmd, async ({ command: c, ack }) => { url.resolve(c.response_url); await ack(); });
		});
		await fx.alice.client.apiCall('chat.command', { channel: c2.id, command: cmd, text: '' });
		const u = await within(url, 5000, 'response_url');
		const issued = Date.now();
		await stopBolt(b);
		await srv.restart();
		// Past its 2 s life (counted from issue, not from the restart).
		const wait = issued + 2300 - Date.now();
		if (wait > 0) await new Promise((r) => setTimeout(r, wait));
		const late = await postResponse(rebase(srv, u), { text: 'too late' });
		assert.equal(late.status, 404);
		assert.equal(late.text, 'expired_url');
		// And after another restart (the expired row was purged) it stays gone.
		await srv.restart();
		const later = await postResponse(rebase(srv, u), { text: 'still too late' });
		assert.equal(later.status, 404);
		assert.equal(later.text, 'expired_url');
	} finally {
		await srv.stop();
	}
});
