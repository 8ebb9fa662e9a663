import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import {
  isHeapBackend,
  pointer,
  simdKernelsFor,
  type HeapBackend,
  type SimdKernels,
} from './simd-kernels.js';
import { attrsOf, withScratch, type Shape4D } from './wasm-kernel-util.js';

/**
 * The two gradients of a 2-D convolution on wasm: each as one forward
 * convolution through XNNPACK, or, for the shapes where XNNPACK wastes most
 * of its work (one input channel for the filter gradient, few channels for
 * the input gradient), in kernels.c.
 */

function pair(value: number | [number, number]): [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

/**
 * dW = Conv2DBackpropFilter(x, dy), which the wasm backend lacks.
 *
 * For a stride-s convolution, dW[p, q, c, o] = Σ_{b,i,j} xPadded[b, s·i + p,
 * s·j + q, c] · dy[b, i, j, o]. Renaming axes turns this into a plain conv:
 * the input is x with batch and channels swapped ([C, H, W, B]: each input
 * channel becomes an image whose "channels" are the batch), the filter is dy
 * as [outH, outW, B, O], stride 1, and the original stride becomes the
 * dilation. The result is [C, kH, kW, O], transposed back to [kH, kW, C, O].
 * The original zero padding is passed as explicit padding: top/left as
 * computed by computeConv2DInfo, bottom/right as far as the last output row
 * reaches. Rows that no output reads (floor rounding of 'valid') make the
 * conv output larger than kH x kW; those are sliced off.
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs;
  if (!x || !dy) throw new Error(`${tf.Conv2DBackpropFilter} needs inputs x and dy`);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrsOf<Conv2DBackpropFilterAttrs>(attrs);
  if (dataFormat === 'NCHW')
    throw new Error(`${tf.Conv2DBackpropFilter} on wasm supports only NHWC (channels-last) data, got NCHW`);
  // tfjs-core's conv2d gradient refuses dilations other than 1 before it gets
  // here, which is why the kernel has no dilations attribute to honour.
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4D,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [strideH, strideW] = pair(strides);
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const bottom = Math.max(0, (outHeight - 1) * strideH + filterHeight - inHeight - top);
  const right = Math.max(0, (outWidth - 1) * strideW + filterWidth - inWidth - left);
  const simd = simdKernelsFor(backend);
  if (simd && isHeapBackend(backend) && strideW === 1 && x.dtype === 'float32') {
    if (prefersRowDots(info)) return simdFilterGrad(simd, backend, x, dy, info);
    if (prefersChannelVectors(info, bottom, right)) return simdFilterGradNhwc(simd, backend, x, dy, info);
  }

  return withScratch(backend, tf.Conv2DBackpropFilter, (scratch) => {
    const xT = scratch.run(tf.Transpose, { x }, { perm: [3, 1, 2, 0] });
    const dyT = scratch.run(tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] });
    const pads = [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ];
    let grad = scratch.run(
      tf.Conv2D,
      { x: xT, filter: dyT },
      { strides: [1, 1], pad: pads, dataFormat: 'NHWC', dilations: [strideH, strideW] },
    );
    const [inChannels = 0, gradH = 0, gradW = 0, outChannels = 0] = grad.shape;
    if (gradH !== filterHeight || gradW !== filterWidth) {
      grad = scratch.run(
        tf.Slice,
        { x: grad },
        { begin: [0, 0, 0, 0], size: [inChannels, filterHeight, filterWidth, outChannels] },
      );
    }
    return scratch.keep(scratch.run(tf.Transpose, { x: grad }, { perm: [1, 2, 0, 3] }));
  });
};

/**
 * dW in kernels.c, as dot products along image rows of x and dy, both transposed to
 * channels first (x needs no transpose when it has one channel, as a first layer on grey
 * images does).
 */
function simdFilterGrad(
  simd: SimdKernels,
  backend: HeapBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight } = info;
  const { top, left } = info.padInfo;
  return withScratch(backend, tf.Conv2DBackpropFilter, (scratch) => {
    const xT = inChannels === 1 ? x : scratch.run(tf.Transpose, { x }, { perm: [0, 3, 1, 2] });
    const dyT = scratch.run(tf.Transpose, { x: dy }, { perm: [0, 3, 1, 2] });
    const dw = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
    simd.conv2d_filter_grad_t(
      pointer(backend, xT),
      pointer(backend, dyT),
      pointer(backend, dw),
      batchSize,
      inChannels,
      inHeight,
      inWidth,
      filterHeight,
      filterWidth,
      outChannels,
      outHeight,
      outWidth,
      strideHeight,
      top,
      left,
    );
    return dw;
  });
}

/**
 * dW in kernels.c with x and dy as they are (channels last), vectorised over output channels:
 * no transposes, and each image stays in cache while every weight passes over it.
 */
function simdFilterGradNhwc(
  simd: SimdKernels,
  backend: HeapBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight } = info;
  const dw = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  const done = simd.conv2d_filter_grad_nhwc(
    pointer(backend, x),
    pointer(backend, dy),
    pointer(backend, dw),
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    filterHeight,
    filterWidth,
    outChannels,
    outHeight,
    outWidth,
    strideHeight,
  );
  if (!done) {
    backend.disposeData(dw.dataId);
    throw new Error(`${tf.Conv2DBackpropFilter}: kernels.c refused a shape prefersChannelVectors chose`);
  }
  return dw;
}

