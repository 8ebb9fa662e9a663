import path from 'node:path';
import { ModelCardSchema, type Preprocessing } from '../../../shared/model-card.js';
import { defaultPreprocessing } from '../../data/preprocess.js';
import { UserError } from '../../../shared/errors.js';
import type { tfl } from '../../tf.js';
import { modelFingerprint } from '../fingerprint.js';
import { applyNormalisation, type NormalisationOverride } from '../normalisation.js';
import { asLogitsClassifier, type TeacherInfo } from '../teacher.js';
import { convertOnnx } from './convert.js';
import { readOnnxFile } from './file.js';
import type { OnnxGraph } from './graph.js';
import {
  compareWithOnnxRuntime,
  ONNX_TOLERANCE,
  randomInputs,
  type OnnxRun,
  type OnnxRuntimeCheck,
} from './runtime.js';

/**
 * Importing an .onnx image classifier as a teacher: read it, convert it to
 * a LayersModel (convert.ts), check it as any teacher (asLogitsClassifier),
 * then run it and the file in ONNX Runtime on the same random images and
 * refuse it unless they agree within ONNX_TOLERANCE.
 */

/** Images the import check runs (more when the file fixes a larger batch). */
export const ONNX_CHECK_IMAGES = 8;
/** Seed of the check's random images: the same file always gets the same verdict. */
const CHECK_SEED = 13;

/** An ONNX file accepted as a teacher. */
export interface ImportedOnnxTeacher {
  /** Outputs logits (a final Softmax was left out). */
  model: tfl.LayersModel;
  info: TeacherInfo;
  /** [0, 1] pixels, then the user's mean and std if given. */
  preprocessing: Preprocessing;
  /** True when the preprocessing came from the file (a Distill Studio export's card), not the defaults. */
  preprocessingRecorded: boolean;
  /** sha256 of the converted model's architecture and weights (as for model folders). */
  fingerprint: string;
  fileBytes: number;
  /** Absolute path of the .onnx file. */
  file: string;
  /** The operator set the file uses and who wrote it, e.g. "pytorch 2.5.1". */
  opset: number;
  producer: string;
  /** How the converted model compared with ONNX Runtime on random images. */
  check: OnnxRuntimeCheck;
}

/** True for a teacher reference that names an .onnx file rather than a model folder. */
export function isOnnxFile(ref: string): boolean {
  return /\.onnx$/i.test(ref);
}

/**
 * Reads, converts and checks `file`. The pixels are taken to be scaled to
 * [0, 1] then normalised with `normalisation` (none by default); the check
 * feeds both models images normalised that way. The caller disposes `model`.
 */
