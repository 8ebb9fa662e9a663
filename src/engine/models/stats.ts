import { tfl } from '../tf.js';

/** Size and cost of one layer, for `inspect --layers` and reports. */
export interface LayerStats {
  /** The layer's name; layers of a nested model are named "outer/inner". */
  name: string;
  /** tfjs class name, e.g. "Conv2D". */
  className: string;
  /** Output shape of one image (batch dimension dropped); -1 where the model leaves a size open. */
  outputShape: number[];
  /** Weights of the layer, trainable or not (batch-norm moving statistics included). */
  parameters: number;
  /** Multiply-accumulates for one image (see modelStats for what is counted). */
  macs: number;
}

/** Parameters and compute cost of a model, per image. */
export interface ModelStats {
  /** All weights, including non-trainable ones such as batch-norm moving mean and variance. */
  parameters: number;
  /** Weights the optimizer updates (what PyTorch's parameters() counts). */
  trainableParameters: number;
  /** Multiply-accumulates to classify one image. */
  macsPerImage: number;
  /** 2 x macsPerImage: one multiply and one add per MAC, the usual convention. */
  flopsPerImage: number;
  /** One row per layer in graph order. */
  layers: LayerStats[];
  /** Layers whose cost is unknown (counted as 0 MACs): unfamiliar types or open sizes. */
  uncounted: string[];
}

type Layer = InstanceType<typeof tfl.layers.Layer>;
type GraphNode = Layer['inboundNodes'][number];
/** A per-image shape: batch dimension dropped, null where the model leaves a size open. */
type Dims = (number | null)[];

interface CostContext {
  layer: Layer;
  config: Record<string, unknown>;
  inputs: Dims[];
  output: Dims;
}
type Cost = (c: CostContext) => number;

/** Product of sizes; NaN when one is open, so the layer ends up in `uncounted`. */
const product = (dims: readonly (number | null)[]): number =>
  dims.reduce<number>((p, d) => p * (d ?? NaN), 1);
const elements = (dims: Dims | undefined): number => (dims ? product(dims) : NaN);

/** Positions a kernel is applied at: all sizes but the channel axis. */
function positions(dims: Dims | undefined, config: Record<string, unknown>): number {
  if (!dims) return NaN;
  return product(config.dataFormat === 'channelsFirst' ? dims.slice(1) : dims.slice(0, -1));
}

/** Number of weights in the layer's variable named `suffix` (e.g. conv1/kernel -> 'kernel'). */
function weightSize(layer: Layer, suffix: string): number {
  const weight = layer.weights.find((w) => w.originalName.split('/').pop() === suffix);
  return weight ? product(weight.shape) : NaN;
}

/** A fused activation (Conv2D/Dense `activation`) costs one op per output element, like a separate layer. */
function fusedActivation(c: CostContext): number {
  const activation = c.config.activation;
  return typeof activation === 'string' && activation !== 'linear' ? elements(c.output) : 0;
}

/** Pool window size; a single number means a square (cubic) window over every spatial axis. */
function windowSize(c: CostContext): number {
  const size = c.config.poolSize;
  if (Array.isArray(size)) return product(size.map((d) => (typeof d === 'number' ? d : null)));
  if (typeof size === 'number') return size ** Math.max(1, c.output.length - 1);
  return NaN;
}

// Convolutions and dense layers: kernel weights x positions = MACs, exact
// for any stride, padding, dilation or groups, since the kernel shape is
// [kh, kw, cin/groups, cout] (depthwise: [kh, kw, cin, multiplier]).
// Bias additions are not counted (the usual convention of MAC counters).
const convolution: Cost = (c) =>
  weightSize(c.layer, 'kernel') * positions(c.output, c.config) + fusedActivation(c);
const transposed: Cost = (c) =>
  weightSize(c.layer, 'kernel') * positions(c.inputs[0], c.config) + fusedActivation(c);
const depthwise: Cost = (c) =>
  weightSize(c.layer, 'depthwise_kernel') * positions(c.output, c.config) + fusedActivation(c);
const separable: Cost = (c) =>
  (weightSize(c.layer, 'depthwise_kernel') + weightSize(c.layer, 'pointwise_kernel')) *
    positions(c.output, c.config) +
  fusedActivation(c);
const dense: Cost = (c) =>
  weightSize(c.layer, 'kernel') * (elements(c.output) / (c.output.at(-1) ?? NaN)) + fusedActivation(c);
// Cheap operations are counted as one MAC per elementary operation: a
// batch norm at inference is exactly one multiply-add per element (scale
// and shift folded); an activation, a comparison in a max-pool or an
// addition is counted the same: a slight overcount (3% of the total for
// LeNet-5, under 0.5% for AlexNet and the ResNets) that keeps the count one
// simple integer.
const perOutput: Cost = (c) => elements(c.output);
const pooling: Cost = (c) => windowSize(c) * elements(c.output);
const globalPooling: Cost = (c) => elements(c.inputs[0]);
const merge: Cost = (c) => Math.max(0, c.inputs.length - 1) * elements(c.output);
/** Data movement only (reshaping, padding, cropping), or an identity at inference (dropout, noise). */
const free: Cost = () => 0;

