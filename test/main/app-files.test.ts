import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_PAGE_URL, appPageUrl, appProtocolHandler, resolveAppFile } from '../../src/main/app-files.js';
import { APP_CSP } from '../../src/shared/csp.js';

const DEV = 'http://localhost:5173/';

describe('the page the desktop window loads', () => {
  it('is the development server only in development, the app page when packaged', () => {
    expect(appPageUrl({ isPackaged: false, devServerUrl: DEV })).toBe(DEV);
    expect(appPageUrl({ isPackaged: true, devServerUrl: DEV })).toBe(APP_PAGE_URL);
    expect(appPageUrl({ isPackaged: true, devServerUrl: 'https://evil.example/' })).toBe(APP_PAGE_URL);
    expect(appPageUrl({ isPackaged: false, devServerUrl: undefined })).toBe(APP_PAGE_URL);
    expect(appPageUrl({ isPackaged: false, devServerUrl: '' })).toBe(APP_PAGE_URL);
    expect(APP_PAGE_URL).toBe('app://distill-studio/index.html');
  });

  it('the main process decides with appPageUrl and app.isPackaged, and serves app:// from the renderer folder', () => {
    const main = readFileSync('src/main/index.ts', 'utf8');
    expect(main).toMatch(/appPageUrl\(\{\s*isPackaged: app\.isPackaged,/);
    expect(main).not.toMatch(/process\.env\['ELECTRON_RENDERER_URL'\]\s*\?\?/);
    expect(main).toContain('protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME');
    expect(main).toContain('protocol.handle(APP_SCHEME, appProtocolHandler(rendererDir))');
    expect(main).not.toMatch(/pathToFileURL|file:\/\//);
  });
});

describe('app:// requests to files', () => {
  const root = '/opt/distill/resources/app.asar/out/renderer';

  it('maps the app page and its assets to files inside the renderer folder', () => {
    expect(resolveAppFile('app://distill-studio/index.html', root)).toEqual({
      ok: true,
      file: `${root}/index.html`,
    });
    expect(resolveAppFile('app://distill-studio/', root)).toEqual({ ok: true, file: `${root}/index.html` });
    expect(resolveAppFile('app://distill-studio/assets/index-Cj4cJaBm.js?v=1#x', root)).toEqual({
      ok: true,
      file: `${root}/assets/index-Cj4cJaBm.js`,
    });
    expect(resolveAppFile('app://distill-studio/assets/a%20b.css', root)).toEqual({
      ok: true,
      file: `${root}/assets/a b.css`,
    });
  });

  it('refuses paths that leave the folder, other hosts and schemes, and malformed addresses', () => {
    for (const url of [
      'app://distill-studio/..%2f..%2f..%2fetc%2fpasswd',
      'app://distill-studio/assets/..%2F..%2F..%2F..%2Fetc/passwd',
      'app://distill-studio/%2fetc%2fpasswd/..%2f..%2f..%2f..%2f..%2f..%2fetc',
      'app://distill-studio/..%2frenderer-evil/x.js',
      'app://distill-studio/index.html%00.js',
      'app://distill-studio/%E0%A4%A',
      'app://other-host/index.html',
      'file:///opt/distill/resources/app.asar/out/renderer/index.html',
      'https://distill-studio/index.html',
      'not an address',
    ]) {
      expect(resolveAppFile(url, root), url).toMatchObject({ ok: false });
    }
    // Dot segments are removed by URL parsing, so these stay inside the folder.
    expect(resolveAppFile('app://distill-studio/../../etc/passwd', root)).toEqual({
      ok: true,
      file: `${root}/etc/passwd`,
    });
    expect(resolveAppFile('app://distill-studio/%2e%2e/%2e%2e/etc/passwd', root)).toEqual({
      ok: true,
      file: `${root}/etc/passwd`,
    });
  });

  it('refuses backslashes and drive paths on Windows', () => {
    const winRoot = 'C:\\Program Files\\Distill Studio\\resources\\app.asar\\out\\renderer';
    expect(resolveAppFile('app://distill-studio/assets/x.js', winRoot, path.win32)).toEqual({
      ok: true,
      file: `${winRoot}\\assets\\x.js`,
    });
    for (const url of [
      'app://distill-studio/..%5c..%5c..%5cwin.ini',
      'app://distill-studio/C:%5cWindows%5cwin.ini',
      'app://distill-studio/C:/Windows/win.ini',
      'app://distill-studio/%5c%5cserver%5cshare%5cx',
    ]) {
      expect(resolveAppFile(url, winRoot, path.win32), url).toMatchObject({ ok: false });
    }
  });
});

describe('the app:// protocol handler', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'app-files-'));
  const rendererDir = path.join(dir, 'renderer');
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(rendererDir, 'assets', 'main.js'), 'export {};');
  writeFileSync(path.join(dir, 'secret.txt'), 'not for the page');
  const handle = appProtocolHandler(rendererDir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the page and its scripts with their content type and the CSP header', async () => {
    const page = await handle({ url: 'app://distill-studio/', method: 'GET' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toBe('<!doctype html><title>app</title>');
    const script = await handle({ url: 'app://distill-studio/assets/main.js', method: 'GET' });
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('export {};');
  });

  it('answers 404 for files outside the folder, missing files and folders, 405 for other methods', async () => {
    const outside = await handle({ url: 'app://distill-studio/..%2fsecret.txt', method: 'GET' });
    expect(outside.status).toBe(404);
    expect(await outside.text()).not.toContain('not for the page');
    for (const url of ['app://distill-studio/missing.js', 'app://distill-studio/assets/']) {
      expect((await handle({ url, method: 'GET' })).status, url).toBe(404);
    }
    expect((await handle({ url: 'app://distill-studio/', method: 'POST' })).status).toBe(405);
  });
});
