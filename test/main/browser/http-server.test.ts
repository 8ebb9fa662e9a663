import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBrowserServer, type BrowserServer } from '../../../src/main/browser/http-server.js';
import type { ServedServices } from '../../../src/main/services/deps.js';
import type { AppEvent } from '../../../src/shared/api.js';
import { APP_CSP } from '../../../src/shared/csp.js';
import { call, makeServices } from '../helpers.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function rendererDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ds-renderer-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(tmpdir(), 'ds-secret.txt'), 'secret');
  return dir;
}

async function serve(services: ServedServices): Promise<BrowserServer> {
  const server = await startBrowserServer(services, { rendererDir: rendererDir() });
  closers.push(() => server.close());
  return server;
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request (fetch would not let the test set Host). */
function raw(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 only and serves the app with the CSP', async () => {
    const made = makeServices();
    closers.push(made.cleanup);
    const server = await serve(made.services);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    const page = await raw(server.port, { path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(APP_CSP);
    expect(page.body).toContain('<title>app</title>');
    const escape = await raw(server.port, { path: '/..%2fds-secret.txt' });
    expect(escape.status).toBe(404);
    expect(escape.body).not.toContain('secret');
  });

  it('refuses calls without the session token, from another Host, and malformed bodies; keeps serving', async () => {
    const made = makeServices();
    closers.push(made.cleanup);
    const server = await serve(made.services);
    const body = JSON.stringify({ method: 'projects.list', params: {} });
    const json = { 'content-type': 'application/json' };
    const none = await raw(server.port, { method: 'POST', path: '/api', headers: json, body });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('UNAUTHORIZED');
    const wrong = await raw(server.port, {
      method: 'POST',
      path: '/api',
      headers: { ...json, authorization: 'Bearer nope' },
      body,
    });
    expect(wrong.status).toBe(401);
    const auth = { ...json, authorization: `Bearer ${server.token}` };
    const rebinding = await raw(server.port, {
      method: 'POST',
      path: '/api',
      headers: { ...auth, host: 'evil.example:80' },
      body,
    });
    expect(rebinding.status).toBe(403);
    const notJson = await raw(server.port, {
      method: 'POST',
      path: '/api',
      headers: auth,
      body: '{"method":',
    });
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).error.code).toBe('REQUEST_INVALID');
    const badParams = await raw(server.port, {
      method: 'POST',
      path: '/api',
      headers: auth,
      body: JSON.stringify({ method: 'projects.create', params: { name: 7 } }),
    });
    expect(JSON.parse(badParams.body)).toMatchObject({ ok: false, error: { code: 'INPUT_INVALID' } });
    const ok = await raw(server.port, { method: 'POST', path: '/api', headers: auth, body });
    expect(JSON.parse(ok.body)).toEqual({ ok: true, result: [] });
    const events = await raw(server.port, { path: '/events?token=wrong' });
    expect(events.status).toBe(401);
  });

  it('answers an oversized body with 413 and a reason, and keeps serving', async () => {
    const made = makeServices();
    closers.push(made.cleanup);
    const server = await serve(made.services);
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${server.token}` };
    const padding = 'x'.repeat(2 * 1024 * 1024);
    const huge = JSON.stringify({ method: 'projects.list', params: {}, padding });
    // Sent in chunks (counted while reading) and with its length declared (refused before reading).
    const lengths: Record<string, string>[] = [{}, { 'content-length': String(Buffer.byteLength(huge)) }];
    for (const length of lengths) {
      const headers = { ...auth, ...length };
      const reply = await raw(server.port, { method: 'POST', path: '/api', headers, body: huge });
      expect(reply.status).toBe(413);
      const error = JSON.parse(reply.body).error;
      expect(error.code).toBe('REQUEST_TOO_LARGE');
      expect(error.message).toContain('larger than 1 MiB');
      expect(error.fix.length).toBeGreaterThan(0);
    }
    const body = JSON.stringify({ method: 'projects.list', params: {} });
    const ok = await raw(server.port, { method: 'POST', path: '/api', headers: auth, body });
    expect(JSON.parse(ok.body)).toEqual({ ok: true, result: [] });
  });

  it('answers an address with a malformed percent-encoding with 400, not 500', async () => {
    const made = makeServices();
    closers.push(made.cleanup);
    const server = await serve(made.services);
    for (const bad of ['/%', '/%zz.js', '/assets/%E0%A4%A']) {
      const reply = await raw(server.port, { path: bad });
      expect(reply.status, bad).toBe(400);
      const error = JSON.parse(reply.body).error;
      expect(error.code).toBe('URL_INVALID');
      expect(error.message).toContain(bad);
    }
    expect((await raw(server.port, { path: '/' })).status).toBe(200);
  });

  it('streams app events to an authorised event stream', async () => {
    const made = makeServices();
    closers.push(made.cleanup);
    const server = await serve(made.services);
    const received: AppEvent[] = [];
    const stream = request(
      { host: '127.0.0.1', port: server.port, path: `/events?token=${server.token}` },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString().split('\n')) {
            if (line.startsWith('data: ')) received.push(JSON.parse(line.slice(6)) as AppEvent);
          }
        });
      },
    );
    stream.end();
    closers.push(() => void stream.destroy());
    await new Promise((r) => setTimeout(r, 200));
    await call(made.services, 'projects.create', { name: 'Streamed' });
    for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(received).toContainEqual({ type: 'projects-changed' });
  });
});
