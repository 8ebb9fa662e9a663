import type { ModelCard } from '../../shared/model-card.js';
import { LIMITS } from '../../shared/limits.js';
import { UserError } from '../../shared/errors.js';
import type { tfl } from '../tf.js';
import { loadModel } from './io.js';
import { finalActivation, outputsLookLikeProbabilities, withoutFinalActivation } from './teacher-logits.js';

/**
 * What the engine accepts as a teacher: an image classifier with one image
 * input [h, w, 1 or 3] and one class-score output [K], K >= 2. Everything
 * else is refused here, at import, with a message saying how to re-export
 * the model, rather than failing later in the middle of a distillation.
 *
 * Decisions:
 * - Channels: 1 (grayscale) or 3 (RGB). The image readers produce those two;
 *   an RGBA (4-channel) input is refused rather than guessing an alpha.
 * - A final softmax is removed (the engine needs logits) and recorded.
 * - A final sigmoid is refused: its outputs are independent per-class
 *   probabilities (multi-label), not one distribution over classes.
 * - Any other final activation (relu, tanh, ...) is accepted with a warning:
 *   its outputs are used as logits as they are.
 */

/** What the engine knows about an accepted teacher. */
export interface TeacherInfo {
  /** Height, width, channels of one input image. */
  inputShape: [number, number, number];
  /** Length of the class-score output. */
  numClasses: number;
  /** True when the model as stored ended in a softmax, which was removed to get logits. */
  outputWasSoftmax: boolean;
  /** Things the user should know that did not stop the import (empty normally). */
  warnings: string[];
}

/** An imported teacher: its logits model and where it came from. */
export interface ImportedTeacher {
  /** Outputs logits (no final softmax). */
  model: tfl.LayersModel;
  info: TeacherInfo;
  card?: ModelCard;
  /** sha256 of the architecture and weights (see SavedModel). */
  fingerprint: string;
  /** Size on disk of model.json plus the weight files. */
  fileBytes: number;
  /** Absolute path of the model folder. */
  folder: string;
}

const IMAGE_FIX =
  'Re-export the model with an image input of shape (height, width, channels), e.g. keras.Input((28, 28, 1))';
const SIGMOID = new Set(['sigmoid', 'hardsigmoid']);

/**
 * Checks that `model` is an image classifier and returns a model that
 * outputs its logits: `model` itself when it has no final softmax, otherwise
 * a new model without it (softmax(new(x)) == model(x)). The caller keeps
 * ownership of `model` and must dispose it too when a new one is returned.
 */
export function asLogitsClassifier(model: tfl.LayersModel): { model: tfl.LayersModel; info: TeacherInfo } {
  const inputShape = checkInput(model);
  const numClasses = checkOutput(model);
  const final = finalActivation(model);
  const activation = final.name.toLowerCase().replace(/_/g, '');
  const warnings: string[] = [];
  if (SIGMOID.has(activation)) {
    throw new UserError(
      'TEACHER_OUTPUT_SIGMOID',
      `The model's last layer "${final.layerName}" applies a sigmoid: it scores each class independently (multi-label), but distillation needs one probability distribution over the classes`,
      'Re-export the model with a softmax or linear (logits) last layer trained for single-label classification',
    );
  }
  const outputWasSoftmax = activation === 'softmax';
  if (!outputWasSoftmax && activation !== 'linear') {
    warnings.push(
      `The model's last layer "${final.layerName}" applies "${final.name}"; its outputs are used as logits as they are, which may distil less well than a linear output.`,
    );
  }
  const logits = outputWasSoftmax ? withoutFinalActivation(model, final) : model;
  if (outputsLookLikeProbabilities(logits, inputShape)) {
    if (logits !== model) logits.dispose();
    throw new UserError(
      'TEACHER_OUTPUT_PROBABILITIES',
      'The model outputs probabilities (each row sums to 1) from a softmax that is not its last layer (e.g. inside a nested model), so its logits cannot be recovered',
      'Re-export the model so that the softmax is its last layer (or remove it and output logits)',
    );
  }
  return { model: logits, info: { inputShape, numClasses, outputWasSoftmax, warnings } };
}

/**
 * Loads a model folder (see loadModel) and validates it as a teacher (see
 * asLogitsClassifier); a Distill Studio card must agree with the model.
 * The returned model outputs logits; the caller disposes it.
 */
export async function importTeacher(folder: string): Promise<ImportedTeacher> {
  const saved = await loadModel(folder);
  let result: { model: tfl.LayersModel; info: TeacherInfo } | undefined;
  try {
    result = asLogitsClassifier(saved.model);
    if (saved.card) checkCard(saved.card, result.info, saved.folder);
  } catch (error) {
    if (result && result.model !== saved.model) result.model.dispose();
    saved.model.dispose();
    throw error;
  }
  if (result.model !== saved.model) saved.model.dispose();
  return {
    model: result.model,
    info: result.info,
    ...(saved.card ? { card: saved.card } : {}),
    fingerprint: saved.fingerprint,
    fileBytes: saved.fileBytes,
    folder: saved.folder,
  };
}

