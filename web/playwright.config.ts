// Browser journeys in real Chromium (Debian's package: no browser is downloaded) against a running platform.
// tests/web/test_browser_journeys.py starts the platform and runs these; by hand: `make run`, then
//   COURSEGRAPH_WEB_URL=http://127.0.0.1:4000 COURSEGRAPH_MAIL_DIR=../.coursegraph/mail npx playwright test
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './e2e',
  // One platform on two cores: journeys run one after another.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 240_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: process.env.COURSEGRAPH_WEB_URL ?? 'http://127.0.0.1:4000',
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // No sandbox as root; no background traffic (this machine reaches no outside host).
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
