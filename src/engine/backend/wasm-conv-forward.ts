import type { Conv2DAttrs, FusedConv2DAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import {
  isHeapBackend,
  pointer,
  simdKernelsFor,
  type HeapBackend,
  type SimdKernels,
} from './simd-kernels.js';
import { attrsOf, type Shape4D } from './wasm-kernel-util.js';

/** Output channels up to which kernels.c has a single-channel convolution. */
const C1_MAX_OUT_CHANNELS = 8;

/**
 * The layer's geometry when kernels.c's single-channel convolution can run it (one input
 * channel, 1-8 output channels, stride and dilation 1, NHWC float32), else undefined.
 */
function singleChannelConv(
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Pick<Conv2DAttrs, 'strides' | 'pad' | 'dataFormat' | 'dilations' | 'dimRoundingMode'>,
): tf.backend_util.Conv2DInfo | undefined {
  if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4D,
    filter.shape as Shape4D,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const ok =
    info.inChannels === 1 &&
    info.outChannels <= C1_MAX_OUT_CHANNELS &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1;
  return ok ? info : undefined;
}

/** Runs kernels.c's single-channel convolution (+ bias, + relu), padding x first where asked. */
function runSingleChannelConv(
  simd: SimdKernels,
  backend: HeapBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo {
  const { batchSize, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const height = outHeight + filterHeight - 1;
  const width = outWidth + filterWidth - 1;
  const unpadded = top === 0 && left === 0 && height === info.inHeight && width === info.inWidth;
  const padded = unpadded ? x : backend.makeOutput([batchSize, height, width, 1], 'float32');
  try {
    if (!unpadded) {
      simd.pad_images(
        pointer(backend, x),
        pointer(backend, padded),
        batchSize,
        info.inHeight,
        info.inWidth,
        1,
        top,
        height - info.inHeight - top,
        left,
        width - info.inWidth - left,
      );
    }
    const out = backend.makeOutput([batchSize, outHeight, outWidth, outChannels], 'float32');
    simd.conv2d_c1(
      pointer(backend, padded),
      pointer(backend, filter),
      bias ? pointer(backend, bias) : 0,
      relu ? 1 : 0,
      pointer(backend, out),
      batchSize,
      height,
      width,
      filterHeight,
      filterWidth,
      outChannels,
      outHeight,
      outWidth,
    );
    return out;
  } finally {
    if (!unpadded) backend.disposeData(padded.dataId);
  }
}

/**
 * A faster Conv2D for single-channel inputs (a first layer on grey images, and the pixel
 * priors' shifts and differences, which convolve the image itself), wrapping the wasm
 * backend's own kernel: XNNPACK packs input and output channels in blocks, so one input
 * channel and 1-8 output channels waste most of its work (7.4 ms for LeNet-5's first layer on
 * 256 images, against 2.4 ms here). Padding becomes a zero-padded copy first (kernels.c: the
 * wasm PadV2 took 5.6 ms for 256 MNIST-sized images). Anything else (several input channels,
 * strides, dilations, NCHW) goes to the original kernel.
 */
export function fastConv2D(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x, filter } = inputs;
    if (!x || !filter) throw new Error(`${tf.Conv2D} needs inputs x and filter`);
    const simd = simdKernelsFor(backend);
    const info = simd && singleChannelConv(x, filter, attrsOf<Conv2DAttrs>(attrs));
    if (!simd || !info || !isHeapBackend(backend)) return native(args);
    return runSingleChannelConv(simd, backend, x, filter, info, undefined, false);
  };
}

/**
 * The same for FusedConv2D (convolution + bias + activation, which models run outside
 * training: the teacher labelling batches, evaluation), for a bias per channel and a linear or
 * relu activation; other activations go to the original kernel.
 */
export function fastFusedConv2D(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x, filter, bias } = inputs;
    if (!x || !filter) throw new Error(`${tf.FusedConv2D} needs inputs x and filter`);
    const fused = attrsOf<FusedConv2DAttrs>(attrs);
    const simd = simdKernelsFor(backend);
    const info = simd && singleChannelConv(x, filter, fused);
    const activation = fused.activation ?? 'linear';
    const biasFits =
      !bias || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === info?.outChannels);
    if (!simd || !info || !isHeapBackend(backend) || !biasFits || !['linear', 'relu'].includes(activation))
      return native(args);
    return runSingleChannelConv(simd, backend, x, filter, info, bias, activation === 'relu');
  };
}
