import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { handleIpcRequest } from '../../src/main/ipc-handler.js';
import { isAllowedNavigation, isTrustedSender, secureWebPreferences } from '../../src/main/security.js';
import { APP_CSP } from '../../src/shared/csp.js';
import { makeServices } from './helpers.js';

const APP = 'file:///opt/distill/resources/app.asar/out/renderer/index.html';

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
    expect(isAllowedNavigation('javascript:alert(1)', APP)).toBe(false);
    expect(isAllowedNavigation('not a url', APP)).toBe(false);
    expect(isAllowedNavigation('http://localhost:5173/', 'http://localhost:5173/')).toBe(true);
    expect(isAllowedNavigation('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
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
