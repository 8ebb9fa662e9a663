import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests of the app in browser mode, driven in Debian's Chromium
 * (/usr/bin/chromium; CHROMIUM_PATH overrides). The shell test
 * (electron.spec.ts) runs only where an Electron binary is installed.
 * Screenshots of every step go to test-results/e2e/.
 */
export default defineConfig({
  testDir: 'test/e2e',
  outputDir: 'test-results/playwright',
  timeout: 8 * 60_000,
  expect: { timeout: 20_000 },
  workers: 1,
  reporter: [['list']],
  use: {
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium' },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