function checkInput(model: tfl.LayersModel): [number, number, number] {
  if (model.inputs.length !== 1) {
    throw new UserError(
      'TEACHER_INPUT_MULTIPLE',
      `The model takes ${model.inputs.length} inputs, but a teacher must take exactly one: an image of height x width x channels`,
      IMAGE_FIX,
    );
  }
  const shape = model.inputs[0]?.shape ?? [];
  const dims = shape.slice(1);
  if (shape.length !== 4) {
    const given = `[${dims.map((d) => d ?? '?').join(', ')}]`;
    throw new UserError(
      'TEACHER_INPUT_NOT_IMAGE',
      `The model takes inputs of shape ${given}, not images of height x width x channels${shape.length === 2 ? ' (a flattened image is not supported)' : ''}`,
      `${IMAGE_FIX}${reshapeHint(dims)}`,
    );
  }
  const [h, w, c] = dims;
  if (shape[0] !== null) {
    throw new UserError(
      'TEACHER_INPUT_BATCH_FIXED',
      `The model only accepts batches of exactly ${shape[0]} image(s)`,
      'Re-export the model with a variable batch size (input shape (None, height, width, channels))',
    );
  }
  if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
    throw new UserError(
      'TEACHER_INPUT_SIZE_UNKNOWN',
      `The model's input size is not fixed ([${dims.map((d) => d ?? 'any').join(', ')}]), so the engine cannot know which image size to synthesise`,
      'Re-export the model with a fixed input size, e.g. keras.Input((224, 224, 3))',
    );
  }
  if (c !== 1 && c !== 3) {
    throw new UserError(
      'TEACHER_INPUT_CHANNELS',
      `The model takes images with ${c} channels; teachers must take grayscale (1 channel) or RGB (3 channels) images`,
      c === 4
        ? 'Re-export the model for RGB input without the alpha channel'
        : 'Re-export the model for 1-channel or 3-channel images',
    );
  }
  if (h > LIMITS.inputSide || w > LIMITS.inputSide) {
    throw new UserError(
      'TEACHER_INPUT_TOO_LARGE',
      `The model takes ${h}x${w} images; this app distills classifiers of inputs up to ${LIMITS.inputSide}x${LIMITS.inputSide} pixels`,
      `Re-export the model for a smaller input, e.g. keras.Input((${LIMITS.inputSide}, ${LIMITS.inputSide}, ${c})) or less`,
    );
  }
  return [h, w, c];
}

/** For a vector input, the Reshape layer that would make it an image. */
function reshapeHint(dims: (number | null)[]): string {
  const n = dims.length === 1 ? dims[0] : undefined;
  if (typeof n !== 'number') return '';
  for (const c of [1, 3]) {
    const side = Math.sqrt(n / c);
    if (Number.isInteger(side))
      return `; for this model, start with keras.Input((${side}, ${side}, ${c})) followed by Flatten()`;
  }
  return '';
}

function checkOutput(model: tfl.LayersModel): number {
  if (model.outputs.length !== 1) {
    throw new UserError(
      'TEACHER_OUTPUT_MULTIPLE',
      `The model has ${model.outputs.length} outputs, but a teacher must have exactly one: its class scores`,
      'Re-export the model with only its classification output',
    );
  }
  const shape = model.outputs[0]?.shape ?? [];
  const k = shape[1];
  if (shape.length !== 2 || typeof k !== 'number') {
    throw new UserError(
      'TEACHER_OUTPUT_NOT_CLASSES',
      `The model's output has shape [${shape
        .slice(1)
        .map((d) => d ?? '?')
        .join(', ')}] per image, not a vector of class scores`,
      'Only image classifiers can be teachers: the model must end in a Dense(number of classes) layer (e.g. after GlobalAveragePooling2D or Flatten)',
    );
  }
  if (k < 2) {
    throw new UserError(
      'TEACHER_OUTPUT_SINGLE_UNIT',
      'The model has a single output unit (a binary sigmoid or a regression), but a teacher must output one score per class',
      'For a two-class model, re-export it with Dense(2) and softmax (or linear logits) as its last layer',
    );
  }
  return k;
}

/** A card that contradicts the model would make the engine preprocess or label wrongly. */
function checkCard(card: ModelCard, info: TeacherInfo, folder: string): void {
  const sameShape = card.inputShape.every((d, i) => d === info.inputShape[i]);
  if (!sameShape || card.numClasses !== info.numClasses) {
    throw new UserError(
      'TEACHER_CARD_MISMATCH',
      `The model card in ${folder}/model.json says input [${card.inputShape.join(', ')}] and ${card.numClasses} classes, but the model takes [${info.inputShape.join(', ')}] and outputs ${info.numClasses}`,
      'Delete "userDefinedMetadata.distillStudio" from model.json to import it as a plain model, or save the model again with Distill Studio',
    );
  }
}
