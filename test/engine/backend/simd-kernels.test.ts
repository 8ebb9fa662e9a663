import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  isHeapBackend,
  pointer,
  simdKernelsFor,
  type SimdKernels,
} from '../../../src/engine/backend/simd-kernels.js';
import { registerWasmTrainingKernels } from '../../../src/engine/backend/wasm-kernels.js';
import { tf } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';
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
  'conv2d_filter_grad_t',
  'conv2d_filter_grad_nhwc',
  'max_pool_grad',
  'pad_images',
  'shift_images',
  'binary_periodic',
  'sum_rows',
  'relu_grad',
  'adam_update',
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

describe('kernels.c called directly, where the engine routes only some shapes to it', () => {
  it('conv2d_filter_grad_t matches cpu for several input channels, with and without padding', async () => {
    registerWasmTrainingKernels();
    for (const pad of ['valid', 'same'] as const) {
      const [b, h, w, cin, cout, k] = [3, 9, 11, 3, 5, 3];
      const rng = new Rng(3);
      const x = Float32Array.from({ length: b * h * w * cin }, () => rng.normal());
      await tf.setBackend('cpu');
      const outShape = tf.conv2d(
        tf.zeros([b, h, w, cin]) as tf.Tensor4D,
        tf.zeros([k, k, cin, cout]) as tf.Tensor4D,
        1,
        pad,
      ).shape;
      const dy = Float32Array.from({ length: tf.util.sizeFromShape(outShape) }, () => rng.normal());
      // d/dfilter of sum(conv(x, filter) * dy) is exactly the filter gradient.
      const expected = await tf
        .grad((f: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.conv2d(tf.tensor4d(x, [b, h, w, cin]), f as tf.Tensor4D, 1, pad),
              tf.tensor(dy, outShape),
            ),
          ),
        )(tf.zeros([k, k, cin, cout]))
        .data();
      await tf.setBackend('wasm');
      const backend = tf.backend();
      const simd = simdKernelsFor(backend);
      if (!simd || !isHeapBackend(backend)) throw new Error('kernels.c does not load here');
      const [, oh = 0, ow = 0] = outShape;
      const top = pad === 'same' ? 1 : 0;
      const xt = tf.transpose(tf.tensor4d(x, [b, h, w, cin]), [0, 3, 1, 2]);
      const dyt = tf.transpose(tf.tensor(dy, outShape), [0, 3, 1, 2]);
      const dw = tf.zeros([k, k, cin, cout]);
      const info = (t: tf.Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
      simd.conv2d_filter_grad_t(
        pointer(backend, info(xt)),
        pointer(backend, info(dyt)),
        pointer(backend, info(dw)),
        b,
        cin,
        h,
        w,
        k,
        k,
        cout,
        oh,
        ow,
        1,
        top,
        top,
      );
      const actual = await dw.data();
      expect(actual.length).toBe(expected.length);
      expected.forEach((e: number, i: number) => expect(actual[i]).toBeCloseTo(e, 4));
      tf.dispose([xt, dyt, dw]);
    }
  });
});
