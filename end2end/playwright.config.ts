import { defineConfig, devices } from '@playwright/test';

// The apps are started by scripts/test.sh; BASE_URL says where. LOCAL_BASE_URL is a second
// instance with no remote AI provider, answered by the built-in local model.
const baseURL = process.env.BASE_URL ?? 'http://127.0.0.1:3100';
const localURL = process.env.LOCAL_BASE_URL ?? 'http://127.0.0.1:3101';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's chromium; never `npx playwright install` (no downloads on this network).
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'desktop', use: { ...devices['Desktop Chrome'], viewport: { width: 1280, height: 800 } }, testIgnore: /local-ai\.spec\.ts/ },
    { name: 'local-ai', use: { ...devices['Desktop Chrome'], viewport: { width: 1280, height: 800 }, baseURL: localURL }, testMatch: /local-ai\.spec\.ts/ },
    { name: 'mobile', use: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }, testMatch: /layout\.spec\.ts/ },
  ],
});
