import { chromium } from 'playwright-core';
import { CanalServer } from '/work/wt-web/tests/e2e/lib/server.mjs';
import { makeFixture } from '/work/wt-web/tests/e2e/lib/fixture.mjs';
const srv = await CanalServer.create();
const fx = await makeFixture(srv);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on('console', (m) => console.log('console:', m.type(), m.text()));
  page.on('pageerror', (e) => console.log('pageerror:', e.message));
  await page.goto(srv.base + '/');
  await page.fill('input[name=email]', fx.alice.email);
  await page.fill('input[name=password]', 'correct horse battery staple');
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  await page.fill('#composer-main', 'hello *world* from alice');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.msg >> text=hello', { timeout: 5000 });
  await page.screenshot({ path: '/tmp/webx/shot1.png' });
  console.log(await page.evaluate(() => ({ ready: window.__canalReadyMs, sw: window.__canalLastSwitchMs })));
} catch (e) { console.log('ERR', e.message); }
await browser.close();
await srv.stop();
