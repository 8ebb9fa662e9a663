import { tfl } from '../../tf.js';
import type { Conversion, Value } from './conversion.js';
import type { OnnxNode } from './graph.js';
import { transpose } from './layout.js';

/**
 * The operators that slide a window over an image (Conv, MaxPool,
 * AveragePool) and Pad. ONNX states padding as explicit pixel counts; tfjs
 * layers take 'valid' or 'same'. Padding that equals what 'same' would do is
 * mapped to 'same'; any other is an explicit ZeroPadding2D in front of a
 * 'valid' layer, when zero padding gives the same result.
 */

/** [top, left, bottom, right] pixels of padding. */
type Pads = [number, number, number, number];

interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: Pads;
}

/** The tfjs [N, H, W, C] shape of an image value, all fixed. */
function imageShape(c: Conversion, node: OnnxNode, value: Value): [number, number, number] {
  const [, h, w, ch] = value.tensor.shape;
  if (value.layout !== 'image' || typeof h !== 'number' || typeof w !== 'number' || typeof ch !== 'number') {
    throw c.unsupported(node, 'its input is not an image (batch, channels, height, width)');
  }
  return [h, w, ch];
}

function pair(c: Conversion, node: OnnxNode, name: string, fallback: number): [number, number] {
  const values = c.ints(node, name) ?? [fallback, fallback];
  if (values.length !== 2 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw c.unsupported(
      node,
      `its ${name} [${values.join(', ')}] are not two positive integers (only 2-D images are supported)`,
    );
  }
  return [values[0] ?? fallback, values[1] ?? fallback];
}

