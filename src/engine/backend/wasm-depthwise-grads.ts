import type { DepthwiseConv2dNativeBackpropInputAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { attrsOf, type Scratch, withScratch, type Shape4D } from './wasm-kernel-util.js';

/**
 * The input gradient of a depthwise convolution on wasm, which the wasm
 * backend (4.22) lacks. Synthesis differentiates the teacher with respect to
 * its input, so without it a teacher with depthwise convolutions (MobileNets,
 * imported from ONNX) could be imported but not distilled.
 *
 * A transposed convolution is a convolution of the output gradient with the
 * flipped filter: with dy dilated by the stride (zeros between its pixels),
 * padded by (effective kernel - 1 - pad) in front, dx[h] = Σ_p dyPadded[h + p]
 * · flip(f)[p]. Each of the C·k gradient channels is convolved on its own
 * (one depthwise convolution, multiplier 1), and the k channels made from one
 * input channel are summed.
 */

function pair(value: number | [number, number] | undefined): [number, number] {
  if (value === undefined) return [1, 1];
  return typeof value === 'number' ? [value, value] : value;
}

/** dy [N, oh, ow, D] with stride-1 zeros between pixels: [N, (oh - 1)·sh + 1, (ow - 1)·sw + 1, D]. */
function dilate(scratch: Scratch, dy: TensorInfo, [sh, sw]: [number, number]): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n = 0, oh = 0, ow = 0, d = 0] = dy.shape;
  const spread = scratch.run(tf.Reshape, { x: dy }, { shape: [n, oh, 1, ow, 1, d] });
  const padded = scratch.run(
    tf.PadV2,
    { x: spread },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const flat = scratch.run(tf.Reshape, { x: padded }, { shape: [n, oh * sh, ow * sw, d] });
  return scratch.run(
    tf.Slice,
    { x: flat },
    { begin: [0, 0, 0, 0], size: [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, d] },
  );
}

export const depthwiseConv2dBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs;
  const name = tf.DepthwiseConv2dNativeBackpropInput;
  if (!dy || !filter) throw new Error(`${name} needs inputs dy and filter`);
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrsOf<DepthwiseConv2dNativeBackpropInputAttrs>(attrs);
  const [kh = 1, kw = 1, channels = 1, multiplier = 1] = filter.shape;
  const [dh, dw] = pair(dilations);
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as Shape4D,
    filter.shape as Shape4D,
    strides,
    [dh, dw],
    pad,
    dimRoundingMode,
    true, // depthwise
  );
  const [n, height, width] = inputShape as Shape4D;
  const effH = (kh - 1) * dh + 1;
  const effW = (kw - 1) * dw + 1;
  const { top, left } = info.padInfo;
  if (top > effH - 1 || left > effW - 1) {
    throw new Error(`${name} on wasm: padding larger than the kernel is not supported`);
  }
  return withScratch(backend, name, (scratch) => {
    const dilated = dilate(scratch, dy, pair(strides));
    const [, lh = 0, lw = 0] = dilated.shape;
    const front: [number, number] = [effH - 1 - top, effW - 1 - left];
    // Past the end: what reaches the last input row, cut when dy already reaches further.
    const back: [number, number] = [height + effH - 1 - front[0] - lh, width + effW - 1 - front[1] - lw];
    let padded = scratch.run(
      tf.PadV2,
      { x: dilated },
      {
        paddings: [
          [0, 0],
          [front[0], Math.max(0, back[0])],
          [front[1], Math.max(0, back[1])],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    if (back[0] < 0 || back[1] < 0) {
      const [, ph = 0, pw = 0, d = 0] = padded.shape;
      padded = scratch.run(
        tf.Slice,
        { x: padded },
        { begin: [0, 0, 0, 0], size: [n, ph + Math.min(0, back[0]), pw + Math.min(0, back[1]), d] },
      );
    }
    // Flipped filter, one output per gradient channel: [kh, kw, C·k, 1] (channel c·k + j, as in dy).
    const flipped = scratch.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
    const perChannel = scratch.run(tf.Reshape, { x: flipped }, { shape: [kh, kw, channels * multiplier, 1] });
    const convolved = scratch.run(
      tf.DepthwiseConv2dNative,
      { x: padded, filter: perChannel },
      { strides: [1, 1], pad: 'valid', dilations: [dh, dw], dataFormat: 'NHWC' },
    );
    if (multiplier === 1) return scratch.keep(convolved);
    const split = scratch.run(
      tf.Reshape,
      { x: convolved },
      { shape: [n, height, width, channels, multiplier] },
    );
    return scratch.keep(scratch.run(tf.Sum, { x: split }, { axis: [4], keepDims: false }));
  });
};
