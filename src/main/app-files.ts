import { promises as fs } from 'node:fs';
import path from 'node:path';
import { APP_CSP } from '../shared/csp.js';

/**
 * The built renderer's files as the app serves them. The desktop window
 * loads its page from a custom scheme, app://distill-studio/, rather than
 * file:// (Electron's security checklist, item 18): a file:// page shares an
 * origin with every file on the disk, whereas this origin holds only the
 * renderer folder. Electron-free, so the mapping is tested in plain Node;
 * src/main/index.ts registers the scheme and the handler. Browser mode's
 * server shares the content types.
 */

/** The scheme of the app's own page. */
export const APP_SCHEME = 'app';
/** The one host under that scheme; any other host is refused. */
export const APP_HOST = 'distill-studio';
/** The address of the app's page in the desktop app (outside development). */
export const APP_PAGE_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * Privileges of the scheme (registered before the app is ready): standard
 * (relative addresses and a real origin, so the CSP's 'self' means this
 * origin) and secure (like https). Not CORS-enabled and not bypassing the CSP,
 * so no other origin can read from it.
 */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true } as const;

/** Content types of the files the renderer build produces (and browser mode serves). */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The content type to send for `file`, by its extension. */
export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Which page the window loads: the development server's address that
 * electron-vite passes in ELECTRON_RENDERER_URL, but only when the app is not
 * packaged; a packaged app always loads its own page, whatever the
 * environment says (otherwise anyone who can set a variable could give the
 * window, and its IPC bridge, a page of their choosing).
 */
export function appPageUrl(options: { isPackaged: boolean; devServerUrl: string | undefined }): string {
  return !options.isPackaged && options.devServerUrl ? options.devServerUrl : APP_PAGE_URL;
}

/** A request mapped to a file of the renderer folder, or refused with the reason. */
export type AppFileLookup = { ok: true; file: string } | { ok: false; reason: string };

/** The path functions resolveAppFile uses (node:path; path.win32 in tests). */
export type PathApi = Pick<typeof path, 'resolve' | 'sep'>;

/**
 * The file of `rendererDir` that an app:// request asks for, or a refusal:
 * another scheme or host, a malformed escape, a NUL byte, or a path that
 * leaves the folder once decoded ("..", encoded slashes or backslashes, an
 * absolute or drive path). "/" is the page itself. Whether the file exists is
 * for the caller to find out.
 */
export function resolveAppFile(
  requestUrl: string,
  rendererDir: string,
  paths: PathApi = path,
): AppFileLookup {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false, reason: 'not an address' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) {
    return { ok: false, reason: `not an address of the app (${APP_SCHEME}://${APP_HOST}/)` };
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, reason: 'malformed percent-escape' };
  }
  if (pathname.includes('\0')) return { ok: false, reason: 'NUL byte in the path' };
  const relative = pathname.replace(/^\/+/, '') || 'index.html';
  const root = paths.resolve(rendererDir);
  const file = paths.resolve(root, relative);
  if (!file.startsWith(root + paths.sep)) return { ok: false, reason: 'outside the app folder' };
  return { ok: true, file };
}

/**
 * The app:// protocol handler: the requested file of `rendererDir` with its
 * content type and the app's CSP as a header (as well as the page's meta
 * tag); 404 for refused or missing files, 405 for anything but GET and HEAD.
 */
export function appProtocolHandler(
  rendererDir: string,
  readFile: (file: string) => Promise<Uint8Array> = (file) => fs.readFile(file),
): (request: { url: string; method: string }) => Promise<Response> {
  const plain = (status: number, text: string): Response =>
    new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'Use GET');
    const found = resolveAppFile(request.url, rendererDir);
    if (!found.ok) return plain(404, `Not found: ${found.reason}`);
    let body: Uint8Array;
    try {
      body = await readFile(found.file);
    } catch {
      return plain(404, 'Not found');
    }
    return new Response(request.method === 'HEAD' ? null : Buffer.from(body), {
      status: 200,
      headers: {
        'content-type': contentTypeOf(found.file),
        'content-security-policy': APP_CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      },
    });
  };
}
