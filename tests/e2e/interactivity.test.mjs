// Interactivity: Block Kit buttons and selects (blocks.action ->
// block_actions), modals (views.open/push/update, views.submit ->
// view_submission and response_action, views.close -> view_closed), App
// Home (views.publish), message and global shortcuts (shortcuts.run),
// trigger_id rules and response_url replace_original / delete_original.
// The person acts through Canal's user methods; the app is Bolt in Socket
// Mode; the person's client sees views and ephemeral messages live.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { test, useServer, waitFor } from './lib/server.mjs';
import { uniq, expectError } from './lib/fixture.mjs';
import { connect, closeAll } from './lib/rtm.mjs';
import {
	createInteractiveApp, boltSocket, boltHttpServer, postResponse, deferred, within,
} from './lib/interact.mjs';

let chan; // public: alice, bob, the app's bot
const env = useServer({ setup: async () => {
	const { alice, bob } = env.fx;
	chan = (await alice.client.conversations.create({ name: uniq('ix') })).channel;
	await alice.client.conversations.invite({ channel: chan.id, users: bob.id });
} });
after(closeAll);

const stoppers = [];
after(async () => {
	for (const s of stoppers.reverse()) {
		try { await s(); } catch { /* best effort */ }
	}
});

const call = (who, method, args) => who.client.apiCall(method, args);

async function boltApp(opts = {}) {
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('ixapp'), ...opts });
	await app.client.conversations.join({ channel: chan.id });
	const b = await boltSocket(env.srv, app);
	return { app, bolt: b, start: async () => { await b.start(); stoppers.push(() => b.stop()); } };
}

const BUTTONS = [
	{ type: 'section', block_id: 'req', text: { type: 'mrkdwn', text: 'Expense report: *$120*' } },
	{
		type: 'actions', block_id: 'act', elements: [
			{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'exp-42', style: 'primary' },
			{
				type: 'static_select', action_id: 'pick', placeholder: { type: 'plain_text', text: 'Pick' },
				options: [
					{ text: { type: 'plain_text', text: 'Red' }, value: 'red' },
					{ text: { type: 'plain_text', text: 'Blue' }, value: 'blue' },
				],
			},
		],
	},
];

const MODAL = (extra = {}) => ({
	type: 'modal',
	callback_id: 'expense_form',
	title: { type: 'plain_text', text: 'Expense' },
	submit: { type: 'plain_text', text: 'Send' },
	close: { type: 'plain_text', text: 'Cancel' },
	private_metadata: 'meta-1',
	blocks: [
		{ type: 'input', block_id: 'amount', label: { type: 'plain_text', text: 'Amount' }, element: { type: 'plain_text_input', action_id: 'value' } },
		{ type: 'input', block_id: 'note', optional: true, label: { type: 'plain_text', text: 'Note' }, element: { type: 'plain_text_input', action_id: 'text', max_length: 10 } },
		{ type: 'actions', block_id: 'more', elements: [{ type: 'button', action_id: 'more_btn', text: { type: 'plain_text', text: 'More' }, value: 'm' }] },
	],
	...extra,
});

