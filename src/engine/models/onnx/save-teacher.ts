import path from 'node:path';
import type { ModelCard } from '../../../shared/model-card.js';
import { APP_VERSION } from '../../app-info.js';
import { currentBackend } from '../../backend/select.js';
import { saveModel } from '../io.js';
import type { NormalisationOverride } from '../normalisation.js';
import { importOnnxTeacher, type ImportedOnnxTeacher } from './import.js';

/**
 * An ONNX teacher turned into an ordinary model folder (model.json with a
 * card), so that jobs, worker processes and projects load it like any other
 * teacher, and the preprocessing the user stated is recorded with it.
 */

/** What saveOnnxTeacher wrote. */
export interface SavedOnnxTeacher {
  folder: string;
  card: ModelCard;
  fingerprint: string;
  /** The import as checked (the model itself is disposed). */
  teacher: Omit<ImportedOnnxTeacher, 'model'>;
}

/** Words for the card and messages: what was imported and how well it matched ONNX Runtime. */
export function describeOnnxImport(teacher: Omit<ImportedOnnxTeacher, 'model'>): string {
  const { check } = teacher;
  return `import of ${path.basename(teacher.file)} (ONNX opset ${teacher.opset}, made by ${teacher.producer}); checked against ONNX Runtime ${check.runtimeVersion} on ${check.images} random images: max difference ${check.maxAbsDifference.toExponential(2)} (allowed ${check.tolerance.toExponential(1)})`;
}

/**
 * Imports `file` (see importOnnxTeacher) and saves the converted teacher,
 * with a card recording its preprocessing and where it came from, into
 * `folder` (replaced only once the new one is complete).
 */
export async function saveOnnxTeacher(
  file: string,
  folder: string,
  normalisation: NormalisationOverride = {},
): Promise<SavedOnnxTeacher> {
  const imported = await importOnnxTeacher(file, normalisation);
  const { model, ...teacher } = imported;
  try {
    const card: ModelCard = {
      format: 'distill-studio/model',
      version: 1,
      architecture: 'imported',
      inputShape: [...teacher.info.inputShape],
      numClasses: teacher.info.numClasses,
      preprocessing: teacher.preprocessing,
      provenance: {
        createdAt: new Date().toISOString(),
        appVersion: APP_VERSION,
        backend: currentBackend()?.name ?? 'unknown',
        producedBy: describeOnnxImport(teacher),
      },
      metrics: { onnxRuntimeMaxAbsDifference: teacher.check.maxAbsDifference },
    };
    const saved = await saveModel(model, folder, card);
    return { folder: path.resolve(folder), card, fingerprint: saved.fingerprint, teacher };
  } finally {
    model.dispose();
  }
}
