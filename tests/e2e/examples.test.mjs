// The examples in examples/ run unmodified against a real server: each is
// started as a child process with SLACK_API_URL / SLACK_BOT_TOKEN /
// SLACK_APP_TOKEN (or SLACK_WEBHOOK_URL), and its scenario is driven by a
// person through @slack/web-api (DMs, chat.command, shortcuts.run,
// views.submit, joining channels).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after } from 'node:test';
import { test, useServer, waitFor, repoRoot } from './lib/server.mjs';
import { uniq } from './lib/fixture.mjs';
import { connect, closeAll } from './lib/rtm.mjs';
import { createInteractiveApp } from './lib/interact.mjs';

const env = useServer();
after(closeAll);

const children = new Set();
after(async () => {
	await Promise.all([...children].map((c) => stop(c)));
});

function stop(child) {
	children.delete(child);
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => {
		const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 3000);
		child.once('exit', () => { clearTimeout(t); resolve(); });
		child.kill('SIGTERM');
	});
}

// Starts examples/<name>/index.mjs; resolves once it printed `ready`
// (or exited, for one-shot examples). child.out collects its output.
function runExample(name, extraEnv, { ready = /ready/, oneShot = false } = {}) {
	const child = spawn(process.execPath, [path.join(repoRoot, 'examples', name, 'index.mjs')], {
		env: { ...process.env, SLACK_API_URL: env.srv.base + '/api/', ...extraEnv },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	children.add(child);
	child.out = '';
	child.stdout.on('data', (d) => { child.out += d; });
	child.stderr.on('data', (d) => { child.out += d; });
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${name} not ready in 15 s:\n${child.out}`)), 15000);
		const check = () => {
			if (!oneShot && ready.test(child.out)) { clearTimeout(timer); resolve(child); }
		};
		child.stdout.on('data', check);
		child.on('exit', (code) => {
			clearTimeout(timer);
			if (oneShot) resolve({ child, code });
			else reject(new Error(`${name} exited (${code}) before ready:\n${child.out}`));
		});
	});
}

function tokens(app) {
	return { SLACK_BOT_TOKEN: app.bot_token, SLACK_APP_TOKEN: app.app_token };
}

test('routing-bot: answers DMs by keyword', async () => {
	const { alice, org } = env.fx;
	const app = await createInteractiveApp(env.srv, org.id, {
		name: uniq('routing'), scopes: ['chat:write', 'im:history', 'im:read', 'im:write'], events: ['message.im'],
	});
	await runExample('routing-bot', tokens(app));
	const dm = (await alice.client.conversations.open({ users: app.bot_user_id })).channel;
	const q = await alice.client.chat.postMessage({ channel: dm.id, text: 'who is the coordinator today?' });
	const reply = await waitFor(async () => (await alice.client.conversations.history({ channel: dm.id })).messages
		.find((m) => m.user === app.bot_user_id && m.ts > q.ts), { timeoutMs: 8000, what: 'routing-bot reply' });
	const rota = ['Nadia', 'Omar', 'Priya', 'Quentin', 'Rosa', 'Samir', 'Tove'];
	assert.equal(reply.text, `Today's coordinator is ${rota[new Date().getUTCDay()]}.`);
	assert.equal(reply.bot_id, app.bot_id);

	const q2 = await alice.client.chat.postMessage({ channel: dm.id, text: 'how do I file an expense?' });
	const r2 = await waitFor(async () => (await alice.client.conversations.history({ channel: dm.id })).messages
		.find((m) => m.user === app.bot_user_id && m.ts > q2.ts), { timeoutMs: 8000, what: 'second reply' });
	assert.match(r2.text, /expenses/i);
});

test('faq-wheatley: /wheatley help-security lists the security groups with a link, ephemerally', async () => {
	const { alice, org } = env.fx;
	const sec = (await alice.client.usergroups.create({ name: 'Security Team', handle: uniq('security') })).usergroup;
	await alice.client.usergroups.create({ name: 'Design', handle: uniq('design') });
	const chan = (await alice.client.conversations.create({ name: uniq('faq') })).channel;
	const app = await createInteractiveApp(env.srv, org.id, {
		name: uniq('wheatley'), scopes: ['commands', 'chat:write', 'usergroups:read'],
		commands: [{ command: '/wheatley' }],
	});
	await runExample('faq-wheatley', tokens(app));
	const rtm = await connect(alice.client);
	const r = await alice.client.apiCall('chat.command', { channel: chan.id, command: '/wheatley', text: 'help-security' });
	assert.equal(r.ok, true);
	const ev = await rtm.next((e) => e.is_ephemeral && /Security questions/.test(e.text), 8000);
	assert.match(ev.text, new RegExp(`<!subteam\\^${sec.id}\\|@${sec.handle}>`));
	assert.doesNotMatch(ev.text, /Design/);
	assert.match(ev.text, /https:\/\/intranet\.example\/security-handbook/);
	assert.equal(ev.user, app.bot_user_id);
	assert.ok(!(await alice.client.conversations.history({ channel: chan.id })).messages.some((m) => /Security questions/.test(m.text)),
		'the answer is ephemeral');
	await alice.client.apiCall('chat.command', { channel: chan.id, command: '/wheatley', text: '' });
	await rtm.next((e) => e.is_ephemeral && /^Usage: \/wheatley/.test(e.text), 8000);
});

test('welcome-bot: member_joined_channel -> a welcome with resources', async () => {
	const { alice, bob, org } = env.fx;
	const chan = (await alice.client.conversations.create({ name: uniq('welcome') })).channel;
	const app = await createInteractiveApp(env.srv, org.id, {
		name: uniq('welcome'), scopes: ['chat:write', 'channels:read', 'channels:join'], events: ['member_joined_channel'],
	});
	await runExample('welcome-bot', { ...tokens(app), WELCOME_CHANNELS: chan.id });
	await waitFor(async () => (await alice.client.conversations.members({ channel: chan.id })).members.includes(app.bot_user_id),
		{ what: 'bot joined' });
	await alice.client.conversations.invite({ channel: chan.id, users: bob.id });
	const w = await waitFor(async () => (await alice.client.conversations.history({ channel: chan.id })).messages
		.find((m) => m.bot_id === app.bot_id), { timeoutMs: 8000, what: 'welcome message' });
	assert.match(w.text, new RegExp(`^Welcome <@${bob.id}>!`));
	assert.match(w.text, /handbook/);
	assert.equal(w.blocks.length, 2);
	// Only one welcome (not for the bot's own join).
	const all = (await alice.client.conversations.history({ channel: chan.id })).messages.filter((m) => m.bot_id === app.bot_id);
	assert.equal(all.length, 1);
});

test('ticket-shortcut: message shortcut -> modal with the message -> ticket card in #help-desk', async () => {
	const { alice, bob, org } = env.fx;
	const desk = (await alice.client.conversations.create({ name: uniq('help-desk') })).channel;
	const chan = (await alice.client.conversations.create({ name: uniq('support') })).channel;
	const app = await createInteractiveApp(env.srv, org.id, {
		name: uniq('tickets'), scopes: ['chat:write', 'channels:read', 'channels:join'],
		shortcuts: [{ callback_id: 'create_ticket', type: 'message', name: 'Create a ticket' }],
	});
	await runExample('ticket-shortcut', { ...tokens(app), HELP_DESK_CHANNEL: desk.name });
	const rtm = await connect(alice.client);
	const m = await alice.client.chat.postMessage({ channel: chan.id, text: 'The VPN drops every hour' });
	await alice.client.apiCall('shortcuts.run', { callback_id: 'create_ticket', channel: chan.id, message_ts: m.ts });
	const opened = await rtm.next((e) => e.type === 'view_opened', 8000);
	const v = opened.view;
	assert.equal(v.callback_id, 'ticket_modal');
	assert.match(v.blocks[0].text.text, /The VPN drops every hour/);

	// Empty title: the app answers with errors shown on the form.
	const bad = await alice.client.apiCall('views.submit', { view_id: v.id, values: {
		title: { value: { type: 'plain_text_input', value: '   ' } },
		assignee: { user: { type: 'users_select', selected_user: bob.id } },
	} });
	assert.equal(bad.response_action, 'errors');
	assert.deepEqual(bad.errors, { title: 'A ticket needs a title' });

	const ok = await alice.client.apiCall('views.submit', { view_id: v.id, values: {
		title: { value: { type: 'plain_text_input', value: 'VPN unstable' } },
		assignee: { user: { type: 'users_select', selected_user: bob.id } },
		priority: { level: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'high' }, value: 'high' } } },
	} });
	assert.equal(ok.response_action, 'close');
	await rtm.next((e) => e.type === 'view_closed' && e.view_id === v.id);
	const card = await waitFor(async () => (await alice.client.conversations.history({ channel: desk.id })).messages
		.find((x) => x.bot_id === app.bot_id), { timeoutMs: 8000, what: 'ticket card' });
	assert.match(card.text, /^Ticket #1: VPN unstable/);
	assert.match(card.text, new RegExp(`requester <@${alice.id}>`));
	assert.match(card.text, new RegExp(`assignee <@${bob.id}>`));
	const body = JSON.stringify(card.blocks);
	assert.match(body, /The VPN drops every hour/);
	assert.match(body, /\*Priority\*\\nhigh/);
	assert.match(body, new RegExp(`/archives/${chan.id}/p${m.ts.replace('.', '')}`));
});

test('review-feed: reviews posted through an incoming webhook', async () => {
	const { alice, org } = env.fx;
	const chan = (await alice.client.conversations.create({ name: uniq('reviews') })).channel;
	const app = await createInteractiveApp(env.srv, org.id, { name: uniq('reviews'), scopes: ['chat:write', 'incoming-webhook'] });
	const hook = await env.srv.cli('webhook', 'create', '--app', app.id, '--channel', chan.id);
	assert.match(hook.url, /\/services\//);
	const { code, child } = await runExample('review-feed', { SLACK_WEBHOOK_URL: hook.url }, { oneShot: true });
	assert.equal(code, 0, child.out);
	assert.match(child.out, /posted 3 reviews/);
	const msgs = (await alice.client.conversations.history({ channel: chan.id })).messages.filter((m) => m.bot_id === app.bot_id);
	assert.equal(msgs.length, 3);
	const texts = msgs.map((m) => m.text).reverse();
	assert.match(texts[0], /^★★★★★ Finally fast \(App Store\) by mika_r/);
	assert.match(texts[1], /^★★☆☆☆ Crashes on login/);
	assert.equal(msgs[0].blocks[1].type, 'context');
});
