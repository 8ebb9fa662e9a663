import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The Electron binary, if installed (not on the development machine: its download is blocked).
 * Read from the package's path.txt: requiring 'electron' would try to download it.
 */
function electronBinary(): string | null {
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const relative = readFileSync(path.join(dir, 'path.txt'), 'utf8').trim();
    const binary = path.join(dir, 'dist', relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();

test.describe('desktop shell', () => {
  // To run it: on a machine where `npx electron --version` works, after `npm run build`.
  test.skip(binary === null, 'Electron binary not installed here (its download is blocked)');

  test('opens a secure window on the app and answers through the preload bridge', async () => {
    const app = await electron.launch({ args: ['.'], executablePath: binary! });
    try {
      const window = await app.firstWindow();
      await expect(window.getByTestId('backend')).toHaveText(/wasm|cpu|node/, { timeout: 60_000 });
      // Served from the app's own scheme, not file:// (and not a development server).
      expect(window.url()).toBe('app://distill-studio/index.html');
      // Isolated and sandboxed: the page sees neither Node nor Electron, only the bridge.
      expect(await window.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe(
        'undefined',
      );
      expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe(
        'undefined',
      );
      expect(
        await window.evaluate(() =>
          Object.keys((window as unknown as { distillStudio: object }).distillStudio).sort(),
        ),
      ).toEqual(['onEvent', 'request']);
      await window.screenshot({ path: 'test-results/e2e/electron-window.png' });
    } finally {
      await app.close();
    }
  });
});