test('button -> block_actions -> views.open -> view_opened; views.submit: required, app errors, success closes', async () => {
	const { alice, org } = env.fx;
	const { app, bolt: b, start } = await boltApp();
	const action = deferred();
	const opened = deferred();
	const submissions = [];
	b.action('approve', async ({ ack, body, client }) => {
		await ack();
		action.resolve(body);
		const r = await client.views.open({ trigger_id: body.trigger_id, view: MODAL() });
		opened.resolve(r.view);
	});
	b.view('expense_form', async ({ ack, view, body }) => {
		submissions.push(body);
		const amount = view.state.values.amount.value.value;
		if (!/^\d+$/.test(amount)) await ack({ response_action: 'errors', errors: { amount: 'A number, please' } });
		else await ack();
	});
	await start();
	const rtm = await connect(alice.client);
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'expense', blocks: BUTTONS });

	const r = await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'approve', block_id: 'act', value: 'forged' });
	assert.equal(r.ok, true);
	const body = await within(action, 5000, 'action listener');
	assert.equal(body.type, 'block_actions');
	assert.equal(body.user.id, alice.id);
	assert.equal(body.user.username, 'alice');
	assert.equal(body.user.team_id, org.id);
	assert.equal(body.team.id, org.id);
	assert.equal(body.api_app_id, app.id);
	assert.deepEqual(body.container, { type: 'message', message_ts: msg.ts, channel_id: chan.id, is_ephemeral: false });
	assert.deepEqual(body.channel, { id: chan.id, name: chan.name });
	assert.equal(body.message.ts, msg.ts);
	assert.equal(body.message.text, 'expense');
	assert.match(body.trigger_id, /^\d+\.\d+\.[0-9a-f]+$/);
	assert.match(body.response_url, new RegExp(`^${env.srv.base}/respond/[0-9a-f]{32}$`));
	assert.deepEqual(body.state, { values: {} });
	assert.equal(body.is_enterprise_install, false);
	assert.equal(body.actions.length, 1);
	const a = body.actions[0];
	assert.equal(a.type, 'button');
	assert.equal(a.action_id, 'approve');
	assert.equal(a.block_id, 'act');
	assert.equal(a.value, 'exp-42', 'the element\'s value, not the caller\'s');
	assert.equal(a.text.text, 'Approve');
	assert.match(a.action_ts, /^\d{10}\.\d{6}$/);

	const view = await within(opened, 5000, 'views.open');
	assert.match(view.id, /^V[A-Z0-9]+$/);
	assert.equal(view.type, 'modal');
	assert.equal(view.callback_id, 'expense_form');
	assert.equal(view.private_metadata, 'meta-1');
	assert.equal(view.root_view_id, view.id);
	assert.equal(view.previous_view_id, null);
	assert.equal(view.app_id, app.id);
	assert.equal(view.bot_id, app.bot_id);
	assert.equal(view.team_id, org.id);
	assert.deepEqual(view.state, { values: {} });
	assert.equal(typeof view.hash, 'string');
	const ev = await rtm.next((e) => e.type === 'view_opened' && e.view.id === view.id);
	assert.equal(ev.view.title.text, 'Expense');

	// Required input empty: answered at once, the app hears nothing.
	const s0 = await call(alice, 'views.submit', { view_id: view.id, values: {} });
	assert.equal(s0.response_action, 'errors');
	assert.ok(s0.errors.amount, JSON.stringify(s0));
	assert.equal(submissions.length, 0);
	// Too long for max_length.
	const s0b = await call(alice, 'views.submit', { view_id: view.id, values: { amount: { value: { value: '1' } }, note: { text: { value: 'x'.repeat(11) } } } });
	assert.equal(s0b.response_action, 'errors');
	assert.ok(s0b.errors.note);

	// The app's own validation: errors shown on the form, view stays.
	const s1 = await call(alice, 'views.submit', { view_id: view.id, values: JSON.stringify({ amount: { value: { type: 'plain_text_input', value: 'lots' } } }) });
	assert.equal(s1.ok, true);
	assert.equal(s1.response_action, 'errors');
	assert.deepEqual(s1.errors, { amount: 'A number, please' });
	const sub = submissions[0];
	assert.equal(sub.type, 'view_submission');
	assert.equal(sub.user.id, alice.id);
	assert.equal(sub.view.id, view.id);
	assert.equal(sub.view.callback_id, 'expense_form');
	assert.equal(sub.view.private_metadata, 'meta-1');
	assert.deepEqual(sub.view.state.values.amount, { value: { type: 'plain_text_input', value: 'lots' } });
	assert.deepEqual(sub.view.state.values.note, { text: { type: 'plain_text_input', value: null } });
	assert.match(sub.trigger_id, /^\d+\.\d+\.[0-9a-f]+$/);
	assert.deepEqual(sub.response_urls, []);

	// Valid: the app acks empty, the modal closes.
	const s2 = await call(alice, 'views.submit', { view_id: view.id, values: { amount: { value: { value: '120' } } } });
	assert.equal(s2.response_action, 'close');
	await rtm.next((e) => e.type === 'view_closed' && e.view_id === view.id);
	await expectError(call(alice, 'views.submit', { view_id: view.id, values: {} }), 'not_found', 'closed view');
});

