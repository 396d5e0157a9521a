// Web client figures (issue 6): bytes of JS+CSS on first load, time to
// interactive on localhost, channel switch render time with history, and
// frame times while scrolling a channel with 10,000 messages loaded.
// Run by bench/web-run (make bench). Bounded: a fixed number of messages,
// loads and frames; every wait has a timeout.
import { CanalServer } from '../tests/e2e/lib/server.mjs';
import { makeFixture } from '../tests/e2e/lib/fixture.mjs';
import { HAVE_CHROMIUM, launch, signedIn } from '../tests/e2e/lib/browser.mjs';

const N_BIG = Number(process.env.WEB_BIG_MESSAGES || 10000);
const N_SMALL = Number(process.env.WEB_SMALL_MESSAGES || 500);
const LOADS = Number(process.env.WEB_LOADS || 7);
const SWITCHES = Number(process.env.WEB_SWITCHES || 10);
const FRAMES = Number(process.env.WEB_FRAMES || 240);

if (!HAVE_CHROMIUM) {
  console.log('web bench: /usr/bin/chromium missing, skipped');
  process.exit(0);
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const f1 = (x) => x.toFixed(1);
const verdict = (ok) => (ok ? 'ok' : 'OVER TARGET');

async function fill(client, channel, n, label) {
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await client.chat.postMessage({ channel, text: `${label} message ${i}: *some* text with a <https://example.com|link> and :eyes: ${'lorem ipsum '.repeat(i % 7)}` });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return Date.now() - t0;
}

const srv = await CanalServer.create({ extraArgs: ['--rate-limit-factor', '0'] });
let browser;
try {
  const fx = await makeFixture(srv);
  const { alice } = fx;
  const big = (await alice.client.conversations.create({ name: `bench-big-${Date.now()}` })).channel;
  const small = (await alice.client.conversations.create({ name: `bench-small-${Date.now()}` })).channel;
  const ms = await fill(alice.client, big.id, N_BIG, 'big');
  await fill(alice.client, small.id, N_SMALL, 'small');
  console.log(`web bench: posted ${N_BIG} + ${N_SMALL} messages in ${(ms / 1000).toFixed(1)} s`);

  browser = await launch();
  const page = await signedIn(browser, srv.base, alice.email);
  const url = `${srv.base}/client/${fx.org.id}/${small.id}`;

  // 1. First load: every script and stylesheet the page fetched, cold cache.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const bytes = { script: 0, stylesheet: 0 };
  const files = [];
  const onResp = async (r) => {
    const type = r.request().resourceType();
    if (type !== 'script' && type !== 'stylesheet') return;
    if (r.status() !== 200) return;
    const b = await r.body().catch(() => Buffer.alloc(0));
    bytes[type] += b.length;
    files.push(`${r.url().replace(srv.base, '')} ${b.length}`);
  };
  page.on('response', onResp);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await page.waitForLoadState('networkidle');
  page.off('response', onResp);
  const total = bytes.script + bytes.stylesheet;
  // WEB_LIST_FILES=1 lists what the first load fetched.
  if (process.env.WEB_LIST_FILES) for (const f of files) console.log(`  ${f}`);
  console.log(`first load: JS ${(bytes.script / 1024).toFixed(1)} KB + CSS ${(bytes.stylesheet / 1024).toFixed(1)} KB = ${(total / 1024).toFixed(1)} KB uncompressed in ${files.length} files (target < 200 KB): ${verdict(total < 200 * 1024)}`);

  // 2. Time to interactive: navigation start -> app ready (sidebar, list
  //    and composer usable, history of the open channel on screen).
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  const ready = [];
  for (let i = 0; i < LOADS; i++) {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
    ready.push(await page.evaluate(() => window.__canalReadyAt));
  }
  console.log(`time to interactive: median ${f1(median(ready))} ms, max ${f1(Math.max(...ready))} ms over ${LOADS} loads (target < 300 ms): ${verdict(median(ready) < 300)}`);

  // 3. Channel switch with history: a first visit (fetches a page of
  //    history) and later visits (already loaded), until the next frame.
  const sw = await page.evaluate(async ({ a, b, n }) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const cold = [];
    const warm = [];
    const coldIn = [];
    const warmIn = [];
    for (let i = 0; i < n; i++) {
      for (const id of [a, b]) {
        const c = window.__canal.S.convs.get(id);
        // Every other round forgets the history, so that visit fetches it
        // as a first visit does (the app prefetches a few conversations).
        if (i % 2 === 0 && window.__canal.S.current !== id) { c.loaded = false; c.msgs = []; c.byTs = new Map(); c.hasOlder = true; }
        const first = !c.loaded;
        const t = performance.now();
        await window.__canal.open(id);
        await frame();
        (first ? cold : warm).push(performance.now() - t);
        (first ? coldIn : warmIn).push(window.__canalLastSwitchMs);
        if (document.querySelectorAll('#main .row').length === 0) throw new Error('nothing rendered');
      }
    }
    return { cold, warm, coldIn, warmIn };
  }, { a: big.id, b: small.id, n: SWITCHES });
  const coldTxt = sw.cold.length ? `first visit (fetch + render) ${f1(median(sw.cold))} ms` : 'first visit: history already prefetched';
  console.log(`channel switch: ${coldTxt}; loaded median ${f1(median(sw.warm))} ms, p95 ${f1(pct(sw.warm, 0.95))} ms (target < 100 ms): ${verdict((!sw.cold.length || median(sw.cold) < 100) && median(sw.warm) < 100)}`);
  console.log(`  of which script work before the paint: ${sw.coldIn.length ? `first visit ${f1(median(sw.coldIn))} ms, ` : ''}loaded ${f1(median(sw.warmIn))} ms`);

  // 4. 10,000 messages: page all of the big channel's history in, then
  //    scroll through it and time the frames.
  const big10k = await page.evaluate(async ({ id, frames }) => {
    const { S, open, channel, loadHistory } = window.__canal;
    await open(id);
    const c = S.convs.get(id);
    const t0 = performance.now();
    for (let i = 0; i < 1000 && c.hasOlder; i++) await loadHistory(id, { older: true });
    const loadMs = performance.now() - t0;
    const sc = channel.list.scroller;
    channel.list.show(c);
    const times = [];
    let maxRows = 0;
    await new Promise((resolve) => {
      let last = performance.now();
      let n = 0;
      const step = (now) => {
        times.push(now - last);
        last = now;
        sc.scrollTop -= 120;          // scrolling up, as a reader going back
        maxRows = Math.max(maxRows, document.querySelectorAll('#main .row').length);
        if (++n < frames) requestAnimationFrame(step); else resolve();
      };
      requestAnimationFrame(step);
    });
    // Jump to the oldest end and back: the window moves, the DOM stays small.
    return { loaded: c.msgs.length, loadMs, times: times.slice(1), maxRows, rendered: document.querySelectorAll('#main .row').length };
  }, { id: big.id, frames: FRAMES });
  const p50 = median(big10k.times);
  const p95 = pct(big10k.times, 0.95);
  const long = big10k.times.filter((t) => t > 50).length;
  console.log(`10k messages: ${big10k.loaded} loaded in ${f1(big10k.loadMs / 1000)} s of paging; scrolling ${big10k.times.length} frames: p50 ${f1(p50)} ms, p95 ${f1(p95)} ms, max ${f1(Math.max(...big10k.times))} ms, ${long} frames over 50 ms; at most ${big10k.maxRows} message rows in the DOM: ${verdict(p95 < 50 && big10k.maxRows <= 200)}`);
} finally {
  await browser?.close();
  await srv.stop();
}
