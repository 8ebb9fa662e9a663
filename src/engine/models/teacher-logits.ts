import { tf, tfl } from '../tf.js';

/**
 * Finding and removing a classifier's final softmax. Distillation needs a
 * teacher's logits (temperature scaling divides logits, not probabilities),
 * but exported classifiers usually end in a softmax, either fused into the
 * last layer (Dense(activation='softmax')) or as its own Activation/Softmax
 * layer. We rebuild the model from its config without it rather than
 * rewiring the existing layers: the result shares no layers or variables
 * with the original, so each can be disposed on its own.
 */

/** How the model's output is produced by its last layer. */
export interface FinalActivation {
  /** Activation name as tfjs writes it ('softmax', 'sigmoid', 'linear', 'relu', ...). */
  name: string;
  /** 'layer': a separate Activation/Softmax/ReLU-like layer; 'fused': the activation of a Dense-like layer. */
  kind: 'layer' | 'fused';
  /** Name of the last layer, for messages. */
  layerName: string;
}

/** Layers that only apply an activation, by class name, with the activation they apply. */
const ACTIVATION_LAYERS: Readonly<Record<string, string>> = {
  Softmax: 'softmax',
  ReLU: 'relu',
  LeakyReLU: 'leakyRelu',
  PReLU: 'prelu',
  ELU: 'elu',
  ThresholdedReLU: 'thresholdedRelu',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Which activation, if any, the layer producing the model's only output applies. */
export function finalActivation(model: tfl.LayersModel): FinalActivation {
  const output = model.outputs[0];
  if (!output) throw new Error('finalActivation: the model has no output');
  const layer = output.sourceLayer;
  const className = layer.getClassName();
  const config: unknown = layer.getConfig();
  const configured =
    isRecord(config) && typeof config['activation'] === 'string' ? config['activation'] : undefined;
  const standalone = ACTIVATION_LAYERS[className];
  if (standalone) return { name: standalone, kind: 'layer', layerName: layer.name };
  if (className === 'Activation')
    return { name: configured ?? 'linear', kind: 'layer', layerName: layer.name };
  return { name: configured ?? 'linear', kind: 'fused', layerName: layer.name };
}

/**
 * A new model computing `model`'s output without its final activation
 * (which `finalActivation` found), with the same weight values. The caller
 * owns both models.
 */
export function withoutFinalActivation(model: tfl.LayersModel, final: FinalActivation): tfl.LayersModel {
  // getConfig() is tfjs's own in-memory description (camelCase, as fromConfig
  // wants it); a JSON round trip gives a private copy that is safe to edit.
  const config: unknown = JSON.parse(JSON.stringify(model.getConfig()));
  if (!isRecord(config) || !Array.isArray(config['layers']))
    throw new Error('Unexpected model config: no layers');
  const layers: unknown[] = config['layers'];
  const index =
    model instanceof tfl.Sequential
      ? layers.length - 1
      : layers.findIndex((l) => isRecord(l) && l['name'] === final.layerName);
  const entry = layers[index];
  if (!isRecord(entry) || !isRecord(entry['config']))
    throw new Error(`Unexpected model config: no layer ${final.layerName}`);
  if (final.kind === 'fused') {
    entry['config']['activation'] = 'linear';
  } else {
    layers.splice(index, 1);
    if (!(model instanceof tfl.Sequential))
      config['outputLayers'] = [inputOfOutputLayer(entry, config['outputLayers'])];
  }
  const dict = config as tf.serialization.ConfigDict;
  const copy: tfl.LayersModel =
    model instanceof tfl.Sequential
      ? tfl.Sequential.fromConfig<tfl.Sequential>(tfl.Sequential, dict)
      : tfl.LayersModel.fromConfig<tfl.LayersModel>(tfl.LayersModel, dict);
  try {
    // Layer by layer and by name, so the copy does not depend on weight order.
    for (const layer of copy.layers) layer.setWeights(model.getLayer(layer.name).getWeights());
  } catch (error) {
    copy.dispose();
    throw error;
  }
  return copy;
}

/** In a functional config: the [layer, node, tensor] feeding the removed output layer. */
function inputOfOutputLayer(entry: Record<string, unknown>, outputLayers: unknown): unknown[] {
  const out = Array.isArray(outputLayers) ? outputLayers[0] : undefined;
  const nodeIndex = Array.isArray(out) && typeof out[1] === 'number' ? out[1] : 0;
  const nodes = entry['inboundNodes'];
  const node: unknown = Array.isArray(nodes) ? nodes[nodeIndex] : undefined;
  const source: unknown = Array.isArray(node) ? node[0] : undefined;
  if (!Array.isArray(source) || source.length < 3)
    throw new Error('Unexpected model config: output layer has no input');
  return source.slice(0, 3);
}

/**
 * True when the model's outputs look like probabilities (each row
 * non-negative and summing to 1) on a fixed random batch. Catches a softmax
 * that finalActivation cannot see, e.g. one inside a nested model or a
 * custom op, which would otherwise be silently treated as logits.
 */
export function outputsLookLikeProbabilities(model: tfl.LayersModel, inputShape: readonly number[]): boolean {
  const [min, worstSumError] = tf.tidy(() => {
    const x = tf.randomUniform([2, ...inputShape], 0, 1, 'float32', 7);
    const y = model.predict(x);
    if (Array.isArray(y) || !(y instanceof tf.Tensor)) throw new Error('Expected one output tensor');
    return [tf.min(y).dataSync()[0] ?? 0, tf.max(tf.abs(tf.sub(tf.sum(y, 1), 1))).dataSync()[0] ?? 1];
  });
  return min >= 0 && worstSumError < 1e-4;
}
