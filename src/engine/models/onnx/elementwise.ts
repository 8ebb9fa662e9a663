import { tfl } from '../../tf.js';
import type { Conversion, Value } from './conversion.js';
import type { OnnxConstant, OnnxNode } from './graph.js';

/**
 * Arithmetic on images, and the mean that stands for a global pooling.
 *
 * Arithmetic with constants: the normalisation some models do
 * inside themselves ((x - mean) / std, or a Keras Rescaling(1/255) that
 * tf2onnx writes as a Mul), as one per-channel scale and offset. That is a
 * 1x1 depthwise convolution with a bias, so the converted model keeps to
 * standard layers (and their gradients). Mul of two tensors (Swish, squeeze
 * and excitation) is a Multiply layer.
 */

/** One value per channel of `x` from a constant ONNX broadcasts over it; undefined when it does not. */
function perChannel(constant: OnnxConstant, x: Value, channels: number): Float32Array | undefined {
  const values = Float32Array.from(constant.values);
  if (values.length === 1) return new Float32Array(channels).fill(values[0] ?? 0);
  if (values.length !== channels) return undefined;
  const dims = constant.dims.join();
  const ok =
    x.layout === 'image'
      ? dims === `${channels},1,1` || dims === `1,${channels},1,1`
      : x.layout === 'channels-last'
        ? dims === `${channels}` || dims === `1,1,${channels}` || dims === `1,1,1,${channels}`
        : false;
  return ok ? values : undefined;
}

/** y = x * scale + offset per channel, as a 1x1 depthwise convolution with a bias. */
export function affine(
  node: OnnxNode,
  c: Conversion,
  x: Value,
  scale: Float32Array,
  offset: Float32Array,
): void {
  const channels = scale.length;
  const layer = tfl.layers.depthwiseConv2d({
    name: c.layerName(node),
    kernelSize: 1,
    depthMultiplier: 1,
    useBias: true,
    depthwiseInitializer: 'zeros',
  });
  const weights = [
    { shape: [1, 1, channels, 1], values: scale },
    { shape: [channels], values: offset },
  ];
  const { tensor } = c.applyWeighted(node, layer, x.tensor, { weights });
  c.define(node, { tensor, layout: x.layout, nonNegative: false });
}

/** The image operand and the per-channel constant of a binary node, or undefined when it is not one. */
export function imageAndConstant(
  node: OnnxNode,
  c: Conversion,
): { x: Value; constant: Float32Array; constantFirst: boolean } | undefined {
  const [a, b] = node.inputs;
  if (!a || !b) throw c.invalid(node, 'it needs two inputs');
  const constantFirst = c.constants.has(a);
  if (!constantFirst && !c.constants.has(b)) return undefined;
  const x = c.value(node, constantFirst ? 1 : 0);
  const channels = x.tensor.shape[3];
  if ((x.layout !== 'image' && x.layout !== 'channels-last') || typeof channels !== 'number') {
    throw c.unsupported(
      node,
      'arithmetic with a constant is only supported on images (per-channel normalisation)',
    );
  }
  const constant = perChannel(c.constant(node, constantFirst ? 0 : 1), x, channels);
  if (!constant)
    throw c.unsupported(node, 'only a constant with one value, or one per channel, is supported here');
  return { x, constant, constantFirst };
}

export const mul = (node: OnnxNode, c: Conversion): void => {
  const operands = imageAndConstant(node, c);
  if (operands) {
    affine(node, c, operands.x, operands.constant, new Float32Array(operands.constant.length));
    return;
  }
  let x = c.value(node, 0);
  let y = c.value(node, 1);
  // Squeeze and excitation: an image times a pooled [N, C, 1, 1] weight.
  if (x.layout === 'pooled' && y.layout === 'image') x = c.asImage(node, x);
  if (y.layout === 'pooled' && x.layout === 'image') y = c.asImage(node, y);
  if (x.layout !== y.layout) throw c.unsupported(node, 'it multiplies tensors of different layouts');
  const tensor = c.apply(node, tfl.layers.multiply({ name: c.layerName(node) }), [x.tensor, y.tensor]);
  c.define(node, { tensor, layout: x.layout, nonNegative: x.nonNegative && y.nonNegative });
};

export const sub = (node: OnnxNode, c: Conversion): void => {
  const operands = imageAndConstant(node, c);
  if (!operands)
    throw c.unsupported(node, 'subtracting one tensor from another is not supported (only a constant)');
  const { x, constant, constantFirst } = operands;
  // x - k, or k - x.
  const sign = constantFirst ? -1 : 1;
  affine(
    node,
    c,
    x,
    new Float32Array(constant.length).fill(sign),
    constant.map((k) => (constantFirst ? k : -k)),
  );
};

export const div = (node: OnnxNode, c: Conversion): void => {
  const operands = imageAndConstant(node, c);
  if (!operands || operands.constantFirst) {
    throw c.unsupported(node, 'only dividing an image by a constant is supported');
  }
  if (operands.constant.some((k) => k === 0)) throw c.unsupported(node, 'it divides by zero');
  affine(
    node,
    c,
    operands.x,
    operands.constant.map((k) => 1 / k),
    new Float32Array(operands.constant.length),
  );
};

/**
 * ReduceMean over height and width: a global average pooling, as newer
 * PyTorch exporters and tf2onnx write it (axes [2, 3] on NCHW, [1, 2] on
 * NHWC; an attribute, or from opset 18 an input).
 */
export const reduceMean = (node: OnnxNode, c: Conversion): void => {
  const x = c.value(node, 0);
  const fromInput = node.inputs[1] ? c.constant(node, 1).values : undefined;
  const listed = fromInput ? Array.from(fromInput) : c.ints(node, 'axes');
  const axes = (listed ?? [])
    .map((a) => (a < 0 ? a + 4 : a))
    .sort()
    .join();
  const keep = c.int(node, 'keepdims', 1) === 1;
  const spatial = x.layout === 'image' ? '2,3' : x.layout === 'channels-last' ? '1,2' : undefined;
  if (!spatial || axes !== spatial) {
    throw c.unsupported(
      node,
      'only a mean over the height and width of an image (global average pooling) is supported',
    );
  }
  const pooled = c.apply(node, tfl.layers.globalAveragePooling2d({ name: c.layerName(node) }), x.tensor);
  if (!keep) {
    c.define(node, { tensor: pooled, layout: 'features', nonNegative: x.nonNegative });
  } else if (x.layout === 'image') {
    c.define(node, { tensor: pooled, layout: 'pooled', nonNegative: x.nonNegative });
  } else {
    // NHWC [N, 1, 1, C] is exactly the tfjs tensor [N, 1, 1, C].
    const channels = pooled.shape[1] ?? 0;
    const layer = tfl.layers.reshape({ name: c.layerName(node, '_keepdims'), targetShape: [1, 1, channels] });
    c.define(node, {
      tensor: c.apply(node, layer, pooled),
      layout: 'channels-last',
      nonNegative: x.nonNegative,
    });
  }
};