test('views.update: hash_conflict on a stale hash, external_id, not_found; views.close -> view_closed to the app', async () => {
	const { alice } = env.fx;
	const { app, bolt: b, start } = await boltApp();
	const opened = deferred();
	const closed = deferred();
	b.action('approve', async ({ ack, body, client }) => {
		await ack();
		opened.resolve((await client.views.open({ trigger_id: body.trigger_id, view: MODAL({ external_id: 'ext-' + body.actions[0].action_ts, notify_on_close: true }) })).view);
	});
	b.view({ callback_id: 'expense_form', type: 'view_closed' }, async ({ ack, body }) => { await ack(); closed.resolve(body); });
	await start();
	const rtm = await connect(alice.client);
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'u', blocks: BUTTONS });
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'approve' });
	const v = await within(opened, 5000, 'opened');

	const u1 = await app.client.views.update({ view_id: v.id, hash: v.hash, view: MODAL({ title: { type: 'plain_text', text: 'Updated' }, notify_on_close: true }) });
	assert.equal(u1.view.id, v.id);
	assert.notEqual(u1.view.hash, v.hash);
	assert.equal(u1.view.title.text, 'Updated');
	assert.equal(u1.view.external_id, v.external_id, 'kept');
	const ev = await rtm.next((e) => e.type === 'view_updated' && e.view.id === v.id);
	assert.equal(ev.view.hash, u1.view.hash);
	await expectError(app.client.views.update({ view_id: v.id, hash: v.hash, view: MODAL() }), 'hash_conflict', 'stale hash');
	const u2 = await app.client.views.update({ external_id: v.external_id, view: MODAL({ title: { type: 'plain_text', text: 'By ext' }, notify_on_close: true }) });
	assert.equal(u2.view.id, v.id);
	await expectError(app.client.views.update({ view_id: 'V0000000000', view: MODAL() }), 'not_found');
	await expectError(app.client.views.update({ external_id: 'nope', view: MODAL() }), 'not_found');
	await expectError(app.client.views.update({ view: MODAL() }), 'invalid_arguments');
	const other = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('other') });
	await expectError(other.client.views.update({ view_id: v.id, view: MODAL() }), 'not_found', 'another app\'s view');

	const c = await call(alice, 'views.close', { view_id: v.id });
	assert.equal(c.ok, true);
	const body = await within(closed, 5000, 'view_closed');
	assert.equal(body.type, 'view_closed');
	assert.equal(body.view.id, v.id);
	assert.equal(body.is_cleared, false);
	await rtm.next((e) => e.type === 'view_closed' && e.view_id === v.id);
	await expectError(call(alice, 'views.close', { view_id: v.id }), 'not_found');
});

