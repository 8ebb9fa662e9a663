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

/** The two permission hooks of an Electron session (structurally; no Electron import here). */
export interface PermissionHooks {
  setPermissionRequestHandler(
    handler: (webContents: unknown, permission: string, callback: (granted: boolean) => void) => void,
  ): void;
  setPermissionCheckHandler(handler: (webContents: unknown, permission: string) => boolean): void;
}

/**
 * Grants the app's pages only ALLOWED_PERMISSIONS (none), both when a page
 * asks (request handler) and when Chromium checks without asking whether it
 * has one (check handler: most web APIs check first and request only when
 * the check fails, and with no check handler Electron grants the check).
 */
export function denyPermissions(session: PermissionHooks): void {
  session.setPermissionRequestHandler((_webContents, permission, callback) =>
    callback(ALLOWED_PERMISSIONS.includes(permission)),
  );
  session.setPermissionCheckHandler((_webContents, permission) => ALLOWED_PERMISSIONS.includes(permission));
}

/**
 * The addresses the app may open in the user's browser, exactly. The app's
 * pages link to no outside address today (no https link in src/renderer; a
 * test keeps this list equal to the links there), so every request to open a
 * window is refused; a page linked from the app goes here, address by
 * address, never a whole site.
 */
export const EXTERNAL_LINKS: readonly string[] = [];

/**
 * Whether a window-open request for `target` may go to the user's browser:
 * an https address without credentials whose origin, path and query are those
 * of an entry of `allowed` (a fragment may differ: a heading on that page).
 */
export function isAllowedExternalLink(target: string, allowed: readonly string[] = EXTERNAL_LINKS): boolean {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return false;
  return allowed.some((entry) => {
    const link = new URL(entry);
    return link.origin === url.origin && link.pathname === url.pathname && link.search === url.search;
  });
}
