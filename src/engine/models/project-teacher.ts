import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { TeacherChoice, TeacherSummary } from '../../shared/project.js';
import { APP_VERSION } from '../app-info.js';
import { currentBackend } from '../backend/select.js';
import { defaultPreprocessing } from '../data/preprocess.js';
import { UserError } from '../../shared/errors.js';
import { tf } from '../tf.js';
import { replaceDirAtomic } from '../util/atomic-fs.js';
import { BUILTIN_MODELS } from './builtin.js';
import { loadClassifier } from './classifier.js';
import { MODEL_JSON } from './io-files.js';
import { saveModel } from './io.js';
import { saveOnnxTeacher } from './onnx/save-teacher.js';
import { parseModelJson } from './io-validate.js';
import { buildPreset, getPreset } from './presets.js';
import { modelStats } from './stats.js';

/**
 * Turns the user's teacher choice into a model the project owns: a built-in
 * example is referenced, anything imported is validated with the engine's
 * checks and copied into the project's teacher folder, so the project keeps
 * working if the original files move or disappear.
 */
export async function importProjectTeacher(
  choice: TeacherChoice,
  teacherDir: string,
): Promise<{ ref: string; summary: TeacherSummary }> {
  switch (choice.kind) {
    case 'builtin': {
      const entry = BUILTIN_MODELS[choice.name];
      const ref = `builtin:${choice.name}`;
      return {
        ref,
        summary: await summarizeTeacher(ref, `Built-in example: ${entry?.description ?? choice.name}`),
      };
    }
    case 'folder': {
      const source = path.resolve(choice.path);
      // Validate first (every problem is a UserError naming the fix), then copy.
      await summarizeTeacher(source, source);
      await copyModelFolder(source, teacherDir);
      return {
        ref: teacherDir,
        summary: await summarizeTeacher(teacherDir, `Imported model from ${source}`),
      };
    }
    case 'onnx': {
      const source = path.resolve(choice.path);
      const saved = await saveOnnxTeacher(source, teacherDir, {
        ...(choice.mean ? { mean: choice.mean } : {}),
        ...(choice.std ? { std: choice.std } : {}),
      });
      const { check } = saved.teacher;
      const label = `ONNX model from ${source}, checked against ONNX Runtime (largest difference ${check.maxAbsDifference.toExponential(1)} on ${check.images} random images)`;
      const summary = await summarizeTeacher(teacherDir, label);
      return {
        ref: teacherDir,
        summary: { ...summary, warnings: [...saved.teacher.info.warnings, ...summary.warnings] },
      };
    }
    case 'preset': {
      await importPresetWeights(
        choice.preset,
        path.resolve(choice.weights),
        choice.numClasses,
        teacherDir,
        choice.inputShape,
      );
      const label = `${choice.preset} with weights from ${path.resolve(choice.weights)}`;
      return { ref: teacherDir, summary: await summarizeTeacher(teacherDir, label) };
    }
  }
}

/** Loads a teacher with the engine's checks and measures it. */
export async function summarizeTeacher(ref: string, label: string): Promise<TeacherSummary> {
  const teacher = await loadClassifier(ref);
  try {
    const stats = modelStats(teacher.model);
    const warnings: string[] = [];
    if (stats.uncounted.length > 0) {
      warnings.push(`FLOPs leave out layers of unfamiliar types: ${stats.uncounted.join(', ')}`);
    }
    return {
      label,
      architecture: teacher.card?.architecture ?? 'imported',
      inputShape: [...teacher.inputShape],
      numClasses: teacher.numClasses,
      parameters: stats.parameters,
      flopsPerImage: stats.flopsPerImage,
      fileBytes: teacher.fileBytes ?? 0,
      warnings,
    };
  } finally {
    teacher.model.dispose();
  }
}

/** Copies model.json and the weight files it lists (nothing else) into `target`, atomically. */
async function copyModelFolder(source: string, target: string): Promise<void> {
  const file = path.join(source, MODEL_JSON);
  const parsed = parseModelJson(await fs.readFile(file, 'utf8'), file);
  await replaceDirAtomic(target, async (tmp) => {
    await fs.copyFile(file, path.join(tmp, MODEL_JSON));
    for (const name of parsed.weightPaths) {
      await fs.mkdir(path.dirname(path.join(tmp, name)), { recursive: true });
      await fs.copyFile(path.join(source, name), path.join(tmp, name));
    }
  });
}

/**
 * Builds preset `name` and fills it from a raw file of little-endian float32
 * values in the order of the model's weights (as `model.getWeights()` lists
 * them), then saves it as a model folder. The size must match exactly.
 */
export async function importPresetWeights(
  name: string,
  weightsFile: string,
  numClasses: number,
  target: string,
  inputShape?: [number, number, number],
): Promise<void> {
  const shape = inputShape ?? getPreset(name).inputShape;
  const unreadable = (error: unknown): UserError =>
    new UserError(
      'WEIGHTS_UNREADABLE',
      `Cannot read the weights file ${weightsFile}`,
      'Choose an existing file you have permission to read',
      { cause: error },
    );
  const fileBytes = await fs.stat(weightsFile).then(
    (stat) => stat.size,
    (error: unknown) => {
      throw unreadable(error);
    },
  );
  const model = buildPreset(name, { numClasses, seed: 0, inputShape: shape });
  try {
    const sizes = model.weights.map((w) => w.shape.reduce((a: number, b) => a * (b ?? 1), 1));
    const expected = sizes.reduce((a, b) => a + b, 0) * 4;
    // Checked from the file's size, so a wrong (possibly huge) file is never read.
    if (fileBytes !== expected) {
      throw new UserError(
        'WEIGHTS_SIZE_MISMATCH',
        `The weights file has ${fileBytes} bytes, but ${name} for ${shape.join('x')} images and ${numClasses} classes needs exactly ${expected} bytes (${expected / 4} float32 values)`,
        'Check the architecture, image size and number of classes, or export the model as a TensorFlow.js folder and import that instead',
      );
    }
    const bytes = await fs.readFile(weightsFile).catch((error: unknown) => {
      throw unreadable(error);
    });
    if (bytes.byteLength !== expected) throw unreadable(new Error('the file changed while it was read'));
    const values = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    if (values.some((v) => !Number.isFinite(v))) {
      throw new UserError(
        'WEIGHTS_NOT_FINITE',
        `The weights file ${weightsFile} holds NaN or infinite values`,
        'Export the weights again from a model that trained without diverging',
      );
    }
    let offset = 0;
    const tensors = model.weights.map((w, i) => {
      const size = sizes[i] ?? 0;
      const t = tf.tensor(values.subarray(offset, offset + size), w.shape as number[]);
      offset += size;
      return t;
    });
    model.setWeights(tensors);
    tf.dispose(tensors);
    await saveModel(model, target, {
      format: 'distill-studio/model',
      version: 1,
      architecture: name,
      inputShape: [...shape],
      numClasses,
      preprocessing: defaultPreprocessing(shape, shape),
      provenance: {
        createdAt: new Date().toISOString(),
        appVersion: APP_VERSION,
        backend: currentBackend()?.name ?? 'unknown',
        producedBy: `import of raw weights ${path.basename(weightsFile)}`,
      },
    });
  } finally {
    model.dispose();
  }
}