test('views.push from a modal button: 3 views at most (push_limit_reached); response_action push/update/clear', async () => {
	const { alice } = env.fx;
	const { app, bolt: b, start } = await boltApp();
	const opened = deferred();
	const pushes = [];
	b.action('approve', async ({ ack, body, client }) => {
		await ack();
		opened.resolve((await client.views.open({ trigger_id: body.trigger_id, view: MODAL() })).view);
	});
	b.action('more_btn', async ({ ack, body, client }) => {
		await ack();
		assert.equal(body.container.type, 'view');
		try {
			pushes.push((await client.views.push({ trigger_id: body.trigger_id, view: MODAL({ callback_id: 'pushed' }) })).view);
		} catch (e) {
			pushes.push(e.data);
		}
	});
	b.view('pushed', async ({ ack, view }) => {
		const v = view.state.values.amount.value.value;
		if (v === 'update') await ack({ response_action: 'update', view: MODAL({ callback_id: 'pushed', title: { type: 'plain_text', text: 'Replaced' } }) });
		else if (v === 'clear') await ack({ response_action: 'clear' });
		else await ack({ response_action: 'push', view: MODAL({ callback_id: 'pushed' }) });
	});
	await start();
	const rtm = await connect(alice.client);
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'p', blocks: BUTTONS });
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'approve' });
	const root = await within(opened, 5000, 'opened');

	await call(alice, 'blocks.action', { view_id: root.id, action_id: 'more_btn' });
	await waitFor(() => pushes.length === 1, { what: 'first push' });
	const p1 = pushes[0];
	assert.match(p1.id, /^V/);
	assert.equal(p1.root_view_id, root.id);
	assert.equal(p1.previous_view_id, root.id);
	await rtm.next((e) => e.type === 'view_pushed' && e.view.id === p1.id);
	await call(alice, 'blocks.action', { view_id: p1.id, action_id: 'more_btn' });
	await waitFor(() => pushes.length === 2, { what: 'second push' });
	assert.equal(pushes[1].previous_view_id, p1.id);
	await call(alice, 'blocks.action', { view_id: pushes[1].id, action_id: 'more_btn' });
	await waitFor(() => pushes.length === 3, { what: 'third push' });
	assert.equal(pushes[2].error, 'push_limit_reached');

	// A submission answered with push on a full stack: the person hears why.
	await expectError(call(alice, 'views.submit', { view_id: pushes[1].id, values: { amount: { value: { value: 'push' } } } }), 'push_limit_reached');
	const upd = await call(alice, 'views.submit', { view_id: pushes[1].id, values: { amount: { value: { value: 'update' } } } });
	assert.equal(upd.response_action, 'update');
	assert.equal(upd.view.id, pushes[1].id);
	assert.equal(upd.view.title.text, 'Replaced');
	// Empty ack on a pushed view closes just it.
	const clear = await call(alice, 'views.submit', { view_id: pushes[1].id, values: { amount: { value: { value: 'clear' } } } });
	assert.equal(clear.response_action, 'clear');
	for (const id of [root.id, p1.id, pushes[1].id]) {
		const e = await rtm.next((x) => x.type === 'view_closed' && x.view_id === id);
		assert.equal(e.is_cleared, true);
	}
	await expectError(call(alice, 'views.submit', { view_id: root.id, values: {} }), 'not_found');
});

test('trigger_id: single use, 3 s, the app\'s own; views.open checks the view', async () => {
	const { alice } = env.fx;
	const { app, bolt: b, start } = await boltApp();
	const triggers = [];
	b.action('approve', async ({ ack, body }) => { await ack(); triggers.push(body.trigger_id); });
	await start();
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 't', blocks: BUTTONS });
	const click = async () => {
		const n = triggers.length;
		await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'approve' });
		await waitFor(() => triggers.length > n, { what: 'trigger' });
		return triggers[triggers.length - 1];
	};

	const t1 = await click();
	const e1 = await expectError(app.client.views.open({ trigger_id: t1, view: { type: 'modal', blocks: [] } }), 'invalid_arguments', 'no title');
	assert.match(e1.response_metadata.messages[0], /json-pointer:\/view\/title/);
	await expectError(app.client.views.open({ trigger_id: t1, view: MODAL({ submit: undefined }) }), 'invalid_arguments', 'inputs without submit');
	await expectError(app.client.views.open({ trigger_id: t1, view: { ...MODAL(), blocks: [{ type: 'input', element: { type: 'plain_text_input' } }] } }), 'invalid_arguments', 'input without label');
	await expectError(app.client.views.open({ trigger_id: t1, view: { ...MODAL(), blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) } }), 'invalid_arguments', '101 blocks');
	const big = { ...MODAL(), private_metadata: '', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(260000) } }] };
	await expectError(app.client.views.open({ trigger_id: t1, view: JSON.stringify(big) }), 'view_too_large');
	await expectError(app.client.views.open({ trigger_id: t1, view: '{nope' }), 'invalid_arguments', 'bad JSON');
	// The failures above did not use it up.
	const ok = await app.client.views.open({ trigger_id: t1, view: JSON.stringify(MODAL({ external_id: 'dup-' + t1 })) });
	assert.equal(ok.ok, true);
	await expectError(app.client.views.open({ trigger_id: t1, view: MODAL() }), 'exchanged_trigger_id');

	const t2 = await click();
	await expectError(app.client.views.open({ trigger_id: t2, view: MODAL({ external_id: 'dup-' + t1 }) }), 'duplicate_external_id');
	const other = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('thief') });
	await expectError(other.client.views.open({ trigger_id: t2, view: MODAL() }), 'invalid_trigger_id', 'another app\'s trigger');
	await expectError(app.client.views.open({ trigger_id: 'garbage', view: MODAL() }), 'invalid_trigger_id');
	await expectError(app.client.views.open({ trigger_id: '1.2.abc', view: MODAL() }), 'invalid_trigger_id', 'unknown');
	await expectError(app.client.views.open({ view: MODAL() }), 'invalid_arguments', 'no trigger');
	await expectError(alice.client.views.open({ trigger_id: t2, view: MODAL() }), 'not_allowed_token_type');
	const t3 = await click();
	await new Promise((r) => setTimeout(r, 3200));
	await expectError(app.client.views.open({ trigger_id: t3, view: MODAL() }), 'expired_trigger_id');
});

