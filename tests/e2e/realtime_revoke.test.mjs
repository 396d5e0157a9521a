// Admin changes reach live sockets at once: a deactivated person, a token
// revoked from the CLI, a password reset for a browser session, and a
// deleted app lose their real-time streams (close 1008), not only their
// next API call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.mjs';
import { createUser, createApp, uniq } from './lib/fixture.mjs';
import { connect, closeAll } from './lib/rtm.mjs';
import { after } from 'node:test';

const env = useServer();
after(closeAll);

test('canal admin user deactivate closes that person\'s sockets', async () => {
	const { org } = env.fx;
	const erin = await createUser(env.srv, org.id, uniq('erin'));
	const E = await connect(erin.client, { label: 'erin' });
	await env.srv.cli('user', 'deactivate', '--user', erin.id);
	const ci = await E.waitClosed();
	assert.equal(ci.code, 1008, `deactivated user's socket: ${JSON.stringify(ci)}`);
});

test('canal admin token revoke closes the sockets of that token only', async () => {
	const { org } = env.fx;
	const fay = await createUser(env.srv, org.id, uniq('fay'));
	const other = await env.srv.cli('user', 'token', '--user', fay.id);
	const F1 = await connect(fay.client, { label: 'fay-1' });
	const { webClient } = await import('./lib/fixture.mjs');
	const F2 = await connect(webClient(env.srv, other.token), { label: 'fay-2' });
	await env.srv.cli('token', 'revoke', other.token);
	const ci = await F2.waitClosed();
	assert.equal(ci.code, 1008);
	// The first socket, opened with a token still valid, stays.
	const pong = await F1.ping();
	assert.ok(pong, 'the other socket still answers');
});

test('canal admin app delete closes its bot\'s sockets', async () => {
	const { org } = env.fx;
	const app = await createApp(env.srv, org.id, uniq('gone'));
	const B = await connect(app.client, { label: 'bot' });
	await env.srv.cli('app', 'delete', '--app', app.id);
	const ci = await B.waitClosed();
	assert.equal(ci.code, 1008);
});
