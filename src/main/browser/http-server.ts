import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { invalidRequestError } from '../../shared/api.js';
import { APP_CSP } from '../../shared/csp.js';
import type { ErrorInfo } from '../../shared/errors.js';
import { formatBytes } from '../../shared/format.js';
import { contentTypeOf } from '../app-files.js';
import type { ServedServices } from '../services/deps.js';

export interface BrowserServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** The most one API call may send: requests carry settings and paths, never file contents. */
const MAX_BODY = 1024 * 1024;

/**
 * Browser mode: serves the built renderer and the services to a browser on
 * this computer only. Bound to 127.0.0.1 on a random port; every API call and
 * the event stream need the per-session token (sent as a bearer header, or a
 * query parameter for EventSource); requests whose Host is not this address
 * are refused (DNS rebinding), and every response carries the app's CSP.
 */
export async function startBrowserServer(
  services: ServedServices,
  options: { rendererDir: string; port?: number; token?: string },
): Promise<BrowserServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const streams = new Set<ServerResponse>();
  const unsubscribe = services.subscribe((event) => {
    const data = `data: ${JSON.stringify(event)}\n\n`;
    for (const stream of streams) stream.write(data);
  });
  let port = 0;
  const server: Server = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, {
          ok: false,
          error: { ...invalidRequestError('server error'), details: String(error) },
        });
      else res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Content-Security-Policy', APP_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) {
      sendJson(res, 403, { ok: false, error: invalidRequestError('unexpected Host header') });
      return;
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname === '/api') {
      if (req.method !== 'POST')
        return sendJson(res, 405, { ok: false, error: invalidRequestError('use POST') });
      if (!authorized(req.headers.authorization?.replace(/^Bearer /, ''), token)) {
        return sendJson(res, 401, { ok: false, error: unauthorized() });
      }
      const text = await readBody(req);
      if (text === undefined) return sendJson(res, 413, { ok: false, error: bodyTooLarge() });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        return sendJson(res, 400, {
          ok: false,
          error: invalidRequestError(`body is not JSON (${String(error)})`),
        });
      }
      const reply = await services.handle(body);
      return sendJson(res, 200, reply);
    }
    if (url.pathname === '/events') {
      if (!authorized(url.searchParams.get('token') ?? undefined, token)) {
        return sendJson(res, 401, { ok: false, error: unauthorized() });
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(': connected\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(res, 405, { ok: false, error: invalidRequestError('use GET') });
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return sendJson(res, 400, { ok: false, error: malformedAddress(url.pathname) });
    }
    await serveStatic(options.rendererDir, pathname, res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function authorized(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function unauthorized(): ReturnType<typeof invalidRequestError> {
  return {
    code: 'UNAUTHORIZED',
    message: 'This browser tab is not connected to the running Distill Studio session',
    fix: 'Open the address that "npm run serve" printed (it contains the session key)',
  };
}

function bodyTooLarge(): ErrorInfo {
  return {
    code: 'REQUEST_TOO_LARGE',
    message: `The request body is larger than ${formatBytes(MAX_BODY)}, the most one call to the services may send`,
    fix: 'Send files by their path rather than their contents; if the app itself sent this, reload the window (Ctrl+R) and report it',
  };
}

function malformedAddress(pathname: string): ErrorInfo {
  return {
    code: 'URL_INVALID',
    message: `The address ${pathname} has a malformed escape: each "%" must be followed by two hexadecimal digits, together forming UTF-8 text`,
    fix: 'Check the address, or open the one "npm run serve" printed',
  };
}

/**
 * The request body as text, or undefined when it is larger than MAX_BODY.
 * An oversized body is then read to its end and dropped rather than the
 * connection cut, so that the client, still sending, receives the 413.
 */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_BODY) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      req.resume();
      resolve(undefined);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    // Refused before reading when the client says up front how much it will send.
    if (Number(req.headers['content-length']) > MAX_BODY) {
      req.resume();
      resolve(undefined);
      return;
    }
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Serves the file at `pathname` (already percent-decoded) under `root`. */
async function serveStatic(root: string, pathname: string, res: ServerResponse): Promise<void> {
  const relative = pathname === '/' ? '/index.html' : pathname;
  const file = path.resolve(root, `.${relative}`);
  if (
    !file.startsWith(path.resolve(root) + path.sep) ||
    !existsSync(file) ||
    !(await fs.stat(file)).isFile()
  ) {
    if (!existsSync(path.join(root, 'index.html'))) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The app has not been built yet: run "npm run build:web", then reload.');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not found');
    return;
  }
  res.writeHead(200, {
    'content-type': contentTypeOf(file),
    'cache-control': 'no-cache',
  });
  res.end(await fs.readFile(file));
}
