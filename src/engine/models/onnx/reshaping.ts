import { tfl } from '../../tf.js';
import type { Conversion, Value } from './conversion.js';
import type { OnnxConstant, OnnxNode } from './graph.js';
import { elementCount } from './graph.js';
import type { OperatorConverter } from './operators.js';
import { concatShapes, reshapeTarget } from './shapes.js';

/**
 * The operators that move values rather than compute them: flattening and
 * reshaping to (batch, features) in ONNX's channel-major order, Transpose
 * between NCHW and NHWC, Concat, Constant, the final Softmax (left out), and
 * Identity and Dropout (passed through).
 */

/** Passes its input through unchanged (Identity, Dropout at inference). */
export const passThrough: OperatorConverter = (node, c) => {
  if (node.outputs.slice(1).some((name) => name && c.readers.has(name))) {
    throw c.unsupported(node, 'its mask output is used');
  }
  c.define(node, c.value(node, 0));
};

/** Number of features per image of a value: C*H*W, C or F. */
export function featureCount(value: Value): number {
  return value.tensor.shape.slice(1).reduce((a: number, b) => a * (b ?? Number.NaN), 1);
}

/** Flattens an image in ONNX's channel-major order (C, H, W), as a vector. */
export function flatten(node: OnnxNode, c: Conversion, x: Value): Value {
  if (x.layout === 'channels-last') {
    const tensor = c.apply(node, tfl.layers.flatten({ name: c.layerName(node) }), x.tensor);
    return { tensor, layout: 'features', nonNegative: x.nonNegative };
  }
  if (x.layout !== 'image') return { ...x, layout: 'features' };
  const [, h, w] = x.tensor.shape;
  let tensor = x.tensor;
  // tfjs flattens (H, W, C); ONNX flattens (C, H, W). Equal when H = W = 1.
  if (h !== 1 || w !== 1) {
    tensor = c.apply(node, tfl.layers.permute({ name: c.layerName(node, '_nchw'), dims: [3, 1, 2] }), tensor);
  }
  tensor = c.apply(node, tfl.layers.flatten({ name: c.layerName(node) }), tensor);
  return { tensor, layout: 'features', nonNegative: x.nonNegative };
}

export const flattenOp: OperatorConverter = (node, c) => {
  const axis = c.int(node, 'axis', 1);
  if (axis !== 1)
    throw c.unsupported(node, `it flattens from axis ${axis}; only axis 1 (keeping the batch) is supported`);
  c.define(node, flatten(node, c, c.value(node, 0)));
};

export const reshape: OperatorConverter = (node, c) => {
  const x = c.value(node, 0);
  const target = reshapeTarget(c, node);
  const features = featureCount(x);
  const [first, second] = target;
  const batchKept = first === 0 || first === c.fixedBatch || (first === -1 && second === features);
  if (target.length !== 2 || !batchKept || (second !== -1 && second !== features)) {
    throw c.unsupported(
      node,
      `it reshapes to [${target.join(', ')}]; only a flatten to (batch, ${features}) is supported`,
    );
  }
  c.define(node, flatten(node, c, x));
};

export const softmax: OperatorConverter = (node, c) => {
  const x = c.value(node, 0);
  const axis = c.int(node, 'axis', c.graph.opset >= 13 ? -1 : 1);
  const output = node.outputs[0];
  if (output === undefined || !c.graph.outputs.includes(output)) {
    throw c.unsupported(
      node,
      'a Softmax is only supported as the last node (it is removed, the engine needs logits)',
    );
  }
  if (x.layout === 'image' || x.layout === 'channels-last' || (axis !== 1 && axis !== -1)) {
    throw c.unsupported(node, 'the final Softmax must be over the class scores of each image');
  }
  c.finalSoftmaxInput = node.inputs[0];
  c.define(node, x);
};

export const concat: OperatorConverter = (node, c) => {
  if (concatShapes(node, c)) return;
  const values = node.inputs.map((_, i) => c.value(node, i));
  const layouts = new Set(values.map((v) => v.layout));
  if (layouts.has('channels-last')) throw c.unsupported(node, 'its inputs are in channels-last order');
  const axis = c.int(node, 'axis', 1);
  const rank = values[0]?.layout === 'features' ? 2 : 4;
  if (layouts.size !== 1 || (axis !== 1 && axis !== 1 - rank)) {
    throw c.unsupported(node, 'only joining images along channels, or vectors along features, is supported');
  }
  const tensor = c.apply(
    node,
    tfl.layers.concatenate({ name: c.layerName(node), axis: -1 }),
    values.map((v) => v.tensor),
  );
  c.define(node, {
    tensor,
    layout: values[0]?.layout ?? 'image',
    nonNegative: values.every((v) => v.nonNegative),
  });
};

export const constant: OperatorConverter = (node, c) => {
  const attribute =
    node.attributes.get('value') ?? node.attributes.get('value_ints') ?? node.attributes.get('value_int');
  let value: OnnxConstant | undefined;
  if (attribute?.kind === 'tensor') value = attribute.value;
  else if (attribute?.kind === 'ints') value = { dims: [attribute.value.length], values: attribute.value };
  else if (attribute?.kind === 'int') value = { dims: [], values: [attribute.value] };
  const floats = node.attributes.get('value_floats') ?? node.attributes.get('value_float');
  if (floats?.kind === 'floats')
    value = { dims: [floats.value.length], values: Float32Array.from(floats.value) };
  else if (floats?.kind === 'float') value = { dims: [], values: Float32Array.of(floats.value) };
  if (!value || elementCount(value.dims) !== value.values.length)
    throw c.unsupported(node, 'only tensor, integer and float constants are supported');
  c.constants.set(node.outputs[0] ?? '', value);
};

/** Transpose between NCHW and NHWC only: the tensor stays, its layout changes. */
export const transposeOp: OperatorConverter = (node, c) => {
  const x = c.value(node, 0);
  const perm = (c.ints(node, 'perm') ?? []).join();
  if (perm === '0,2,3,1' && x.layout === 'image')
    c.define(node, { ...x, layout: 'channels-last', biasOwner: undefined });
  else if (perm === '0,3,1,2' && x.layout === 'channels-last') c.define(node, { ...x, layout: 'image' });
  else
    throw c.unsupported(
      node,
      `only transposing an image between NCHW and NHWC is supported, not perm [${perm}]`,
    );
};

/** Squeeze of the 1x1 map a global pooling leaves ([N, C, 1, 1] -> [N, C]), as older exporters write it. */
export const squeeze: OperatorConverter = (node, c) => {
  const x = c.value(node, 0);
  const fromInput = node.inputs[1] ? c.constant(node, 1).values : undefined;
  const listed = fromInput ? Array.from(fromInput) : c.ints(node, 'axes');
  const axes = (listed ?? [])
    .map((a) => (a < 0 ? a + 4 : a))
    .sort()
    .join();
  const [, h, w] = x.tensor.shape;
  const unitMap = x.layout === 'pooled' || (x.layout !== 'features' && h === 1 && w === 1);
  const spatial = x.layout === 'channels-last' ? '1,2' : '2,3';
  if (!unitMap || (axes !== spatial && axes !== '')) {
    throw c.unsupported(
      node,
      'only squeezing the 1x1 map of a global pooling to (batch, channels) is supported',
    );
  }
  c.define(node, flatten(node, c, x));
};
