import { invalidRequestError, type ApiReply } from '../shared/api.js';
import { isTrustedSender } from './security.js';
import type { ServedServices } from './services/deps.js';

/**
 * What the main process does with one IPC request: refuse it unless it comes
 * from the app page's main frame, then hand the raw payload to the services,
 * which validate it and always reply (a malformed payload gets an error reply).
 */
export async function handleIpcRequest(
  services: Pick<ServedServices, 'handle'>,
  sender: { url: string; isMainFrame: boolean } | null,
  payload: unknown,
  appUrl: string,
): Promise<ApiReply> {
  if (!isTrustedSender(sender, appUrl)) {
    return { ok: false, error: invalidRequestError('the request did not come from the app window') };
  }
  return services.handle(payload);
}
