// The app registry: apps defined by Slack app manifests through
// apps.manifest.create/update/export/validate/delete (WebClient.apiCall, as
// Slack's own tooling calls them) and `canal admin app create --manifest`;
// Slack's invalid_manifest errors with JSON pointers; the app's fields and
// slash commands survive a restart.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, useServer } from './lib/server.mjs';
import { after } from 'node:test';
import { uniq, webClient, expectError, liveClient } from './lib/fixture.mjs';
import { endpoint } from './lib/apps.mjs';

const env = useServer();
// Saving an Events API request URL sends it url_verification: a local
// endpoint that answers it stands for the app's.
const events = await endpoint((req, res) => { res.writeHead(200); res.end(); });
after(() => events.close());

function manifest(name, extra = {}) {
	return {
		_metadata: { major_version: 1, minor_version: 1 },
		display_information: { name, description: 'Answers questions' },
		features: {
			bot_user: { display_name: `${name} bot`, always_online: true },
			slash_commands: [
				{ command: `/${name.toLowerCase()}`, url: 'https://example.com/commands', description: 'Ask me', usage_hint: 'help', should_escape: false },
			],
			shortcuts: [{ name: 'Create ticket', type: 'message', callback_id: 'ticket', description: 'Ticket from a message' }],
			app_home: { home_tab_enabled: true, messages_tab_enabled: true },
		},
		oauth_config: { scopes: { bot: ['chat:write', 'commands', 'channels:history', 'app_mentions:read'] } },
		settings: {
			event_subscriptions: { request_url: events.url, bot_events: ['app_mention', 'message.channels'] },
			interactivity: { is_enabled: true, request_url: 'https://example.com/interactive' },
			org_deploy_enabled: false,
			socket_mode_enabled: false,
			token_rotation_enabled: false,
		},
		...extra,
	};
}

// Slack's invalid_manifest: errors[] of {message, pointer}.
function pointers(body) {
	assert.equal(body.error, 'invalid_manifest');
	assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `errors[]: ${JSON.stringify(body)}`);
	for (const e of body.errors) {
		assert.equal(typeof e.message, 'string', JSON.stringify(e));
		assert.match(e.pointer, /^\//, JSON.stringify(e));
	}
	return body.errors.map((e) => e.pointer);
}

test('apps.manifest.create installs the app: ids, credentials, tokens that work', async () => {
	const { alice, org } = env.fx;
	const name = `Faq${uniq('a').replace(/[^a-z0-9]/g, '')}`.slice(0, 30);
	const m = manifest(name);
	const r = await alice.client.apiCall('apps.manifest.create', { manifest: JSON.stringify(m) });
	assert.equal(r.ok, true);
	assert.match(r.app_id, /^A[A-Z0-9]+$/);
	assert.equal(r.team_id, org.id);
	assert.equal(typeof r.credentials, 'object');
	for (const k of ['client_id', 'client_secret', 'verification_token', 'signing_secret']) {
		assert.equal(typeof r.credentials[k], 'string', `credentials.${k}: ${JSON.stringify(r.credentials)}`);
	}
	assert.ok(r.credentials.signing_secret.length >= 32);
	assert.equal(typeof r.oauth_authorize_url, 'string');
	assert.match(r.bot_token, /^xoxb-/);
	assert.match(r.app_token, /^xapp-/);
	assert.match(r.bot_user_id, /^U[A-Z0-9]+$/);
	assert.match(r.bot_id, /^B[A-Z0-9]+$/);

	// The bot token carries exactly the manifest's scopes.
	const bot = webClient(env.srv, r.bot_token);
	const who = await bot.auth.test();
	assert.equal(who.bot_id, r.bot_id);
	assert.equal(who.user_id, r.bot_user_id);
	assert.equal(who.app_id, r.app_id);
	assert.equal(who.response_metadata.scopes.sort().join(','), m.oauth_config.scopes.bot.slice().sort().join(','));
	const miss = await expectError(bot.users.list(), 'missing_scope');
	assert.equal(miss.needed, 'users:read');

	// The bot user is named after features.bot_user.display_name.
	const info = await alice.client.users.info({ user: r.bot_user_id });
	assert.equal(info.user.is_bot, true);
	assert.equal(info.user.real_name, `${name} bot`);
	const bi = await alice.client.bots.info({ bot: r.bot_id });
	assert.equal(bi.bot.app_id, r.app_id);
	assert.equal(bi.bot.name, name);

	// Native JSON object works too (JSON body).
	const m2 = manifest(`${name}x`.slice(0, 35));
	m2.features.slash_commands[0].command = `/${name.toLowerCase()}-two`;
	const r2 = await alice.client.apiCall('apps.manifest.create', { manifest: m2 });
	assert.equal(r2.ok, true);
	assert.notEqual(r2.app_id, r.app_id);
});

