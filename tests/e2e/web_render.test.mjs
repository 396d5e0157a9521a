// The shared renderers inside the web client (Debian's Chromium): the
// emoji table is not part of the first load and arrives on first need
// (then what was drawn is drawn again), the quick reactions show emoji, not
// names, user-group mentions get their handle and their own style, mentions
// of the reader stand out; Block Kit (blockkit.js, also loaded on first
// need) draws apps' blocks and legacy attachments.
import assert from 'node:assert/strict';
import { after, test as nodeTest } from 'node:test';
import { useServer, waitFor, TEST_TIMEOUT_MS } from './lib/server.mjs';
import { uniq } from './lib/fixture.mjs';
import { HAVE_CHROMIUM, launch, signedIn } from './lib/browser.mjs';

const env = useServer();
const skip = HAVE_CHROMIUM ? false : 'no /usr/bin/chromium';
const test = (name, fn) => nodeTest(name, { skip, timeout: TEST_TIMEOUT_MS }, fn);
const errors = [];
let browser;
after(async () => { await browser?.close(); });

const loaded = (page, file) => page.evaluate((f) => performance.getEntriesByType('resource').some((e) => e.name.endsWith(`/js/${f}`)), file);
const msg = (page, text) => page.locator('#main .msg', { hasText: text });

test('emoji load on first need; quick reactions, groups, mentions and attachments render', async () => {
  const { alice, bob } = env.fx;
  const ch = (await alice.client.conversations.create({ name: uniq('render').toLowerCase() })).channel;
  await alice.client.conversations.invite({ channel: ch.id, users: bob.id });
  await alice.client.chat.postMessage({ channel: ch.id, text: 'plain words only' });
  browser = await launch();
  const B = await signedIn(browser, env.srv.base, bob.email, { errors });
  await B.goto(`${env.srv.base}/client/${env.fx.org.id}/${ch.id}`);
  await B.waitForSelector('body[data-ready="1"]');
  await msg(B, 'plain words only').waitFor();
  assert.equal(await loaded(B, 'mrkdwn.js'), true);
  assert.equal(await loaded(B, 'emoji.js'), false, 'no emoji, no emoji table');
  assert.equal(await loaded(B, 'blockkit.js'), false, 'no blocks, no Block Kit renderer');
  assert.equal(await loaded(B, 'render-fallback.js'), false);

  // The toolbar's quick reactions are emoji, before the table is loaded.
  await msg(B, 'plain words only').hover();
  const quick = msg(B, 'plain words only').locator('button[data-act="quick-react"]');
  assert.deepEqual(await quick.allInnerTexts(), ['👀', '🔧', '✅']);
  assert.deepEqual(await quick.evaluateAll((bs) => bs.map((b) => b.dataset.emoji)), ['eyes', 'wrench', 'white_check_mark']);
  assert.equal(await loaded(B, 'emoji.js'), false);
  await quick.first().click();
  // The click's reactions.add is the browser's own request: poll for it.
  const ts = await msg(B, 'plain words only').evaluate((e) => e.closest('.row').dataset.ts);
  let r;
  await waitFor(async () => {
    r = await alice.client.reactions.get({ channel: ch.id, timestamp: ts });
    return r.message.reactions !== undefined;
  }, { what: 'the quick reaction stored' });
  assert.deepEqual(r.message.reactions.map((x) => x.name), ['eyes']);

  // A message with a shortcode arrives live: the table is fetched and the
  // message drawn with the emoji.
  const g = (await alice.client.apiCall('usergroups.create', { name: 'Oncall', handle: uniq('oncall').toLowerCase() })).usergroup;
  await alice.client.chat.postMessage({ channel: ch.id, text: `ship it :tada: <!subteam^${g.id}> <@${bob.id}>` });
  const m = msg(B, 'ship it');
  await m.locator('.emoji', { hasText: '🎉' }).waitFor();
  assert.equal(await loaded(B, 'emoji.js'), true);
  const group = m.locator('.mention-group');
  await group.filter({ hasText: `@${g.handle}` }).waitFor();
  const bg = await group.evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'user-group mentions have a style');
  assert.notEqual(bg, await m.locator('.mention[data-user-id]').first().evaluate((e) => getComputedStyle(e).backgroundColor));
  await m.locator(`.mention.mention-me[data-user-id="${bob.id}"]`).waitFor();

  // Legacy attachments (webhooks, older apps) show below the text.
  await alice.client.chat.postMessage({ channel: ch.id, text: 'with an attachment', attachments: [{ color: '#36a64f', title: 'Build 42', text: 'all *green*' }] });
  const att = msg(B, 'with an attachment').locator('.attachments');
  await att.getByText('Build 42').waitFor();
  await att.locator('b', { hasText: 'green' }).waitFor();
  assert.equal(await loaded(B, 'blockkit.js'), true);
  // Blocks from an app: drawn by blockkit.js, the text only the fallback.
  await env.fx.bot.client.conversations.join({ channel: ch.id });
  await env.fx.bot.client.chat.postMessage({ channel: ch.id, text: 'fallback words', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Deploy :rocket:' } }, { type: 'divider' }] });
  const bm = B.locator('#main .msg', { has: B.locator('.bk-header') });
  await bm.locator('.bk-header', { hasText: 'Deploy 🚀' }).waitFor();
  assert.equal(await bm.getByText('fallback words').count(), 0);
  assert.deepEqual(errors, []);
});
