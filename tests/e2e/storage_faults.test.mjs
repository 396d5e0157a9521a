// Storage faults: a full disk and an unwritable data directory.
//
// Disk full runs the server on a 3 MiB tmpfs (needs root and mount(8); the
// tests skip with "needs mount" otherwise), fills it with large posts and
// checks: refused writes answer {"ok":false,"error":"storage_full"} (HTTP
// 200, as every API error), the server neither dies nor hangs, reads keep
// working, nothing acknowledged is lost (also across a SIGKILL while full),
// writes work again once there is room, and after a clean restart the
// database passes PRAGMA integrity_check. The tests of this part run in
// order and share one server.
//
// Unwritable data directory: the server exits non-zero at once with a
// message naming the directory and the reason.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, after, describe, test as nodeTest } from 'node:test';
import { CanalServer, canalBin, TEST_TIMEOUT_MS } from './lib/server.mjs';
import { makeFixture, uniq, collect, rawApi } from './lib/fixture.mjs';

// Filling the disk takes a burst of posts from one token into one channel.
process.env.CANAL_RATE_LIMIT_FACTOR = '0';

const test = (name, fn, opts = {}) => nodeTest(name, { timeout: TEST_TIMEOUT_MS, ...opts }, fn);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(cmd, args) {
	return new Promise((resolve) => {
		execFile(cmd, args, { timeout: 10000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
	});
}

// Mounts a tmpfs of `size` on dir; false when not permitted (not root, no
// mount(8), a container without CAP_SYS_ADMIN).
async function mountTmpfs(dir, size) {
	if (!isRoot) return false;
	const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
	return !r.err;
}

async function remount(dir, opts) {
	const r = await run('mount', ['-o', `remount,${opts}`, dir]);
	if (r.err) throw new Error(`mount -o remount,${opts} ${dir}: ${r.stderr || r.err.message}`);
}

async function unmount(dir) {
	const r = await run('umount', [dir]);
	if (r.err) await run('umount', ['-l', dir]);
}

function sqlite(db, sql) {
	return execFileSync('sqlite3', ['-bail', db, sql], { encoding: 'utf8', timeout: 10000 }).trim();
}

// `canal serve` on dataDir: resolves {code, signal, stderr, ms} once it
// exits; rejects if it is still running after timeoutMs (it started).
function serveExpectingExit(dataDir, timeoutMs = 5000) {
	return new Promise((resolve, reject) => {
		const t0 = Date.now();
		const child = spawn(canalBin(), ['serve', '--data', dataDir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
		let stderr = '';
		child.stdout.on('data', (d) => { stderr += d; });
		child.stderr.on('data', (d) => { stderr += d; });
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`canal serve --data ${dataDir} still running after ${timeoutMs} ms:\n${stderr}`));
		}, timeoutMs);
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stderr, ms: Date.now() - t0 });
		});
	});
}

function assertRefusedStartup(r, dir, reason) {
	assert.equal(r.signal, null, `canal died of a signal: ${r.signal}\n${r.stderr}`);
	assert.notEqual(r.code, 0, `canal serve should fail on ${dir}\n${r.stderr}`);
	assert.ok(r.ms < 5000, `took ${r.ms} ms to give up`);
	assert.ok(r.stderr.includes(dir), `stderr should name ${dir}:\n${r.stderr}`);
	assert.match(r.stderr, reason, `stderr should give the reason:\n${r.stderr}`);
	assert.doesNotMatch(r.stderr, /listening on/, 'it must not have started');
}

