import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ExportRecord } from '../../../shared/report/exports.js';
import type { LabeledImages, Preprocessing } from '../../data/types.js';
import { checkCompatible, toInputTensor } from '../../data/preprocess.js';
import { UserError } from '../../../shared/errors.js';
import type { tfl } from '../../tf.js';
import { writeFileAtomic } from '../../util/atomic-fs.js';
import { EXPORT_INPUT, EXPORT_OUTPUT, exportOnnx } from './export.js';
import {
  compareWithOnnxRuntime,
  mergeChecks,
  ONNX_TOLERANCE,
  randomInputs,
  type OnnxRun,
  type OnnxRuntimeCheck,
} from './runtime.js';

/**
 * Exporting a model as an .onnx file that is checked before it is written:
 * ONNX Runtime runs the exported bytes on the test images (or, without
 * any, on random ones) and its outputs must match the engine's within
 * ONNX_TOLERANCE; otherwise nothing is written.
 */

/** Images per ONNX Runtime session and tfjs batch, to bound memory on large test sets. */
const CHUNK = 500;
/** Random images checked when no test images are given. */
const RANDOM_IMAGES = 16;

/** What was written and how it compared with the engine. */
export interface OnnxExportReport {
  /** Absolute path of the written file. */
  file: string;
  fileBytes: number;
  opset: number;
  /** Where the checked images came from: a dataset's source, or 'random images'. */
  checkedOn: string;
  check: OnnxRuntimeCheck;
}

export interface OnnxExportOptions {
  /** How pixels become inputs (the model's card); also stored in the file's metadata. */
  preprocessing: Preprocessing;
  /** Labelled images to check on (their accuracy in both runtimes is measured too). */
  testData?: LabeledImages;
  /** Extra metadata_props (e.g. the model card as JSON). */
  metadata?: Record<string, string>;
}

/**
 * Converts `model` to ONNX (see exportOnnx), checks it in ONNX Runtime
 * against the engine, and writes it to `file` only if they agree.
 */
export async function writeOnnxFile(
  model: tfl.LayersModel,
  file: string,
  options: OnnxExportOptions,
): Promise<OnnxExportReport> {
  const target = path.resolve(file);
  const exported = await exportOnnx(model, {
    preprocessing: JSON.stringify({
      input: 'float32 [batch, channels, height, width]: pixel / 255, then (x - mean[c]) / std[c]',
      mean: options.preprocessing.mean,
      std: options.preprocessing.std,
    }),
    ...options.metadata,
  });
  const run: OnnxRun = {
    bytes: exported.bytes,
    inputName: EXPORT_INPUT,
    outputName: EXPORT_OUTPUT,
    file: target,
  };
  const shape = exported.inputShape;
  let check: OnnxRuntimeCheck | undefined;
  const data = options.testData;
  if (data) {
    const numClasses = model.outputs[0]?.shape[1];
    checkCompatible(data, {
      inputShape: shape,
      numClasses: typeof numClasses === 'number' ? numClasses : 0,
      preprocessing: options.preprocessing,
    });
    for (let start = 0; start < data.count; start += CHUNK) {
      const end = Math.min(data.count, start + CHUNK);
      const inputs = toInputTensor(data, { start, end }, options.preprocessing, shape);
      const nhwc = (await inputs.data()) as Float32Array;
      inputs.dispose();
      const part = await compareWithOnnxRuntime(model, run, nhwc, shape, data.labels.subarray(start, end));
      check = check ? mergeChecks(check, part) : part;
    }
  } else {
    check = await compareWithOnnxRuntime(
      model,
      run,
      randomInputs(RANDOM_IMAGES, shape, options.preprocessing, 17),
      shape,
    );
  }
  if (!check)
    throw new UserError(
      'ONNX_EXPORT_NO_IMAGES',
      'The test set holds no images',
      'Give a test set with images',
    );
  if (!(check.maxAbsDifference <= check.tolerance)) {
    throw new UserError(
      'ONNX_EXPORT_MISMATCH',
      `Not writing ${target}: ONNX Runtime's outputs for the exported model differ from the engine's by up to ${check.maxAbsDifference.toPrecision(3)} on ${check.images} images (allowed ${check.tolerance.toPrecision(3)}, ${ONNX_TOLERANCE} relative)`,
      'Report this model so the export can be fixed; meanwhile export it as a TensorFlow.js folder',
    );
  }
  await writeFileAtomic(target, exported.bytes);
  return {
    file: target,
    fileBytes: exported.bytes.byteLength,
    opset: exported.opset,
    checkedOn: data ? data.source : 'random images',
    check,
  };
}

/** One sentence on what was written and how ONNX Runtime agreed with the engine, for people. */
export function describeOnnxExport(report: OnnxExportReport): string {
  const { check } = report;
  const share = ((check.sameTopClass / check.images) * 100).toFixed(2);
  const on = report.checkedOn === 'random images' ? 'random images' : `test images of ${report.checkedOn}`;
  const accuracy = check.correct
    ? `; accuracy ${((check.correct.onnxRuntime / check.images) * 100).toFixed(2)}% in ONNX Runtime, ${((check.correct.engine / check.images) * 100).toFixed(2)}% in the app`
    : '';
  return `ONNX (opset ${report.opset}) checked in ONNX Runtime ${check.runtimeVersion} on ${check.images} ${on}: the same predicted class as the app for ${check.sameTopClass} of ${check.images} (${share}%), largest output difference ${check.maxAbsDifference.toExponential(1)}${accuracy}`;
}

/** The report's record of an export (see src/shared/report/exports.ts). */
export function exportRecord(report: OnnxExportReport): ExportRecord {
  const { check } = report;
  return {
    file: report.file,
    format: 'onnx',
    opset: report.opset,
    at: new Date().toISOString(),
    checkedOn: report.checkedOn,
    images: check.images,
    sameTopClass: check.sameTopClass,
    maxAbsDifference: check.maxAbsDifference,
    runtime: `ONNX Runtime ${check.runtimeVersion}`,
    ...(check.correct
      ? {
          accuracy: {
            app: check.correct.engine / check.images,
            other: check.correct.onnxRuntime / check.images,
          },
        }
      : {}),
  };
}

/**
 * The run folder a model folder belongs to, when it is a finished run's
 * student (<run>/student beside result.json); undefined otherwise.
 */
export function runFolderOf(modelFolder: string): string | undefined {
  const folder = path.resolve(modelFolder);
  if (path.basename(folder) !== 'student') return undefined;
  const run = path.dirname(folder);
  return existsSync(path.join(run, 'result.json')) ? run : undefined;
}
