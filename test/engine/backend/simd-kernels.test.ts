import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { SimdKernels } from '../../../src/engine/backend/simd-kernels.js';
import { SIMD_KERNELS_WASM_BASE64 } from '../../../src/engine/backend/simd/kernels.wasm.js';

const bytes = Buffer.from(SIMD_KERNELS_WASM_BASE64, 'base64');

/** The ids of a WebAssembly module's sections, in order. */
function sectionIds(module: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8; // magic and version
  while (at < module.length) {
    const id = module[at++] ?? 0;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = module[at++] ?? 0;
      size |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    ids.push(id);
    at += size;
  }
  return ids;
}

const EXPORTS: (keyof SimdKernels)[] = [
  'conv2d_dot',
  'conv2d_c1',
  'conv2d_filter_grad',
  'conv2d_filter_grad_c1',
  'max_pool_grad',
  'pad_images',
  'add_bias',
];

describe('the committed SIMD kernels module', () => {
  it('imports only a memory and writes nothing of its own into it (no data, no start function)', () => {
    const module = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(
      WebAssembly.Module.exports(module)
        .map((e) => e.name)
        .sort(),
    ).toEqual([...EXPORTS].sort());
    const ids = sectionIds(bytes);
    expect(ids).toContain(10); // code
    expect(ids).not.toContain(11); // data: it would be copied over the backend's heap
    expect(ids).not.toContain(8); // start
  });

  const clang =
    spawnSync('clang', ['--version']).status === 0 && spawnSync('wasm-ld', ['--version']).status === 0;
  if (!clang) console.warn('skipped: the rebuild check needs clang and wasm-ld (apt-get install clang lld)');
  it.skipIf(!clang)('is what scripts/build-simd-kernels.mjs builds from kernels.c', () => {
    expect(() =>
      execFileSync('node', ['scripts/build-simd-kernels.mjs', '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
