import { UserError } from '../../shared/errors.js';
import { tf, tfl } from '../tf.js';
import type { WeightSpec } from './io-validate.js';
import { layersUsing } from './topology.js';

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
    // tfjs's failed assertions carry no message ("cannot build: ." said nothing).
    const reason =
      message.trim() ||
      `TensorFlow.js failed (${error instanceof Error ? error.constructor.name : typeof error}) without saying why`;
    const unknown = unknownClass(message, modelTopology, file);
    if (unknown) throw new UserError(unknown.code, unknown.message, unknown.fix, { cause: error });
    throw new UserError(
      'MODEL_TOPOLOGY_INVALID',
      `${file} describes a model TensorFlow.js cannot build: ${reason}`,
      'Export the model from tf.keras (Keras 2) with tensorflowjs_converter --input_format keras; for a Keras 3 model, set TF_USE_LEGACY_KERAS=1 (with the tf_keras package) before saving it',
      { cause: error },
    );
  }
}

/**
 * For tfjs's "Unknown layer: X. This may be due to ..." (or initializer,
 * activation, ...), the words to say instead: which class, used by which
 * layer, and what to do about it. Undefined for any other error.
 */
function unknownClass(
  message: string,
  modelTopology: object,
  file: string,
): { code: string; message: string; fix: string } | undefined {
  // Matched up to tfjs's own ". This may be due": class names may hold dots or '>' (Keras 'package>Name').
  const match = /Unknown ([a-z]+): (.+?)\. This may be due/.exec(message);
  const [, kind, className] = match ?? [];
  if (!kind || !className) return undefined;
  const users = layersUsing(modelTopology, className);
  const named = users.length > 0 ? users.map((name) => `"${name}"`).join(', ') : 'a layer';
  const plural = users.length > 1 ? 's' : '';
  if (kind === 'layer') {
    return {
      code: 'MODEL_LAYER_UNSUPPORTED',
      message: `${file}: layer${plural} ${named} ${plural ? 'are' : 'is'} of class "${className}", which TensorFlow.js does not provide (Lambda and custom layers hold Python code, which cannot run here)`,
      fix: `Rebuild the model with built-in Keras layers in place of ${named} (e.g. Rescaling for a Lambda that scales pixels, Add or Concatenate for one that combines tensors), then export it again; TensorFlow.js reads the standard Keras layers (Dense, Conv2D, DepthwiseConv2D, SeparableConv2D, BatchNormalization, pooling, Activation, Add, Concatenate, Flatten, Reshape, Dropout, ...)`,
    };
  }
  return {
    code: 'MODEL_LAYER_UNSUPPORTED',
    message: `${file}: layer${plural} ${named} use${plural ? '' : 's'} the ${kind} "${className}", which TensorFlow.js does not provide (custom ${kind}s hold Python code, which cannot run here)`,
    fix: `Rebuild the model with a built-in Keras ${kind} in ${named} in place of "${className}", then export it again`,
  };
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
