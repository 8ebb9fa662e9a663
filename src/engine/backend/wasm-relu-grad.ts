import type { KernelFunc, Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { isHeapBackend, pointer, simdKernelsFor } from './simd-kernels.js';
import { WASM, wasmKernel, wrapGradient } from './wasm-kernel-util.js';

/**
 * The gradient of relu in one kernels.c pass on wasm. tfjs computes it as dy * cast(step(x)):
 * three kernels and two full-size intermediates per relu layer (2.9 ms for LeNet-5's first
 * layer on 256 images, where one pass reads dy and x and writes dx once). The gradient
 * registered for Relu runs {@link RELU_GRAD_KERNEL} where it can (wasm, the SIMD module
 * loaded, float32) and tfjs's own gradient everywhere else, so other backends and
 * DISTILL_SIMD_KERNELS=0 keep the original.
 */

/** Distill Studio's own kernel: dx = dy where x > 0, NaN where x is NaN, else 0. */
export const RELU_GRAD_KERNEL = 'DistillStudioReluGrad';

const reluGradKernel: KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs;
  const simd = simdKernelsFor(backend);
  if (!dy || !x || !simd || !isHeapBackend(backend))
    throw new Error(`${RELU_GRAD_KERNEL} needs dy and x, and kernels.c`);
  const dx = backend.makeOutput([...x.shape], 'float32');
  simd.relu_grad(
    pointer(backend, dy),
    pointer(backend, x),
    pointer(backend, dx),
    tf.util.sizeFromShape(x.shape),
  );
  return dx;
};

/** Registers {@link RELU_GRAD_KERNEL} for wasm and the Relu gradient that uses it (once). */
export function registerWasmReluGrad(): void {
  if (!wasmKernel(RELU_GRAD_KERNEL))
    tf.registerKernel({ kernelName: RELU_GRAD_KERNEL, backendName: WASM, kernelFunc: reluGradKernel });
  wrapGradient(tf.Relu, (fallback) => (dy, saved, attrs) => {
    const [x] = saved;
    const fused =
      x !== undefined &&
      !Array.isArray(dy) &&
      dy.dtype === 'float32' &&
      x.dtype === 'float32' &&
      tf.getBackend() === WASM &&
      simdKernelsFor(tf.backend()) !== undefined;
    if (!fused) return fallback(dy, saved, attrs);
    return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as Tensor };
  });
}
