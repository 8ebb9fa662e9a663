/**
 * The desktop window's security settings and checks, kept free of Electron
 * imports so tests can assert them in plain Node. src/main/electron applies
 * them; nothing there may weaken them.
 */

/** webPreferences of every app window: isolated, sandboxed, no Node in the page. */
export function secureWebPreferences(preload: string): {
  preload: string;
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  webviewTag: false;
  navigateOnDragDrop: false;
  spellcheck: false;
} {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

/**
 * Whether a window may navigate to `target`: only to the app's own page
 * (reloads), never to another file or any remote address.
 */
export function isAllowedNavigation(target: string, appUrl: string): boolean {
  try {
    const to = new URL(target);
    const app = new URL(appUrl);
    return to.protocol === app.protocol && to.host === app.host && to.pathname === app.pathname;
  } catch {
    return false;
  }
}

/**
 * Whether an IPC message comes from the app's own page in its main frame
 * (not an iframe, not a page the window was somehow navigated to).
 */
export function isTrustedSender(
  sender: { url: string; isMainFrame: boolean } | null,
  appUrl: string,
): boolean {
  return sender !== null && sender.isMainFrame && isAllowedNavigation(sender.url, appUrl);
}

/** Permissions the app's pages may ask for: none (no camera, notifications, ...). */
export const ALLOWED_PERMISSIONS: readonly string[] = [];
