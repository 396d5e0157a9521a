// Options loading for external selects (block_suggestion): the person
// types into an external_select / multi_external_select and asks through
// blocks.suggest; the app (Bolt's app.options(), over Socket Mode or
// HTTP to the manifest's message_menu_options_url) answers the options.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq, expectError } from './lib/fixture.mjs';
import { createInteractiveApp, boltSocket, boltHttpServer } from './lib/interact.mjs';

let chan;
const env = useServer({ setup: async () => {
	chan = (await env.fx.alice.client.conversations.create({ name: uniq('sugg') })).channel;
} });
const stoppers = [];
after(async () => {
	for (const s of stoppers.reverse()) {
		try { await s(); } catch { /* best effort */ }
	}
});

const call = (who, method, args) => who.client.apiCall(method, args);

const PEOPLE = ['alice', 'alfred', 'albert', 'bob', 'carol'];
const opt = (v) => ({ text: { type: 'plain_text', text: v }, value: v });

const MENU = [
	{
		type: 'actions', block_id: 'who', elements: [
			{ type: 'external_select', action_id: 'assignee', placeholder: { type: 'plain_text', text: 'Assignee' }, min_query_length: 2 },
			{ type: 'static_select', action_id: 'static', options: [opt('x')] },
			{ type: 'external_select', action_id: 'garbage' },
			{ type: 'external_select', action_id: 'unheard' },
		],
	},
];

async function socketApp() {
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('suggapp') });
	await app.client.conversations.join({ channel: chan.id });
	const b = await boltSocket(env.srv, app);
	return { app, bolt: b, start: async () => { await b.start(); stoppers.push(() => b.stop()); } };
}

test('Socket Mode: Bolt app.options() answers a message menu; min_query_length; option_groups in a view', async () => {
	const { alice } = env.fx;
	const { app, bolt: b, start } = await socketApp();
	const bodies = [];
	b.options('assignee', async ({ ack, body, options }) => {
		bodies.push(body);
		await ack({ options: PEOPLE.filter((p) => p.startsWith(options.value)).map(opt) });
	});
	b.options({ action_id: 'grouped' }, async ({ ack, options }) => {
		await ack({ option_groups: [{ label: { type: 'plain_text', text: 'Team' }, options: [opt(`${options.value}-1`), opt(`${options.value}-2`)] }] });
	});
	b.options('garbage', async ({ ack }) => { await ack({ options: [{ nope: true }] }); });
	await start();
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'assign', blocks: MENU });

	const r = await call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'assignee', value: 'al' });
	assert.deepEqual(r.options.map((o) => o.value), ['alice', 'alfred', 'albert']);
	const p = bodies[0];
	assert.equal(p.type, 'block_suggestion');
	assert.equal(p.action_id, 'assignee');
	assert.equal(p.block_id, 'who');
	assert.equal(p.value, 'al');
	assert.equal(p.api_app_id, app.id);
	assert.equal(p.user.id, alice.id);
	assert.equal(p.team.id, env.fx.org.id);
	assert.equal(p.channel.id, chan.id);
	assert.deepEqual(p.container, { type: 'message', message_ts: msg.ts, channel_id: chan.id, is_ephemeral: false });
	assert.equal(p.message.ts, msg.ts);

	// Shorter than min_query_length: nothing is asked.
	const short = await call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'assignee', value: 'a' });
	assert.deepEqual(short.options, []);
	assert.equal(bodies.length, 1);

	// An answer that is not a list of options shows none.
	const bad = await call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'garbage', value: 'abc' });
	assert.deepEqual(bad.options, []);
	assert.ok(JSON.stringify(bad.response_metadata || bad.warning || '').includes('invalid_options_response'), JSON.stringify(bad));

	// A multi_external_select in the person's App Home: option_groups.
	const home = await app.client.views.publish({ user_id: alice.id, view: { type: 'home', blocks: [
		{ type: 'section', block_id: 'tags', text: { type: 'mrkdwn', text: 'Tags' },
			accessory: { type: 'multi_external_select', action_id: 'grouped', placeholder: { type: 'plain_text', text: 'Tags' } } },
	] } });
	const g = await call(alice, 'blocks.suggest', { view_id: home.view.id, action_id: 'grouped', value: 'ops' });
	assert.equal(g.options, undefined);
	assert.equal(g.option_groups[0].label.text, 'Team');
	assert.deepEqual(g.option_groups[0].options.map((o) => o.value), ['ops-1', 'ops-2']);
	await expectError(call(env.fx.bob, 'blocks.suggest', { view_id: home.view.id, action_id: 'grouped', value: 'ops' }), 'not_found', 'someone else\'s view');
});

