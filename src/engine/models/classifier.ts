import type { ModelCard } from '../../shared/model-card.js';
import { defaultPreprocessing } from '../data/preprocess.js';
import type { ImageShape, Preprocessing } from '../data/types.js';
import type { tfl } from '../tf.js';
import { resolveModelRef } from './builtin.js';
import { applyNormalisation, type NormalisationOverride } from './normalisation.js';
import { importOnnxTeacher, isOnnxFile } from './onnx/import.js';
import type { OnnxRuntimeCheck } from './onnx/runtime.js';
import { importTeacher } from './teacher.js';

/** A classifier with what is needed to feed it: its input shape and preprocessing. */
export interface Classifier {
  model: tfl.LayersModel;
  inputShape: ImageShape;
  numClasses: number;
  preprocessing: Preprocessing;
  /** Bytes of the model folder on disk, when it was loaded from one. */
  fileBytes?: number;
}

/** A validated classifier loaded from a folder, with what describes it. */
export interface LoadedClassifier extends Classifier {
  folder: string;
  card?: ModelCard;
  /** sha256 of the architecture and weights: identifies the exact model in reports. */
  fingerprint: string;
  /** True when the file's last layer was a softmax that the engine removed. */
  outputWasSoftmax: boolean;
  /** For an .onnx file: its opset, producer and how the conversion compared with ONNX Runtime. */
  onnx?: {
    opset: number;
    producer: string;
    check: OnnxRuntimeCheck;
    preprocessingRecorded: boolean;
    /** Things the user should know (e.g. the model expects raw 0..255 pixels). */
    warnings: string[];
  };
}

/**
 * Loads any TensorFlow.js LayersModel folder (or `builtin:NAME`), or an
 * .onnx file (converted and checked against ONNX Runtime, see
 * onnx/import.ts), as a logits classifier. The preprocessing comes from the
 * model's card when it has one; an imported model without a card is assumed
 * to take pixels scaled to [0, 1] unless the user says otherwise.
 */
export async function loadClassifier(
  ref: string,
  override: NormalisationOverride = {},
): Promise<LoadedClassifier> {
  if (isOnnxFile(ref)) {
    const teacher = await importOnnxTeacher(ref, override);
    return {
      model: teacher.model,
      inputShape: teacher.info.inputShape,
      numClasses: teacher.info.numClasses,
      preprocessing: teacher.preprocessing,
      folder: teacher.file,
      fingerprint: teacher.fingerprint,
      outputWasSoftmax: teacher.info.outputWasSoftmax,
      fileBytes: teacher.fileBytes,
      onnx: {
        opset: teacher.opset,
        producer: teacher.producer,
        check: teacher.check,
        preprocessingRecorded: teacher.preprocessingRecorded,
        warnings: teacher.info.warnings,
      },
    };
  }
  const folder = resolveModelRef(ref);
  const teacher = await importTeacher(folder);
  const { inputShape, numClasses } = teacher.info;
  const base: Preprocessing = teacher.card?.preprocessing ?? defaultPreprocessing(inputShape, inputShape);
  const preprocessing = applyNormalisation(base, override, inputShape[2]);
  return {
    model: teacher.model,
    inputShape,
    numClasses,
    preprocessing,
    folder,
    fingerprint: teacher.fingerprint,
    outputWasSoftmax: teacher.info.outputWasSoftmax,
    ...(teacher.fileBytes !== undefined ? { fileBytes: teacher.fileBytes } : {}),
    ...(teacher.card ? { card: teacher.card } : {}),
  };
}
