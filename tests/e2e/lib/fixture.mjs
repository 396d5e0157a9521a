// Fixture and API helpers shared by the e2e tests (not a test file).
import assert from 'node:assert/strict';
import { WebClient, LogLevel } from '@slack/web-api';

export const ALL_BOT_SCOPES = [
	'chat:write', 'channels:read', 'channels:history', 'channels:manage', 'channels:join',
	'groups:read', 'groups:history', 'groups:write', 'im:read', 'im:history', 'im:write',
	'mpim:read', 'mpim:write', 'mpim:history', 'users:read', 'users:read.email',
	'users.profile:read', 'reactions:read', 'reactions:write', 'pins:read', 'pins:write',
	'usergroups:read', 'usergroups:write', 'team:read', 'emoji:read',
];

export const TS_RE = /^\d{10}\.\d{6}$/;
export const ERR_NAME_RE = /^[a-z][a-z0-9_]*$/;

let uniqCounter = 0;
const runTag = Math.random().toString(36).slice(2, 6);
// Unique, valid channel / handle names (lowercase, digits, '-').
export function uniq(prefix = 'x') {
	uniqCounter++;
	return `${prefix}-${runTag}${uniqCounter}`;
}

export function webClient(srv, token) {
	return new WebClient(token, {
		slackApiUrl: srv.base + '/api/',
		retryConfig: { retries: 0 },
		timeout: 10000,
		logLevel: LogLevel.ERROR,
	});
}

// A client whose base URL follows the server across restarts (new port).
export function liveClient(srv, token) {
	const cache = { base: null, client: null };
	return new Proxy({}, {
		get(_t, prop) {
			if (cache.base !== srv.base) {
				cache.base = srv.base;
				cache.client = webClient(srv, token);
			}
			const v = cache.client[prop];
			return typeof v === 'function' ? v.bind(cache.client) : v;
		},
	});
}

export async function createOrg(srv, name) {
	const org = await srv.cli('org', 'create', name);
	assert.match(org.id, /^T[A-Z0-9]+$/, `org create id: ${JSON.stringify(org)}`);
	assert.equal(org.name, name);
	return org;
}

export async function createUser(srv, orgId, name, { admin = false, email, password = 'correct horse battery staple' } = {}) {
	const args = ['user', 'create', '--org', orgId, '--name', name, '--email', email || `${name}@${orgId.toLowerCase()}.test`, '--password', password];
	if (admin) args.push('--admin');
	const u = await srv.cli(...args);
	assert.match(u.id, /^[UW][A-Z0-9]+$/, `user create: ${JSON.stringify(u)}`);
	assert.equal(u.name, name);
	assert.match(u.token, /^xoxp-/, `user create token: ${JSON.stringify(u)}`);
	return {
		...u,
		email: email || `${name}@${orgId.toLowerCase()}.test`,
		client: liveClient(srv, u.token),
	};
}

export async function createApp(srv, orgId, name, scopes = ALL_BOT_SCOPES) {
	const a = await srv.cli('app', 'create', '--org', orgId, '--name', name, '--scopes', scopes.join(','));
	assert.match(a.id, /^A[A-Z0-9]+$/, `app create: ${JSON.stringify(a)}`);
	assert.match(a.bot_user_id, /^[UW][A-Z0-9]+$/);
	assert.match(a.bot_id, /^B[A-Z0-9]+$/);
	assert.match(a.bot_token, /^xoxb-/);
	assert.match(a.app_token, /^xapp-/);
	assert.equal(typeof a.signing_secret, 'string');
	return { ...a, name, scopes, client: liveClient(srv, a.bot_token) };
}

// An org with alice (admin), bob and a bot with every scope.
export async function makeFixture(srv, { orgName } = {}) {
	const org = await createOrg(srv, orgName || uniq('Org'));
	const alice = await createUser(srv, org.id, 'alice', { admin: true });
	const bob = await createUser(srv, org.id, 'bob');
	const bot = await createApp(srv, org.id, 'testbot');
	return { org, alice, bob, bot };
}

// Asserts that the call fails with the given Slack error (or one of several).
// Returns the error body.
export async function expectError(promise, codes, what = '') {
	const want = Array.isArray(codes) ? codes : [codes];
	let res;
	try {
		res = await promise;
	} catch (e) {
		if (e && e.code === 'slack_webapi_platform_error') {
			assert.ok(
				want.includes(e.data.error),
				`${what} expected error ${want.join(' or ')}, got ${e.data.error}: ${JSON.stringify(e.data)}`,
			);
			return e.data;
		}
		throw new Error(`${what} expected API error ${want.join(' or ')}, got transport error: ${e && (e.stack || e)}`);
	}
	assert.fail(`${what} expected error ${want.join(' or ')}, but the call succeeded: ${JSON.stringify(res).slice(0, 1000)}`);
}

// Find the org's #general through a member's client.
export async function findGeneral(client) {
	const all = await collect(client, 'conversations.list', { types: 'public_channel' }, 'channels', 200);
	const g = all.filter((c) => c.is_general);
	assert.equal(g.length, 1, `exactly one is_general channel expected, got ${JSON.stringify(g.map((c) => c.name))}`);
	assert.equal(g[0].name, 'general');
	return g[0];
}

// client.paginate with guards: every page is checked, cursors must never
// repeat, the loop must end within maxPages. Returns every item (in order).
export async function collect(client, method, opts, key, limit, { maxPages = 500, pages } = {}) {
	const items = [];
	const cursors = new Set();
	let n = 0;
	for await (const page of client.paginate(method, { ...opts, limit })) {
		n++;
		assert.ok(Array.isArray(page[key]), `${method}: page ${n} has no ${key} array: ${JSON.stringify(page).slice(0, 500)}`);
		assert.ok(page[key].length <= limit, `${method}: page ${n} has ${page[key].length} items, limit was ${limit}`);
		items.push(...page[key]);
		const next = page.response_metadata && page.response_metadata.next_cursor;
		if (next) {
			assert.ok(!cursors.has(next), `${method}: next_cursor ${next} returned twice (infinite pagination)`);
			cursors.add(next);
		}
		assert.ok(n <= maxPages, `${method}: pagination did not end after ${maxPages} pages`);
	}
	if (pages) pages.count = n;
	return items;
}

// Raw HTTP call to the Web API (for transport-level tests).
export async function rawApi(srv, method, { body, headers = {}, httpMethod = 'POST', query = '' } = {}) {
	const url = `${srv.base}/api/${method}${query ? '?' + query : ''}`;
	const res = await fetch(url, { method: httpMethod, headers, body, signal: AbortSignal.timeout(10000) });
	const text = await res.text();
	let json = null;
	try { json = JSON.parse(text); } catch { /* not JSON */ }
	return { status: res.status, headers: res.headers, text, json };
}

export function assertTs(ts, what = 'ts') {
	assert.equal(typeof ts, 'string', `${what} must be a string, got ${typeof ts} ${JSON.stringify(ts)}`);
	assert.match(ts, TS_RE, `${what} format`);
}

export function tsCmp(a, b) {
	const [as, af] = a.split('.');
	const [bs, bf] = b.split('.');
	return as === bs ? (af < bf ? -1 : af > bf ? 1 : 0) : (Number(as) - Number(bs));
}

// History helper: top-level messages (no system subtypes) newest first.
export async function history(client, channel, opts = {}) {
	const r = await client.conversations.history({ channel, limit: 999, ...opts });
	return r;
}
export function plain(messages) {
	return messages.filter((m) => !m.subtype);
}
