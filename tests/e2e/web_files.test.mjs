// Files in the web client (Debian's Chromium): alice attaches an image in
// a private channel (the clip button, then the SDK's filesUploadV2 flow
// from the browser) and bob, in another browser, sees its thumbnail; a
// dropped text file shows as a card whose download works for a member
// and not for a non-member (carol) or without a session; deleted and
// revoked files show as such; an empty file is refused with a message.
import assert from 'node:assert/strict';
import { after, test as nodeTest } from 'node:test';
import { useServer, TEST_TIMEOUT_MS } from './lib/server.mjs';
import { createUser, uniq } from './lib/fixture.mjs';
import { png } from './lib/png.mjs';
import { launch, shot, signedIn, chainedSteps } from './lib/browser.mjs';

const env = useServer({
  setup: async (e) => { e.carol = await createUser(e.srv, e.fx.org.id, 'carol'); },
});
const test = chainedSteps(nodeTest, TEST_TIMEOUT_MS);

const errors = [];
let browser;
let A;
let B;
let C;
let chanId;
let imageId;
let textId;
const IMG = png(640, 400);
const TEXT = 'first line of the notes\nsecond line\n';

after(async () => { await browser?.close(); });

const msg = (page, text) => page.locator('#main .msg', { hasText: text });
const open = (page) => page.goto(`${env.srv.base}/client/${env.fx.org.id}/${chanId}`).then(() => page.waitForSelector('body[data-ready="1"]'));

test('an image attached in one browser shows as a thumbnail in the other', async () => {
  const { alice, bob } = env.fx;
  const ch = (await alice.client.conversations.create({ name: uniq('webfiles').toLowerCase(), is_private: true })).channel;
  chanId = ch.id;
  await alice.client.conversations.invite({ channel: chanId, users: bob.id });
  browser = await launch();
  A = await signedIn(browser, env.srv.base, alice.email, { errors });
  B = await signedIn(browser, env.srv.base, bob.email, { errors });
  C = await signedIn(browser, env.srv.base, env.carol.email, { errors });
  await open(A);
  await open(B);

  // The clip button opens the file chooser.
  const [chooser] = await Promise.all([A.waitForEvent('filechooser'), A.getByRole('button', { name: 'Attach files' }).click()]);
  await chooser.setFiles({ name: 'chart.png', mimeType: 'image/png', buffer: IMG });
  await A.locator('#main .composer-file', { hasText: 'chart.png' }).waitFor();
  const box = A.locator('#composer-main');
  await box.fill('the chart for <@bob>');
  await box.press('Enter');
  // Sent: the list of waiting files empties and the progress bar goes.
  await A.locator('#main .composer-file').waitFor({ state: 'detached' });
  await A.locator('#main .upload-progress').waitFor({ state: 'hidden' });

  const img = msg(B, 'the chart for').locator('.file-img img');
  await img.waitFor();
  await B.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  const natural = await img.evaluate((el) => [el.naturalWidth, el.naturalHeight]);
  assert.equal(natural[0], 360, `the 360 px thumbnail: ${natural}`);
  assert.match(await img.getAttribute('src'), /^\/files-tmb\//);
  imageId = await msg(B, 'the chart for').locator('.file-img').getAttribute('data-file-id');
  assert.match(imageId, /^F/);
  // The same message through the API: initial_comment became its text.
  const h = await bob.client.conversations.history({ channel: chanId, limit: 1 });
  assert.equal(h.messages[0].files[0].id, imageId);
  assert.equal(h.messages[0].files[0].name, 'chart.png');
  assert.match(h.messages[0].text, /the chart for/);
  await shot(B, 'web-file-image');
});

test('a dropped file is a card; its download works for a member only', async () => {
  // Drag-and-drop onto the composer, as the browser delivers it.
  await A.locator('#main form.composer').evaluate((form, text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'notes.txt', { type: 'text/plain' }));
    form.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    form.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, TEXT);
  await A.locator('#main .composer-file', { hasText: 'notes.txt' }).waitFor();
  // Files alone (no text) are a message too.
  await A.locator('#composer-main').press('Enter');
  const card = B.locator('#main .file-card', { hasText: 'notes.txt' });
  await card.waitFor();
  assert.match(await card.locator('.file-meta').innerText(), /^\d+ B · /);
  textId = await card.getAttribute('data-file-id');
  const href = await card.getByRole('link', { name: 'Download notes.txt' }).getAttribute('href');
  assert.match(href, /^\/files-pri\/[A-Z0-9]+-F[A-Z0-9]+\/download\/notes\.txt$/);

  // Bob (a member) downloads with his browser session; the link is a download.
  const [dl] = await Promise.all([B.waitForEvent('download'), card.getByRole('link', { name: 'Download notes.txt' }).click()]);
  assert.equal(dl.suggestedFilename(), 'notes.txt');
  const got = await B.context().request.get(env.srv.base + href);
  assert.equal(got.status(), 200);
  assert.equal(await got.text(), TEXT);
  // Carol (same org, not in the private channel) does not; nor does no session.
  const denied = await C.context().request.get(env.srv.base + href);
  assert.notEqual(denied.status(), 200);
  assert.ok(!(await denied.text()).includes('first line'), 'no bytes to a non-member');
  const img = await B.locator('#main .file-img img').first().getAttribute('src');
  assert.equal((await B.context().request.get(env.srv.base + img)).status(), 200);
  assert.notEqual((await C.context().request.get(env.srv.base + img)).status(), 200);
  const anon = await fetch(env.srv.base + href);
  assert.notEqual(anon.status, 200);
  // Carol cannot open the channel in the client either.
  await C.goto(`${env.srv.base}/client/${env.fx.org.id}/${chanId}`);
  await C.waitForSelector('body[data-ready="1"]');
  assert.equal(await C.locator('#main .file-card, #main .file-img').count(), 0);
});

test('deleted and revoked files are shown as such', async () => {
  const { alice } = env.fx;
  // Deleted: the open channel shows it at once (file_deleted), as does a reload.
  await alice.client.files.delete({ file: textId });
  await B.locator(`#main .file-gone[data-file-id="${textId}"]`, { hasText: 'This file was deleted.' }).waitFor();
  await alice.client.apiCall('admin.files.revokeAccess', { file: imageId });
  await open(B);
  await B.locator(`#main .file-gone[data-file-id="${textId}"]`, { hasText: 'This file was deleted.' }).waitFor();
  await B.locator(`#main .file-gone[data-file-id="${imageId}"]`, { hasText: 'no longer available' }).waitFor();
  assert.equal(await B.locator('#main .file-img').count(), 0);
});

test('an empty file is refused with a message; the composer keeps it', async () => {
  const [chooser] = await Promise.all([A.waitForEvent('filechooser'), A.getByRole('button', { name: 'Attach files' }).click()]);
  await chooser.setFiles({ name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) });
  await A.locator('#composer-main').press('Enter');
  await A.locator('#toasts', { hasText: 'Empty files cannot be uploaded.' }).waitFor();
  await A.locator('#main .composer-file', { hasText: 'empty.txt' }).waitFor();
  await A.getByRole('button', { name: 'Remove empty.txt' }).click();
  assert.equal(await A.locator('#main .composer-file').count(), 0);
  assert.deepEqual(errors, []);
});