const COSTS: ReadonlyMap<string, Cost> = new Map<string, Cost>([
  ...['Conv1D', 'Conv2D', 'Conv3D'].map((n): [string, Cost] => [n, convolution]),
  ...['Conv2DTranspose', 'Conv3DTranspose'].map((n): [string, Cost] => [n, transposed]),
  ['DepthwiseConv2D', depthwise],
  ...['SeparableConv', 'SeparableConv1D', 'SeparableConv2D'].map((n): [string, Cost] => [n, separable]),
  ['Dense', dense],
  ...['BatchNormalization', 'LayerNormalization', 'Rescaling'].map((n): [string, Cost] => [n, perOutput]),
  ...['Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax'].map(
    (n): [string, Cost] => [n, perOutput],
  ),
  ...[
    'MaxPooling1D',
    'MaxPooling2D',
    'MaxPooling3D',
    'AveragePooling1D',
    'AveragePooling2D',
    'AveragePooling3D',
  ].map((n): [string, Cost] => [n, pooling]),
  ...['GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D'].map(
    (n): [string, Cost] => [n, globalPooling],
  ),
  ...['Add', 'Multiply', 'Average', 'Maximum', 'Minimum'].map((n): [string, Cost] => [n, merge]),
  ...[
    'InputLayer',
    'Flatten',
    'Reshape',
    'Permute',
    'RepeatVector',
    'Concatenate',
    'ZeroPadding2D',
    'Cropping2D',
    'CenterCrop',
    'UpSampling2D',
    'Masking',
    'Embedding',
    'Dropout',
    'SpatialDropout1D',
    'GaussianNoise',
    'GaussianDropout',
    'AlphaDropout',
  ].map((n): [string, Cost] => [n, free]),
]);

/** Node shapes are typed Shape | Shape[]; this always gives a list of per-image shapes. */
function perImage(shapes: unknown): Dims[] {
  if (!Array.isArray(shapes)) return [];
  const list: unknown[] = shapes.length > 0 && shapes.every(Array.isArray) ? shapes : [shapes];
  return list.map((s) => (Array.isArray(s) ? s.slice(1).map((d) => (typeof d === 'number' ? d : null)) : []));
}

/**
 * The nodes (layer applications) that make up `model`'s own graph, found by
 * walking back from its outputs. A layer shared with another model (a
 * teacher split for distillation, a model without its softmax) has nodes
 * from those models too, which must not be counted here.
 */
function graphNodes(model: tfl.LayersModel): Set<GraphNode> {
  const inputs = new Set(model.inputs);
  const seen = new Set<GraphNode>();
  const stack = [...model.outputs];
  for (let tensor = stack.pop(); tensor; tensor = stack.pop()) {
    const node = tensor.sourceLayer.inboundNodes[tensor.nodeIndex];
    if (!node || seen.has(node)) continue;
    seen.add(node);
    if (!inputs.has(tensor)) stack.push(...node.inputTensors);
  }
  return seen;
}

function collect(model: tfl.LayersModel, prefix: string, applications: number, stats: ModelStats): void {
  const nodes = graphNodes(model);
  for (const layer of model.layers) {
    const own = layer.inboundNodes.filter((node) => nodes.has(node));
    if (layer instanceof tfl.LayersModel) {
      // A nested model (Keras models often wrap a backbone): list its layers, counted once per use.
      collect(layer, `${prefix}${layer.name}/`, applications * own.length, stats);
      continue;
    }
    const name = prefix + layer.name;
    const className = layer.getClassName();
    const cost = COSTS.get(className);
    // Only known layers are asked for their config: a custom layer may not implement getConfig.
    const config = cost ? layer.getConfig() : {};
    let macs = 0;
    for (const node of own) {
      const output = perImage(node.outputShapes)[0] ?? [];
      macs += cost ? cost({ layer, config, inputs: perImage(node.inputShapes), output }) : NaN;
    }
    if (!Number.isFinite(macs)) {
      stats.uncounted.push(name);
      macs = 0;
    }
    const first = own[0];
    const outputShape = first ? (perImage(first.outputShapes)[0] ?? []).map((d) => d ?? -1) : [];
    stats.layers.push({
      name,
      className,
      outputShape,
      parameters: layer.countParams(),
      macs: macs * applications,
    });
  }
}

/**
 * Parameters and per-image compute of any LayersModel, sequential or
 * functional, built here or imported (nested models are expanded).
 *
 * MACs are counted per layer type:
 * - Conv1D/2D/3D, DepthwiseConv2D, SeparableConv, Dense: kernel weights x
 *   output positions (Conv2D: kh*kw*cin/groups*cout*Hout*Wout; Dense on a
 *   vector: in*out); transposed convolutions use input positions. Biases free.
 * - Batch/layer normalisation, Rescaling, activations (also when fused into
 *   a conv or dense layer): 1 per output element. Pooling: window size per
 *   output element; global pooling: 1 per input element. Add, Multiply and
 *   the like: (inputs - 1) per output element.
 * - Reshapes, padding, concatenation, dropout and noise: 0.
 * - Anything else (recurrent layers, attention, custom layers): 0, with the
 *   layer named in `uncounted` so the total is known to be a lower bound.
 */
export function modelStats(model: tfl.LayersModel): ModelStats {
  const stats: ModelStats = {
    parameters: model.countParams(),
    trainableParameters: model.trainableWeights.reduce((sum, w) => sum + product(w.shape), 0),
    macsPerImage: 0,
    flopsPerImage: 0,
    layers: [],
    uncounted: [],
  };
  collect(model, '', 1, stats);
  stats.macsPerImage = stats.layers.reduce((sum, layer) => sum + layer.macs, 0);
  stats.flopsPerImage = 2 * stats.macsPerImage;
  return stats;
}