/** The padding 'same' gives (ONNX SAME_UPPER, which tfjs also uses) along one side of length `size`. */
function samePadding(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/** Reads the window attributes of `node` for an input of `size` [h, w]. */
function readWindow(c: Conversion, node: OnnxNode, size: [number, number], kernel: [number, number]): Window {
  const strides = pair(c, node, 'strides', 1);
  const dilations = pair(c, node, 'dilations', 1);
  const autoPad = c.string(node, 'auto_pad', 'NOTSET');
  let pads: Pads;
  if (autoPad === 'NOTSET') {
    const listed = c.ints(node, 'pads') ?? [0, 0, 0, 0];
    if (listed.length !== 4 || listed.some((p) => !Number.isInteger(p) || p < 0)) {
      throw c.invalid(node, `its pads [${listed.join(', ')}] are not four non-negative integers`);
    }
    pads = [listed[0] ?? 0, listed[1] ?? 0, listed[2] ?? 0, listed[3] ?? 0];
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const [top, bottom] = samePadding(size[0], kernel[0], strides[0], dilations[0]);
    const [left, right] = samePadding(size[1], kernel[1], strides[1], dilations[1]);
    pads = autoPad === 'SAME_UPPER' ? [top, left, bottom, right] : [bottom, right, top, left];
  } else {
    throw c.invalid(node, `its auto_pad "${autoPad}" is not one ONNX defines`);
  }
  return { kernel, strides, dilations, pads };
}

function isZero(pads: Pads): boolean {
  return pads.every((p) => p === 0);
}

function isSame(window: Window, size: [number, number]): boolean {
  const [top, bottom] = samePadding(size[0], window.kernel[0], window.strides[0], window.dilations[0]);
  const [left, right] = samePadding(size[1], window.kernel[1], window.strides[1], window.dilations[1]);
  const [t, l, b, r] = window.pads;
  return t === top && l === left && b === bottom && r === right;
}

/** `x` zero-padded by `pads` (a ZeroPadding2D layer). */
function zeroPad(c: Conversion, node: OnnxNode, x: tfl.SymbolicTensor, pads: Pads): tfl.SymbolicTensor {
  const [top, left, bottom, right] = pads;
  const layer = tfl.layers.zeroPadding2d({
    name: c.layerName(node, '_pad'),
    padding: [
      [top, bottom],
      [left, right],
    ],
  });
  return c.apply(node, layer, x);
}

/** Refuses ceil_mode when it changes the output size (tfjs always rounds down). */
function checkCeilMode(c: Conversion, node: OnnxNode, window: Window, size: [number, number]): void {
  if (c.int(node, 'ceil_mode', 0) === 0) return;
  for (const axis of [0, 1] as const) {
    const [begin, end] = axis === 0 ? [window.pads[0], window.pads[2]] : [window.pads[1], window.pads[3]];
    const padded = size[axis] + begin + end;
    const span = padded - ((window.kernel[axis] - 1) * window.dilations[axis] + 1);
    if (span % window.strides[axis] !== 0) {
      throw c.unsupported(
        node,
        'ceil_mode=1 changes its output size here, and only rounding down is supported',
      );
    }
  }
}

/** Conv: Conv2D, or DepthwiseConv2D when each input channel is its own group. */
export function convertConv(node: OnnxNode, c: Conversion): void {
  const x = c.asImage(node, c.value(node, 0));
  const [h, w, channels] = imageShape(c, node, x);
  const weight = c.constant(node, 1);
  const [m, perGroup, kh, kw] = weight.dims;
  if (
    weight.dims.length !== 4 ||
    m === undefined ||
    perGroup === undefined ||
    kh === undefined ||
    kw === undefined
  ) {
    throw c.unsupported(
      node,
      `its weights have shape [${weight.dims.join(', ')}]; only 2-D convolutions (4-D weights) are supported`,
    );
  }
  if (!(weight.values instanceof Float32Array)) throw c.invalid(node, 'its weights are not floating-point');
  const group = c.int(node, 'group', 1);
  if (perGroup * group !== channels) {
    throw c.invalid(
      node,
      `its weights expect ${perGroup * group} input channels, but its input has ${channels}`,
    );
  }
  const window = readWindow(c, node, [h, w], [kh, kw]);
  if (window.dilations[0] > 1 || window.dilations[1] > 1) {
    // Synthesis differentiates the teacher, and tfjs has no gradient for dilated convolutions.
    throw c.unsupported(
      node,
      `it is dilated (dilations [${window.dilations.join(', ')}]), and TensorFlow.js cannot differentiate dilated convolutions, which making images from the teacher needs`,
    );
  }
  const bias = c.optionalConstant(node, 2);
  if (bias && bias.values.length !== m)
    throw c.invalid(node, `its bias has ${bias.values.length} values for ${m} output channels`);
  const biasValues = bias
    ? Float32Array.from(bias.values)
    : c.constantAddFollows(node)
      ? new Float32Array(m)
      : undefined;
  const same = !isZero(window.pads) && isSame(window, [h, w]);
  const input = isZero(window.pads) || same ? x.tensor : zeroPad(c, node, x.tensor, window.pads);
  const common = {
    name: c.layerName(node),
    kernelSize: [kh, kw] as [number, number],
    strides: window.strides,
    dilationRate: window.dilations,
    padding: same ? ('same' as const) : ('valid' as const),
    useBias: biasValues !== undefined,
    kernelInitializer: 'zeros' as const,
  };
  let layer: InstanceType<typeof tfl.layers.Layer>;
  let kernel: { shape: number[]; values: Float32Array };
  if (group === 1) {
    layer = tfl.layers.conv2d({ ...common, filters: m });
    kernel = {
      shape: [kh, kw, channels, m],
      values: transpose(weight.values, [m, channels, kh, kw], [2, 3, 1, 0]),
    };
  } else if (group === channels && m % channels === 0) {
    const multiplier = m / channels;
    layer = tfl.layers.depthwiseConv2d({
      ...common,
      depthMultiplier: multiplier,
      depthwiseInitializer: 'zeros',
    });
    // Output channel c * multiplier + j of ONNX and tfjs both come from input channel c.
    kernel = {
      shape: [kh, kw, channels, multiplier],
      values: transpose(weight.values, [channels, multiplier, kh, kw], [2, 3, 0, 1]),
    };
  } else {
    throw c.unsupported(
      node,
      `it is a grouped convolution (${group} groups of ${perGroup} channels); only 1 group or one group per channel (depthwise) is supported`,
    );
  }
  const weights = biasValues ? [kernel, { shape: [m], values: biasValues }] : [kernel];
  const owner = { weights, ...(biasValues ? { biasIndex: 1 } : {}) };
  const { tensor, owner: biasOwner } = c.applyWeighted(node, layer, input, owner);
  c.define(node, { tensor, layout: 'image', nonNegative: false, ...(biasValues ? { biasOwner } : {}) });
}

/** MaxPool: MaxPooling2D; padding other than 'same' only where zeros cannot win (non-negative inputs). */
export function convertMaxPool(node: OnnxNode, c: Conversion): void {
  if (node.outputs.length > 1 && node.outputs[1]) throw c.unsupported(node, 'its Indices output is used');
  const x = c.asImage(node, c.value(node, 0));
  const [h, w] = imageShape(c, node, x);
  const window = readWindow(c, node, [h, w], kernelOf(c, node));
  if (window.dilations.some((d) => d !== 1))
    throw c.unsupported(node, 'dilated max pooling is not supported');
  checkCeilMode(c, node, window, [h, w]);
  const same = !isZero(window.pads) && isSame(window, [h, w]);
  if (!isZero(window.pads) && !same && !x.nonNegative) {
    throw c.unsupported(
      node,
      `its padding [${window.pads.join(', ')}] is only supported on non-negative inputs (e.g. after a Relu), where padding with zeros gives the same maxima`,
    );
  }
  const input = isZero(window.pads) || same ? x.tensor : zeroPad(c, node, x.tensor, window.pads);
  const layer = tfl.layers.maxPooling2d({
    name: c.layerName(node),
    poolSize: window.kernel,
    strides: window.strides,
    padding: same ? 'same' : 'valid',
  });
  c.define(node, { tensor: c.apply(node, layer, input), layout: 'image', nonNegative: x.nonNegative });
}

/** AveragePool: AveragePooling2D; padding counts as tfjs counts it (count_include_pad says which). */
export function convertAveragePool(node: OnnxNode, c: Conversion): void {
  const x = c.asImage(node, c.value(node, 0));
  const [h, w] = imageShape(c, node, x);
  const window = readWindow(c, node, [h, w], kernelOf(c, node));
  if (window.dilations.some((d) => d !== 1))
    throw c.unsupported(node, 'dilated average pooling is not supported');
  checkCeilMode(c, node, window, [h, w]);
  const includePad = c.int(node, 'count_include_pad', 0) === 1;
  // tfjs's 'same' leaves the padding out of each average, as count_include_pad=0 does.
  const same = !isZero(window.pads) && !includePad && isSame(window, [h, w]);
  if (!isZero(window.pads) && !same && !includePad) {
    throw c.unsupported(
      node,
      `its padding [${window.pads.join(', ')}] with count_include_pad=0 is only supported where it equals 'same' padding`,
    );
  }
  const input = isZero(window.pads) || same ? x.tensor : zeroPad(c, node, x.tensor, window.pads);
  const layer = tfl.layers.averagePooling2d({
    name: c.layerName(node),
    poolSize: window.kernel,
    strides: window.strides,
    padding: same ? 'same' : 'valid',
  });
  c.define(node, { tensor: c.apply(node, layer, input), layout: 'image', nonNegative: x.nonNegative });
}

function kernelOf(c: Conversion, node: OnnxNode): [number, number] {
  if (!node.attributes.has('kernel_shape')) throw c.invalid(node, 'it has no kernel_shape');
  return pair(c, node, 'kernel_shape', 1);
}

/** Pad: constant zero padding of height and width only, as ZeroPadding2D. */
export function convertPad(node: OnnxNode, c: Conversion): void {
  const x = c.asImage(node, c.value(node, 0));
  imageShape(c, node, x);
  const mode = c.string(node, 'mode', 'constant');
  if (mode !== 'constant')
    throw c.unsupported(node, `its mode is "${mode}"; only constant (zero) padding is supported`);
  if (node.inputs[3])
    throw c.unsupported(node, 'it pads chosen axes (the axes input); only padding of all axes is supported');
  const fromInput = node.inputs[1] ? c.constant(node, 1).values : undefined;
  const pads = fromInput ? Array.from(fromInput) : c.ints(node, 'pads');
  const valueInput = c.optionalConstant(node, 2);
  const value = valueInput ? (valueInput.values[0] ?? 0) : c.float(node, 'value', 0);
  if (value !== 0) throw c.unsupported(node, `it pads with ${value}; only padding with zeros is supported`);
  if (!pads || pads.length !== 8)
    throw c.invalid(node, 'its pads are not 8 numbers (begin and end of each of 4 axes)');
  const [nb, cb, top, left, ne, ce, bottom, right] = pads as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (nb !== 0 || cb !== 0 || ne !== 0 || ce !== 0)
    throw c.unsupported(node, 'it pads the batch or channel axis; only height and width can be padded');
  if ([top, left, bottom, right].some((p) => p < 0))
    throw c.unsupported(node, 'it crops (negative pads); only padding is supported');
  c.define(node, {
    tensor: zeroPad(c, node, x.tensor, [top, left, bottom, right]),
    layout: 'image',
    nonNegative: x.nonNegative,
  });
}
