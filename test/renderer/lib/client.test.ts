import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, AppError, connect, httpBridge } from '../../../src/renderer/src/lib/client.js';
import type { DistillStudioBridge } from '../../../src/shared/api.js';

const PROJECT_ROW = {
  id: 'p-abcdef',
  name: 'Digits',
  updatedAt: '2025-03-14T10:22:31.000Z',
  teacher: null,
  student: 'lenet5-half',
  runs: 0,
  lastStatus: null,
};

/** A bridge that answers every request with `reply` and records what was sent. */
function fakeBridge(reply: unknown | (() => Promise<unknown>)) {
  const sent: unknown[] = [];
  const listeners: ((event: unknown) => void)[] = [];
  const bridge: DistillStudioBridge = {
    request: async (request) => {
      sent.push(request);
      return typeof reply === 'function' ? (reply as () => Promise<unknown>)() : reply;
    },
    onEvent: (listener) => {
      listeners.push(listener);
      return () => listeners.splice(listeners.indexOf(listener), 1);
    },
  };
  return { bridge, sent, emit: (event: unknown) => listeners.forEach((l) => l(event)), listeners };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('ApiClient', () => {
  it('sends checked params and returns the validated result', async () => {
    const { bridge, sent } = fakeBridge({ ok: true, result: [PROJECT_ROW] });
    const projects = await new ApiClient(bridge).call('projects.list', {});
    expect(projects).toEqual([PROJECT_ROW]);
    expect(sent).toEqual([{ method: 'projects.list', params: {} }]);
  });

  it('refuses invalid params before sending anything', async () => {
    const { bridge, sent } = fakeBridge({ ok: true, result: [] });
    const error = await refusal(new ApiClient(bridge).call('projects.create', { name: '' }));
    expect(error.info.code).toBe('INPUT_INVALID');
    expect(error.info.fix.length).toBeGreaterThan(0);
    expect(sent).toEqual([]);
  });

  it('passes on the services refusal with its message and fix', async () => {
    const refused = {
      code: 'PROJECT_NOT_FOUND',
      message: 'No project p-abcdef',
      fix: 'Pick another project',
    };
    const { bridge } = fakeBridge({ ok: false, error: refused });
    const error = await refusal(new ApiClient(bridge).call('projects.get', { projectId: 'p-abcdef' }));
    expect(error.info).toEqual(refused);
    expect(error.message).toBe('No project p-abcdef');
  });

  it('refuses a reply it does not understand instead of handing it on', async () => {
    const wrongShape = fakeBridge({ ok: true, result: [{ id: 42 }] });
    expect((await refusal(new ApiClient(wrongShape.bridge).call('projects.list', {}))).info.code).toBe(
      'REPLY_INVALID',
    );
    const notAReply = fakeBridge('<html>');
    expect((await refusal(new ApiClient(notAReply.bridge).call('projects.list', {}))).info.message).toContain(
      'malformed reply to projects.list',
    );
  });

  it('says the services are unreachable when the transport fails, with the cause in the details', async () => {
    const { bridge } = fakeBridge(() => Promise.reject(new Error('socket hang up')));
    const error = await refusal(new ApiClient(bridge).call('projects.list', {}));
    expect(error.info.code).toBe('SERVICES_UNREACHABLE');
    expect(error.info.details).toContain('socket hang up');
  });

  it('hands on valid events only, until unsubscribed', () => {
    const { bridge, emit, listeners } = fakeBridge(null);
    const seen: unknown[] = [];
    const unsubscribe = new ApiClient(bridge).onEvent((event) => seen.push(event));
    emit({ type: 'projects-changed' });
    emit({ type: 'no-such-event' });
    emit('garbage');
    expect(seen).toEqual([{ type: 'projects-changed' }]);
    unsubscribe();
    expect(listeners).toHaveLength(0);
  });
});

describe('browser mode', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('posts each request to /api with the session token', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ ok: true, result: [] })));
    vi.stubGlobal('fetch', fetch);
    const client = new ApiClient(httpBridge('s3cret', 'http://127.0.0.1:5000'));
    expect(await client.call('projects.list', {})).toEqual([]);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://127.0.0.1:5000/api');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>)['authorization']).toBe('Bearer s3cret');
    expect(JSON.parse(init.body as string)).toEqual({ method: 'projects.list', params: {} });
  });

  it('listens to /events with the token, ignores malformed messages and closes the stream', () => {
    const sources: FakeEventSource[] = [];
    class FakeEventSource {
      onmessage: ((message: { data: string }) => void) | null = null;
      closed = false;
      constructor(readonly url: string) {
        sources.push(this);
      }
      close(): void {
        this.closed = true;
      }
    }
    vi.stubGlobal('EventSource', FakeEventSource);
    const seen: unknown[] = [];
    const stop = httpBridge('a b&c').onEvent((event) => seen.push(event));
    const source = sources[0]!;
    expect(source.url).toBe('/events?token=a%20b%26c');
    source.onmessage?.({ data: '{"type":"projects-changed"}' });
    source.onmessage?.({ data: '{not json' });
    expect(seen).toEqual([{ type: 'projects-changed' }]);
    stop();
    expect(source.closed).toBe(true);
  });

  it('connect: the preload bridge in the desktop app, else the token from the address, kept for reloads', () => {
    const storage = new Map<string, string>();
    const replaced: string[] = [];
    const location = { hash: '#token=abc', pathname: '/', search: '' };
    vi.stubGlobal('sessionStorage', {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => storage.set(k, v),
    });
    vi.stubGlobal('history', { replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url) });
    vi.stubGlobal('window', { location });

    expect(connect()).toBeInstanceOf(ApiClient);
    expect(replaced).toEqual(['/']); // the token leaves the address bar
    location.hash = '';
    expect(connect()).toBeInstanceOf(ApiClient); // a reload finds it in session storage
    storage.clear();
    expect(connect()).toBeNull();

    const { bridge } = fakeBridge(null);
    vi.stubGlobal('window', { location, distillStudio: bridge });
    expect(connect()).toBeInstanceOf(ApiClient);
  });
});
