// search.messages latency for bench/search-run: one keep-alive client,
// queries one after another (each waits for the previous answer), the
// first WARMUP unmeasured. Bounded: at most N queries and SECONDS seconds.
//
//   node bench/search_latency.mjs BASE_URL TOKEN QUERIES_FILE [N] [SECONDS]
//
// Prints one line:
//   queries=N errors=N p50_ms=X p95_ms=X p99_ms=X max_ms=X matches_p50=N matches_p95=N zero=N
// (matches: messages.total per query, to show what the queries hit).
import { readFileSync } from 'node:fs';

const [base, token, file, nArg, secArg] = process.argv.slice(2);
if (!base || !token || !file) {
	console.error('usage: search_latency.mjs BASE_URL TOKEN QUERIES_FILE [N] [SECONDS]');
	process.exit(2);
}
const queries = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const N = Number(nArg || 500);
const deadline = Date.now() + 1000 * Number(secArg || 60);
const WARMUP = 20;

async function one(q) {
	const t0 = process.hrtime.bigint();
	const res = await fetch(`${base}/api/search.messages`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ query: q, count: '20' }),
		signal: AbortSignal.timeout(10000),
	});
	const body = await res.json();
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	return { ms, ok: res.status === 200 && body.ok === true, total: body.ok ? body.messages.total : -1 };
}

const lat = [], totals = [];
let errors = 0;
for (let i = 0; i < N + WARMUP && Date.now() < deadline; i++) {
	const r = await one(queries[i % queries.length]);
	if (i < WARMUP) continue;
	if (!r.ok) {
		errors++;
		continue;
	}
	lat.push(r.ms);
	totals.push(r.total);
}
const pct = (a, p) => {
	if (!a.length) return 0;
	const s = [...a].sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const f = (x) => x.toFixed(2);
console.log(
	`queries=${lat.length} errors=${errors} p50_ms=${f(pct(lat, 50))} p95_ms=${f(pct(lat, 95))}` +
	` p99_ms=${f(pct(lat, 99))} max_ms=${f(pct(lat, 100))} matches_p50=${pct(totals, 50)}` +
	` matches_p95=${pct(totals, 95)} zero=${totals.filter((t) => t === 0).length}`,
);
process.exit(errors ? 1 : 0);
