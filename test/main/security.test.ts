import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_PAGE_URL } from '../../src/main/app-files.js';
import { handleIpcRequest } from '../../src/main/ipc-handler.js';
import {
  denyPermissions,
  EXTERNAL_LINKS,
  isAllowedExternalLink,
  isAllowedNavigation,
  isTrustedSender,
  secureWebPreferences,
  type PermissionHooks,
} from '../../src/main/security.js';
import { APP_CSP } from '../../src/shared/csp.js';
import { makeServices } from './helpers.js';

const APP = APP_PAGE_URL;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

describe('desktop security settings', () => {
  it('isolates and sandboxes every window with no Node in the page', () => {
    const prefs = secureWebPreferences('/app/preload.cjs');
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('the main process applies those settings to its window', () => {
    const main = readFileSync('src/main/index.ts', 'utf8');
    expect(main).toContain('webPreferences: secureWebPreferences(');
    expect(main).not.toMatch(
      /nodeIntegration:\s*true|contextIsolation:\s*false|sandbox:\s*false|webSecurity:\s*false/,
    );
    expect(main).toContain('setWindowOpenHandler');
    expect(main).toContain("'will-navigate'");
  });

  it('allows navigation only to the app page itself', () => {
    expect(isAllowedNavigation(`${APP}#/project`, APP)).toBe(true);
    expect(isAllowedNavigation('https://example.com/', APP)).toBe(false);
    expect(isAllowedNavigation('file:///etc/passwd', APP)).toBe(false);
    expect(isAllowedNavigation('app://other-host/index.html', APP)).toBe(false);
    expect(isAllowedNavigation('app://distill-studio/assets/other.html', APP)).toBe(false);
    expect(isAllowedNavigation('javascript:alert(1)', APP)).toBe(false);
    expect(isAllowedNavigation('not a url', APP)).toBe(false);
    expect(isAllowedNavigation('http://localhost:5173/', 'http://localhost:5173/')).toBe(true);
    expect(isAllowedNavigation('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
  });

  it('opens only listed addresses in the browser: https, exact page, no credentials', () => {
    const docs = ['https://docs.example.org/distill/guide', 'https://docs.example.org/distill/faq?v=2'];
    expect(isAllowedExternalLink('https://docs.example.org/distill/guide', docs)).toBe(true);
    expect(isAllowedExternalLink('https://docs.example.org/distill/guide#methods', docs)).toBe(true);
    expect(isAllowedExternalLink('https://docs.example.org/distill/faq?v=2', docs)).toBe(true);
    for (const url of [
      'https://docs.example.org/distill/faq',
      'https://docs.example.org/distill/guide/../../evil',
      'https://docs.example.org/distill/guide-evil',
      'https://docs.example.org/distill/guide?redirect=https://evil.example/',
      'http://docs.example.org/distill/guide',
      'https://docs.example.org.evil.example/distill/guide',
      'https://user:pass@docs.example.org/distill/guide',
      'https://evil.example/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(isAllowedExternalLink(url, docs), url).toBe(false);
    }
    // The app's own list: nothing but what its pages link to (today, nothing).
    expect(isAllowedExternalLink('https://github.com/')).toBe(false);
  });

  it('lists exactly the outside addresses the renderer links to', () => {
    const linked = new Set<string>();
    for (const file of filesUnder('src/renderer')) {
      for (const match of readFileSync(file, 'utf8').matchAll(/https:\/\/[^\s"'`<>)]+/g))
        linked.add(match[0]);
    }
    expect([...linked].sort()).toEqual([...EXTERNAL_LINKS].sort());
    for (const link of linked) expect(isAllowedExternalLink(link), link).toBe(true);
  });

  it('the main process opens new-window addresses only through the list', () => {
    const main = readFileSync('src/main/index.ts', 'utf8');
    expect(main).toMatch(/if \(isAllowedExternalLink\(url\)\) void shell\.openExternal\(url\)/);
    expect(main.match(/shell\.openExternal\(/g)).toHaveLength(1);
  });

  it('denies every permission, whether a page requests it or Chromium only checks', () => {
    let request: Parameters<PermissionHooks['setPermissionRequestHandler']>[0] | undefined;
    let check: Parameters<PermissionHooks['setPermissionCheckHandler']>[0] | undefined;
    denyPermissions({
      setPermissionRequestHandler: (handler) => (request = handler),
      setPermissionCheckHandler: (handler) => (check = handler),
    });
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'fullscreen']) {
      const answers: boolean[] = [];
      request?.(null, permission, (granted) => answers.push(granted));
      expect(answers, permission).toEqual([false]);
      expect(check?.(null, permission), permission).toBe(false);
    }
    const main = readFileSync('src/main/index.ts', 'utf8');
    expect(main).toContain('denyPermissions(session.defaultSession)');
    expect(main).not.toMatch(/setPermission(Request|Check)Handler/);
  });

  it('trusts IPC only from the main frame of the app page', () => {
    expect(isTrustedSender({ url: APP, isMainFrame: true }, APP)).toBe(true);
    expect(isTrustedSender({ url: APP, isMainFrame: false }, APP)).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.example/', isMainFrame: true }, APP)).toBe(false);
    expect(isTrustedSender(null, APP)).toBe(false);
  });

  it('refuses IPC from an untrusted frame, and answers malformed payloads with an error', async () => {
    const made = makeServices();
    try {
      const frame = { url: APP, isMainFrame: true };
      const foreign = await handleIpcRequest(
        made.services,
        { url: APP, isMainFrame: false },
        { method: 'projects.list', params: {} },
        APP,
      );
      expect(foreign).toMatchObject({ ok: false, error: { code: 'REQUEST_INVALID' } });
      for (const payload of [
        undefined,
        'rm -rf /',
        { method: 'projects.delete' },
        { method: 'projects.rename', params: { projectId: 'p-000001', name: {} } },
      ]) {
        const reply = await handleIpcRequest(made.services, frame, payload, APP);
        expect(reply.ok).toBe(false);
        if (!reply.ok) expect(reply.error.message.length).toBeGreaterThan(10);
      }
      expect(
        await handleIpcRequest(made.services, frame, { method: 'projects.list', params: {} }, APP),
      ).toEqual({ ok: true, result: [] });
    } finally {
      made.cleanup();
    }
  });

  it('ships a strict CSP in the page: scripts only from the app, no remote content', () => {
    const html = readFileSync('src/renderer/index.html', 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBe(APP_CSP);
    expect(APP_CSP).toContain("default-src 'none'");
    expect(APP_CSP).toContain("script-src 'self'");
    expect(APP_CSP).not.toMatch(/script-src[^;]*(unsafe-inline|unsafe-eval|https?:)/);
    expect(APP_CSP).not.toMatch(/https?:\/\//);
  });

  it('the preload exposes exactly one object with two functions', () => {
    const preload = readFileSync('src/preload/index.ts', 'utf8');
    expect(preload.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(preload).not.toMatch(/ipcRenderer\.(send|sendSync)\(/);
  });
});