test('bad requests: Slack-shaped errors, nothing dispatched', async () => {
	const { alice, bob } = env.fx;
	const { app, start } = await socketApp();
	await start();
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'assign', blocks: MENU });
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, value: 'abc' }), 'invalid_arguments', 'no action_id');
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'nope', value: 'abc' }), 'invalid_arguments', 'unknown action_id');
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'static', value: 'abc' }), 'invalid_arguments', 'not an external select');
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: '1.000001', action_id: 'assignee', value: 'abc' }), 'message_not_found');
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: 'garbage', action_id: 'assignee', value: 'abc' }), 'message_not_found');
	await expectError(call(alice, 'blocks.suggest', { channel: 'C0NOSUCH', message_ts: msg.ts, action_id: 'assignee', value: 'abc' }), 'channel_not_found');
	await expectError(call(alice, 'blocks.suggest', { view_id: 'V0NOSUCH', action_id: 'assignee', value: 'abc' }), 'not_found');
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'assignee', value: 'x'.repeat(2001) }), 'invalid_arguments', 'value too long');
	// A private channel the caller is not in stays invisible.
	const priv = (await bob.client.conversations.create({ name: uniq('suggpriv'), is_private: true })).channel;
	await expectError(call(alice, 'blocks.suggest', { channel: priv.id, message_ts: msg.ts, action_id: 'assignee', value: 'abc' }), 'channel_not_found');
	// A message of no app.
	const plain = await alice.client.chat.postMessage({ channel: chan.id, text: 'no app' });
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: plain.ts, action_id: 'assignee', value: 'abc' }), 'invalid_arguments');
	// Bots do not type into menus.
	await expectError(call({ client: app.client }, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'assignee', value: 'abc' }), 'not_allowed_token_type');
	// No listener: Bolt never acks, the person hears operation_timeout.
	await expectError(call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'unheard', value: 'abc' }), 'operation_timeout');
});

test('HTTP: the block_suggestion goes to message_menu_options_url as a signed payload= form; Bolt answers', async () => {
	const { alice } = env.fx;
	const h = await boltHttpServer();
	stoppers.push(() => h.close());
	const optionsUrl = h.url.replace('/slack/events', '/slack/options');
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('suggh'), socket: false, requestUrl: h.url, optionsUrl });
	await app.client.conversations.join({ channel: chan.id });
	const b = h.attach(env.srv, app, { endpoints: ['/slack/events', '/slack/options'] });
	b.options('assignee', async ({ ack, options }) => {
		await ack({ options: PEOPLE.filter((p) => p.startsWith(options.value)).map(opt) });
	});
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'assign', blocks: MENU });
	const r = await call(alice, 'blocks.suggest', { channel: chan.id, message_ts: msg.ts, action_id: 'assignee', value: 'bo' });
	assert.deepEqual(r.options.map((o) => o.value), ['bob']);
	const req = await waitFor(() => h.seen.find((s) => s.url === '/slack/options'), { timeoutMs: 2000, what: 'the options request' });
	assert.equal(req.status, 200, 'Bolt checked the signature');
	assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
	const payload = JSON.parse(new URLSearchParams(req.body).get('payload'));
	assert.equal(payload.type, 'block_suggestion');
	assert.equal(payload.value, 'bo');
});