/**
 * A faster Conv2DBackpropInput for stride-1 convolutions, wrapping the wasm
 * backend's own kernel, which is a plain loop and 2-4x slower than XNNPACK.
 * It matters because every synthesis step back-propagates to the input
 * image through all of a teacher's convolutions.
 *
 * With stride 1, dx is the "full" convolution of dy with the filter rotated
 * by 180° and its channel axes swapped: dx = conv2d(dy, W'), where W'[p, q,
 * o, c] = W[kH-1-p, kW-1-q, c, o], padded by kH-1-top above and whatever
 * makes the height inH below (likewise for the width). Strided convolutions
 * (and paddings wider than the filter) go to the original kernel.
 */
export function fastConv2DBackpropInput(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    if (!dy || !filter) throw new Error(`${tf.Conv2DBackpropInput} needs inputs dy and filter`);
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
      attrsOf<Conv2DBackpropInputAttrs>(attrs);
    if (dataFormat === 'NCHW') return native(args);
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as Shape4D,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    if (info.strideHeight !== 1 || info.strideWidth !== 1) return native(args);
    const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
    const top = filterHeight - 1 - info.padInfo.top;
    const left = filterWidth - 1 - info.padInfo.left;
    const bottom = inHeight - outHeight + filterHeight - 1 - top;
    const right = inWidth - outWidth + filterWidth - 1 - left;
    if (Math.min(top, left, bottom, right) < 0) return native(args);
    const simd = simdKernelsFor(backend);
    if (simd && isHeapBackend(backend) && prefersDot(info.inChannels) && dy.dtype === 'float32') {
      return simdInputGrad(simd, backend, dy, filter, info, top, left);
    }

    return withScratch(backend, tf.Conv2DBackpropInput, (scratch) => {
      const flipped = scratch.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
      const swapped = scratch.run(tf.Transpose, { x: flipped }, { perm: [0, 1, 3, 2] });
      const pads = [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ];
      return scratch.keep(
        scratch.run(
          tf.Conv2D,
          { x: dy, filter: swapped },
          { strides: [1, 1], pad: pads, dataFormat: 'NHWC', dilations: [1, 1] },
        ),
      );
    });
  };
}

/**
 * Where kernels.c's filter gradient (dot products along rows) beats the XNNPACK route (a
 * forward conv of transposed tensors): one input channel (256 LeNet-5 images: 5.6 vs 16.5 ms).
 * With more, the transposes and shorter rows cost more than they save (3 channels 3.1 vs 4.2 ms,
 * 6 channels 22.5 vs 38.4 ms, 16 channels 10.9 vs 13.9 ms for the XNNPACK route).
 */
function prefersRowDots(info: tf.backend_util.Conv2DInfo): boolean {
  return info.inChannels === 1;
}

/**
 * Where kernels.c's channels-last filter gradient (one broadcast pixel times a vector of output
 * channels) beats the XNNPACK route: several input channels, output channels a multiple of 4,
 * no padding (every window inside the image).
 */
function prefersChannelVectors(info: tf.backend_util.Conv2DInfo, bottom: number, right: number): boolean {
  const { top, left } = info.padInfo;
  return info.inChannels > 1 && info.outChannels % 4 === 0 && top + left + bottom + right === 0;
}

/**
 * Input channels up to which kernels.c's dot-product convolution beats XNNPACK for dx
 * (256 LeNet-5 images, 6 channels: 9.9 vs 13.4 ms; level at 16 and 32 channels).
 */
const DOT_MAX_CHANNELS = 8;

function prefersDot(inChannels: number): boolean {
  return inChannels <= DOT_MAX_CHANNELS;
}

/**
 * dx as the full convolution of dy with the rotated filter, in kernels.c's dot-product
 * convolution (few input channels: a first layer's gradient to the image has one). The
 * filter, laid out as that kernel reads it, is W'[c, p, q, o] = W[kH-1-p, kW-1-q, c, o].
 */
function simdInputGrad(
  simd: SimdKernels,
  backend: HeapBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  top: number,
  left: number,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const rotated = backend.makeOutput([inChannels, kh, kw, outChannels], 'float32');
  try {
    const dx = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
    // Views taken after the last allocation: an allocation may grow (and so detach) the heap.
    const w = backend.typedArrayFromHeap(filter);
    const r = backend.typedArrayFromHeap(rotated);
    for (let c = 0; c < inChannels; c++)
      for (let p = 0; p < kh; p++)
        for (let q = 0; q < kw; q++) {
          const from = (((kh - 1 - p) * kw + (kw - 1 - q)) * inChannels + c) * outChannels;
          r.set(w.subarray(from, from + outChannels), ((c * kh + p) * kw + q) * outChannels);
        }
    simd.conv2d_dot(
      pointer(backend, dy),
      pointer(backend, rotated),
      pointer(backend, dx),
      batchSize,
      outHeight,
      outWidth,
      outChannels,
      kh,
      kw,
      inChannels,
      inHeight,
      inWidth,
      1,
      1,
      top,
      left,
    );
    return dx;
  } finally {
    backend.disposeData(rotated.dataId);
  }
}
