import type { ImageShape, Preprocessing } from '../data/types.js';
import { UserError } from '../../shared/errors.js';
import { tf, tfl } from '../tf.js';
import { inputSpace, type InputSpace } from './init.js';

type Layer = InstanceType<typeof tfl.layers.Layer>;

/** Layers that may follow the split point: they map a feature vector to a vector. */
const HEAD_LAYER_CLASSES = new Set([
  'Dense',
  'Activation',
  'Dropout',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

/** What a BatchNormalization layer remembers of the real data: per-channel running mean and variance. */
export interface NormStats {
  layer: string;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** The teacher as synthesis needs it: split at an intermediate feature vector. */
export interface TeacherNet {
  /** The logits classifier (owned by the caller). */
  model: tfl.LayersModel;
  inputShape: ImageShape;
  numClasses: number;
  preprocessing: Preprocessing;
  /** Name of the dense layer whose input is the modelled feature h. */
  splitLayer: string;
  /** Length d of the feature vector h. */
  featureSize: number;
  /** Dense layers that may be chosen as the split, nearest the output first. */
  splitCandidates: string[];
  /** Runs input -> [h, logits] in one pass (for the activation loss and the KL together). */
  featuresAndLogits(x: tf.Tensor4D): [tf.Tensor2D, tf.Tensor2D];
  /** The same pass, also returning the input of every BatchNormalization layer (in normStats' order). */
  featuresLogitsAndNormInputs(x: tf.Tensor4D): {
    h: tf.Tensor2D;
    logits: tf.Tensor2D;
    normInputs: tf.Tensor[];
  };
  /** Running mean and variance of each BatchNormalization layer (empty without any): the real data's statistics. */
  normStats: NormStats[];
  /** Runs the head: h -> logits. */
  head(h: tf.Tensor2D): tf.Tensor2D;
  /** Kernel (d x K') of the first head layer: the weights the feature model is built from. */
  headKernel(): tf.Tensor2D;
  /** Kernel (d' x K) of the final (logits) dense layer: class similarity for ZSKD. */
  logitsKernel(): tf.Tensor2D;
  /** Input shape and valid range per channel. */
  space: InputSpace;
}

/**
 * Walks back from the output through layers with a single input, collecting
 * the dense head (Dense, activations, dropout). Returns them input-to-output.
 */
function denseHead(model: tfl.LayersModel): Layer[] {
  const chain: Layer[] = [];
  let layer: Layer | undefined = model.layers[model.layers.length - 1];
  while (layer && HEAD_LAYER_CLASSES.has(layer.getClassName())) {
    chain.unshift(layer);
    const inbound: Layer[] = layer.inboundNodes[0]?.inboundLayers ?? [];
    if (layer.inboundNodes.length !== 1 || inbound.length !== 1) break;
    layer = inbound[0];
  }
  return chain;
}

/**
 * Splits a logits classifier at the input of a dense layer (default: the
 * last one, i.e. the penultimate features). Refuses, with what to do, a
 * teacher whose head is not made of dense layers.
 */
export function splitTeacher(
  classifier: {
    model: tfl.LayersModel;
    inputShape: ImageShape;
    numClasses: number;
    preprocessing: Preprocessing;
  },
  layerName?: string,
): TeacherNet {
  const { model } = classifier;
  const chain = denseHead(model);
  const dense = chain.filter((l) => l.getClassName() === 'Dense');
  const candidates = dense.map((l) => l.name).reverse();
  const logitsLayer = dense[dense.length - 1];
  if (!logitsLayer) {
    throw new UserError(
      'TEACHER_HEAD_NOT_DENSE',
      `The teacher's last layer (${model.layers.at(-1)?.getClassName() ?? 'none'}) is not a dense layer, so its feature space cannot be modelled from its weights`,
      'Use a teacher whose classifier ends with dense (fully connected) layers, or use the zskd or noise method',
    );
  }
  const split = layerName ? dense.find((l) => l.name === layerName) : logitsLayer;
  if (!split) {
    throw new UserError(
      'SYNTHESIS_LAYER_UNKNOWN',
      `"${layerName}" is not one of the teacher's final dense layers`,
      `Choose one of: ${candidates.join(', ')}`,
    );
  }
  const headLayers = chain.slice(chain.indexOf(split));
  const featureTensor = split.input;
  if (Array.isArray(featureTensor) || featureTensor.shape.length !== 2) {
    throw new UserError(
      'TEACHER_HEAD_NOT_DENSE',
      `The input of layer ${split.name} is not a feature vector`,
      'Choose another layer, or use the zskd or noise method',
    );
  }
  const featureSize = featureTensor.shape[1] ?? 0;
  const norms = batchNormLayers(model);
  const both = tfl.model({
    inputs: model.inputs,
    outputs: [
      featureTensor,
      model.outputs[0] as tfl.SymbolicTensor,
      ...norms.map((n) => n.layer.input as tfl.SymbolicTensor),
    ],
  });
  const run = (x: tf.Tensor4D): tf.Tensor[] => {
    const out = both.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out : [out];
  };
  const kernelOf = (layer: Layer): tf.Tensor2D => layer.getWeights()[0] as tf.Tensor2D;
  return {
    ...classifier,
    splitLayer: split.name,
    featureSize,
    splitCandidates: candidates,
    featuresAndLogits: (x) => {
      const [h, logits, ...normInputs] = run(x);
      tf.dispose(normInputs);
      return [h as tf.Tensor2D, logits as tf.Tensor2D];
    },
    featuresLogitsAndNormInputs: (x) => {
      const [h, logits, ...normInputs] = run(x);
      return { h: h as tf.Tensor2D, logits: logits as tf.Tensor2D, normInputs };
    },
    normStats: norms.map((n) => n.stats),
    head: (h) =>
      tf.tidy(
        () => headLayers.reduce<tf.Tensor>((t, layer) => layer.apply(t) as tf.Tensor, h) as tf.Tensor2D,
      ),
    headKernel: () => kernelOf(split),
    logitsKernel: () => kernelOf(logitsLayer),
    space: inputSpace(classifier),
  };
}

/**
 * The teacher's BatchNormalization layers (channels last, one input each)
 * with their running statistics, read from the layer's own variables.
 */
function batchNormLayers(model: tfl.LayersModel): { layer: Layer; stats: NormStats }[] {
  const found: { layer: Layer; stats: NormStats }[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization' || layer.inboundNodes.length !== 1) continue;
    const axis = (layer.getConfig() as { axis?: number | number[] }).axis;
    const input = layer.input;
    if (Array.isArray(input) || (axis !== -1 && axis !== input.shape.length - 1)) continue;
    // Its non-trainable weights are the running mean and variance, in that order (their
    // names carry a suffix when several models share layer names).
    const [mean, variance] = layer.nonTrainableWeights.map((w) => w.read() as tf.Tensor1D);
    if (mean && variance) found.push({ layer, stats: { layer: layer.name, mean, variance } });
  }
  return found;
}
