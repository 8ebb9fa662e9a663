/** The IPC channels the preload uses (nothing else is exposed); no imports, so the preload bundle stays tiny. */
export const IPC_CHANNELS = { request: 'distill-studio:request', event: 'distill-studio:event' } as const;
