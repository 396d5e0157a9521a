// team.info, bots.info, emoji.list, api.test.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError } from './lib/fixture.mjs';

const env = useServer();

test('team.info', async () => {
	const { org, alice, bot } = env.fx;
	for (const c of [alice.client, bot.client]) {
		const r = await c.team.info();
		assert.equal(r.team.id, org.id);
		assert.equal(r.team.name, org.name);
		assert.equal(typeof r.team.domain, 'string');
		assert.ok(r.team.domain.length > 0, 'domain non-empty');
		if (r.team.icon !== undefined) assert.equal(typeof r.team.icon, 'object');
	}
	// Asking for the own team explicitly works.
	assert.equal((await alice.client.team.info({ team: org.id })).team.id, org.id);
});

test('bots.info', async () => {
	const { alice, bot } = env.fx;
	const r = await alice.client.bots.info({ bot: bot.bot_id });
	assert.equal(r.bot.id, bot.bot_id);
	assert.equal(r.bot.app_id, bot.id);
	assert.equal(r.bot.user_id, bot.bot_user_id);
	assert.equal(r.bot.name, bot.name);
	assert.equal(r.bot.deleted, false);
	assert.ok(Number.isInteger(r.bot.updated), 'updated int');
	if (r.bot.icons !== undefined) assert.equal(typeof r.bot.icons, 'object');
	const self = await bot.client.bots.info({ bot: bot.bot_id });
	assert.equal(self.bot.user_id, bot.bot_user_id);
	await expectError(alice.client.bots.info({ bot: 'B0NOSUCHBOT' }), 'bot_not_found');
});

test('emoji.list', async () => {
	const { alice, bot } = env.fx;
	for (const c of [alice.client, bot.client]) {
		const r = await c.emoji.list();
		assert.equal(r.ok, true);
		assert.equal(typeof r.emoji, 'object');
		assert.ok(r.emoji !== null && !Array.isArray(r.emoji), 'emoji is an object (name -> url/alias)');
		for (const [k, v] of Object.entries(r.emoji)) {
			assert.equal(typeof v, 'string', `emoji ${k}`);
		}
	}
});

test('api.test echoes args and simulates errors', async () => {
	const { alice } = env.fx;
	const r = await alice.client.api.test({ foo: 'bar', n: 3 });
	assert.equal(r.ok, true);
	assert.equal(r.args.foo, 'bar');
	assert.equal(String(r.args.n), '3');
	const e = await expectError(alice.client.api.test({ error: 'my_error' }), 'my_error');
	assert.equal(e.args?.error ?? 'my_error', 'my_error');
	// api.test does not require a token.
	const res = await fetch(`${env.srv.base}/api/api.test`, { method: 'POST', body: new URLSearchParams({ hello: 'world' }) });
	assert.equal(res.status, 200);
	const j = await res.json();
	assert.equal(j.ok, true);
	assert.equal(j.args.hello, 'world');
});
