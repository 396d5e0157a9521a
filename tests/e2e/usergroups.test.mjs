// usergroups.* methods.
import assert from 'node:assert/strict';
import { test, useServer } from './lib/server.mjs';
import { expectError, uniq } from './lib/fixture.mjs';

const env = useServer();

function assertGroupShape(g, what) {
	assert.match(g.id, /^S[A-Z0-9]+$/, `${what}: id`);
	assert.equal(g.team_id, env.fx.org.id, `${what}: team_id`);
	assert.equal(g.is_usergroup, true, `${what}: is_usergroup`);
	for (const k of ['name', 'handle', 'description']) assert.equal(typeof g[k], 'string', `${what}: ${k}`);
	for (const k of ['date_create', 'date_update', 'date_delete']) assert.ok(Number.isInteger(g[k]), `${what}: ${k} int`);
	assert.equal(typeof g.created_by, 'string', `${what}: created_by`);
	assert.equal(typeof g.prefs, 'object', `${what}: prefs`);
}

test('usergroups.create: shape, name_already_exists, handle_already_exists', async () => {
	const { alice } = env.fx;
	const handle = uniq('coreseniors');
	const name = `Core Seniors ${handle}`;
	const r = await alice.client.usergroups.create({ name, handle, description: 'senior support' });
	assertGroupShape(r.usergroup, 'create');
	const g = r.usergroup;
	assert.equal(g.name, name);
	assert.equal(g.handle, handle);
	assert.equal(g.description, 'senior support');
	assert.equal(g.created_by, alice.id);
	assert.ok(g.date_create > 1500000000);
	assert.equal(g.date_delete, 0);
	if (g.users !== undefined) assert.deepEqual(g.users, []);
	if (g.user_count !== undefined) assert.equal(Number(g.user_count), 0);

	await expectError(alice.client.usergroups.create({ name, handle: uniq('other') }), 'name_already_exists');
	await expectError(alice.client.usergroups.create({ name: `Another ${handle}`, handle }), 'handle_already_exists');
});

test('usergroups.users.update / users.list', async () => {
	const { alice, bob } = env.fx;
	const g = (await alice.client.usergroups.create({ name: uniq('Oncall'), handle: uniq('oncall') })).usergroup;
	const u = await alice.client.usergroups.users.update({ usergroup: g.id, users: `${bob.id},${alice.id}` });
	assert.equal(u.usergroup.id, g.id);
	assert.deepEqual([...u.usergroup.users].sort(), [alice.id, bob.id].sort());
	const l = await bob.client.usergroups.users.list({ usergroup: g.id });
	assert.deepEqual([...l.users].sort(), [alice.id, bob.id].sort());
	// Replacing the list, not appending.
	await alice.client.usergroups.users.update({ usergroup: g.id, users: bob.id });
	assert.deepEqual((await alice.client.usergroups.users.list({ usergroup: g.id })).users, [bob.id]);
	await expectError(alice.client.usergroups.users.update({ usergroup: g.id, users: 'U0NOSUCHUSR' }), ['invalid_users', 'user_not_found']);
	await expectError(alice.client.usergroups.users.list({ usergroup: 'S0NOSUCHGRP' }), ['no_such_subteam', 'not_found']);
	await expectError(alice.client.usergroups.users.update({ usergroup: g.id, users: '' }), ['no_users_provided', 'invalid_arguments'], 'empty users');
	assert.deepEqual((await alice.client.usergroups.users.list({ usergroup: g.id })).users, [bob.id], 'unchanged after failed updates');
});

test('usergroups.list: include_users, include_count, include_disabled; disable / enable', async () => {
	const { alice, bob, bot } = env.fx;
	const g = (await alice.client.usergroups.create({ name: uniq('Listed'), handle: uniq('listed') })).usergroup;
	await alice.client.usergroups.users.update({ usergroup: g.id, users: bob.id });

	const plain = await bot.client.usergroups.list();
	const p = plain.usergroups.find((x) => x.id === g.id);
	assert.ok(p, 'group listed (bot with usergroups:read)');
	assertGroupShape(p, 'list');

	const withUsers = await alice.client.usergroups.list({ include_users: true, include_count: true });
	const wu = withUsers.usergroups.find((x) => x.id === g.id);
	assert.deepEqual(wu.users, [bob.id]);
	assert.equal(Number(wu.user_count), 1);

	const d = await alice.client.usergroups.disable({ usergroup: g.id });
	assert.equal(d.usergroup.id, g.id);
	assert.ok(d.usergroup.date_delete > 0, 'disabled group has date_delete');
	const afterDisable = await alice.client.usergroups.list();
	assert.ok(!afterDisable.usergroups.some((x) => x.id === g.id), 'disabled hidden by default');
	const inclDisabled = await alice.client.usergroups.list({ include_disabled: true });
	const dis = inclDisabled.usergroups.find((x) => x.id === g.id);
	assert.ok(dis, 'listed with include_disabled');
	assert.ok(dis.date_delete > 0);

	const e = await alice.client.usergroups.enable({ usergroup: g.id });
	assert.equal(e.usergroup.date_delete, 0);
	assert.ok((await alice.client.usergroups.list()).usergroups.some((x) => x.id === g.id), 'enabled again');
});

test('usergroups.update', async () => {
	const { alice } = env.fx;
	const g = (await alice.client.usergroups.create({ name: uniq('Before'), handle: uniq('before') })).usergroup;
	const newName = uniq('After');
	const newHandle = uniq('after');
	const r = await alice.client.usergroups.update({ usergroup: g.id, name: newName, handle: newHandle, description: 'new desc' });
	assert.equal(r.usergroup.id, g.id);
	assert.equal(r.usergroup.name, newName);
	assert.equal(r.usergroup.handle, newHandle);
	assert.equal(r.usergroup.description, 'new desc');
	assert.equal(r.usergroup.updated_by, alice.id);
	const l = await alice.client.usergroups.list();
	assert.equal(l.usergroups.find((x) => x.id === g.id).name, newName);

	const other = (await alice.client.usergroups.create({ name: uniq('Other'), handle: uniq('otherh') })).usergroup;
	await expectError(alice.client.usergroups.update({ usergroup: other.id, name: newName }), 'name_already_exists');
	await expectError(alice.client.usergroups.update({ usergroup: 'S0NOSUCHGRP', name: 'x' }), ['no_such_subteam', 'not_found']);
});

test('bot with usergroups:write can create groups', async () => {
	const { bot } = env.fx;
	const r = await bot.client.usergroups.create({ name: uniq('Botgroup'), handle: uniq('botgroup') });
	assert.equal(r.usergroup.created_by, bot.bot_user_id);
});
