import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ModelCard } from '../../shared/model-card.js';
import { UserError } from '../../shared/errors.js';
import { tf, type tfl } from '../tf.js';
import { replaceDirAtomic, writeFileAtomic } from '../util/atomic-fs.js';
import { modelFingerprint } from './fingerprint.js';
import { MODEL_JSON, readModelJson, readWeightFiles } from './io-files.js';
import { parseModelJson, validateCard } from './io-validate.js';
import { assignWeights, buildFromTopology, firstNonFinite } from './io-weights.js';

/**
 * Reading and writing model folders in the standard TensorFlow.js Layers
 * format (model.json + .bin weight files) with plain node:fs, since the
 * 'file://' handler only exists in tfjs-node. Our own description of a model
 * (its ModelCard) rides along in model.json's userDefinedMetadata, so other
 * tfjs tools still read our folders, and we read theirs.
 */

/** A model read from a folder, with what identifies and describes it. */
export interface SavedModel {
  model: tfl.LayersModel;
  /** Distill Studio's description, when the folder was saved by Distill Studio. */
  card?: ModelCard;
  /** Absolute path of the folder. */
  folder: string;
  /** sha256 (hex) of the architecture and weights (see modelFingerprint): the same model gives the same value however it is sharded. */
  fingerprint: string;
  /** Size on disk of model.json plus the weight files. */
  fileBytes: number;
}

/** How saveModel lays out the weights. */
export interface SaveOptions {
  /**
   * Split the weights into files of at most this many bytes, named like the
   * Python converter's ('group1-shard1of2.bin', ...). Default: one 'weights.bin'.
   */
  shardBytes?: number;
}

/**
 * Saves `model` with its card into `folder`, replacing a model already
 * there only once the new one is completely written: if anything fails, the
 * previous model stays as it was. Refuses to replace a folder that holds
 * anything but a model, and refuses weights with NaN or infinite values.
 */
export async function saveModel(
  model: tfl.LayersModel,
  folder: string,
  card: ModelCard,
  options: SaveOptions = {},
): Promise<{ fingerprint: string; fileBytes: number }> {
  const target = path.resolve(folder);
  await checkSaveTarget(target);
  let result: { fingerprint: string; fileBytes: number } | undefined;
  // Everything, including validation, happens inside the fill so that any
  // failure is handled by the one path that keeps the old folder intact.
  await replaceDirAtomic(target, async (tmp) => {
    const checkedCard = validateCard(
      card,
      'The model card to save is invalid',
      'Correct the card field named above before saving',
    );
    const bad = firstNonFinite(model.weights.map((w) => ({ name: w.originalName, tensor: w.read() })));
    if (bad) {
      throw new UserError(
        'MODEL_SAVE_NOT_FINITE',
        `Not saving to ${target}: weight "${bad.name}" holds ${bad.count} NaN or infinite value(s), so training diverged`,
        'Train again with a lower learning rate (any model already in that folder was kept)',
      );
    }
    const artifacts = await captureArtifacts(model);
    const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    const shards = splitShards(bytes, options.shardBytes);
    for (const shard of shards) await writeFileAtomic(path.join(tmp, shard.name), shard.bytes);
    const json = JSON.stringify({
      format: 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: shards.map((s) => s.name), weights: artifacts.weightSpecs }],
      userDefinedMetadata: { ...artifacts.userDefinedMetadata, distillStudio: checkedCard },
    });
    await writeFileAtomic(path.join(tmp, MODEL_JSON), json);
    result = {
      fingerprint: await modelFingerprint(model, artifacts.modelTopology),
      fileBytes: Buffer.byteLength(json) + bytes.byteLength,
    };
  });
  if (!result) throw new Error('saveModel: the folder was written without a result');
  return result;
}

/**
 * Reads a TensorFlow.js Layers model folder, as written by saveModel, by
 * tfjs's own save or by the Python tensorflowjs converter (sharded weights,
 * quantized weights). Every way the folder can be wrong is a UserError
 * naming the problem and the fix; the card, if any, is validated.
 */
export async function loadModel(folder: string): Promise<SavedModel> {
  const dir = path.resolve(folder);
  const file = path.join(dir, MODEL_JSON);
  const jsonBytes = await readModelJson(dir, file);
  const parsed = parseModelJson(jsonBytes.toString('utf8'), file);
  const weights = await readWeightFiles(dir, parsed, file);
  const model = await buildFromTopology(parsed.modelTopology, file);
  let fingerprint: string;
  try {
    assignWeights(model, weights.buffer, parsed.weightSpecs, file);
    fingerprint = await modelFingerprint(model, parsed.modelTopology);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return {
    model,
    ...(parsed.card ? { card: parsed.card } : {}),
    folder: dir,
    fingerprint,
    fileBytes: jsonBytes.byteLength + weights.byteLength,
  };
}

type CapturedArtifacts = tf.io.ModelArtifacts & {
  modelTopology: object;
  weightData: tf.io.WeightData;
  weightSpecs: tf.io.WeightsManifestEntry[];
};

/** Runs tfjs's own serialisation and keeps its output instead of writing it anywhere. */
async function captureArtifacts(model: tfl.LayersModel): Promise<CapturedArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  const { modelTopology, weightData, weightSpecs } = captured ?? {};
  if (!weightData || !weightSpecs) throw new Error('tfjs saved a model without weights');
  if (!modelTopology || modelTopology instanceof ArrayBuffer)
    throw new Error('tfjs saved a model without topology');
  return { ...captured, modelTopology, weightData, weightSpecs };
}

function splitShards(
  bytes: Uint8Array,
  shardBytes: number | undefined,
): { name: string; bytes: Uint8Array }[] {
  if (shardBytes === undefined) return [{ name: 'weights.bin', bytes }];
  if (!Number.isInteger(shardBytes) || shardBytes <= 0)
    throw new Error(`shardBytes must be a positive integer, got ${shardBytes}`);
  const count = Math.max(1, Math.ceil(bytes.byteLength / shardBytes));
  return Array.from({ length: count }, (_, i) => ({
    name: `group1-shard${i + 1}of${count}.bin`,
    bytes: bytes.subarray(i * shardBytes, (i + 1) * shardBytes),
  }));
}

/**
 * replaceDirAtomic swaps out the whole folder, so saving to the wrong path
 * (a home folder, a project folder) would delete its contents. Only an
 * empty folder or one holding a previous model (model.json and .bin files)
 * may be replaced.
 */
async function checkSaveTarget(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') {
      throw new UserError(
        'MODEL_SAVE_TARGET_NOT_MODEL',
        `Cannot save a model to ${target}: it is a file, not a folder`,
        'Choose a new folder name for the model',
      );
    }
    throw error;
  }
  const foreign = entries.filter((name) => name !== MODEL_JSON && !name.endsWith('.bin'));
  if (foreign.length > 0) {
    throw new UserError(
      'MODEL_SAVE_TARGET_NOT_MODEL',
      `Not saving a model to ${target}: the folder holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}) that saving would delete`,
      'Choose a new or empty folder for the model, or one that only holds a previous model',
    );
  }
}
