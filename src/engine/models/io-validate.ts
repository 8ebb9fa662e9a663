import path from 'node:path';
import { z } from 'zod';
import { ModelCardSchema, type ModelCard } from '../../shared/model-card.js';
import { UserError } from '../../shared/errors.js';
import type { tf } from '../tf.js';
import { checkTopology } from './topology.js';

/**
 * Checks on the text of a model.json, before any tfjs code sees it: the
 * format, the weights manifest (paths, dtypes, byte counts) and the Distill
 * Studio model card. Kept apart from io.ts so that the rules a user's file
 * must follow can be read in one place.
 */

/** One weight as listed in the manifest, in the shape tfjs's decoder expects. */
export type WeightSpec = tf.io.WeightsManifestEntry;

/** What loadModel needs from a model.json that passed every check here. */
export interface ParsedModelJson {
  /** The Keras topology JSON, handed to tfjs as is. */
  modelTopology: object;
  /** Weight files in the order their bytes are concatenated, relative to the folder. */
  weightPaths: string[];
  /** Every weight in byte order (model and, if present, optimizer weights). */
  weightSpecs: WeightSpec[];
  /** Total bytes the weight files must hold together. */
  expectedWeightBytes: number;
  card?: ModelCard;
}

const ShapeSchema = z.array(z.number().int().nonnegative());

const SpecSchema = z.object({
  name: z.string().min(1),
  shape: ShapeSchema,
  // Any string: an unsupported dtype gets its own message below, not a schema error.
  dtype: z.string(),
  group: z.string().optional(),
  quantization: z
    .object({ dtype: z.string(), scale: z.number().finite().optional(), min: z.number().finite().optional() })
    .optional(),
});

const ManifestSchema = z
  .array(z.object({ paths: z.array(z.string().min(1)), weights: z.array(SpecSchema) }))
  .min(1);

type RawSpec = z.infer<typeof SpecSchema>;

/** Bytes per stored value of each dtype tfjs can decode for a LayersModel. */
const PLAIN_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };
/** Bytes per stored value of each quantized encoding tfjs dequantizes on load. */
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

const EXPORT_FIX =
  'Export the model as a TensorFlow.js Layers model: in Python, tensorflowjs_converter --input_format keras model.h5 out_folder (or tfjs.converters.save_keras_model)';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses model.json text and checks everything that can be checked without
 * reading the weight files. `file` is the model.json path, for messages.
 */
export function parseModelJson(text: string, file: string): ParsedModelJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      'MODEL_JSON_INVALID',
      `${file} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      'The file is damaged or not a model: export the model again, or copy the complete file',
      { cause: error },
    );
  }
  if (!isRecord(json)) {
    throw new UserError(
      'MODEL_NOT_LAYERS',
      `${file} is JSON but not a TensorFlow.js model (it is not an object)`,
      EXPORT_FIX,
    );
  }
  const topology = json['modelTopology'];
  // Graph models (converted from a TF SavedModel or frozen graph) hold a graph
  // of ops, not Keras layers: there are no layers to read shapes, softmax or
  // weights by name from, so the engine cannot use them.
  if (json['format'] === 'graph-model' || (isRecord(topology) && Array.isArray(topology['node']))) {
    throw new UserError(
      'MODEL_GRAPH_UNSUPPORTED',
      `${file} is a TensorFlow.js graph model (converted from a TensorFlow SavedModel); only Layers (Keras) models are supported`,
      'Re-export the model from Keras as a Layers model: tensorflowjs_converter --input_format keras model.h5 out_folder (or --input_format keras_saved_model)',
    );
  }
  if (
    !isRecord(topology) ||
    !(typeof topology['class_name'] === 'string' || isRecord(topology['model_config']))
  ) {
    throw new UserError(
      'MODEL_NOT_LAYERS',
      `${file} is JSON but not a TensorFlow.js Layers model: it has no Keras "modelTopology"`,
      EXPORT_FIX,
    );
  }
  checkTopology(topology, file);
  if (json['weightsManifest'] === undefined) {
    throw new UserError(
      'MODEL_MANIFEST_INVALID',
      `${file} has no "weightsManifest", so the model's weights cannot be found`,
      'Export the model with its weights (model.json together with its .bin files)',
    );
  }
  const manifest = ManifestSchema.safeParse(json['weightsManifest']);
  if (!manifest.success) {
    const issue = manifest.error.issues[0];
    const where = issue ? `weightsManifest.${issue.path.join('.')}: ${issue.message}` : 'weightsManifest';
    throw new UserError(
      'MODEL_MANIFEST_INVALID',
      `${file} has a malformed weights manifest (${where})`,
      'The file was edited or damaged: export the model again',
    );
  }
  const weightPaths = manifest.data.flatMap((group) => group.paths);
  for (const p of weightPaths) checkRelativePath(p, file);
  const weightSpecs = manifest.data.flatMap((group) => group.weights).map((spec) => toWeightSpec(spec, file));
  const expectedWeightBytes = weightSpecs.reduce((sum, spec) => sum + specBytes(spec), 0);
  const card = parseCard(json['userDefinedMetadata'], file);
  return {
    modelTopology: topology,
    weightPaths,
    weightSpecs,
    expectedWeightBytes,
    ...(card ? { card } : {}),
  };
}

