// The web client's other paths in Debian's Chromium: invite-link sign-up
// and sign-out, DMs with presence and desktop notifications (and mute),
// the quick switcher and keyboard, permalinks and history paging, slash
// commands, Block Kit buttons and a modal from a Bolt app, search, drafts,
// collapsible sections, and private channels that never leak.
import assert from 'node:assert/strict';
import { after, test as nodeTest } from 'node:test';
import { useServer, waitFor, TEST_TIMEOUT_MS } from './lib/server.mjs';
import { uniq } from './lib/fixture.mjs';
import { createInteractiveApp, boltSocket } from './lib/interact.mjs';
import { HAVE_CHROMIUM, launch, shot, signedIn, UI_TIMEOUT_MS } from './lib/browser.mjs';

const env = useServer({ extraArgs: ['--rate-limit-factor', '0'] });
const skip = HAVE_CHROMIUM ? false : 'no /usr/bin/chromium';
const test = (name, fn) => nodeTest(name, { skip, timeout: TEST_TIMEOUT_MS }, fn);
const errors = [];
let browser;
const stoppers = [];
after(async () => {
  for (const s of stoppers.reverse()) { try { await s(); } catch { /* best effort */ } }
  await browser?.close();
});

async function getBrowser() {
  browser ||= await launch();
  return browser;
}
const conv = (page, id) => page.locator(`.sidebar a.conv[data-id="${id}"]`);
const msg = (page, text) => page.locator('#main .msg', { hasText: text });

// Notifications are recorded instead of shown.
const NOTIFY_STUB = () => {
  window.__notes = [];
  window.Notification = class {
    static permission = 'granted';
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, opts) { window.__notes.push({ title, body: opts?.body }); }
    close() {}
  };
};

