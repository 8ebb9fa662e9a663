import { UserError } from '../errors.js';
import { tf, tfl } from '../tf.js';
import type { WeightSpec } from './io-validate.js';

/**
 * The tfjs side of loading and saving: building layers from a topology,
 * putting checked weight values into them, and spotting non-finite weights.
 * Every failure here is turned into a UserError and leaves no tensors behind,
 * because a long-running worker imports many models, some of them broken.
 */

/** A weight value with the name users see in messages (the name in the file). */
export interface NamedValue {
  name: string;
  tensor: tf.Tensor;
}

/**
 * Builds a model's layers from its Keras topology, with freshly initialised
 * weights (loadModel overwrites them). Weights are left out on purpose: if
 * tfjs were given them it would, on a name or shape mismatch, throw after
 * creating the model, and that half-built model could not be disposed.
 */
export async function buildFromTopology(modelTopology: object, file: string): Promise<tfl.LayersModel> {
  let before = new Set<string>();
  const handler: tf.io.IOHandler = {
    load: async () => {
      // Snapshot here, right before tfjs builds the layers synchronously, so
      // the cleanup below only touches variables this build created.
      before = new Set(Object.keys(tf.engine().registeredVariables));
      return { modelTopology };
    },
  };
  try {
    return await tfl.loadLayersModel(handler);
  } catch (error) {
    // Layers built before the failing one already own variables: free them.
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!before.has(name)) variable.dispose();
    }
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown layer: ([\w.]+)/.exec(message);
    if (unknown) {
      throw new UserError(
        'MODEL_LAYER_UNSUPPORTED',
        `${file} uses the layer type "${unknown[1] ?? '?'}", which TensorFlow.js does not provide (custom and Lambda layers cannot be loaded)`,
        'Rebuild the model from built-in Keras layers only and export it again',
        { cause: error },
      );
    }
    throw new UserError(
      'MODEL_TOPOLOGY_INVALID',
      `${file} describes a model TensorFlow.js cannot build: ${message}`,
      'Export the model from tf.keras (Keras 2) with tensorflowjs_converter --input_format keras; for a Keras 3 model, set TF_USE_LEGACY_KERAS=1 (with the tf_keras package) before saving it',
      { cause: error },
    );
  }
}

/**
 * Decodes the weight bytes, checks them and writes them into `model`.
 * Throws MODEL_WEIGHTS_NOT_FINITE for NaN/infinite values and
 * MODEL_WEIGHTS_MISMATCH when the values do not fit the layers; `model` is
 * then only partly written, and the caller disposes it.
 */
export function assignWeights(
  model: tfl.LayersModel,
  data: ArrayBuffer,
  specs: WeightSpec[],
  file: string,
): void {
  checkShapes(model, specs, file);
  tf.tidy(() => {
    const decoded = tf.io.decodeWeights(data, specs);
    // Optimizer state, if exported, is not needed to run or distil a model.
    const modelSpecs = specs.filter((spec) => spec.group !== 'optimizer');
    const values: NamedValue[] = [];
    const map: tf.NamedTensorMap = {};
    for (const spec of modelSpecs) {
      const tensor = decoded[spec.name];
      if (!tensor) continue;
      map[spec.name] = tensor;
      values.push({ name: spec.name, tensor });
    }
    const bad = firstNonFinite(values);
    if (bad) {
      throw new UserError(
        'MODEL_WEIGHTS_NOT_FINITE',
        `${file}: weight "${bad.name}" holds ${bad.count} NaN or infinite value(s), so the model's outputs would be meaningless`,
        'The model was saved after its training diverged or the file is damaged: use an earlier checkpoint, or train again with a lower learning rate',
      );
    }
    try {
      // Name matching (including the renames tfjs applies to RNN cells and
      // Keras SavedModel names) is left to tfjs rather than re-implemented.
      model.loadWeights(map, true);
    } catch (error) {
      throw new UserError(
        'MODEL_WEIGHTS_MISMATCH',
        `${file}: the weight files do not match the model's layers (${error instanceof Error ? error.message : String(error)})`,
        'model.json and the .bin files must come from the same export: copy them together from one export, or export the model again',
        { cause: error },
      );
    }
  });
}

/** Names the first weight whose shape in the file differs from the layer's. */
function checkShapes(model: tfl.LayersModel, specs: WeightSpec[], file: string): void {
  const byName = new Map(specs.map((spec) => [spec.name, spec.shape]));
  for (const weight of model.weights) {
    const stored = byName.get(weight.originalName);
    if (stored && (stored.length !== weight.shape.length || stored.some((d, i) => d !== weight.shape[i]))) {
      throw new UserError(
        'MODEL_WEIGHTS_MISMATCH',
        `${file}: weight "${weight.originalName}" has shape [${stored.join(', ')}] in the weight files but the layer needs [${weight.shape.join(', ')}]`,
        'model.json and the .bin files must come from the same export: copy them together from one export, or export the model again',
      );
    }
  }
}

/**
 * The first value list entry holding NaN or ±Infinity, with how many such
 * values it has; undefined when all are finite. Integer and boolean tensors
 * are always finite and skipped. One GPU/CPU read for all weights together.
 */
export function firstNonFinite(values: NamedValue[]): { name: string; count: number } | undefined {
  const floats = values.filter((v) => v.tensor.dtype === 'float32');
  if (floats.length === 0) return undefined;
  const counts = tf.tidy(() =>
    tf.stack(floats.map((v) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(v.tensor)), 'int32')))).dataSync(),
  );
  const index = counts.findIndex((count) => count > 0);
  const found = floats[index];
  return found ? { name: found.name, count: counts[index] ?? 0 } : undefined;
}
