import type { KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { isHeapBackend, pointer, simdKernelsFor, type HeapBackend } from './simd-kernels.js';
import { attrsOf } from './wasm-kernel-util.js';

/**
 * A layer's bias and its gradient on wasm, in kernels.c: x + b for one value per channel
 * (last axis), and the sum of dy over every axis but the last. Channels last, any count of
 * them: the kernels work on whole SIMD vectors by repeating the channels to a period that is a
 * multiple of 4 floats.
 */

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The smallest multiple of both `channels` and 4 floats: one SIMD vector holds 4. */
function periodOf(channels: number): number {
  return (channels * 4) / gcd(channels, 4);
}

/** A scratch tensor of `period` floats, freed once `use` returns. */
function withPeriodBuffer<T>(backend: HeapBackend, period: number, use: (buffer: TensorInfo) => T): T {
  const buffer = backend.makeOutput([period], 'float32');
  try {
    return use(buffer);
  } finally {
    backend.disposeData(buffer.dataId);
  }
}

/**
 * A faster Add for a bias over the last axis (x + b, b one value per channel), which every
 * convolution of a model in training mode ends with: the wasm kernel's broadcasting loop took
 * 3.6 ms for LeNet-5's first layer on 256 images. Every other Add goes to the original kernel.
 */
export function fastAdd(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend } = args;
    const { a, b } = inputs;
    if (!a || !b) throw new Error(`${tf.Add} needs inputs a and b`);
    const simd = simdKernelsFor(backend);
    if (!simd || !isHeapBackend(backend) || a.dtype !== 'float32' || b.dtype !== 'float32')
      return native(args);
    const [x, bias] = b.shape.length === 1 ? [a, b] : [b, a];
    const channels = x.shape[x.shape.length - 1];
    if (bias.shape.length !== 1 || x.shape.length < 2 || bias.shape[0] !== channels || !channels)
      return native(args);
    const period = periodOf(channels);
    const out = backend.makeOutput([...x.shape], 'float32');
    withPeriodBuffer(backend, period, (pattern) => {
      // Views taken after the last allocation: an allocation may grow (and so detach) the heap.
      const values = backend.typedArrayFromHeap(bias);
      const repeated = backend.typedArrayFromHeap(pattern);
      for (let at = 0; at < period; at += channels) repeated.set(values, at);
      simd.add_bias(
        pointer(backend, x),
        pointer(backend, pattern),
        pointer(backend, out),
        tf.util.sizeFromShape(x.shape),
        period,
      );
    });
    return out;
  };
}

/**
 * A faster Sum over every axis but the last: the gradient of a bias, which every convolution
 * and dense layer has. The wasm kernel transposes the channels to the front first (2.9 ms for
 * LeNet-5's first layer on 256 images). Every other Sum goes to the original kernel.
 */
export function fastSum(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (!x) throw new Error(`${tf.Sum} needs input x`);
    const simd = simdKernelsFor(backend);
    const rank = x.shape.length;
    const channels = x.shape[rank - 1];
    if (!simd || !isHeapBackend(backend) || x.dtype !== 'float32' || rank < 2 || !channels)
      return native(args);
    const { axis, keepDims } = attrsOf<SumAttrs>(attrs);
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return native(args);
    const period = periodOf(channels);
    const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), channels] : [channels], 'float32');
    withPeriodBuffer(backend, period, (acc) =>
      simd.sum_rows(
        pointer(backend, x),
        pointer(backend, acc),
        pointer(backend, out),
        tf.util.sizeFromShape(x.shape),
        period,
        channels,
      ),
    );
    return out;
  };
}
