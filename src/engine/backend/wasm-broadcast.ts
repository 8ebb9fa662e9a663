import type { KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { isHeapBackend, pointer, simdKernelsFor, type HeapBackend } from './simd-kernels.js';
import { attrsOf } from './wasm-kernel-util.js';

/**
 * Element-wise ops with one operand broadcast, and a bias's gradient, on wasm in kernels.c.
 * The wasm backend's broadcasting loops are slow: 3.6 ms for the bias of LeNet-5's first layer
 * on 256 images, 2 ms to clip 256 images to a range (a maximum and a minimum with one value
 * each), where one pass of whole SIMD vectors takes a fraction of that. A broadcast operand
 * whose shape is a suffix of the other's (leading 1s aside: a bias [c], a value [1], one image's
 * mask [1, h, w, 1] over a batch) repeats with a period of its own size; the kernels repeat it
 * to a period that is a multiple of 4 floats, so that any size runs in whole vectors.
 */

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Floats a period has at least: shorter ones loop too often for too little work (a single value: 8x slower). */
const MIN_PERIOD = 64;

/**
 * A multiple of both `size` and 4 floats (one SIMD vector holds 4), the smallest of them
 * that is at least {@link MIN_PERIOD}, or lcm(size, 4) when that is longer.
 */
function periodOf(size: number): number {
  const lcm = (size * 4) / gcd(size, 4);
  return lcm * Math.max(1, Math.ceil(MIN_PERIOD / lcm));
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
 * Whether `small` repeats over `full` with a period of its own size: its shape, aligned right,
 * is the end of full's, with only 1s before that (or nothing). Same shapes are not: the
 * backend's own kernel has no broadcasting to do.
 */
function repeatsOver(small: TensorInfo, full: TensorInfo): boolean {
  const s = small.shape;
  const f = full.shape;
  if (s.length > f.length || tf.util.sizeFromShape(s) >= tf.util.sizeFromShape(f)) return false;
  const offset = f.length - s.length;
  let k = 0; // leading 1s of small
  while (k < s.length && s[k] === 1) k++;
  for (let i = k; i < s.length; i++) if (s[i] !== f[i + offset]) return false;
  return tf.util.sizeFromShape(s) > 0;
}

/** kernels.c's codes for the ops binary_periodic runs. */
const OPS = { [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.Maximum]: 3, [tf.Minimum]: 4 } as const;
export type PeriodicOp = keyof typeof OPS;

/**
 * A faster `kernelName` (Add, Sub, Multiply, Maximum, Minimum) where one operand repeats over
 * the other (see {@link repeatsOver}), float32; anything else goes to the original kernel.
 */
export function fastBroadcast(kernelName: PeriodicOp): (native: KernelFunc) => KernelFunc {
  return (native) => (args) => {
    const { inputs, backend } = args;
    const { a, b } = inputs;
    if (!a || !b) throw new Error(`${kernelName} needs inputs a and b`);
    const simd = simdKernelsFor(backend);
    if (!simd || !isHeapBackend(backend) || a.dtype !== 'float32' || b.dtype !== 'float32')
      return native(args);
    const swap = repeatsOver(a, b);
    if (!swap && !repeatsOver(b, a)) return native(args);
    const [full, small] = swap ? [b, a] : [a, b];
    const size = tf.util.sizeFromShape(small.shape);
    const period = periodOf(size);
    const out = backend.makeOutput([...full.shape], 'float32');
    const run = (pattern: TensorInfo) =>
      simd.binary_periodic(
        OPS[kernelName],
        pointer(backend, full),
        pointer(backend, pattern),
        pointer(backend, out),
        tf.util.sizeFromShape(full.shape),
        period,
        swap ? 1 : 0,
      );
    if (period === size) run(small);
    else
      withPeriodBuffer(backend, period, (pattern) => {
        // Views taken after the last allocation: an allocation may grow (and so detach) the heap.
        const values = backend.typedArrayFromHeap(small);
        const repeated = backend.typedArrayFromHeap(pattern);
        for (let at = 0; at < period; at += size) repeated.set(values, at);
        run(pattern);
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
