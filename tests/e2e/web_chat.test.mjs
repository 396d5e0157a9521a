// The web client end to end in Debian's Chromium: two people in two
// browser contexts sign in, create and join a channel, chat with typing
// indicators, get unread and mention badges, reply in a thread, react,
// edit, and keep working across a server restart (catch-up without
// duplicates); a phone-width layout; screenshots in test-artifacts/.
import assert from 'node:assert/strict';
import { after, test as nodeTest } from 'node:test';
import { useServer, waitFor, TEST_TIMEOUT_MS } from './lib/server.mjs';
import { uniq } from './lib/fixture.mjs';
import { HAVE_CHROMIUM, launch, shot, signedIn, freePort, UI_TIMEOUT_MS, chainedSteps } from './lib/browser.mjs';

const port = await freePort();
const env = useServer({ extraArgs: ['--listen', `127.0.0.1:${port}`] });
const skip = HAVE_CHROMIUM ? false : 'no /usr/bin/chromium';
// Steps that build on each other (chainedSteps).
const test = chainedSteps(nodeTest, TEST_TIMEOUT_MS);
const errors = [];
let browser;
let A; // alice's page
let B; // bob's page
let chan; // the channel's name
let chanId;

after(async () => { await browser?.close(); });

const conv = (page, name) => page.locator('.sidebar a.conv', { hasText: new RegExp(`^\\W*${name}\\W*\\d*$`) });
const msg = (page, text) => page.locator('#main .msg', { hasText: text });

test('two people sign in; one creates a channel, the other finds and joins it', async () => {
  browser = await launch();
  A = await signedIn(browser, env.srv.base, env.fx.alice.email, { errors });
  B = await signedIn(browser, env.srv.base, env.fx.bob.email, { errors });
  await A.getByRole('navigation', { name: 'Conversations' }).waitFor();
  await A.getByRole('main').waitFor();
  chan = uniq('web').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  await A.getByRole('button', { name: '+ Create channel' }).click();
  await A.getByRole('dialog').getByLabel('Name').fill(chan);
  await A.getByRole('button', { name: 'Create', exact: true }).click();
  await A.locator('#ch-title', { hasText: chan }).waitFor();
  await conv(A, chan).waitFor();
  chanId = await conv(A, chan).getAttribute('data-id');
  assert.match(chanId, /^C/);
  assert.match(A.url(), new RegExp(`/client/T[A-Z0-9]+/${chanId}$`));

  await B.getByRole('button', { name: '# Browse channels' }).click();
  await B.getByRole('dialog').getByLabel('Search channels').fill(chan);
  await B.getByRole('button', { name: `Join #${chan}` }).click();
  await B.locator('#ch-title', { hasText: chan }).waitFor();
  await conv(B, chan).waitFor();
  // Alice sees bob join (a system message) live.
  await msg(A, 'joined').last().waitFor();
  await shot(A, 'web-channel-1440');
});

test('messages and typing arrive live; Shift+Enter makes a new line', async () => {
  const box = B.locator('#composer-main');
  await box.click();
  await box.pressSequentially('hel');
  await A.locator('.typing', { hasText: 'bob is typing' }).waitFor();
  await box.pressSequentially('lo alice');
  await box.press('Enter');
  await msg(A, 'hello alice').waitFor();
  assert.equal(await box.inputValue(), '');

  const abox = A.locator('#composer-main');
  await abox.click();
  await abox.pressSequentially('line one');
  await abox.press('Shift+Enter');
  await abox.pressSequentially('line two');
  assert.equal(await abox.inputValue(), 'line one\nline two');
  await abox.press('Enter');
  const m = msg(B, 'line one');
  await m.waitFor();
  assert.match(await m.locator('.text').innerText(), /line one\s*\n\s*line two/);
  // Consecutive messages from one person are grouped: one name shown.
  await abox.pressSequentially('and a third');
  await abox.press('Enter');
  await msg(B, 'and a third').waitFor();
  assert.equal(await msg(B, 'and a third').locator('.author').count(), 0);
  assert.ok(await B.locator('#main .day-sep').count() >= 1, 'a day separator');
});