/**
 * Refuses weight paths that are absolute, URLs, or climb out of the folder.
 * A model folder is often downloaded from elsewhere; following such a path
 * would read an arbitrary file of the user's (a key, a document) into the
 * model's weights, and from there into anything the app saves or shares.
 */
function checkRelativePath(p: string, file: string): void {
  const unsafe =
    path.isAbsolute(p) ||
    path.win32.isAbsolute(p) ||
    /^[a-z][a-z0-9+.-]*:/i.test(p) ||
    p.split(/[\\/]/).includes('..');
  if (unsafe) {
    throw new UserError(
      'MODEL_WEIGHT_PATH_UNSAFE',
      `${file} lists the weight file "${p}", which is not a plain file name inside the model folder; it is refused for security (a model must not read files elsewhere on your computer)`,
      'Put the weight files next to model.json and list them by plain relative names (e.g. "group1-shard1of1.bin")',
    );
  }
}

/**
 * Second line of defence after checkRelativePath: given the model folder and
 * a weight file with symlinks resolved (fs.realpath), refuses a file that
 * lies outside the folder, e.g. a link planted in a downloaded folder.
 */
export function checkInsideFolder(
  realFolder: string,
  realTarget: string,
  listed: string,
  file: string,
): void {
  const rel = path.relative(realFolder, realTarget);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new UserError(
      'MODEL_WEIGHT_PATH_UNSAFE',
      `${file} lists the weight file "${listed}", which resolves (through a link) to ${realTarget}, outside the model folder; it is refused for security`,
      'Copy the real weight files into the model folder instead of linking to them',
    );
  }
}

function toWeightSpec(raw: RawSpec, file: string): WeightSpec {
  const unsupported = (what: string): UserError =>
    new UserError(
      'MODEL_WEIGHT_DTYPE_UNSUPPORTED',
      `${file}: weight "${raw.name}" is stored as ${what}, which a Layers classifier cannot use (supported: float32, float16, int32 and bool; quantized: uint8 or uint16 for float32 and int32 weights, float16 for float32 weights)`,
      'Re-export the model with plain float32 weights (tensorflowjs_converter without --quantize_* options), or with --quantize_uint8 / --quantize_uint16 / --quantize_float16',
    );
  if (raw.dtype === 'float16') {
    if (raw.quantization) throw unsupported(`float16 quantized to ${raw.quantization.dtype}`);
    // The layers compute in float32: stored half floats are widened on load,
    // the same decoding tfjs applies to weights quantized to float16.
    return toWeightSpec({ ...raw, dtype: 'float32', quantization: { dtype: 'float16' } }, file);
  }
  if (!(raw.dtype in PLAIN_BYTES)) throw unsupported(raw.dtype);
  const dtype = raw.dtype as 'float32' | 'int32' | 'bool';
  const base: WeightSpec = {
    name: raw.name,
    shape: raw.shape,
    dtype,
    ...(raw.group ? { group: raw.group as tf.io.WeightGroup } : {}),
  };
  const q = raw.quantization;
  if (!q) return base;
  if (!(q.dtype in QUANTIZED_BYTES) || dtype === 'bool')
    throw unsupported(`${dtype} quantized to ${q.dtype}`);
  const qDtype = q.dtype as 'uint8' | 'uint16' | 'float16';
  if (qDtype === 'float16' && dtype !== 'float32') throw unsupported(`${dtype} quantized to float16`);
  if (qDtype !== 'float16' && (q.scale === undefined || q.min === undefined)) {
    throw new UserError(
      'MODEL_MANIFEST_INVALID',
      `${file}: weight "${raw.name}" is quantized to ${qDtype} but its "scale" or "min" is missing, so its values cannot be restored`,
      'The file was edited or damaged: export the model again',
    );
  }
  // The key must be absent (not undefined) for unquantized weights: tfjs tests `'quantization' in spec`.
  return {
    ...base,
    quantization: {
      dtype: qDtype,
      ...(q.scale !== undefined ? { scale: q.scale } : {}),
      ...(q.min !== undefined ? { min: q.min } : {}),
    },
  };
}

/** Bytes one weight occupies in the weight files. */
export function specBytes(spec: WeightSpec): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const per = spec.quantization ? QUANTIZED_BYTES[spec.quantization.dtype] : PLAIN_BYTES[spec.dtype];
  // Unreachable after toWeightSpec; kept so a future dtype cannot count as 0 bytes.
  if (per === undefined) throw new Error(`No byte size for weight dtype ${spec.dtype}`);
  return count * per;
}

function parseCard(metadata: unknown, file: string): ModelCard | undefined {
  if (!isRecord(metadata) || metadata['distillStudio'] === undefined) return undefined;
  return validateCard(
    metadata['distillStudio'],
    `${file} has an invalid Distill Studio model card`,
    'Delete "userDefinedMetadata.distillStudio" from model.json to import it as a plain model, or save it again with Distill Studio',
  );
}

/** Parses a model card with its schema; `problem` and `fix` word the UserError. */
export function validateCard(value: unknown, problem: string, fix: string): ModelCard {
  const result = ModelCardSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue ? ` (${issue.path.join('.') || 'card'}: ${issue.message})` : '';
  throw new UserError('MODEL_CARD_INVALID', `${problem}${where}`, fix);
}