test('apps.manifest.export returns the manifest; update changes it and the scopes', async () => {
	const { alice } = env.fx;
	const m = manifest('Exporter');
	m.features.slash_commands[0].command = `/${uniq('exp')}`;
	const r = await alice.client.apiCall('apps.manifest.create', { manifest: JSON.stringify(m) });
	const ex = await alice.client.apiCall('apps.manifest.export', { app_id: r.app_id });
	assert.deepEqual(ex.manifest, m);

	const m2 = structuredClone(m);
	m2.display_information.name = 'Exporter Two';
	m2.oauth_config.scopes.bot.push('users:read');
	m2.settings.socket_mode_enabled = true;
	delete m2.settings.event_subscriptions.request_url;
	m2.features.slash_commands = [{ command: `/${uniq('exp2')}`, description: 'Second', should_escape: true }];
	const up = await alice.client.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: JSON.stringify(m2) });
	assert.equal(up.ok, true);
	assert.equal(up.app_id, r.app_id);
	assert.equal(up.permissions_updated, true);
	const ex2 = await alice.client.apiCall('apps.manifest.export', { app_id: r.app_id });
	assert.deepEqual(ex2.manifest, m2);
	// The existing bot token got the new scope at once.
	const bot = webClient(env.srv, r.bot_token);
	const list = await bot.users.list({ limit: 5 });
	assert.equal(list.ok, true);
	// Same scopes again: nothing to re-approve.
	const same = await alice.client.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: m2 });
	assert.equal(same.permissions_updated, false);
	// The old command is free again: another app may take it.
	const m3 = manifest('Taker');
	m3.features.slash_commands[0].command = m.features.slash_commands[0].command;
	const r3 = await alice.client.apiCall('apps.manifest.create', { manifest: m3 });
	assert.equal(r3.ok, true);
	// ...but the new one is taken.
	const m4 = manifest('Clasher');
	m4.features.slash_commands[0].command = m2.features.slash_commands[0].command;
	const clash = await expectError(alice.client.apiCall('apps.manifest.create', { manifest: m4 }), 'invalid_manifest');
	assert.deepEqual(pointers(clash), ['/features/slash_commands/0/command']);
});

