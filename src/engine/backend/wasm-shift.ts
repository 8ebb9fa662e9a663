import type { GradConfig, KernelFunc, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { isHeapBackend, pointer, simdKernelsFor } from './simd-kernels.js';
import { attrsOf, WASM, wasmKernel } from './wasm-kernel-util.js';

/**
 * Images moved by whole pixels, in one kernels.c pass on wasm. The synthesis loop's random
 * jitter moves every batch at every step; written as a convolution with a one-hot kernel (what
 * every backend has), it cost 33 + 28 ms of a 568 ms synthesis step on a loaded machine, 11%
 * (`bench/profile-kernels.ts`): a multiply-add of 25 taps per pixel where a copy does.
 */

/** Distill Studio's own kernel: out[b, i, j, :] = x[b, i + dy, j + dx, :], or fill outside. */
export const SHIFT_KERNEL = 'DistillStudioShift';

interface ShiftAttrs {
  dy: number;
  dx: number;
  fill: number;
}

const shiftKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  const simd = simdKernelsFor(backend);
  if (!x || x.shape.length !== 4 || !simd || !isHeapBackend(backend))
    throw new Error(`${SHIFT_KERNEL} needs a 4-D x, and kernels.c`);
  const { dy, dx, fill } = attrsOf<ShiftAttrs>(attrs);
  const [batch = 0, h = 0, w = 0, c = 0] = x.shape;
  const out = backend.makeOutput([...x.shape], 'float32');
  simd.shift_images(pointer(backend, x), pointer(backend, out), batch, h, w, c, dy, dx, fill);
  return out;
};

/** The move's gradient: the opposite move of dy, filled with 0 (a filled pixel has no source). */
const shiftGradient: GradConfig = {
  kernelName: SHIFT_KERNEL,
  gradFunc: (dy, _saved, attrs) => {
    const { dy: down, dx: right } = attrsOf<ShiftAttrs>(attrs as NamedAttrMap);
    const back = { dy: -down, dx: -right, fill: 0 };
    return { x: () => tf.engine().runKernel(SHIFT_KERNEL, { x: dy as Tensor }, back) as Tensor };
  },
};

/** Registers {@link SHIFT_KERNEL} for the wasm backend, with its gradient (once). */
export function registerWasmShift(): void {
  if (wasmKernel(SHIFT_KERNEL)) return;
  tf.registerKernel({ kernelName: SHIFT_KERNEL, backendName: WASM, kernelFunc: shiftKernel });
  tf.registerGradient(shiftGradient);
}

/**
 * `x` moved by (dy, dx) pixels, `fill` where nothing moves in, differentiable; on wasm with
 * kernels.c only. Returns undefined elsewhere (another backend, no SIMD module, not float32),
 * and the caller then uses the portable way.
 */
export function shiftOnWasm(x: tf.Tensor4D, dy: number, dx: number, fill: number): tf.Tensor4D | undefined {
  const usable =
    tf.getBackend() === WASM &&
    x.dtype === 'float32' &&
    simdKernelsFor(tf.backend()) !== undefined &&
    wasmKernel(SHIFT_KERNEL) !== undefined;
  if (!usable) return undefined;
  const attrs: ShiftAttrs = { dy, dx, fill };
  return tf.engine().runKernel(SHIFT_KERNEL, { x }, attrs as unknown as NamedAttrMap) as tf.Tensor4D;
}
