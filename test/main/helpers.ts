import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiMethod, ApiParams, ApiResult } from '../../src/shared/api.js';
import type { ErrorInfo } from '../../src/shared/errors.js';
import { memoryStore, type KeyValueStore } from '../../src/main/services/project-store.js';
import type { ServiceDeps } from '../../src/main/services/deps.js';
import { Services } from '../../src/main/services/services.js';
import { forkLauncher, type WorkerLauncher } from '../../src/engine/job/launcher.js';

export const TASK_ENTRY = fileURLToPath(new URL('../../src/worker/task-worker.ts', import.meta.url));

/** Services over a temporary workspace and an in-memory store, with real worker processes. */
export function makeServices(
  options: { store?: KeyValueStore; launch?: WorkerLauncher; deps?: Partial<ServiceDeps> } = {},
): { services: Services; workspace: string; store: KeyValueStore; cleanup: () => void } {
  const workspace = mkdtempSync(path.join(tmpdir(), 'ds-ws-'));
  const store = options.store ?? memoryStore();
  const services = new Services({
    store,
    workspace,
    launch: options.launch ?? forkLauncher,
    taskEntry: TASK_ENTRY,
    shell: 'browser',
    version: 'test',
    ...options.deps,
  });
  return {
    services,
    workspace,
    store,
    cleanup: () => {
      services.shutdown();
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}

/** Calls a method and returns its result, failing the test with the error if refused. */
export async function call<M extends ApiMethod>(
  services: Services,
  method: M,
  params: ApiParams<M>,
): Promise<ApiResult<M>> {
  const reply = await services.handle({ method, params });
  if (!reply.ok) throw new Error(`${method} refused: ${reply.error.code}: ${reply.error.message}`);
  return reply.result as ApiResult<M>;
}

/** Calls a method that must be refused and returns the error. */
export async function refused(services: Services, method: string, params: unknown): Promise<ErrorInfo> {
  const reply = await services.handle({ method, params });
  if (reply.ok) throw new Error(`${method} was accepted but should have been refused`);
  return reply.error;
}

/** A two-stage budget that runs in seconds: enough to exercise every stage. */
export const TINY_SETUP = {
  samples: 60,
  holdout: 20,
  methodSettings: { iterations: 3, batchSize: 40 },
  distill: {
    epochs: 1,
    batchSize: 32,
    learningRate: 0.001,
    temperature: 20,
    augment: false,
    relabel: false,
    mixup: 0,
    flip: 0,
    fade: 0,
    soften: 0,
  },
  testData: 'mnist-digits',
  rounds: null,
} as const;

/** The round pipeline at a size that runs in seconds: rounds of 20 images and 5 student steps. */
export const TINY_ROUNDS = {
  budgetSeconds: 600,
  maxRounds: 0,
  imagesPerRound: 20,
  studentSteps: 5,
  disagreement: 30,
  disagreementTemperature: 1,
  learningRateFloor: 0.05,
} as const;

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