test('invalid manifests: Slack error list with JSON pointers, nothing created', async () => {
	const { alice } = env.fx;
	const bad = manifest('X'.repeat(36));
	bad.features.slash_commands = [
		{ command: 'nope', url: 'https://example.com/c', description: 'no slash' },
		{ command: '/UPPER', url: 'https://example.com/c', description: 'upper case' },
		{ command: '/dup', url: 'https://example.com/c', description: 'one' },
		{ command: '/dup', url: 'https://example.com/c', description: 'two' },
		{ command: '/nourl', description: 'no url without socket mode' },
		{ command: `/${'x'.repeat(40)}`, url: 'https://example.com/c', description: 'too long' },
	];
	bad.oauth_config.scopes.bot.push('not:a-scope');
	bad.settings.event_subscriptions = { bot_events: ['app_mention', 'no_such_event'] };
	bad.settings.interactivity = { is_enabled: true, request_url: 'ftp://example.com' };
	bad.features.shortcuts = [{ name: 'S', type: 'sideways', callback_id: 'c', description: 'd' }];
	const before = (await alice.client.users.list({ limit: 1000 })).members.length;
	const body = await expectError(alice.client.apiCall('apps.manifest.create', { manifest: JSON.stringify(bad) }), 'invalid_manifest');
	const p = pointers(body);
	for (const want of [
		'/display_information/name',
		'/features/slash_commands/0/command',
		'/features/slash_commands/1/command',
		'/features/slash_commands/3/command',
		'/features/slash_commands/4/url',
		'/features/slash_commands/5/command',
		'/oauth_config/scopes/bot/4',
		'/settings/event_subscriptions/bot_events/1',
		'/settings/event_subscriptions',
		'/settings/interactivity/request_url',
		'/features/shortcuts/0/type',
	]) {
		assert.ok(p.includes(want), `pointer ${want} expected in ${JSON.stringify(body.errors)}`);
	}
	assert.ok(!p.includes('/features/slash_commands/2/command'), 'the first /dup is fine');
	const after = (await alice.client.users.list({ limit: 1000 })).members.length;
	assert.equal(after, before, 'no bot user was created');

	// Missing name, not JSON, not an object, no manifest at all.
	const noName = manifest('y');
	delete noName.display_information.name;
	assert.deepEqual(pointers(await expectError(alice.client.apiCall('apps.manifest.validate', { manifest: noName }), 'invalid_manifest')), ['/display_information/name']);
	assert.deepEqual(pointers(await expectError(alice.client.apiCall('apps.manifest.validate', { manifest: '{not json' }), 'invalid_manifest')), ['/']);
	assert.deepEqual(pointers(await expectError(alice.client.apiCall('apps.manifest.validate', { manifest: '[1,2]' }), 'invalid_manifest')), ['/']);
	await expectError(alice.client.apiCall('apps.manifest.validate', {}), 'invalid_arguments');

	// Socket Mode: request URLs are not needed.
	const sm = manifest('Socketeer', {});
	sm.settings = { socket_mode_enabled: true, event_subscriptions: { bot_events: ['app_mention'] }, interactivity: { is_enabled: true } };
	sm.features.slash_commands = [{ command: `/${uniq('sock')}`, description: 'over the socket' }];
	const ok = await alice.client.apiCall('apps.manifest.validate', { manifest: sm });
	assert.equal(ok.ok, true);
});

test('who may call apps.manifest.*: org admins; others and bots refused; other orgs invisible', async () => {
	const { alice, bob, bot } = env.fx;
	const m = manifest('Guarded');
	m.features.slash_commands[0].command = `/${uniq('guard')}`;
	await expectError(bob.client.apiCall('apps.manifest.create', { manifest: m }), 'not_admin');
	await expectError(bot.client.apiCall('apps.manifest.create', { manifest: m }), 'not_allowed_token_type');
	// Anyone may validate.
	assert.equal((await bob.client.apiCall('apps.manifest.validate', { manifest: m })).ok, true);

	const r = await alice.client.apiCall('apps.manifest.create', { manifest: m });
	await expectError(bob.client.apiCall('apps.manifest.export', { app_id: r.app_id }), 'not_admin');
	await expectError(alice.client.apiCall('apps.manifest.export', { app_id: 'A0NOSUCHAPP' }), 'invalid_app_id');

	// An admin of another org cannot see or change this app.
	const org2 = await env.srv.cli('org', 'create', uniq('Other'));
	const carol = await env.srv.cli('user', 'create', '--org', org2.id, '--name', 'carol', '--email', 'carol@other.test', '--password', 'pw-carol-123', '--admin');
	const cc = liveClient(env.srv, carol.token);
	await expectError(cc.apiCall('apps.manifest.export', { app_id: r.app_id }), 'invalid_app_id');
	await expectError(cc.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: m }), 'invalid_app_id');
	await expectError(cc.apiCall('apps.manifest.delete', { app_id: r.app_id }), 'invalid_app_id');
	// Commands are per org: the same command is free there.
	assert.equal((await cc.apiCall('apps.manifest.create', { manifest: m })).ok, true);
});

