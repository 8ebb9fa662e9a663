import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../../shared/format.js';
import { LIMITS } from '../../shared/limits.js';
import { UserError } from '../../shared/errors.js';
import { checkInsideFolder, type ParsedModelJson } from './io-validate.js';

/**
 * The file-system half of loadModel: finding and reading model.json and the
 * weight files, with a UserError for each way a folder on disk can be wrong
 * (missing, unreadable, linked elsewhere, truncated).
 */

/** The file that makes a folder a TensorFlow.js model folder. */
export const MODEL_JSON = 'model.json';

/** Reads `file` (dir/model.json) after checking that `dir` is a folder. */
export async function readModelJson(dir: string, file: string): Promise<Buffer> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch (error) {
    throw new UserError(
      'MODEL_FOLDER_MISSING',
      `The model folder ${dir} does not exist`,
      'Check the path: give the folder that contains model.json',
      { cause: error },
    );
  }
  if (!stat.isDirectory()) {
    throw new UserError(
      'MODEL_NOT_A_FOLDER',
      `${dir} is a file, but a model is a folder holding model.json and its .bin weight files`,
      `Give the folder that contains model.json${path.basename(dir) === MODEL_JSON ? ` (${path.dirname(dir)})` : ''}`,
    );
  }
  try {
    const { size } = await fs.stat(file);
    if (size > LIMITS.modelJsonBytes) {
      throw new UserError(
        'MODEL_TOO_LARGE',
        `${file} is ${formatBytes(size)}; a model.json holds the model's layers and weight list and is at most ${formatBytes(LIMITS.modelJsonBytes)} (the weights belong in .bin files)`,
        'Export the model again with tensorflowjs_converter, which writes the weights to .bin files beside model.json',
      );
    }
    return await fs.readFile(file);
  } catch (error) {
    if (error instanceof UserError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(
        'MODEL_JSON_MISSING',
        `${dir} has no model.json, so it is not a TensorFlow.js model folder`,
        await missingJsonFix(dir),
        { cause: error },
      );
    }
    throw new UserError(
      'MODEL_JSON_UNREADABLE',
      `Cannot read ${file} (${(error as Error).message})`,
      'Check that the file is a readable regular file (permissions, not a folder)',
      { cause: error },
    );
  }
}

/** The fix for a folder without model.json depends on what the folder does hold. */
async function missingJsonFix(dir: string): Promise<string> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  if (entries.includes('saved_model.pb')) {
    return 'This is a TensorFlow SavedModel; convert its Keras model to TensorFlow.js Layers format: tensorflowjs_converter --input_format keras_saved_model <this folder> <out folder>';
  }
  const keras = entries.find((name) => name.endsWith('.h5') || name.endsWith('.keras'));
  if (keras)
    return `Convert the Keras file first: tensorflowjs_converter --input_format keras ${keras} <out folder>, then use <out folder>`;
  return 'Give the folder that contains model.json and its .bin weight files (a TensorFlow.js Layers model)';
}

/** Reads the weight files in manifest order into one buffer, after checking where they are and how big. */
export async function readWeightFiles(
  dir: string,
  parsed: ParsedModelJson,
  file: string,
): Promise<Uint8Array<ArrayBuffer>> {
  if (parsed.expectedWeightBytes > LIMITS.weightBytes) {
    throw new UserError(
      'MODEL_TOO_LARGE',
      `${file} describes ${formatBytes(parsed.expectedWeightBytes)} of weights; this app distills classifiers of up to ${formatBytes(LIMITS.weightBytes)} (${LIMITS.weightBytes / 4 / 1e6} million parameters)`,
      'Use a smaller teacher model, or one exported in float32 without unused layers',
    );
  }
  const realDir = await fs.realpath(dir);
  const files: { listed: string; real: string; size: number }[] = [];
  for (const listed of parsed.weightPaths) {
    let real: string;
    try {
      real = await fs.realpath(path.resolve(dir, listed));
    } catch (error) {
      throw new UserError(
        'MODEL_WEIGHT_FILE_MISSING',
        `${file} lists the weight file "${listed}", which is not in ${dir}`,
        'Copy every .bin file that was exported with model.json into the same folder',
        { cause: error },
      );
    }
    checkInsideFolder(realDir, real, listed, file);
    const stat = await fs.stat(real);
    if (!stat.isFile()) {
      throw new UserError(
        'MODEL_WEIGHT_FILE_MISSING',
        `${file} lists the weight file "${listed}", but that is a folder`,
        'Copy every .bin file that was exported with model.json into the same folder',
      );
    }
    files.push({ listed, real, size: stat.size });
  }
  const actual = files.reduce((sum, f) => sum + f.size, 0);
  if (actual !== parsed.expectedWeightBytes) {
    const why =
      actual < parsed.expectedWeightBytes
        ? 'too short: a file is incomplete (an interrupted download or copy)'
        : 'too long: a file does not belong to this model.json';
    throw new UserError(
      'MODEL_WEIGHTS_SIZE_MISMATCH',
      `The weight files of ${dir} (${files.map((f) => f.listed).join(', ')}) hold ${actual} bytes, but model.json describes ${parsed.expectedWeightBytes} bytes of weights; they are ${why}`,
      'Copy model.json and its .bin files again, complete and from the same export',
    );
  }
  const out = new Uint8Array(actual);
  let offset = 0;
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(f.real);
    } catch (error) {
      throw new UserError(
        'MODEL_WEIGHT_FILE_UNREADABLE',
        `Cannot read the weight file ${f.real} (${(error as Error).message})`,
        'Check the file permissions',
        { cause: error },
      );
    }
    // A file that changed size since stat would otherwise shift every later weight.
    if (bytes.byteLength !== f.size)
      throw new UserError(
        'MODEL_WEIGHT_FILE_UNREADABLE',
        `The weight file ${f.real} changed while it was being read`,
        'Load the model again once nothing is writing to it',
      );
    out.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return out;
}
