// A client that stops reading is cut off (close 1008) once its output
// limit is reached, while another member keeps receiving every message; the
// server stays healthy and its memory bounded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after } from 'node:test';
import { test, useServer, canalBin } from './lib/server.mjs';
import { uniq, createUser, collect } from './lib/fixture.mjs';
import { connect, closeAll, assertHealthy } from './lib/rtm.mjs';

const MiB = 1 << 20;
const TEXT_CHARS = 39000; // under the 40000-character limit
const BATCH = 16; // concurrent posts
const MAX_POSTED = 160 * MiB; // give up (and fail) past this
const AFTER_CUT = 40; // posts after the cut

let carol;
let ch;
const env = useServer({ setup: async () => {
	const { org, alice, bob } = env.fx;
	carol = await createUser(env.srv, org.id, 'carol');
	ch = (await alice.client.conversations.create({ name: uniq('rt-firehose') })).channel;
	await alice.client.conversations.invite({ channel: ch.id, users: `${bob.id},${carol.id}` });
} });
after(closeAll);

// canal_ws_closed_total{reason="output_limit"} from /metrics (null if absent).
async function outputLimitCloses(srv) {
	const res = await fetch(`${srv.base}/metrics`, { signal: AbortSignal.timeout(5000) });
	const text = await res.text();
	const m = /^canal_ws_closed_total\{reason="output_limit"\} (\d+)/m.exec(text);
	return m ? Number(m[1]) : null;
}

function rssKiB(pid) {
	const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) : 0;
}

// State of the server's end of a loopback TCP connection ('01' =
// ESTABLISHED), or null once it is gone.
function serverSideState(serverPort, clientPort) {
	for (const l of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
		const f = l.trim().split(/\s+/);
		if (f.length < 4) continue;
		const lp = parseInt(f[1].split(':')[1], 16);
		const rp = parseInt(f[2].split(':')[1], 16);
		if (lp === serverPort && rp === clientPort) return f[3];
	}
	return null;
}

test('slow consumer: closed with 1008 at its output limit; another member receives every message', async () => {
	const { alice, bob } = env.fx;
	const pid = env.srv.child.pid;
	const asan = /asan/i.test(canalBin());
	const slow = await connect(bob.client, { label: 'bob-slow' });
	const fast = await connect(carol.client, { label: 'carol-fast' });
	const clientPort = slow.ws._socket.localPort;
	assert.equal(serverSideState(env.srv.port, clientPort), '01', 'server side of the slow socket found in /proc/net/tcp');
	slow.ws._socket.pause(); // stop reading, for good (until the end)

	const limitCloses0 = await outputLimitCloses(env.srv);
	const rss0 = rssKiB(pid);
	let rssPeak = rss0;
	const posted = [];
	let postedBytes = 0;
	let n = 0;
	let cutAt = null;
	const post = async () => {
		const i = n++;
		const text = `#${i} ` + 'x'.repeat(TEXT_CHARS - 8);
		const r = await alice.client.chat.postMessage({ channel: ch.id, text });
		posted.push(r.ts);
		postedBytes += text.length;
	};
	// A watcher polls the server's count of output-limit closes and lets
	// the client read again the moment it moves (a stalled client coming
	// back): it must then find a clean prefix of the stream and the
	// server's close frame with 1008. The TCP state and bob's presence are
	// fallback signals, checked between batches.
	let watching = true;
	const watcher = (async () => {
		if (limitCloses0 === null) return;
		while (watching && !cutAt) {
			const lc = await outputLimitCloses(env.srv);
			if (lc > limitCloses0 && !cutAt) {
				slow.ws._socket.resume();
				cutAt = { postedBytes, state: 'metrics output_limit' };
				return;
			}
			await new Promise((r) => setTimeout(r, 10));
		}
	})();
	const t0 = Date.now();
	try {
		while (!cutAt && postedBytes < MAX_POSTED) {
			await Promise.all(Array.from({ length: BATCH }, post));
			rssPeak = Math.max(rssPeak, rssKiB(pid));
			if (cutAt) break;
			const st = serverSideState(env.srv.port, clientPort);
			if (st !== '01') { cutAt = { postedBytes, state: `tcp state ${st}` }; break; }
			if ((await bob.client.users.getPresence({ user: bob.id })).presence === 'away') {
				cutAt = { postedBytes, state: 'presence away' };
				break;
			}
		}
	} finally {
		watching = false;
		await watcher;
	}
	const postMs = Date.now() - t0;
	slow.ws._socket.resume();
	assert.ok(cutAt, `the server never cut the non-reading socket: ${(postedBytes / MiB).toFixed(1)} MiB posted in ${postMs} ms, server side still ESTABLISHED, bob still active; RSS ${rss0} -> ${rssPeak} kB`);
	await assertHealthy(env.srv, 'after the cut');

	// Messages keep flowing to the others after the cut.
	for (let i = 0; i < AFTER_CUT / BATCH; i++) await Promise.all(Array.from({ length: BATCH }, post));
	rssPeak = Math.max(rssPeak, rssKiB(pid));

	// carol got every message, each once.
	const want = new Set(posted);
	const last = posted.reduce((a, b) => (a > b ? a : b));
	await fast.next((e) => e.type === 'message' && e.ts === last, 30000, 0, 'the last message on the fast socket');
	const fastTs = fast.all((e) => e.type === 'message' && e.channel === ch.id && want.has(e.ts)).map((e) => e.ts);
	assert.equal(fastTs.length, posted.length, `carol received ${fastTs.length} of ${posted.length} messages`);
	assert.equal(new Set(fastTs).size, posted.length, 'no duplicates');
	assert.equal(fast.closeInfo, null, 'the fast socket is still open');
	await fast.ping();

	// The slow socket: a clean prefix of the stream, then a close 1008.
	const closeInfo = await slow.waitClosed(20000);
	assert.equal(closeInfo.code, 1008, `slow consumer close code: expected 1008, got ${JSON.stringify(closeInfo)} (cut detected by ${cutAt.state} after ${(cutAt.postedBytes / MiB).toFixed(1)} MiB)`);
	assert.deepEqual(slow.badFrames.map((f) => String(f.data).slice(0, 100)), [], 'every frame before the close is whole JSON');
	const slowTs = slow.all((e) => e.type === 'message' && e.channel === ch.id && want.has(e.ts)).map((e) => e.ts);
	assert.ok(slowTs.length < posted.length, `the slow socket cannot have had everything (${slowTs.length}/${posted.length})`);
	assert.deepEqual(slowTs, fastTs.slice(0, slowTs.length), 'what the slow socket got is a prefix of the stream, in order');

	// Memory stayed bounded (the slow socket's backlog was dropped).
	const growMiB = (rssPeak - rss0) / 1024;
	const bound = asan ? 768 : 128;
	if (limitCloses0 !== null) assert.equal(await outputLimitCloses(env.srv), limitCloses0 + 1, 'exactly one socket closed for its output limit');
	assert.ok(growMiB < bound, `RSS grew ${growMiB.toFixed(1)} MiB (${rss0} -> ${rssPeak} kB) with ${(postedBytes / MiB).toFixed(1)} MiB posted; bound ${bound} MiB`);
	await assertHealthy(env.srv, 'at the end');

	// bob reconnects and refetches history: nothing was lost.
	const again = await connect(bob.client, { label: 'bob-again' });
	const hist = await collect(bob.client, 'conversations.history', { channel: ch.id, oldest: posted.reduce((a, b) => (a < b ? a : b)), inclusive: true }, 'messages', 200);
	const histTs = new Set(hist.map((m) => m.ts));
	assert.ok(posted.every((t) => histTs.has(t)), `history after reconnect has all ${posted.length} messages (has ${[...want].filter((t) => histTs.has(t)).length})`);
	const t = (await alice.client.chat.postMessage({ channel: ch.id, text: 'welcome back' })).ts;
	await again.next((e) => e.type === 'message' && e.ts === t);
	process.stderr.write(`# slow consumer: cut after ${(cutAt.postedBytes / MiB).toFixed(1)} MiB (${cutAt.state}), ${posted.length} posts in ${postMs} ms + after, RSS ${rss0} -> ${rssPeak} kB, slow got ${slowTs.length}\n`);
});