describe('disk full', () => {
	const st = {
		mnt: null, mounted: false, srv: null, fx: null, ch: null, other: null, failed: false,
		posts: new Map(), // ts -> text of every acknowledged post
		refused: [], // texts of refused posts
		reactions: [], // acknowledged reactions [ts, name]
	};
	const skip = (t) => {
		if (!st.mounted) {
			t.skip('needs mount (root and permission to mount a tmpfs)');
			return true;
		}
		return false;
	};

	before(async () => {
		st.mnt = await mkdtemp(path.join(tmpdir(), 'canal-full-'));
		st.mounted = await mountTmpfs(st.mnt, '3m');
		if (!st.mounted) return;
		st.srv = await CanalServer.create({ dataDir: path.join(st.mnt, 'data') });
		st.fx = await makeFixture(st.srv);
		const { alice, bob } = st.fx;
		st.ch = (await alice.client.conversations.create({ name: uniq('full') })).channel.id;
		await alice.client.conversations.invite({ channel: st.ch, users: bob.id });
		st.other = (await alice.client.conversations.create({ name: uniq('other') })).channel.id; // bob is not in it
	});

	after(async () => {
		try {
			if (st.srv) {
				if (st.srv.running) await st.srv.kill('SIGKILL');
				if (st.failed) process.stderr.write(`\n##### canal stderr #####\n${st.srv.stderrTail()}\n##### end #####\n`);
			}
		} finally {
			if (st.mounted) await unmount(st.mnt);
			await rm(st.mnt, { recursive: true, force: true });
		}
	});

	// true if the call was acknowledged, false if refused with storage_full;
	// anything else fails the test.
	async function attempt(promise, what) {
		try {
			await promise;
			return true;
		} catch (e) {
			assert.equal(e.code, 'slack_webapi_platform_error', `${what}: a refused write is an API error, not a transport error: ${e.stack}`);
			assert.equal(e.data.error, 'storage_full', `${what}: ${JSON.stringify(e.data)}`);
			return false;
		}
	}

	const step = (name, fn, opts) => test(name, async (t) => {
		if (skip(t)) return;
		try {
			await fn(t);
		} catch (e) {
			if (!opts?.todo) st.failed = true;
			throw e;
		}
	}, opts);

	step('filling the disk: writes are refused with storage_full, never a crash or a hang', async () => {
		const { alice } = st.fx;
		// Large posts until they fail, then smaller ones, until even a tiny
		// one fails: the disk is full for every kind of write.
		let size = 30000;
		let fails = 0;
		let firstRefusal = null;
		for (let i = 0; i < 2000 && size >= 1; i++) {
			const text = `fill ${i} ${'y'.repeat(size)}`;
			try {
				const r = await alice.client.chat.postMessage({ channel: st.ch, text });
				st.posts.set(r.ts, text);
				fails = 0;
			} catch (e) {
				assert.equal(e.code, 'slack_webapi_platform_error', `a refused write is an API error, not a transport error: ${e.stack}`);
				assert.equal(e.data.error, 'storage_full', `error name: ${JSON.stringify(e.data)}`);
				st.refused.push(text);
				firstRefusal ??= i;
				if (++fails >= 3) {
					size = Math.floor(size / 4);
					fails = 0;
				}
			}
		}
		assert.ok(firstRefusal !== null, 'the disk never filled up');
		assert.ok(st.posts.size >= 10, `only ${st.posts.size} posts fitted before the disk was full`);
		assert.ok(st.refused.length >= 3);
		// From here on a small write may still fit now and then (a
		// checkpoint lets the WAL start over in the space it has), so every
		// write below is either acknowledged (and recorded) or refused with
		// storage_full.
		// The raw answer: HTTP 200 with Slack's shape (the SDKs retry other statuses).
		let rawRefused = null;
		for (let i = 0; i < 20 && !rawRefused; i++) {
			const text = `raw while full ${i}`;
			const raw = await rawApi(st.srv, 'chat.postMessage', {
				headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
				body: JSON.stringify({ channel: st.ch, text }),
			});
			assert.equal(raw.status, 200, raw.text);
			if (raw.json.ok) st.posts.set(raw.json.ts, text);
			else {
				assert.equal(raw.json.error, 'storage_full', raw.text);
				rawRefused = raw.json;
				st.refused.push(text);
			}
		}
		assert.deepEqual(rawRefused && Object.keys(rawRefused).filter((k) => k !== 'response_metadata'), ['ok', 'error']);
		// Other kinds of writes: acknowledged or refused the same way.
		const some = [...st.posts.keys()][0];
		if (await attempt(alice.client.chat.update({ channel: st.ch, ts: some, text: 'edit while full' }), 'chat.update')) {
			st.posts.set(some, 'edit while full');
		} else st.refused.push('edit while full');
		if (await attempt(st.fx.bob.client.reactions.add({ channel: st.ch, timestamp: some, name: 'eyes' }), 'reactions.add')) {
			st.reactions.push([some, 'eyes']);
		}
		// The operator is told why.
		assert.match(st.srv.stderr, /database or disk is full/);
		assert.ok(st.srv.running, 'canal is still running');
	});

	step('while full: reads work and show every acknowledged write and no refused one', async () => {
		const { alice, bob } = st.fx;
		assert.equal((await alice.client.auth.test()).user_id, alice.id);
		const health = await fetch(`${st.srv.base}/healthz`, { signal: AbortSignal.timeout(5000) });
		assert.equal(health.status, 200);
		const msgs = await collect(bob.client, 'conversations.history', { channel: st.ch }, 'messages', 200);
		const byTs = new Map(msgs.map((m) => [m.ts, m.text]));
		for (const [ts, text] of st.posts) assert.equal(byTs.get(ts), text, `acknowledged post ${ts}`);
		const texts = new Set(msgs.map((m) => m.text));
		for (const t of st.refused) assert.ok(!texts.has(t), `refused post ${t.slice(0, 20)} is visible`);
		const want = new Map(st.reactions);
		for (const m of msgs) {
			assert.deepEqual((m.reactions || []).map((r) => r.name), want.has(m.ts) ? [want.get(m.ts)] : [], `reactions of ${m.ts}`);
		}
		const list = await alice.client.conversations.list({ types: 'public_channel' });
		assert.ok(list.channels.some((c) => c.id === st.ch));
	});

	step('while full: a refused write leaves nothing behind in memory either', async () => {
		const { alice, bob } = st.fx;
		let name = null;
		for (let i = 0; i < 10 && !name; i++) {
			const n = uniq('ghost');
			if (!(await attempt(alice.client.conversations.create({ name: n }), 'conversations.create'))) name = n;
		}
		if (name) {
			const list = await collect(alice.client, 'conversations.list', { types: 'public_channel,private_channel' }, 'channels', 200);
			assert.ok(!list.some((c) => c.name === name), `channel ${name} was refused (storage_full) but conversations.list shows it`);
			// Its name is free again: a second try is refused the same way or
			// works, never name_taken.
			await attempt(alice.client.conversations.create({ name }), 'conversations.create of the refused name');
		}
		if (!(await attempt(bob.client.conversations.join({ channel: st.other }), 'conversations.join'))) {
			const members = (await alice.client.conversations.members({ channel: st.other })).members;
			assert.ok(!members.includes(bob.id), 'bob\'s join was refused (storage_full) but conversations.members lists him');
		}
	});

	step('SIGKILL while full, restart while still full: everything acknowledged is there', async () => {
		const r = await st.srv.kill('SIGKILL');
		assert.equal(r.signal, 'SIGKILL');
		await st.srv.start();
		const msgs = await collect(st.fx.bob.client, 'conversations.history', { channel: st.ch }, 'messages', 200);
		const byTs = new Map(msgs.map((m) => [m.ts, m.text]));
		for (const [ts, text] of st.posts) assert.equal(byTs.get(ts), text, `acknowledged post ${ts} after the crash`);
		let still = 0;
		for (let i = 0; i < 20 && !still; i++) {
			const text = `still full ${i} ${'y'.repeat(20000)}`;
			try {
				const r = await st.fx.alice.client.chat.postMessage({ channel: st.ch, text });
				st.posts.set(r.ts, text);
			} catch (e) {
				assert.equal(e.data?.error, 'storage_full', `after the restart: ${e.stack}`);
				st.refused.push(text);
				still++;
			}
		}
		assert.equal(still, 1, 'large posts are refused after the restart while the disk is still full');
	});

	step('with room again: writes work', async () => {
		await remount(st.mnt, 'size=20m');
		const { alice, bob } = st.fx;
		for (let i = 0; i < 5; i++) {
			const text = `after remount ${i} ${'z'.repeat(20000)}`;
			const r = await alice.client.chat.postMessage({ channel: st.ch, text });
			st.posts.set(r.ts, text);
		}
		const some = [...st.posts.keys()][0];
		await alice.client.chat.update({ channel: st.ch, ts: some, text: 'edited with room' });
		st.posts.set(some, 'edited with room');
		const last = [...st.posts.keys()].at(-1);
		await bob.client.reactions.add({ channel: st.ch, timestamp: last, name: 'tada' });
		st.reactions.push([last, 'tada']);
		const name = uniq('roomy');
		const c = (await alice.client.conversations.create({ name })).channel;
		assert.equal(c.name, name);
	});

	step('clean restart: everything acknowledged is there, the database passes its checks', async () => {
		const r = await st.srv.kill('SIGTERM');
		assert.equal(r.code, 0, `clean exit after the disk was full: ${JSON.stringify(r)}`);
		const db = path.join(st.mnt, 'data', 'canal.db');
		assert.equal(sqlite(db, 'PRAGMA integrity_check;'), 'ok');
		assert.equal(sqlite(db, 'PRAGMA foreign_key_check;'), '');
		assert.equal(sqlite(db, 'SELECT count(*) FROM messages WHERE channel_id NOT IN (SELECT id FROM channels);'), '0');
		await st.srv.start();
		const msgs = await collect(st.fx.bob.client, 'conversations.history', { channel: st.ch }, 'messages', 200);
		const byTs = new Map(msgs.map((m) => [m.ts, m]));
		for (const [ts, text] of st.posts) assert.equal(byTs.get(ts)?.text, text, `acknowledged post ${ts} after the restart`);
		const texts = new Set(msgs.map((m) => m.text));
		for (const t of st.refused) assert.ok(!texts.has(t), `refused post ${t.slice(0, 20)} appeared after the restart`);
		const want = new Map(st.reactions);
		for (const m of msgs) {
			const exp = want.has(m.ts) ? [[want.get(m.ts), [st.fx.bob.id]]] : [];
			assert.deepEqual((m.reactions || []).map((x) => [x.name, x.users]), exp, `reactions of ${m.ts} after the restart`);
		}
		await st.srv.shutdown();
	});
});

