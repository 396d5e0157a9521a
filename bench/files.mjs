// Upload benchmark: FILES_N uploads of FILES_MB MiB each through the upload
// URL (files.getUploadURLExternal, POST of the bytes, completeUploadExternal),
// FILES_CONC at a time, streamed from the client too (never whole in
// memory on either side). Prints throughput and the server's resident
// memory before, at its peak (VmHWM) and after, which shows that memory
// per upload stays bounded whatever the file size. Then downloads each file
// once and reports that throughput. Bounded: at most 64 uploads of at most
// 2048 MiB; the throwaway data dir is removed at the end.
//
//   node bench/files.mjs            (or: make bench-files)
//   FILES_N=8 FILES_MB=256 FILES_CONC=4 node bench/files.mjs
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { CanalServer } from '../tests/e2e/lib/server.mjs';
import { createOrg, createUser } from '../tests/e2e/lib/fixture.mjs';

const N = Math.min(Number(process.env.FILES_N || 4), 64);
const MB = Math.min(Number(process.env.FILES_MB || 128), 2048);
const CONC = Math.max(1, Math.min(Number(process.env.FILES_CONC || 2), 16));
const CHUNK = 1 << 20;

function rssKiB(pid, field) {
	const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
	return m ? Number(m[1]) : NaN;
}

// MB MiB of bytes that differ per file (so no two blobs are shared).
function body(seed) {
	let sent = 0;
	const total = MB * CHUNK;
	return Readable.from((function* gen() {
		while (sent < total) {
			const b = Buffer.alloc(Math.min(CHUNK, total - sent), seed & 0xff);
			b.writeUInt32BE(sent >>> 0, 0);
			b.writeUInt32BE(seed, 4);
			sent += b.length;
			yield b;
		}
	})());
}

const srv = await CanalServer.create({ extraArgs: ['--max-file-size', String(MB * CHUNK)] });
let failed = false;
try {
	const org = await createOrg(srv, 'Bench');
	const u = await createUser(srv, org.id, 'uploader');
	const ch = (await u.client.conversations.create({ name: 'bench-files' })).channel.id;
	const pid = srv.child.pid;
	const rssStart = rssKiB(pid, 'VmRSS');
	const files = [];
	const t0 = process.hrtime.bigint();
	let next = 0;
	async function worker() {
		while (next < N) {
			const i = next++;
			const g = await u.client.files.getUploadURLExternal({ filename: `f${i}.bin`, length: MB * CHUNK });
			const r = await fetch(g.upload_url, { method: 'POST', body: body(i + 1), duplex: 'half' });
			if (r.status !== 200) throw new Error(`upload ${i}: HTTP ${r.status} ${await r.text()}`);
			const c = await u.client.files.completeUploadExternal({ files: [{ id: g.file_id }], channel_id: ch });
			files.push(c.files[0]);
		}
	}
	await Promise.all(Array.from({ length: CONC }, worker));
	const up = Number(process.hrtime.bigint() - t0) / 1e9;
	const peak = rssKiB(pid, 'VmHWM');
	const rssAfter = rssKiB(pid, 'VmRSS');

	const t1 = process.hrtime.bigint();
	let got = 0;
	for (const f of files) {
		const r = await fetch(f.url_private, { headers: { authorization: `Bearer ${u.token}` } });
		for await (const piece of r.body) got += piece.length;
	}
	const down = Number(process.hrtime.bigint() - t1) / 1e9;
	if (got !== N * MB * CHUNK) throw new Error(`downloaded ${got} bytes, expected ${N * MB * CHUNK}`);

	const total = N * MB;
	console.log(`files_upload   n=${N} size=${MB}MiB conc=${CONC} total=${total}MiB time=${up.toFixed(2)}s ` +
		`rate=${(total / up).toFixed(1)}MiB/s`);
	console.log(`files_download n=${N} total=${total}MiB time=${down.toFixed(2)}s rate=${(total / down).toFixed(1)}MiB/s`);
	console.log(`server_rss     start=${(rssStart / 1024).toFixed(1)}MiB peak=${(peak / 1024).toFixed(1)}MiB ` +
		`after=${(rssAfter / 1024).toFixed(1)}MiB (peak - start = ${((peak - rssStart) / 1024).toFixed(1)}MiB ` +
		`for ${total}MiB uploaded)`);
} catch (e) {
	failed = true;
	console.error(e);
	console.error(srv.stderrTail());
} finally {
	await srv.stop();
}
process.exit(failed ? 1 : 0);
