import { tfl } from '../../tf.js';
import type { Conversion, Layout, Value } from './conversion.js';
import type { OnnxConstant, OnnxNode } from './graph.js';
import { transpose } from './layout.js';
import { affine, div, imageAndConstant, mul, reduceMean, sub } from './elementwise.js';
import {
  concat,
  constant,
  featureCount,
  flattenOp,
  passThrough,
  reshape,
  softmax,
  squeeze,
  transposeOp,
} from './reshaping.js';
import { castOp, gatherOp, shapeOp, unsqueezeOp } from './shapes.js';
import { convertAveragePool, convertConv, convertMaxPool, convertPad } from './spatial.js';

/**
 * The supported ONNX operators, each turning one node into tfjs layers
 * (or into nothing, for Identity, Dropout and a final Softmax). A node of
 * any other operator is refused with its name and type; a supported
 * operator used in a way the engine cannot reproduce is refused saying how.
 */

/** Converts one node, defining its outputs in the conversion. */
export type OperatorConverter = (node: OnnxNode, c: Conversion) => void;

/** A layer that applies an activation and keeps the layout. */
function activation(
  make: (name: string, node: OnnxNode, c: Conversion) => InstanceType<typeof tfl.layers.Layer>,
  nonNegative: boolean,
): OperatorConverter {
  return (node, c) => {
    const x = c.value(node, 0);
    const tensor = c.apply(node, make(c.layerName(node), node, c), x.tensor);
    c.define(node, { tensor, layout: x.layout, nonNegative });
  };
}

/** A dense layer for `node` with kernel [K, M] and optional bias [M]. */
function dense(
  node: OnnxNode,
  c: Conversion,
  x: Value,
  kernel: Float32Array,
  k: number,
  m: number,
  bias?: Float32Array,
): void {
  if (x.layout === 'image' || x.layout === 'channels-last')
    throw c.unsupported(node, 'its input is an image; flatten it first (Flatten or Reshape)');
  const inputs = featureCount(x);
  if (inputs !== k)
    throw c.invalid(node, `its weights take ${k} inputs, but its input has ${inputs} features`);
  const biasValues = bias ?? (c.constantAddFollows(node) ? new Float32Array(m) : undefined);
  const layer = tfl.layers.dense({
    name: c.layerName(node),
    units: m,
    useBias: biasValues !== undefined,
    kernelInitializer: 'zeros',
  });
  const weights = [
    { shape: [k, m], values: kernel },
    ...(biasValues ? [{ shape: [m], values: biasValues }] : []),
  ];
  const { tensor, owner } = c.applyWeighted(node, layer, x.tensor, {
    weights,
    ...(biasValues ? { biasIndex: 1 } : {}),
  });
  c.define(node, {
    tensor,
    layout: 'features',
    nonNegative: false,
    ...(biasValues ? { biasOwner: owner } : {}),
  });
}

const gemm: OperatorConverter = (node, c) => {
  const x = c.value(node, 0);
  const b = c.constant(node, 1);
  const [rows, cols] = b.dims;
  if (
    b.dims.length !== 2 ||
    rows === undefined ||
    cols === undefined ||
    !(b.values instanceof Float32Array)
  ) {
    throw c.invalid(node, `its weights have shape [${b.dims.join(', ')}], not 2-D floats`);
  }
  if (c.int(node, 'transA', 0) !== 0)
    throw c.unsupported(node, 'transA=1 (a transposed input) is not supported');
  const transB = c.int(node, 'transB', 0) === 1;
  const alpha = c.float(node, 'alpha', 1);
  const beta = c.float(node, 'beta', 1);
  const [k, m] = transB ? [cols, rows] : [rows, cols];
  const kernel = transB ? transpose(b.values, [rows, cols], [1, 0]) : Float32Array.from(b.values);
  if (alpha !== 1) for (let i = 0; i < kernel.length; i++) kernel[i] = (kernel[i] ?? 0) * alpha;
  const biasConstant = c.optionalConstant(node, 2);
  let bias: Float32Array | undefined;
  if (biasConstant) {
    const channel = channelVector(biasConstant, m);
    if (!channel)
      throw c.unsupported(
        node,
        `its bias has shape [${biasConstant.dims.join(', ')}]; only one value per output ([${m}] or [1, ${m}]) is supported`,
      );
    bias = channel.map((v) => v * beta);
  }
  dense(node, c, x, kernel, k, m, bias);
};

