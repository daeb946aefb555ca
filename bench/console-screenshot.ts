// Screenshot of a running console (e.g. `npm start`'s) for the README: docs/console.png.
// usage: tsx bench/console-screenshot.ts [out.png]   (CONSOLE_URL, default http://127.0.0.1:$PORT/console;
// ADMIN_TOKEN, default the one `npm start` keeps in .data/admin-token; CHROMIUM_PATH, default Debian's)
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import puppeteer from 'puppeteer-core';

const root = resolve(import.meta.dirname, '..');
const url = process.env.CONSOLE_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/console`;
const token = process.env.ADMIN_TOKEN ?? readFileSync(resolve(root, '.data/admin-token'), 'utf8').trim();
const out = resolve(process.argv[2] ?? resolve(root, 'docs/console.png'));
const chromium = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!chromium) throw new Error('no Chromium: apt-get install -y chromium, or set CHROMIUM_PATH');

const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 720 });
  await page.authenticate({ username: 'operator', password: token });
  await page.setExtraHTTPHeaders({ 'Accept-Language': process.env.CONSOLE_LANG ?? 'en' });
  const response = await page.goto(url, { waitUntil: 'load' });
  if (response?.status() !== 200) throw new Error(`${url} answered ${response?.status()}`);
  await page.waitForFunction(() => !/…/.test((globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText), { timeout: 20_000 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