test('unread and mention badges in the sidebar and the tab title; opening reads', async () => {
  await conv(B, 'general').click();
  await B.locator('#ch-title', { hasText: 'general' }).waitFor();
  const abox = A.locator('#composer-main');
  await abox.pressSequentially('plain news');
  await abox.press('Enter');
  await B.locator(`.sidebar a.conv.unread[data-id="${chanId}"]`).waitFor();
  assert.equal(await B.locator(`.sidebar a.conv[data-id="${chanId}"] .badge`).count(), 0);
  // A mention through the @ autocomplete.
  await abox.pressSequentially('@bo');
  await A.getByRole('option', { name: /@bob/ }).waitFor();
  await abox.press('Enter');
  await abox.pressSequentially('please look');
  assert.equal(await abox.inputValue(), '@bob please look');
  await abox.press('Enter');
  await B.locator(`.sidebar a.conv[data-id="${chanId}"] .badge`, { hasText: '1' }).waitFor();
  await waitFor(async () => /^\(1\) /.test(await B.title()), { what: 'tab title with 1 mention', timeoutMs: UI_TIMEOUT_MS });
  await shot(B, 'web-unread-1440');
  await conv(B, chan).click();
  await msg(B, 'please look').waitFor();
  assert.match(await msg(B, 'please look').locator('.text').innerText(), /@bob please look/);
  await waitFor(async () => (await B.locator(`.sidebar a.conv.unread[data-id="${chanId}"]`).count()) === 0, { what: 'unread cleared', timeoutMs: UI_TIMEOUT_MS });
  await waitFor(async () => !/^\(/.test(await B.title()), { what: 'title without count', timeoutMs: UI_TIMEOUT_MS });
  // The server agrees: the mark reached it.
  await waitFor(async () => {
    const r = await env.fx.bob.client.conversations.info({ channel: chanId });
    return r.channel.unread_count === 0;
  }, { what: 'server-side read mark', timeoutMs: UI_TIMEOUT_MS });
});

test('threads: reply with "also send to channel", reply count and participants', async () => {
  const parent = msg(A, 'hello alice');
  await parent.hover();
  await parent.getByRole('button', { name: 'Reply in thread' }).click();
  const panel = A.getByRole('complementary', { name: 'Thread' });
  await panel.waitFor();
  await panel.getByLabel('Reply', { exact: true }).pressSequentially('a threaded answer');
  await panel.getByLabel('Also send to channel').check();
  await panel.getByLabel('Reply', { exact: true }).press('Enter');
  await panel.locator('.msg', { hasText: 'a threaded answer' }).waitFor();
  // Bob: the parent shows one reply, and the broadcast shows in the channel.
  await B.locator('#main .msg', { hasText: 'hello alice' }).locator('.thread-summary', { hasText: '1 reply' }).waitFor();
  await msg(B, 'a threaded answer').waitFor();
  await B.locator('#main .msg', { hasText: 'hello alice' }).locator('.thread-summary').click();
  const bpanel = B.getByRole('complementary', { name: 'Thread' });
  await bpanel.locator('.msg', { hasText: 'a threaded answer' }).waitFor();
  await bpanel.getByLabel('Reply', { exact: true }).pressSequentially('only in the thread');
  await bpanel.getByLabel('Reply', { exact: true }).press('Enter');
  await panel.locator('.msg', { hasText: 'only in the thread' }).waitFor();
  await A.locator('#main .msg', { hasText: 'hello alice' }).locator('.thread-summary', { hasText: '2 replies' }).waitFor();
  assert.equal(await msg(A, 'only in the thread').count(), 0, 'a plain reply stays out of the channel');
  await shot(A, 'web-thread-1440');
  await panel.getByRole('button', { name: 'Close thread' }).click();
  await bpanel.getByRole('button', { name: 'Close thread' }).click();
});

test('reactions: one-click 👀, toggling, counts and who reacted', async () => {
  const m = msg(B, 'plain news');
  await m.hover();
  await m.getByRole('toolbar').locator('button[data-act="quick-react"]').first().click();
  const ra = msg(A, 'plain news').locator('.reaction:not(.add)');
  await ra.waitFor();
  assert.equal(await ra.locator('.count').innerText(), '1');
  assert.match(await ra.getAttribute('title'), /bob/);
  assert.equal(await ra.getAttribute('aria-pressed'), 'false');
  await ra.click();
  await msg(A, 'plain news').locator('.reaction[aria-pressed="true"] .count', { hasText: '2' }).waitFor();
  await msg(B, 'plain news').locator('.reaction:not(.add) .count', { hasText: '2' }).waitFor();
  await msg(A, 'plain news').locator('.reaction[aria-pressed="true"]').click();
  await msg(B, 'plain news').locator('.reaction:not(.add) .count', { hasText: '1' }).waitFor();
  // The picker adds any emoji by name.
  const mb = msg(B, 'plain news');
  await mb.hover();
  await mb.getByRole('toolbar').getByRole('button', { name: 'Add reaction' }).click();
  await B.getByRole('dialog', { name: 'Add reaction' }).getByLabel('Search emoji').fill('tada');
  await B.getByRole('dialog', { name: 'Add reaction' }).getByRole('option', { name: 'tada' }).click();
  await msg(A, 'plain news').locator('.reaction[title*=":tada:"]').waitFor();
  const r = await env.fx.alice.client.reactions.get({ channel: chanId, timestamp: await msg(A, 'plain news').evaluate((e) => e.closest('.row').dataset.ts) });
  assert.deepEqual(r.message.reactions.map((x) => [x.name, x.count]).sort(), [['eyes', 1], ['tada', 1]]);
});

test('Up edits the last message; the other side sees "(edited)"', async () => {
  const box = A.locator('#composer-main');
  await box.click();
  await box.press('ArrowUp');
  const edit = A.getByRole('textbox', { name: 'Edit message' });
  await edit.waitFor();
  // The last one in the channel: the reply also sent to the channel.
  assert.equal(await edit.inputValue(), 'a threaded answer');
  await edit.fill('a threaded answer, corrected @bob');
  await edit.press('Enter');
  await msg(B, 'a threaded answer, corrected').locator('.edited').waitFor();
  assert.match(await msg(B, 'a threaded answer, corrected').locator('.text').innerText(), /corrected @bob/);
});

test('the server restarts: both reconnect, catch up once, and keep chatting', async () => {
  await env.srv.restart();
  // Posted while the pages may still be reconnecting: shown exactly once.
  await env.fx.alice.client.chat.postMessage({ channel: chanId, text: 'sent during the outage' });
  await msg(B, 'sent during the outage').waitFor();
  await waitFor(async () => (await B.locator('body[data-conn="online"]').count()) === 1, { what: 'bob online', timeoutMs: UI_TIMEOUT_MS });
  await waitFor(async () => (await A.locator('body[data-conn="online"]').count()) === 1, { what: 'alice online', timeoutMs: UI_TIMEOUT_MS });
  const box = B.locator('#composer-main');
  await box.pressSequentially('back after restart');
  await box.press('Enter');
  await msg(A, 'back after restart').waitFor();
  assert.equal(await msg(B, 'sent during the outage').count(), 1);
  assert.equal(await msg(A, 'sent during the outage').count(), 1);
  assert.equal(await msg(A, 'hello alice').count(), 1, 'no duplicates after catch-up');
});

test('phone width (390 px): one pane at a time, no sideways scrolling', async () => {
  const P = await signedIn(browser, env.srv.base, env.fx.bob.email, { viewport: { width: 390, height: 844 }, errors });
  await P.goto(`${env.srv.base}/client/${env.fx.org.id}/${chanId}`);
  await P.waitForSelector('body[data-ready="1"]');
  await P.locator('#main .msg', { hasText: 'back after restart' }).waitFor();
  assert.equal(await P.locator('#sidebar').isVisible(), false);
  const over = () => P.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(await over() <= 0, 'no horizontal overflow in the channel');
  await shot(P, 'web-channel-390');
  await P.getByRole('button', { name: 'Back to conversations' }).click();
  await P.locator('#sidebar').waitFor({ state: 'visible' });
  assert.equal(await P.locator('#main').isVisible(), false);
  assert.ok(await over() <= 0, 'no horizontal overflow in the sidebar');
  await shot(P, 'web-sidebar-390');
  await conv(P, 'general').click();
  await P.locator('#ch-title', { hasText: 'general' }).waitFor();
  assert.equal(await P.locator('#sidebar').isVisible(), false);
  const box = await P.locator('#composer-main').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, `composer fits: ${JSON.stringify(box)}`);
  await P.context().close();
});