const matMul: OperatorConverter = (node, c) => {
  const x = c.value(node, 0);
  const b = c.constant(node, 1);
  const [k, m] = b.dims;
  if (b.dims.length !== 2 || k === undefined || m === undefined || !(b.values instanceof Float32Array)) {
    throw c.unsupported(
      node,
      `its weights have shape [${b.dims.join(', ')}]; only a vector times a 2-D matrix is supported`,
    );
  }
  dense(node, c, x, Float32Array.from(b.values), k, m);
};

/** A constant holding one value per channel (or one for all), as `count` values; undefined otherwise. */
function channelVector(
  constant: OnnxConstant,
  count: number,
  layout: Layout = 'features',
): Float32Array | undefined {
  const values = Float32Array.from(constant.values);
  if (values.length === 1) return new Float32Array(count).fill(values[0] ?? 0);
  if (values.length !== count) return undefined;
  // The one non-1 dimension must be the channel axis: [C], [1, C], or [C, 1, 1] / [1, C, 1, 1] for images.
  const dims = constant.dims;
  const ok =
    layout === 'features'
      ? dims.length === 1 || (dims.length === 2 && dims[0] === 1)
      : (dims.length === 3 && dims[1] === 1 && dims[2] === 1) ||
        (dims.length === 4 && dims[0] === 1 && dims[2] === 1 && dims[3] === 1) ||
        (layout === 'pooled' && (dims.length === 1 || (dims.length === 2 && dims[0] === 1)));
  return ok ? values : undefined;
}

const add: OperatorConverter = (node, c) => {
  const [a, b] = node.inputs;
  if (!a || !b) throw c.invalid(node, 'it needs two inputs');
  const constantIndex = c.constants.has(a) ? 0 : c.constants.has(b) ? 1 : -1;
  if (constantIndex >= 0) {
    const x = c.value(node, 1 - constantIndex);
    const constant = c.constant(node, constantIndex);
    const owner = x.biasOwner;
    const biasIndex = owner?.biasIndex;
    const inputName = node.inputs[1 - constantIndex] ?? '';
    const bias = owner && biasIndex !== undefined ? owner.weights[biasIndex] : undefined;
    const channels = bias?.values.length ?? 0;
    const values = bias ? channelVector(constant, channels, x.layout) : undefined;
    if (!bias || !values || c.readers.get(inputName) !== 1) {
      // Not a bias: on an image, a per-channel offset (normalisation inside the model).
      const operands =
        x.layout === 'image' || x.layout === 'channels-last' ? imageAndConstant(node, c) : undefined;
      if (operands) {
        affine(node, c, x, new Float32Array(operands.constant.length).fill(1), operands.constant);
        return;
      }
      throw c.unsupported(
        node,
        'adding a constant is only supported as the bias of the Conv, Gemm or MatMul right before it, or per channel on an image',
      );
    }
    for (let i = 0; i < channels; i++) bias.values[i] = (bias.values[i] ?? 0) + (values[i] ?? 0);
    c.define(node, x);
    return;
  }
  let x = c.value(node, 0);
  let y = c.value(node, 1);
  if (x.layout !== y.layout) {
    // A pooled value ([N, C, 1, 1]) added to a 1x1 image: both as images.
    if (x.layout === 'pooled') x = c.asImage(node, x);
    if (y.layout === 'pooled') y = c.asImage(node, y);
  }
  if (x.layout !== y.layout) throw c.unsupported(node, 'it adds an image to a feature vector');
  const tensor = c.apply(node, tfl.layers.add({ name: c.layerName(node) }), [x.tensor, y.tensor]);
  c.define(node, { tensor, layout: x.layout, nonNegative: x.nonNegative && y.nonNegative });
};

