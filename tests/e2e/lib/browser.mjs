// Browser tests: Debian's Chromium driven by playwright-core. Tests skip
// only when /usr/bin/chromium is missing (CI installs it). Screenshots go
// to test-artifacts/ (git-ignored).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from './server.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const ARTIFACTS = path.join(repoRoot, 'test-artifacts');
// ASan builds answer slower: bounds stay finite but generous.
export const UI_TIMEOUT_MS = Number(process.env.CANAL_UI_TIMEOUT_MS || 15000);

// The flags the machine notes list: no sandbox (root), no background
// connections (the network is closed), a fresh profile per launch.
export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export async function shot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// A free loopback port, so a restarted server keeps the page's origin.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// A signed-in page in its own browser context (its own cookies).
export async function signedIn(browser, base, email, { password = 'correct horse battery staple', viewport = { width: 1440, height: 900 }, errors } = {}) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  if (errors) page.on('pageerror', (e) => errors.push(`${email}: ${e.message}`));
  await page.goto(`${base}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('body[data-ready="1"]');
  return page;
}

// test() for a file of browser steps that build on each other: skipped
// without Chromium, bounded like every e2e test, and after a failure the
// later steps stop at once (naming the step that broke).
export function chainedSteps(nodeTest, timeout) {
  let broken = null;
  return (name, fn) => nodeTest(name, { skip: HAVE_CHROMIUM ? false : 'no /usr/bin/chromium', timeout }, async () => {
    if (broken) throw new Error(`not run: an earlier step failed (${broken})`);
    try { await fn(); } catch (e) { broken = name; throw e; }
  });
}