test('a client that never reads again: the server drops the connection (no stalled socket kept)', async () => {
	const { org, alice } = env.fx;
	const dave = await createUser(env.srv, org.id, uniq('dave'));
	await alice.client.conversations.invite({ channel: ch.id, users: dave.id });
	const stuck = await connect(dave.client, { label: 'dave-stuck' });
	const fast = await connect(carol.client, { label: 'carol-fast-2' });
	const clientPort = stuck.ws._socket.localPort;
	stuck.ws._socket.pause();
	const lc0 = await outputLimitCloses(env.srv);
	const posted = [];
	let bytes = 0;
	let cut = false;
	const post = async () => {
		const text = `stuck ${posted.length} ` + 'y'.repeat(TEXT_CHARS - 16);
		posted.push((await alice.client.chat.postMessage({ channel: ch.id, text })).ts);
		bytes += text.length;
	};
	while (!cut && bytes < MAX_POSTED) {
		await Promise.all(Array.from({ length: BATCH }, post));
		const lc = await outputLimitCloses(env.srv);
		cut = (lc !== null && lc > lc0) || serverSideState(env.srv.port, clientPort) !== '01';
	}
	assert.ok(cut, `never cut: ${(bytes / MiB).toFixed(1)} MiB posted`);
	// Without ever reading, the server must let go of the connection
	// (bounded), and dave goes away.
	const deadline = Date.now() + 10000;
	let st;
	while ((st = serverSideState(env.srv.port, clientPort)) === '01') {
		assert.ok(Date.now() < deadline, 'the server still holds the stalled connection ESTABLISHED 10 s after cutting it');
		await new Promise((r) => setTimeout(r, 50));
	}
	const deadline2 = Date.now() + 10000;
	while ((await dave.client.users.getPresence({ user: dave.id })).presence !== 'away') {
		assert.ok(Date.now() < deadline2, 'dave still active 10 s after his only socket was dropped');
		await new Promise((r) => setTimeout(r, 50));
	}
	const last = posted.reduce((a, b) => (a > b ? a : b));
	await fast.next((e) => e.type === 'message' && e.ts === last, 20000, 0, 'the last message on the fast socket');
	assert.equal(fast.closeInfo, null);
	await assertHealthy(env.srv, 'after dropping the stalled socket');
	// What the client finally reads is whole frames only; the connection ends.
	stuck.ws._socket.resume();
	const ci = await stuck.waitClosed(20000);
	assert.deepEqual(stuck.badFrames.map((f) => String(f.data).slice(0, 100)), [], 'whole JSON frames only');
	process.stderr.write(`# stalled consumer: server side ${st ?? 'gone'} after ${(bytes / MiB).toFixed(1)} MiB; client saw close ${JSON.stringify(ci)}\n`);
});