export async function importOnnxTeacher(
  file: string,
  normalisation: NormalisationOverride = {},
): Promise<ImportedOnnxTeacher> {
  const absolute = path.resolve(file);
  const { graph, bytes } = await readOnnxFile(absolute);
  const converted = convertOnnx(graph, absolute);
  const model = converted.model;
  try {
    const logits = asLogitsClassifier(model);
    // The converter never makes a softmax layer (it drops a final Softmax node), so nothing is rebuilt.
    if (logits.model !== model)
      throw new Error('importOnnxTeacher: the converted model ended in a softmax layer');
    const info = logits.info;
    const shape = info.inputShape;
    const recorded = recordedPreprocessing(graph.metadata, shape);
    const preprocessing = applyNormalisation(
      recorded ?? defaultPreprocessing(shape, shape),
      normalisation,
      shape[2],
    );
    const check = await verifyWithOnnxRuntime(
      model,
      {
        bytes,
        inputName: converted.inputName,
        inputLayout: converted.inputLayout,
        outputName: converted.outputName,
        file: absolute,
        ...(converted.fixedBatch !== undefined ? { fixedBatch: converted.fixedBatch } : {}),
      },
      shape,
      preprocessing,
    );
    const rawPixels = expectsRawPixels(graph, converted.inputName, preprocessing);
    return {
      model,
      info: {
        ...info,
        outputWasSoftmax: converted.outputWasSoftmax || info.outputWasSoftmax,
        warnings: [...info.warnings, ...(rawPixels ? [rawPixels] : [])],
      },
      preprocessing,
      preprocessingRecorded: recorded !== undefined,
      fingerprint: await modelFingerprint(model, model.toJSON(null, false) as object),
      fileBytes: bytes.byteLength,
      file: absolute,
      opset: graph.opset,
      producer: graph.producer,
      check,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * A warning when the graph itself divides its input by 255 (Keras's
 * Rescaling(1/255), as tf2onnx writes it) but the pixels it will be given
 * are not raw 0..255 values: its predictions would then be wrong while the
 * ONNX Runtime check, fed the same inputs, still passes.
 */
function expectsRawPixels(graph: OnnxGraph, input: string, preprocessing: Preprocessing): string | undefined {
  let tensor = input;
  for (let step = 0; step < 4; step++) {
    const readers = graph.nodes.filter((node) => node.inputs.includes(tensor));
    const [node] = readers;
    if (readers.length !== 1 || !node) return undefined;
    if (node.opType === 'Transpose') {
      tensor = node.outputs[0] ?? '';
      continue;
    }
    const other = node.inputs.find((name) => name !== tensor) ?? '';
    const value = graph.constants.get(other)?.values;
    const k = value && value.length === 1 ? (value[0] ?? 0) : undefined;
    const divides255 =
      k !== undefined &&
      ((node.opType === 'Mul' && Math.abs(k * 255 - 1) < 1e-4) ||
        (node.opType === 'Div' && Math.abs(k - 255) < 1e-2));
    const raw =
      preprocessing.std.every((s) => Math.abs(s * 255 - 1) < 1e-3) &&
      preprocessing.mean.every((m) => m === 0);
    return divides255 && !raw
      ? `The model divides its input by 255 itself (node "${node.name}"), so it expects raw pixel values 0..255, but it would be given pixels scaled to 0..1: import it with --std 0.0039215686 (in the app: "Raw pixel values 0..255")`
      : undefined;
  }
  return undefined;
}

/**
 * The preprocessing a Distill Studio export recorded in the file's metadata
 * (its model card), when it fits the model; undefined for other files.
 */
function recordedPreprocessing(
  metadata: Map<string, string>,
  shape: [number, number, number],
): Preprocessing | undefined {
  const raw = metadata.get('distillStudio');
  if (!raw) return undefined;
  try {
    const card = ModelCardSchema.safeParse(JSON.parse(raw));
    if (!card.success || card.data.inputShape.some((d, i) => d !== shape[i])) return undefined;
    return card.data.preprocessing;
  } catch {
    return undefined; // Not our card: the defaults apply, as for any other file.
  }
}

/**
 * Runs `model` and the ONNX file of `run` on the same random images
 * (normalised by `preprocessing`) and refuses the model, showing the largest
 * difference, unless their outputs agree within ONNX_TOLERANCE.
 */
export async function verifyWithOnnxRuntime(
  model: tfl.LayersModel,
  run: OnnxRun,
  shape: [number, number, number],
  preprocessing: Preprocessing,
): Promise<OnnxRuntimeCheck> {
  const batch = run.fixedBatch ?? 1;
  const count = Math.ceil(ONNX_CHECK_IMAGES / batch) * batch;
  const check = await compareWithOnnxRuntime(
    model,
    run,
    randomInputs(count, shape, preprocessing, CHECK_SEED),
    shape,
  );
  if (!(check.maxAbsDifference <= check.tolerance)) {
    throw new UserError(
      'ONNX_MISMATCH',
      `${run.file}: the converted model does not compute what ONNX Runtime computes from the file: the largest difference between their outputs on ${check.images} random images is ${check.maxAbsDifference.toPrecision(3)} (outputs up to ${check.maxAbsOutput.toPrecision(3)}; allowed ${check.tolerance.toPrecision(3)}, ${ONNX_TOLERANCE} relative)`,
      'Report this model so the conversion can be fixed; meanwhile export it from its own framework as a TensorFlow.js model folder',
    );
  }
  return check;
}
