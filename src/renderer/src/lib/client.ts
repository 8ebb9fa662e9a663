import {
  API,
  AppEventSchema,
  parseReply,
  type ApiMethod,
  type ApiParams,
  type ApiResult,
  type AppEvent,
  type DistillStudioBridge,
} from '../../../shared/api.js';
import type { ErrorInfo } from '../../../shared/errors.js';

/** A refused request, carrying the services' ErrorInfo (message, fix, details). */
export class AppError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

declare global {
  interface Window {
    /** Set by the preload script in the desktop app. */
    distillStudio?: DistillStudioBridge;
  }
}

/**
 * The renderer's only way to reach the services: typed calls whose params are
 * checked before sending and whose replies are validated on arrival, over the
 * preload bridge (desktop) or HTTP on 127.0.0.1 (browser mode).
 */
export class ApiClient {
  constructor(private readonly bridge: DistillStudioBridge) {}

  async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    const checked = API[method].params.safeParse(params);
    if (!checked.success) {
      throw new AppError({
        code: 'INPUT_INVALID',
        message: checked.error.issues.map((i) => i.message).join('; '),
        fix: 'Correct the highlighted value and try again',
      });
    }
    let raw: unknown;
    try {
      raw = await this.bridge.request({ method, params: checked.data });
    } catch (error) {
      throw new AppError({
        code: 'SERVICES_UNREACHABLE',
        message: 'The app could not reach its background services',
        fix: 'Restart Distill Studio; your projects and finished runs are saved on disk',
        details: String(error),
      });
    }
    const reply = parseReply(method, raw);
    if (!reply.ok) throw new AppError(reply.error);
    return reply.result;
  }

  /** Subscribes to validated app events; malformed events are dropped. */
  onEvent(listener: (event: AppEvent) => void): () => void {
    return this.bridge.onEvent((raw) => {
      const event = AppEventSchema.safeParse(raw);
      if (event.success) listener(event.data);
    });
  }
}

/** Browser mode: POST /api with the session token, events as server-sent events. */
export function httpBridge(token: string, base = ''): DistillStudioBridge {
  return {
    async request(request) {
      const response = await fetch(`${base}/api`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(request),
      });
      return response.json();
    },
    onEvent(listener) {
      const source = new EventSource(`${base}/events?token=${encodeURIComponent(token)}`);
      source.onmessage = (message) => {
        try {
          listener(JSON.parse(message.data as string));
        } catch {
          // A malformed event is ignored; the next one carries fresh state.
        }
      };
      return () => source.close();
    },
  };
}

const TOKEN_KEY = 'distill-studio-token';

/**
 * The bridge for this window: the preload's in the desktop app, otherwise
 * HTTP with the token the server put in the URL fragment (kept for reloads
 * in sessionStorage and removed from the address bar).
 */
export function connect(): ApiClient | null {
  if (window.distillStudio) return new ApiClient(window.distillStudio);
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  const token = fromHash ?? sessionStorage.getItem(TOKEN_KEY);
  return token ? new ApiClient(httpBridge(token)) : null;
}