// Accessible names for every control, the landmarks, and text contrast
// (WCAG AA, 4.5:1) in light and dark.
const AUDIT = () => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const bgOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      const a = c.match(/[\d.]+/g);
      if (a && (a.length < 4 || Number(a[3]) > 0.9)) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const ratio = (el) => {
    const a = lum(getComputedStyle(el).color);
    const b = lum(bgOf(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const unnamed = [];
  for (const el of document.querySelectorAll('button, input, textarea, select, a[href]')) {
    if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
    const name = el.getAttribute('aria-label') || (el.labels && el.labels[0]?.textContent) || el.textContent.trim() || el.title ||
      (el.getAttribute('aria-labelledby') && document.getElementById(el.getAttribute('aria-labelledby'))?.textContent);
    if (!name || !name.trim()) unnamed.push(el.outerHTML.slice(0, 120));
  }
  const low = [];
  for (const sel of ['.ch-title', '.ch-topic', '.author', '.time', '.msg .text', '.sidebar a.conv', '.sec-toggle', '.side-btn', '.composer-hint', '.day-sep span', '.team']) {
    for (const el of [...document.querySelectorAll(sel)].slice(0, 5)) {
      if (!el.offsetParent) continue;
      const r = ratio(el);
      if (r < 4.5) low.push(`${sel}: ${r.toFixed(2)}`);
    }
  }
  const landmarks = ['header.topbar', 'nav[aria-label="Conversations"]', 'main#main'].filter((q) => !document.querySelector(q));
  return { unnamed, low, landmarks, dark: lum(getComputedStyle(document.body).backgroundColor) < 0.2 };
};

test('accessible names, landmarks and contrast, light and dark', async () => {
  const light = await A.evaluate(AUDIT);
  assert.deepEqual(light.unnamed, [], 'controls without a name');
  assert.deepEqual(light.landmarks, [], 'missing landmarks');
  assert.deepEqual(light.low, [], 'text under 4.5:1 (light)');
  assert.equal(light.dark, false);
  const D = await signedIn(browser, env.srv.base, env.fx.alice.email, { errors });
  await D.emulateMedia({ colorScheme: 'dark' });
  await D.goto(`${env.srv.base}/client/${env.fx.org.id}/${chanId}`);
  await D.waitForSelector('body[data-ready="1"]');
  await msg(D, 'back after restart').waitFor();
  const dark = await D.evaluate(AUDIT);
  assert.equal(dark.dark, true, 'dark background under prefers-color-scheme: dark');
  assert.deepEqual(dark.low, [], 'text under 4.5:1 (dark)');
  await shot(D, 'web-channel-dark-1440');
  // Keyboard: Shift+Tab from the composer reaches the message list; Up
  // goes to the newest message and on to older ones, showing its actions.
  await D.locator('#composer-main').focus();
  await D.keyboard.press('Shift+Tab');
  assert.equal(await D.evaluate(() => document.activeElement.className), 'scroller');
  await D.keyboard.press('ArrowUp');
  assert.match(await D.evaluate(() => document.activeElement.textContent), /back after restart/);
  await D.keyboard.press('ArrowUp');
  assert.match(await D.evaluate(() => document.activeElement.textContent), /sent during the outage/);
  await D.locator('#main article.msg:focus .msg-actions').waitFor();
  // Tab walks that message's own controls, its actions among them.
  let label = '';
  for (let i = 0; i < 8 && !/React with/.test(label); i++) {
    await D.keyboard.press('Tab');
    assert.match(await D.evaluate(() => document.activeElement.closest('article.msg')?.textContent || ''), /sent during the outage/);
    label = await D.evaluate(() => document.activeElement.getAttribute('aria-label') || '');
  }
  assert.match(label, /React with/);
  await D.context().close();
});

nodeTest('no script errors on any page', { skip }, () => {
  assert.deepEqual(errors, []);
});
