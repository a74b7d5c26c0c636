// Time from navigation to the student dashboard's data on screen, in Debian's Chromium.
// Run by bench_web.py: node web_dashboard_timing.mjs <web dir> <url> <email> <password> <runs>
import { pathToFileURL } from 'node:url';

const [webDir, url, email, password, runs] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(`${webDir}/node_modules/playwright-core/index.mjs`).href);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const context = await browser.newContext();
const page = await context.newPage();
await page.goto(`${url}/sign-in`);
await page.getByLabel('Email').fill(email);
await page.getByLabel('Password', { exact: true }).fill(password);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('heading', { name: /^Welcome back/ }).waitFor().catch(async (error) => {
  console.error(await page.locator('body').innerText());
  throw error;
});

const timings = [];
for (let i = 0; i < Number(runs); i += 1) {
  const fresh = await context.newPage(); // a full load: the refresh cookie signs it in, then one query
  const started = Date.now();
  await fresh.goto(url + '/');
  await fresh.locator('.course-card, .empty').first().waitFor().catch(async (error) => {
    console.error(fresh.url(), await fresh.locator('body').innerText());
    throw error;
  });
  timings.push(Date.now() - started);
  await fresh.close();
}
await browser.close();
console.log(JSON.stringify(timings));