const batchNormalization: OperatorConverter = (node, c) => {
  const x = c.value(node, 0);
  if (x.layout === 'channels-last') throw c.unsupported(node, 'its input is in channels-last order');
  if (c.int(node, 'training_mode', 0) !== 0)
    throw c.unsupported(node, 'it is in training mode; export the model in eval mode (model.eval())');
  if (c.int(node, 'spatial', 1) !== 1)
    throw c.unsupported(node, 'spatial=0 (per-pixel statistics) is not supported');
  if (node.outputs.slice(1).some((name) => name && c.readers.has(name)))
    throw c.unsupported(node, 'its running statistics outputs are used');
  const channels = x.tensor.shape[x.tensor.shape.length - 1];
  if (typeof channels !== 'number') throw c.invalid(node, 'its input has no fixed number of channels');
  const names = ['scale', 'bias', 'mean', 'variance'];
  const [gamma, beta, mean, variance] = names.map((what, i) => c.floats(node, i + 1, channels, what));
  if (!gamma || !beta || !mean || !variance) throw c.invalid(node, 'it lacks an input');
  const layer = tfl.layers.batchNormalization({
    name: c.layerName(node),
    axis: -1,
    epsilon: c.float(node, 'epsilon', 1e-5),
  });
  const weights = [gamma, beta, mean, variance].map((values) => ({
    shape: [channels],
    values: Float32Array.from(values),
  }));
  const { tensor } = c.applyWeighted(node, layer, x.tensor, { weights });
  c.define(node, { tensor, layout: x.layout, nonNegative: false });
};

const globalPool =
  (kind: 'average' | 'max'): OperatorConverter =>
  (node, c) => {
    const x = c.value(node, 0);
    if (x.layout === 'channels-last') throw c.unsupported(node, 'its input is in channels-last order');
    if (x.layout !== 'image') {
      c.define(node, x); // Already [N, C, 1, 1].
      return;
    }
    const name = c.layerName(node);
    const layer =
      kind === 'average'
        ? tfl.layers.globalAveragePooling2d({ name })
        : tfl.layers.globalMaxPooling2d({ name });
    c.define(node, { tensor: c.apply(node, layer, x.tensor), layout: 'pooled', nonNegative: x.nonNegative });
  };

const clip: OperatorConverter = (node, c) => {
  const bound = (index: number, attribute: string, fallback: number): number => {
    const input = c.optionalConstant(node, index);
    return input ? (input.values[0] ?? fallback) : c.float(node, attribute, fallback);
  };
  const min = bound(1, 'min', -Infinity);
  const max = bound(2, 'max', Infinity);
  if (min !== 0)
    throw c.unsupported(
      node,
      `it clips to [${min}, ${max}]; only ReLU-like clips from 0 (e.g. ReLU6) are supported`,
    );
  activation((name) => tfl.layers.reLU({ name, ...(Number.isFinite(max) ? { maxValue: max } : {}) }), true)(
    node,
    c,
  );
};

/** Every supported operator, by ONNX op type. */
export const OPERATORS: Readonly<Record<string, OperatorConverter>> = {
  Conv: convertConv,
  Gemm: gemm,
  MatMul: matMul,
  Add: add,
  BatchNormalization: batchNormalization,
  Relu: activation((name) => tfl.layers.reLU({ name }), true),
  LeakyRelu: activation(
    (name, node, c) => tfl.layers.leakyReLU({ name, alpha: c.float(node, 'alpha', 0.01) }),
    false,
  ),
  Sigmoid: activation((name) => tfl.layers.activation({ name, activation: 'sigmoid' }), true),
  Tanh: activation((name) => tfl.layers.activation({ name, activation: 'tanh' }), false),
  Clip: clip,
  MaxPool: convertMaxPool,
  AveragePool: convertAveragePool,
  GlobalAveragePool: globalPool('average'),
  GlobalMaxPool: globalPool('max'),
  Flatten: flattenOp,
  Reshape: reshape,
  Dropout: passThrough,
  Identity: passThrough,
  Softmax: softmax,
  Pad: convertPad,
  Concat: concat,
  Constant: constant,
  Transpose: transposeOp,
  Shape: shapeOp,
  Gather: gatherOp,
  Unsqueeze: unsqueezeOp,
  Cast: castOp,
  Mul: mul,
  Sub: sub,
  Div: div,
  ReduceMean: reduceMean,
  Squeeze: squeeze,
};
