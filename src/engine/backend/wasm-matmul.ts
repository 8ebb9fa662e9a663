import type {
  BatchMatMulAttrs,
  KernelFunc,
  TensorInfo,
  UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { attrsOf, runKernelFunc, withScratch } from './wasm-kernel-util.js';

/** Matrix-product kernels for the wasm backend. */

/**
 * A faster BatchMatMul for plain (2-D) products with a transposed operand,
 * wrapping the wasm backend's own kernel. That kernel runs the untransposed
 * product through XNNPACK but a transposed one through a loop about 5x
 * slower, and the backward pass of every dense layer is exactly such a
 * product (dyᵀ·x, dy·Wᵀ). Transposing the operand first is a cheap copy.
 * Batched (3-D) products, whose transposed path is not slower, are left to
 * the original kernel.
 */
export function fastBatchMatMul(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrsOf<BatchMatMulAttrs>(attrs);
    if (!a || !b || (!transposeA && !transposeB) || a.shape.length !== 2 || b.shape.length !== 2)
      return native(args);
    return withScratch(backend, tf.BatchMatMul, (scratch) => {
      const left = transposeA ? scratch.run(tf.Transpose, { x: a }, { perm: [1, 0] }) : a;
      const right = transposeB ? scratch.run(tf.Transpose, { x: b }, { perm: [1, 0] }) : b;
      return runKernelFunc(
        native,
        scratch.backend,
        { a: left, b: right },
        { transposeA: false, transposeB: false },
      );
    });
  };
}

/**
 * UnsortedSegmentSum, which the wasm backend lacks; it is the gradient of
 * `tf.gather`, so augmentations of a synthesized batch written with gather
 * (flips, crops, shuffles) need it to be differentiable.
 *
 * out[s, ...] = Σ_{i: ids[i] = s} x[i, ...], computed as one matrix product
 * oneHot(ids, numSegments)ᵀ · x with x flattened to [n, rest]. Ids outside
 * [0, numSegments) have an all-zero one-hot row, so they are dropped, as in
 * TensorFlow. The one-hot matrix holds n·numSegments floats, small for the
 * gathers it serves (over a batch or an image axis).
 */
export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs;
  if (!x || !segmentIds) throw new Error(`${tf.UnsortedSegmentSum} needs inputs x and segmentIds`);
  if (x.dtype !== 'float32')
    throw new Error(`${tf.UnsortedSegmentSum} on wasm supports float32 values only, got ${x.dtype}`);
  const { numSegments } = attrsOf<UnsortedSegmentSumAttrs>(attrs);
  const count = tf.util.sizeFromShape(segmentIds.shape);
  const rest = x.shape.slice(segmentIds.shape.length);
  // Views of the inputs under another shape: the kernels below only read
  // them, so they need no reference (and no release) of their own.
  const ids: TensorInfo = { dataId: segmentIds.dataId, shape: [count], dtype: segmentIds.dtype };
  const values: TensorInfo = {
    dataId: x.dataId,
    shape: [count, tf.util.sizeFromShape(rest)],
    dtype: x.dtype,
  };
  return withScratch(backend, tf.UnsortedSegmentSum, (scratch) => {
    // The wasm OneHot kernel writes int32 whatever dtype it is asked for, so
    // the matrix is made as int32 and cast.
    const oneHotInt = scratch.run(
      tf.OneHot,
      { indices: ids },
      { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' },
    );
    const oneHot = scratch.run(tf.Cast, { x: oneHotInt }, { dtype: 'float32' });
    const sums = scratch.keep(
      scratch.run(tf.BatchMatMul, { a: oneHot, b: values }, { transposeA: true, transposeB: false }),
    );
    // The engine takes the product's data over under the output shape.
    return { dataId: sums.dataId, shape: [numSegments, ...rest], dtype: sums.dtype };
  });
};
