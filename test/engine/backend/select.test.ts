import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tf } from '../../../src/engine/tf.js';

import type * as SelectModule from '../../../src/engine/backend/select.js';
import type * as ErrorsModule from '../../../src/shared/errors.js';

// select.ts keeps the chosen backend in module state; each test loads a fresh
// copy so that none depends on what another one selected. tfjs itself (and
// the backends it has registered) is shared, as it is in the app.
async function freshSelect(): Promise<typeof SelectModule & Pick<typeof ErrorsModule, 'UserError'>> {
  vi.resetModules();
  const select = await import('../../../src/engine/backend/select.js');
  const { UserError } = await import('../../../src/shared/errors.js');
  return { ...select, UserError };
}

function installed(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}
// This machine (and CI) has neither native package: libtensorflow cannot be downloaded.
const nativeInstalled = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

let savedEnv: string | undefined;
beforeEach(() => {
  savedEnv = process.env.DISTILL_BACKEND;
  delete process.env.DISTILL_BACKEND;
});
afterEach(() => {
  if (savedEnv === undefined) delete process.env.DISTILL_BACKEND;
  else process.env.DISTILL_BACKEND = savedEnv;
});

describe('initBackend', () => {
  it.skipIf(nativeInstalled)(
    'picks wasm here after trying the native backends, and says so in one line',
    async () => {
      const { initBackend, currentBackend } = await freshSelect();
      const lines: string[] = [];
      const info = await initBackend({ log: (line) => lines.push(line) });
      expect(info).toEqual({
        name: 'wasm',
        tfjsBackend: 'wasm',
        requested: 'auto',
        tried: [
          { name: 'node-gpu', error: 'not installed' },
          { name: 'node', error: 'not installed' },
          { name: 'wasm' },
        ],
      });
      expect(tf.getBackend()).toBe('wasm');
      expect(lines).toEqual([
        'backend: wasm with SIMD kernels (tried node-gpu: not installed, node: not installed)',
      ]);
      // The wasm backend can train conv nets: our extra kernels are registered.
      expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
      // Emscripten's process-wide error handlers are removed again.
      expect(process.listeners('unhandledRejection').some((l) => String(l).includes('throw reason'))).toBe(
        false,
      );

      expect(await initBackend()).toBe(info);
      expect(await initBackend({ force: 'auto' })).toBe(info);
      expect(currentBackend()).toBe(info);
      expect(lines).toHaveLength(1);
    },
  );

  it('says when wasm runs without its SIMD kernels (DISTILL_SIMD_KERNELS=0)', async () => {
    const { initBackend } = await freshSelect();
    const lines: string[] = [];
    process.env.DISTILL_SIMD_KERNELS = '0';
    try {
      await initBackend({ force: 'wasm', log: (line) => lines.push(line) });
    } finally {
      delete process.env.DISTILL_SIMD_KERNELS;
    }
    expect(lines).toEqual(['backend: wasm without SIMD kernels (forced)']);
  });

  it('runs on cpu when forced, by option or by DISTILL_BACKEND', async () => {
    const { initBackend } = await freshSelect();
    const lines: string[] = [];
    const forced = await initBackend({ force: 'cpu', log: (line) => lines.push(line) });
    expect(forced).toEqual({ name: 'cpu', tfjsBackend: 'cpu', requested: 'cpu', tried: [{ name: 'cpu' }] });
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toEqual(['backend: cpu (forced)']);

    // A different force switches backends.
    expect((await initBackend({ force: 'wasm' })).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');

    const fromEnv = await freshSelect();
    process.env.DISTILL_BACKEND = 'cpu';
    expect(await fromEnv.initBackend()).toMatchObject({ name: 'cpu', requested: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it.skipIf(nativeInstalled)(
    'refuses a forced backend that is not installed, says how to fix it, and keeps the current one',
    async () => {
      const { initBackend, currentBackend, UserError } = await freshSelect();
      const before = await initBackend({ force: 'wasm' });
      const error: unknown = await initBackend({ force: 'node' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect(error).toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        message: expect.stringContaining('not installed'),
      });
      expect((error as InstanceType<typeof UserError>).fix).toMatch(
        /install @tensorflow\/tfjs-node.*--backend wasm/,
      );
      expect(currentBackend()).toBe(before);
      expect(tf.getBackend()).toBe('wasm');
    },
  );

  it('rejects an unknown DISTILL_BACKEND as a usage error', async () => {
    const { initBackend, UserError } = await freshSelect();
    process.env.DISTILL_BACKEND = 'tpu';
    const error: unknown = await initBackend().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('DISTILL_BACKEND') });
  });
});

describe('parseBackendName', () => {
  it('accepts the backend names in any case and lists them when given another', async () => {
    const { parseBackendName, BACKEND_ORDER, UserError } = await freshSelect();
    expect(BACKEND_ORDER).toEqual(['node-gpu', 'node', 'wasm', 'cpu']);
    expect(parseBackendName('auto')).toBe('auto');
    expect(parseBackendName(' WASM ')).toBe('wasm');
    expect(parseBackendName('node-gpu')).toBe('node-gpu');
    let error: unknown;
    try {
      parseBackendName('gpu');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    const { code, message, fix } = error as InstanceType<typeof UserError>;
    expect(code).toBe('USAGE');
    expect(message).toContain('"gpu"');
    expect(fix).toBe('Use one of: auto, node-gpu, node, wasm, cpu');
  });
});