test('response_url from a button: replace_original updates the message, delete_original removes it', async () => {
	const { alice, bob } = env.fx;
	const { app, bolt: b, start } = await boltApp();
	const urls = [];
	b.action('approve', async ({ ack, body }) => { await ack(); urls.push(body.response_url); });
	b.action('pick', async ({ ack, body }) => { await ack(); urls.push(body); });
	await start();
	const bobRtm = await connect(bob.client);
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'to replace', blocks: BUTTONS });
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'approve' });
	await waitFor(() => urls.length === 1, { what: 'response_url' });

	const r1 = await postResponse(urls[0], { replace_original: true, text: 'Approved by alice' });
	assert.equal(r1.status, 200, r1.text);
	const hist = (await alice.client.conversations.history({ channel: chan.id, limit: 50 })).messages;
	const m = hist.find((x) => x.ts === msg.ts);
	assert.equal(m.text, 'Approved by alice');
	assert.equal(m.blocks, undefined, 'a replacement is the whole message');
	await bobRtm.next((e) => e.subtype === 'message_changed' && e.message.ts === msg.ts);

	// A select: the choice must be one of its options.
	const msg2 = await app.client.chat.postMessage({ channel: chan.id, text: 'to delete', blocks: BUTTONS });
	await expectError(call(alice, 'blocks.action', { channel: chan.id, message_ts: msg2.ts, action_id: 'pick', selected_option: { value: 'green' } }), 'invalid_arguments');
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg2.ts, action_id: 'pick', selected_option: JSON.stringify({ text: { type: 'plain_text', text: 'Blue' }, value: 'blue' }) });
	await waitFor(() => urls.length === 2, { what: 'select action' });
	assert.equal(urls[1].actions[0].type, 'static_select');
	assert.equal(urls[1].actions[0].selected_option.value, 'blue');
	const r2 = await postResponse(urls[1].response_url, { delete_original: true });
	assert.equal(r2.status, 200, r2.text);
	const hist2 = (await alice.client.conversations.history({ channel: chan.id, limit: 50 })).messages;
	assert.ok(!hist2.some((x) => x.ts === msg2.ts), 'deleted');
	await bobRtm.next((e) => e.subtype === 'message_deleted' && e.deleted_ts === msg2.ts);
	const again = await postResponse(urls[1].response_url, { delete_original: true });
	assert.equal(again.status, 404);

	// Errors: unknown action, message without app, message not found.
	await expectError(call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'nope' }), 'invalid_arguments');
	const mine = await alice.client.chat.postMessage({ channel: chan.id, text: 'mine', blocks: BUTTONS });
	await expectError(call(alice, 'blocks.action', { channel: chan.id, message_ts: mine.ts, action_id: 'approve' }), 'invalid_arguments', 'no app');
	await expectError(call(alice, 'blocks.action', { channel: chan.id, message_ts: '1000000000.000001', action_id: 'approve' }), 'message_not_found');
	await expectError(app.client.apiCall('blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'approve' }), 'not_allowed_token_type');
});

