import type { ImageShape, Preprocessing } from '../data/types.js';
import { UserError } from '../errors.js';
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
  const both = tfl.model({
    inputs: model.inputs,
    outputs: [featureTensor, model.outputs[0] as tfl.SymbolicTensor],
  });
  const kernelOf = (layer: Layer): tf.Tensor2D => layer.getWeights()[0] as tf.Tensor2D;
  return {
    ...classifier,
    splitLayer: split.name,
    featureSize,
    splitCandidates: candidates,
    featuresAndLogits: (x) => both.apply(x, { training: false }) as [tf.Tensor2D, tf.Tensor2D],
    head: (h) =>
      tf.tidy(
        () => headLayers.reduce<tf.Tensor>((t, layer) => layer.apply(t) as tf.Tensor, h) as tf.Tensor2D,
      ),
    headKernel: () => kernelOf(split),
    logitsKernel: () => kernelOf(logitsLayer),
    space: inputSpace(classifier),
  };
}