test('invite link: choose a password in the browser, land in the app, sign out', async () => {
  const b = await getBrowser();
  const name = uniq('ivy').toLowerCase();
  const u = await env.srv.cli('user', 'create', '--org', env.fx.org.id, '--name', name, '--email', `${name}@x.test`, '--invite');
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(u.invite_url.replace(/^https?:\/\/[^/]+/, env.srv.base));
  await page.getByRole('heading', { name: /Join/ }).waitFor();
  await page.getByLabel('Full name').fill('Ivy Invited');
  await page.getByLabel(/^Password/).fill('short');
  await page.getByRole('button', { name: 'Join' }).click();
  // The browser's own minlength check or the server's answer: no sign-in.
  assert.equal(await page.locator('body[data-ready="1"]').count(), 0);
  await page.getByLabel(/^Password/).fill('a good long password');
  await page.getByRole('button', { name: 'Join' }).click();
  await page.waitForSelector('body[data-ready="1"]');
  await page.locator('#ch-title', { hasText: 'general' }).waitFor();
  assert.equal(new URL(page.url()).pathname.startsWith('/invite/'), false);
  await shot(page, 'web-after-invite-1440');
  await page.getByRole('button', { name: /ivy/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Canal' }).waitFor();
  const s = await page.evaluate(() => fetch('/auth/session').then((r) => r.json()));
  assert.deepEqual(s, { ok: false, error: 'not_authed' });
  // Used up: the link now says so.
  await page.goto(u.invite_url.replace(/^https?:\/\/[^/]+/, env.srv.base));
  await page.getByText('This invite link is not valid any more').waitFor();
  await ctx.close();
});

test('DMs: start one, presence dot, DM badge, desktop notification; mute silences a channel', async () => {
  const b = await getBrowser();
  const A = await signedIn(b, env.srv.base, env.fx.alice.email, { errors });
  await A.context().addInitScript(NOTIFY_STUB);
  const B = await signedIn(b, env.srv.base, env.fx.bob.email, { errors });
  await B.context().addInitScript(NOTIFY_STUB);
  await B.reload();
  await B.waitForSelector('body[data-ready="1"]');
  await A.getByRole('button', { name: '✉ New message' }).click();
  await A.getByRole('dialog').getByLabel('Find people').fill('bob');
  await A.getByRole('dialog').getByRole('button', { name: /bob/ }).click();
  await A.getByRole('button', { name: 'Start conversation' }).click();
  await A.locator('#ch-title', { hasText: 'bob' }).waitFor();
  const dm = new URL(A.url()).pathname.split('/').pop();
  assert.match(dm, /^D/);
  await A.locator('#composer-main').pressSequentially('a direct word');
  await A.locator('#composer-main').press('Enter');
  // Bob, reading #general: the DM appears with a badge and a notification.
  await conv(B, dm).locator('.badge', { hasText: '1' }).waitFor();
  await waitFor(() => B.evaluate(() => window.__notes.length > 0), { what: 'a notification', timeoutMs: UI_TIMEOUT_MS });
  const notes = await B.evaluate(() => window.__notes);
  assert.equal(notes[0].title, 'alice');
  assert.equal(notes[0].body, 'a direct word');
  // Alice is online: bob's DM entry shows it.
  await conv(B, dm).locator('.presence.active').waitFor();
  await shot(B, 'web-dm-badge-1440');

  // Mute: a mention in a muted channel does not notify.
  const ch = (await env.fx.alice.client.conversations.create({ name: uniq('mute') })).channel;
  await env.fx.alice.client.conversations.invite({ channel: ch.id, users: env.fx.bob.id });
  await conv(B, ch.id).click();
  // Another browser of bob's, open while he mutes: it follows at once.
  const B2 = await signedIn(b, env.srv.base, env.fx.bob.email, { errors });
  await B.getByRole('button', { name: 'Mute notifications' }).click();
  await B2.locator(`.sidebar a.conv.muted[data-id="${ch.id}"]`).waitFor();
  await B2.context().close();
  await B.getByRole('button', { name: 'Unmute notifications' }).waitFor();
  await conv(B, dm).click();
  await B.locator('#ch-title', { hasText: 'alice' }).waitFor();
  const before = await B.evaluate(() => window.__notes.length);
  await env.fx.alice.client.chat.postMessage({ channel: ch.id, text: `<@${env.fx.bob.id}> muted ping` });
  await env.fx.alice.client.chat.postMessage({ channel: dm, text: 'second direct word' });
  await msg(B, 'second direct word').waitFor();
  await waitFor(() => B.evaluate((n) => window.__notes.length === n, before), { what: 'no notification (muted channel; DM being read)', timeoutMs: 1000 }).catch(() => {});
  assert.equal(await B.evaluate(() => window.__notes.length), before);
  await conv(B, ch.id).locator('.badge', { hasText: '1' }).waitFor(); // still counted
  assert.match(await conv(B, ch.id).getAttribute('class'), /muted/);
  // Kept by the server: a browser signed in later sees it muted too.
  assert.deepEqual((await env.fx.bob.client.apiCall('users.prefs.get')).prefs.muted_channels, ch.id);
  const B3 = await signedIn(b, env.srv.base, env.fx.bob.email, { errors });
  await B3.locator(`.sidebar a.conv.muted[data-id="${ch.id}"]`).waitFor();
  await B3.context().close();
  await A.context().close();
  await B.context().close();
});

test('quick switcher (Ctrl+K), Alt+Up/Down, Esc marks read, drafts per channel, sections collapse', async () => {
  const b = await getBrowser();
  const c1 = (await env.fx.alice.client.conversations.create({ name: uniq('aaa') })).channel;
  const P = await signedIn(b, env.srv.base, env.fx.alice.email, { errors });
  await P.keyboard.press('Control+k');
  const qs = P.getByRole('dialog', { name: 'Switch conversation' });
  await qs.getByRole('combobox').pressSequentially(c1.name.slice(0, 8));
  await qs.getByRole('option', { name: c1.name }).waitFor();
  await P.keyboard.press('Enter');
  await P.locator('#ch-title', { hasText: c1.name }).waitFor();
  // Drafts stay with their channel.
  await P.locator('#composer-main').click();
  await P.locator('#composer-main').pressSequentially('half a thought');
  assert.equal(await P.locator('#composer-main').inputValue(), 'half a thought');
  await P.keyboard.press('Alt+ArrowDown');
  await waitFor(async () => !(await P.locator('#ch-title').innerText()).includes(c1.name), { what: 'next conversation', timeoutMs: UI_TIMEOUT_MS });
  assert.equal(await P.locator('#composer-main').inputValue(), '', `composer in ${await P.locator('#ch-title').innerText()}`);
  await P.keyboard.press('Alt+ArrowUp');
  await P.locator('#ch-title', { hasText: c1.name }).waitFor();
  assert.equal(await P.locator('#composer-main').inputValue(), 'half a thought', await P.evaluate(() => JSON.stringify(Object.entries(localStorage)) + ' ' + window.__canal.S.current));
  // Esc marks read: messages that came while the window was away.
  await P.evaluate(() => { document.hasFocus = () => false; window.dispatchEvent(new Event('blur')); });
  await env.fx.bob.client.conversations.join({ channel: c1.id });
  await env.fx.bob.client.chat.postMessage({ channel: c1.id, text: 'while you were away' });
  await msg(P, 'while you were away').waitFor();
  await P.locator(`.sidebar a.conv.unread[data-id="${c1.id}"]`).waitFor();
  await P.locator('#composer-main').press('Escape');
  await waitFor(async () => (await P.locator(`.sidebar a.conv.unread[data-id="${c1.id}"]`).count()) === 0, { what: 'Esc marked read', timeoutMs: UI_TIMEOUT_MS });
  // Sections: collapsed, and still collapsed after a reload (a server-side
  // preference).
  const toggle = P.getByRole('button', { name: 'Channels', exact: false }).filter({ hasText: /^\W*Channels$/ });
  await toggle.click();
  await P.locator('button.sec-toggle[data-id="sec-channels"][aria-expanded="false"]').waitFor();
  // Collapsed, the section still shows the open conversation (and unread ones).
  assert.equal(await P.locator('section.sec').first().locator('a.conv:visible').count(), 1);
  assert.equal(await P.locator(`.sidebar a.conv[data-id="${c1.id}"]:visible`).count(), 1);
  await P.reload();
  await P.waitForSelector('body[data-ready="1"]');
  assert.equal(await P.getByRole('button', { name: /Channels$/ }).filter({ hasText: /^\W*Channels$/ }).getAttribute('aria-expanded'), 'false');
  assert.equal((await env.fx.alice.client.apiCall('users.prefs.get')).prefs.sidebar_collapsed, 'channels');
  await P.getByRole('button', { name: /Channels$/ }).filter({ hasText: /^\W*Channels$/ }).click();
  await waitFor(async () => (await env.fx.alice.client.apiCall('users.prefs.get')).prefs.sidebar_collapsed === '', { what: 'section expanded again', timeoutMs: UI_TIMEOUT_MS });
  await P.context().close();
});

test('a permalink jumps into old history; scrolling up pages the rest in with a bounded DOM', async () => {
  const b = await getBrowser();
  const { alice } = env.fx;
  const ch = (await alice.client.conversations.create({ name: uniq('long') })).channel;
  const ts = [];
  for (let i = 0; i < 400; i++) ts.push((await alice.client.chat.postMessage({ channel: ch.id, text: `numbered message ${i}` })).ts);
  const P = await signedIn(b, env.srv.base, alice.email, { errors });
  const target = ts[120];
  await P.goto(`${env.srv.base}/archives/${ch.id}/p${target.replace('.', '')}`);
  await P.waitForSelector('body[data-ready="1"]');
  const row = P.locator(`#main .row[data-ts="${target}"] article`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-target'), '1');
  assert.ok(await row.isVisible());
  // The permalink from the message's menu points here too.
  await row.hover();
  assert.equal(await row.locator('a.time').getAttribute('href'), `/archives/${ch.id}/p${target.replace('.', '')}`);
  // Scroll back to the start: older pages load, the DOM stays bounded.
  let maxRows = 0;
  await waitFor(async () => {
    maxRows = Math.max(maxRows, await P.locator('#main .row').count());
    await P.locator('#main .scroller').evaluate((s) => { s.scrollTop = 0; });
    return (await P.locator('#main .beginning').count()) === 1;
  }, { what: 'the beginning of the channel', timeoutMs: UI_TIMEOUT_MS, intervalMs: 50 });
  await msg(P, 'numbered message 0').first().waitFor();
  assert.ok(maxRows <= 200, `rows in the DOM: ${maxRows}`);
  // And forward to the newest (the jump left newer ones unloaded).
  await waitFor(async () => {
    await P.locator('#main .scroller').evaluate((s) => { s.scrollTop = s.scrollHeight; });
    return (await msg(P, 'numbered message 399').count()) === 1;
  }, { what: 'the newest message', timeoutMs: UI_TIMEOUT_MS * 2, intervalMs: 50 });
  assert.equal(await msg(P, 'numbered message 398').count(), 1, 'no duplicates');
  await P.context().close();
});

test('slash commands: built-ins, an app command with an ephemeral answer, an unknown one', async () => {
  const b = await getBrowser();
  const { alice, org } = env.fx;
  const app = await createInteractiveApp(env.srv, org.id, { name: uniq('cmdapp'), commands: [{ command: '/wheatley' }] });
  const bolt = await boltSocket(env.srv, app);
  bolt.command('/wheatley', async ({ ack, command }) => { await ack({ text: `Only you see this: ${command.text}` }); });
  await bolt.start();
  stoppers.push(() => bolt.stop());
  const ch = (await alice.client.conversations.create({ name: uniq('cmd') })).channel;
  const P = await signedIn(b, env.srv.base, alice.email, { errors });
  await P.goto(`${env.srv.base}/client/${org.id}/${ch.id}`);
  await P.waitForSelector('body[data-ready="1"]');
  const box = P.locator('#composer-main');
  await box.pressSequentially('/wheatley hello there');
  await box.press('Enter');
  const eph = P.locator('#main .msg.ephemeral', { hasText: 'Only you see this: hello there' });
  await eph.waitFor();
  assert.equal(await eph.count(), 1);
  assert.match(await eph.innerText(), /Only visible to you/);
  await box.pressSequentially('/topic Budget talk');
  await box.press('Enter');
  await P.locator('.ch-topic', { hasText: 'Budget talk' }).waitFor();
  await box.pressSequentially('/nosuchcommand x');
  await box.press('Enter');
  await P.locator('#main .msg.ephemeral', { hasText: '/nosuchcommand is not a valid command' }).waitFor();
  await P.context().close();
});

test('Block Kit: a button calls the app, which opens a modal; errors show, a good submit closes it', async () => {
  const b = await getBrowser();
  const { alice, org } = env.fx;
  const app = await createInteractiveApp(env.srv, org.id, { name: uniq('bkapp') });
  const bolt = await boltSocket(env.srv, app);
  const submitted = [];
  bolt.action('approve', async ({ ack, body, client }) => {
    await ack();
    await client.views.open({
      trigger_id: body.trigger_id,
      view: {
        type: 'modal', callback_id: 'expense', title: { type: 'plain_text', text: 'Expense' },
        submit: { type: 'plain_text', text: 'Send' }, close: { type: 'plain_text', text: 'Cancel' },
        blocks: [{ type: 'input', block_id: 'amount', label: { type: 'plain_text', text: 'Amount' }, element: { type: 'plain_text_input', action_id: 'value' } }],
      },
    });
  });
  bolt.view('expense', async ({ ack, view }) => {
    const v = view.state.values.amount.value.value;
    submitted.push(v);
    if (!/^\d+$/.test(v)) await ack({ response_action: 'errors', errors: { amount: 'A number, please' } });
    else await ack();
  });
  await bolt.start();
  stoppers.push(() => bolt.stop());
  const ch = (await alice.client.conversations.create({ name: uniq('bk') })).channel;
  await app.client.conversations.join({ channel: ch.id });
  await app.client.chat.postMessage({
    channel: ch.id, text: 'expense',
    blocks: [
      { type: 'section', block_id: 'req', text: { type: 'mrkdwn', text: 'Expense report: *$120*' } },
      { type: 'actions', block_id: 'act', elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'exp-42', style: 'primary' }] },
    ],
  });
  const P = await signedIn(b, env.srv.base, alice.email, { errors });
  await P.goto(`${env.srv.base}/client/${org.id}/${ch.id}`);
  await P.waitForSelector('body[data-ready="1"]');
  await msg(P, 'Expense report').waitFor();
  assert.match(await msg(P, 'Expense report').locator('.blocks').innerText(), /Expense report: \$120/);
  await msg(P, 'Expense report').getByRole('button', { name: 'Approve' }).click();
  const modal = P.getByRole('dialog', { name: 'Expense' });
  await modal.waitFor();
  await modal.getByLabel('Amount').fill('lots');
  await modal.getByRole('button', { name: 'Send' }).click();
  await modal.getByText('A number, please').waitFor();
  await shot(P, 'web-modal-1440');
  await modal.getByLabel('Amount').fill('120');
  await modal.getByRole('button', { name: 'Send' }).click();
  await modal.waitFor({ state: 'detached' });
  assert.deepEqual(submitted, ['lots', '120']);
  await P.context().close();
});

test('search page: the query reaches search.messages, results show and jump to the message', async () => {
  const b = await getBrowser();
  const P = await signedIn(b, env.srv.base, env.fx.alice.email, { errors });
  await env.fx.alice.client.chat.postMessage({ channel: (await env.fx.alice.client.conversations.list()).channels.find((c) => c.is_general).id, text: 'findable zebra words' });
  await P.getByRole('button', { name: 'Search', exact: true }).click();
  const box = P.getByRole('searchbox', { name: 'Search messages' });
  await box.fill('zebra');
  await box.press('Enter');
  const status = P.locator('.search-status');
  await waitFor(async () => /result/.test(await status.innerText()), { what: 'search status', timeoutMs: UI_TIMEOUT_MS });
  const text = await status.innerText();
  assert.match(text, /result/);
  await P.locator('.search-hit', { hasText: 'findable zebra words' }).first().getByRole('button', { name: 'Jump to message' }).click();
  await P.locator('#main .msg.highlight', { hasText: 'findable zebra words' }).waitFor();
  assert.match(new URL(P.url()).pathname, /\/(search|archives)/);
  await P.context().close();
});

test('private channels never show to people outside them', async () => {
  const b = await getBrowser();
  const secret = (await env.fx.alice.client.conversations.create({ name: uniq('secret'), is_private: true })).channel;
  await env.fx.alice.client.chat.postMessage({ channel: secret.id, text: 'classified' });
  const B = await signedIn(b, env.srv.base, env.fx.bob.email, { errors });
  assert.equal(await conv(B, secret.id).count(), 0);
  await B.getByRole('button', { name: '# Browse channels' }).click();
  await B.getByRole('dialog').getByLabel('Search channels').fill(secret.name);
  await B.getByRole('dialog').getByText('No channels match.').waitFor();
  await B.keyboard.press('Escape');
  await B.goto(`${env.srv.base}/client/${env.fx.org.id}/${secret.id}`);
  await B.waitForSelector('body[data-ready="1"]');
  await B.getByText('That conversation does not exist or is private.').waitFor();
  assert.equal(await B.getByText('classified').count(), 0);
  assert.equal(await B.locator('#ch-title', { hasText: secret.name }).count(), 0);
  await B.context().close();
});

test('signing out in one tab signs out the others', async () => {
  const b = await getBrowser();
  const P1 = await signedIn(b, env.srv.base, env.fx.bob.email, { errors });
  const P2 = await P1.context().newPage();
  await P2.goto(`${env.srv.base}/`);
  await P2.waitForSelector('body[data-ready="1"]');
  await P2.getByRole('button', { name: /bob/ }).click();
  await P2.getByRole('menuitem', { name: 'Sign out' }).click();
  await P2.getByRole('heading', { name: 'Sign in to Canal' }).waitFor();
  // The server closed P1's socket with the session; P1 notices by itself.
  await P1.getByRole('heading', { name: 'Sign in to Canal' }).waitFor();
  await P1.context().close();
});

nodeTest('no script errors on any page', { skip }, () => {
  assert.deepEqual(errors, []);
});