test('ephemeral message buttons: block_actions with is_ephemeral, replaced and deleted live', async () => {
	const { alice } = env.fx;
	const { app, bolt: b, start } = await boltApp();
	const bodies = [];
	b.action('approve', async ({ ack, body }) => { await ack(); bodies.push(body); });
	await start();
	const rtm = await connect(alice.client);
	const e = await app.client.chat.postEphemeral({ channel: chan.id, user: alice.id, text: 'only you', blocks: BUTTONS });
	await rtm.next((x) => x.is_ephemeral && x.ts === e.message_ts);
	// bob cannot click alice's ephemeral message.
	await expectError(call(env.fx.bob, 'blocks.action', { channel: chan.id, message_ts: e.message_ts, action_id: 'approve' }), 'message_not_found');
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: e.message_ts, action_id: 'approve' });
	await waitFor(() => bodies.length === 1, { what: 'action' });
	assert.equal(bodies[0].container.is_ephemeral, true);
	const url = bodies[0].response_url;

	const r = await postResponse(url, { replace_original: true, text: 'replaced' });
	assert.equal(r.status, 200, r.text);
	const rep = await rtm.next((x) => x.is_ephemeral && x.replace_original && x.ts === e.message_ts);
	assert.equal(rep.text, 'replaced');
	const d = await postResponse(url, { delete_original: true });
	assert.equal(d.status, 200, d.text);
	await rtm.next((x) => x.is_ephemeral && x.subtype === 'message_deleted' && x.deleted_ts === e.message_ts);
	// Ephemeral again via the same URL (default response_type).
	const again = await postResponse(url, { text: 'follow-up' });
	assert.equal(again.status, 200);
	await rtm.next((x) => x.is_ephemeral && x.text === 'follow-up');
	assert.ok(!(await alice.client.conversations.history({ channel: chan.id, limit: 100 })).messages.some((m) => /only you|replaced|follow-up/.test(m.text)));
});

test('shortcuts: message shortcut (message_action) and global shortcut', async () => {
	const { alice, org } = env.fx;
	const { app, bolt: b, start } = await boltApp({
		shortcuts: [{ callback_id: 'create_ticket', type: 'message' }, { callback_id: 'new_thing', type: 'global' }],
	});
	const got = [];
	b.shortcut('create_ticket', async ({ ack, shortcut, respond }) => {
		await ack();
		got.push(shortcut);
		await respond({ response_type: 'in_channel', text: `ticket for: ${shortcut.message.text}` });
	});
	b.shortcut('new_thing', async ({ ack, shortcut }) => { await ack(); got.push(shortcut); });
	await start();
	const m = await alice.client.chat.postMessage({ channel: chan.id, text: 'the printer is on fire' });
	const r = await call(alice, 'shortcuts.run', { callback_id: 'create_ticket', channel: chan.id, message_ts: m.ts });
	assert.equal(r.ok, true);
	await waitFor(() => got.length === 1, { what: 'message shortcut' });
	const s = got[0];
	assert.equal(s.type, 'message_action');
	assert.equal(s.callback_id, 'create_ticket');
	assert.equal(s.user.id, alice.id);
	assert.equal(s.team.id, org.id);
	assert.deepEqual(s.channel, { id: chan.id, name: chan.name });
	assert.equal(s.message_ts, m.ts);
	assert.equal(s.message.text, 'the printer is on fire');
	assert.match(s.trigger_id, /^\d+\.\d+\.[0-9a-f]+$/);
	assert.match(s.response_url, /\/respond\//);
	await waitFor(async () => (await alice.client.conversations.history({ channel: chan.id, limit: 20 })).messages
		.some((x) => x.text === 'ticket for: the printer is on fire' && x.bot_id === app.bot_id), { what: 'response in channel' });

	await call(alice, 'shortcuts.run', { callback_id: 'new_thing' });
	await waitFor(() => got.length === 2, { what: 'global shortcut' });
	assert.equal(got[1].type, 'shortcut');
	assert.equal(got[1].callback_id, 'new_thing');
	assert.equal(got[1].user.id, alice.id);

	await expectError(call(alice, 'shortcuts.run', { callback_id: 'nope' }), 'not_found');
	await expectError(call(alice, 'shortcuts.run', { callback_id: 'create_ticket', type: 'global' }), 'not_found', 'wrong type');
	await expectError(call(alice, 'shortcuts.run', { callback_id: 'create_ticket', channel: chan.id, message_ts: '1000000000.000001' }), 'message_not_found');
});

test('views.publish: App Home per user, view_published live, hash_conflict', async () => {
	const { alice, bob } = env.fx;
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('home') });
	const rtm = await connect(alice.client);
	const home = { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Welcome home' } }] };
	const r = await app.client.views.publish({ user_id: alice.id, view: home });
	assert.equal(r.view.type, 'home');
	assert.match(r.view.id, /^V/);
	const ev = await rtm.next((e) => e.type === 'view_published' && e.view.id === r.view.id);
	assert.equal(ev.view.blocks[0].text.text, 'Welcome home');
	const r2 = await app.client.views.publish({ user_id: alice.id, hash: r.view.hash, view: { ...home, blocks: [{ type: 'divider' }] } });
	assert.equal(r2.view.id, r.view.id, 'one home view per app and person');
	await expectError(app.client.views.publish({ user_id: alice.id, hash: r.view.hash, view: home }), 'hash_conflict');
	const rb = await app.client.views.publish({ user_id: bob.id, view: home });
	assert.notEqual(rb.view.id, r.view.id);
	await expectError(app.client.views.publish({ user_id: alice.id, view: MODAL() }), 'invalid_arguments', 'modal is not a home view');
	await expectError(app.client.views.publish({ user_id: 'U0000000000', view: home }), 'user_not_found');
	// The home view's own buttons produce block_actions from a view container.
	await expectError(call(bob, 'blocks.action', { view_id: r.view.id, action_id: 'x' }), 'not_found', 'someone else\'s home');
});