describe('unwritable data directory', () => {
	let work;
	before(async () => { work = await mkdtemp(path.join(tmpdir(), 'canal-unwritable-')); });
	after(async () => { await rm(work, { recursive: true, force: true }); });

	test('on a read-only file system: exits at once, naming the directory and the reason', async (t) => {
		const mnt = path.join(work, 'ro');
		await mkdir(mnt);
		if (!(await mountTmpfs(mnt, '1m'))) {
			t.skip('needs mount (root and permission to mount a tmpfs)');
			return;
		}
		try {
			const existing = path.join(mnt, 'data');
			await mkdir(existing);
			await remount(mnt, 'ro');
			// An existing directory (access(2) says EROFS even to root)...
			assertRefusedStartup(await serveExpectingExit(existing), existing, /not writable: Read-only file system/);
			// ...and one that would have to be created.
			const missing = path.join(mnt, 'new', 'data');
			assertRefusedStartup(await serveExpectingExit(missing), path.join(mnt, 'new'), /cannot create data directory .*Read-only file system/);
		} finally {
			await unmount(mnt);
		}
	});

	test('with a database already there, remounted read-only: exits at once with the reason', async (t) => {
		const mnt = path.join(work, 'ro2');
		await mkdir(mnt);
		if (!(await mountTmpfs(mnt, '4m'))) {
			t.skip('needs mount (root and permission to mount a tmpfs)');
			return;
		}
		try {
			const data = path.join(mnt, 'data');
			const srv = await CanalServer.create({ dataDir: data });
			await srv.shutdown();
			await remount(mnt, 'ro');
			assertRefusedStartup(await serveExpectingExit(data), data, /not writable: Read-only file system/);
		} finally {
			await unmount(mnt);
		}
	});

	test('a file where the directory should be: exits at once, naming it', async () => {
		const file = path.join(work, 'not-a-dir');
		await writeFile(file, 'x');
		assertRefusedStartup(await serveExpectingExit(file), file, /is not a directory/);
	});

	test('a directory without write permission (non-root only): exits at once, naming it', async (t) => {
		if (isRoot) {
			t.skip('root ignores permission bits (the read-only mount covers root)');
			return;
		}
		const dir = path.join(work, 'locked');
		await mkdir(dir);
		await chmod(dir, 0o500);
		assertRefusedStartup(await serveExpectingExit(dir), dir, /not writable: Permission denied/);
	});

	test('a full disk at the first start: exits at once with the reason', async (t) => {
		const mnt = path.join(work, 'full');
		await mkdir(mnt);
		if (!(await mountTmpfs(mnt, '256k'))) {
			t.skip('needs mount (root and permission to mount a tmpfs)');
			return;
		}
		try {
			const data = path.join(mnt, 'data');
			await mkdir(data);
			// Fill every block (writeFile stops with ENOSPC).
			await writeFile(path.join(mnt, 'filler'), Buffer.alloc(512 * 1024)).catch((e) => assert.equal(e.code, 'ENOSPC'));
			const r = await serveExpectingExit(data);
			assertRefusedStartup(r, data, /disk is full/);
		} finally {
			await unmount(mnt);
		}
	});
});
