import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { WASM, wrapGradient } from './wasm-kernel-util.js';

/**
 * The gradients of Sum and Mean without a tensor of ones. tfjs writes both as dy, reshaped to
 * keep the reduced axes, times `ones(x.shape)`: a ones array the size of x made in JavaScript
 * and copied to the backend at every backward pass. Every synthesis step takes several means
 * over the whole batch of images (the priors), and filling those arrays took 3% of a round
 * job's time (`node --cpu-prof`). Here the backend fills that tensor itself (its Fill kernel,
 * with 1/n for Mean) and the multiply broadcasts dy over it: grad of a mean and a sum over 200
 * images 1.2 against 2.1-3.1 ms. (Broadcasting dy with tf.broadcastTo, the Tile kernel on wasm,
 * took 28 ms.) Registered for wasm, where it was measured; other backends keep tfjs's own.
 */

/** The axes a reduction's `axis` attribute names, as non-negative indices. */
function reducedAxes(axis: unknown, rank: number): number[] {
  const list =
    axis === undefined || axis === null ? [...Array(rank).keys()] : [axis as number | number[]].flat();
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** dy, with the reduced axes of x restored as size 1, times a tensor of x's shape filled with 1/scale. */
function broadcastBack(dy: Tensor, x: Tensor, axis: unknown, scale: number): Tensor {
  const axes = reducedAxes(axis, x.rank);
  const kept = x.shape.map((size, i) => (axes.includes(i) ? 1 : size));
  return tf.mul(tf.reshape(dy, kept), tf.fill(x.shape, 1 / scale));
}

function replaceGradient(kernelName: string, scaleOf: (x: Tensor, axis: unknown) => number): void {
  wrapGradient(kernelName, (fallback) => (dy, saved, attrs) => {
    const [x] = saved;
    if (!x || Array.isArray(dy) || tf.getBackend() !== WASM || x.dtype !== 'float32')
      return fallback(dy, saved, attrs);
    const { axis } = attrs as { axis?: unknown };
    return { x: () => broadcastBack(dy, x, axis, scaleOf(x, axis)) };
  });
}

/** Registers the Sum and Mean gradients above (once; other backends keep tfjs's own). */
export function registerReductionGradients(): void {
  replaceGradient(tf.Sum, () => 1);
  replaceGradient(tf.Mean, (x, axis) => reducedAxes(axis, x.rank).reduce((n, a) => n * (x.shape[a] ?? 1), 1));
}