test('Bolt HTTP receiver: block_actions and view_submission as signed payload= forms; errors from the response body', async () => {
	const { alice } = env.fx;
	const h = await boltHttpServer();
	stoppers.push(() => h.close());
	const app = await createInteractiveApp(env.srv, env.fx.org.id, { name: uniq('ixhttp'), socket: false, requestUrl: h.url });
	await app.client.conversations.join({ channel: chan.id });
	const b = h.attach(env.srv, app);
	const opened = deferred();
	b.action('approve', async ({ ack, body, client }) => {
		await ack();
		opened.resolve((await client.views.open({ trigger_id: body.trigger_id, view: MODAL() })).view);
	});
	b.view('expense_form', async ({ ack, view }) => {
		if (view.state.values.amount.value.value === 'bad') await ack({ response_action: 'errors', errors: { amount: 'Nope (HTTP)' } });
		else await ack();
	});
	const msg = await app.client.chat.postMessage({ channel: chan.id, text: 'http', blocks: BUTTONS });
	await call(alice, 'blocks.action', { channel: chan.id, message_ts: msg.ts, action_id: 'approve' });
	const v = await within(opened, 5000, 'views.open from an HTTP app');
	const req = h.seen.find((s) => s.status === 200);
	assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
	assert.match(req.body, /^payload=/);
	const bad = await call(alice, 'views.submit', { view_id: v.id, values: { amount: { value: { value: 'bad' } } } });
	assert.deepEqual(bad.errors, { amount: 'Nope (HTTP)' });
	const good = await call(alice, 'views.submit', { view_id: v.id, values: { amount: { value: { value: '5' } } } });
	assert.equal(good.response_action, 'close');
	// No listener for this action: Bolt answers 404 after ~3 s, the person
	// hears the app could not be reached.
	const m2 = await app.client.chat.postMessage({ channel: chan.id, text: 'x', blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'unheard', text: { type: 'plain_text', text: 'x' } }] }] });
	await expectError(call(alice, 'blocks.action', { channel: chan.id, message_ts: m2.ts, action_id: 'unheard' }), ['dispatch_failed', 'operation_timeout']);
});