test('apps.manifest.delete: tokens stop working, the command is released', async () => {
	const { alice } = env.fx;
	const m = manifest('Doomed');
	m.features.slash_commands[0].command = `/${uniq('doom')}`;
	const r = await alice.client.apiCall('apps.manifest.create', { manifest: m });
	const bot = webClient(env.srv, r.bot_token);
	assert.equal((await bot.auth.test()).ok, true);
	assert.equal((await alice.client.apiCall('apps.manifest.delete', { app_id: r.app_id })).ok, true);
	await expectError(bot.auth.test(), ['account_inactive', 'token_revoked']);
	await expectError(alice.client.apiCall('apps.manifest.export', { app_id: r.app_id }), 'invalid_app_id');
	const again = manifest('Reborn');
	again.features.slash_commands[0].command = m.features.slash_commands[0].command;
	assert.equal((await alice.client.apiCall('apps.manifest.create', { manifest: again })).ok, true);
});

test('CLI: app create --manifest FILE; bad manifests refused with pointers', async () => {
	const { org, alice } = env.fx;
	const m = manifest('Clibot');
	m.features.slash_commands[0].command = `/${uniq('cli')}`;
	const file = path.join(env.srv.dataDir, 'clibot.json');
	await writeFile(file, JSON.stringify(m, null, 2));
	const a = await env.srv.cli('app', 'create', '--org', org.id, '--manifest', file);
	assert.match(a.id, /^A[A-Z0-9]+$/);
	assert.match(a.bot_user_id, /^U[A-Z0-9]+$/);
	assert.match(a.bot_id, /^B[A-Z0-9]+$/);
	assert.match(a.bot_token, /^xoxb-/);
	assert.match(a.app_token, /^xapp-/);
	assert.equal(typeof a.signing_secret, 'string');
	const ex = await alice.client.apiCall('apps.manifest.export', { app_id: a.id });
	assert.deepEqual(ex.manifest, m);
	const who = await webClient(env.srv, a.bot_token).auth.test();
	assert.equal(who.app_id, a.id);
	assert.equal(who.response_metadata.scopes.sort().join(','), m.oauth_config.scopes.bot.slice().sort().join(','));

	const bad = manifest('');
	const badFile = path.join(env.srv.dataDir, 'bad.json');
	await writeFile(badFile, JSON.stringify(bad));
	await assert.rejects(env.srv.cli('app', 'create', '--org', org.id, '--manifest', badFile), (e) => {
		assert.match(e.message, /invalid_manifest/);
		assert.match(e.message, /\/display_information\/name/);
		return true;
	});
});

test('restart keeps app fields, manifests and slash commands', async () => {
	const { alice, org } = env.fx;
	const m = manifest('Survivor');
	const cmd = `/${uniq('surv')}`;
	m.features.slash_commands[0].command = cmd;
	const r = await alice.client.apiCall('apps.manifest.create', { manifest: m });
	const m2 = structuredClone(m);
	m2.settings.socket_mode_enabled = true;
	await alice.client.apiCall('apps.manifest.update', { app_id: r.app_id, manifest: m2 });
	await env.srv.restart();
	const ex = await alice.client.apiCall('apps.manifest.export', { app_id: r.app_id });
	assert.deepEqual(ex.manifest, m2);
	const who = await webClient(env.srv, r.bot_token).auth.test();
	assert.equal(who.app_id, r.app_id);
	// The command is still registered after the restart: a clash says so.
	const clash = manifest('Clash');
	clash.features.slash_commands[0].command = cmd;
	assert.deepEqual(pointers(await expectError(alice.client.apiCall('apps.manifest.validate', { manifest: clash }), 'invalid_manifest')), ['/features/slash_commands/0/command']);
	// And the CLI (through the running server) still lists it.
	const apps = await env.srv.cli('app', 'list', '--org', org.id);
	assert.ok(apps.some((a) => a.id === r.app_id));
});
