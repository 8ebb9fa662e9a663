import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { ModelCard } from '../../../src/shared/model-card.js';
import { UserError } from '../../../src/shared/errors.js';
import { tf, tfl } from '../../../src/engine/tf.js';

/** Shared helpers for the model io and teacher tests: tiny seeded models, temp folders, error checks. */

const temps: string[] = [];

/** A fresh folder under the OS temp dir, removed by removeTempDirs(). */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'distill-io-test-'));
  temps.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
/** Non-zero biases, so that a bias that is lost or misplaced shows in the outputs. */
const bias = (seed: number) => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });

export type Ending = 'linear' | 'dense-softmax' | 'softmax-layer' | 'activation-softmax' | 'relu' | 'sigmoid';

/** A small Sequential CNN: [8, 8, channels] -> conv -> flatten -> dense(classes), with the given ending. */
export function sequentialCnn(
  options: { ending?: Ending; classes?: number; channels?: number; seed?: number } = {},
): tfl.Sequential {
  const { ending = 'linear', classes = 3, channels = 1, seed = 1 } = options;
  const denseActivation =
    ending === 'dense-softmax'
      ? 'softmax'
      : ending === 'sigmoid'
        ? 'sigmoid'
        : ending === 'relu'
          ? 'relu'
          : 'linear';
  const model = tfl.sequential();
  model.add(
    tfl.layers.conv2d({
      inputShape: [8, 8, channels],
      filters: 2,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(seed),
      biasInitializer: bias(seed + 1),
    }),
  );
  model.add(tfl.layers.flatten());
  model.add(
    tfl.layers.dense({
      units: classes,
      activation: denseActivation,
      kernelInitializer: init(seed + 2),
      biasInitializer: bias(seed + 3),
    }),
  );
  if (ending === 'softmax-layer') model.add(tfl.layers.softmax());
  if (ending === 'activation-softmax') model.add(tfl.layers.activation({ activation: 'softmax' }));
  return model;
}

/** The same idea as a functional model on RGB input, with global pooling. */
export function functionalCnn(
  options: { ending?: Ending; classes?: number; seed?: number } = {},
): tfl.LayersModel {
  const { ending = 'linear', classes = 4, seed = 11 } = options;
  const denseActivation =
    ending === 'dense-softmax'
      ? 'softmax'
      : ending === 'sigmoid'
        ? 'sigmoid'
        : ending === 'relu'
          ? 'relu'
          : 'linear';
  const input = tfl.input({ shape: [8, 8, 3] });
  const conv = tfl.layers
    .conv2d({
      filters: 3,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(seed),
      biasInitializer: bias(seed + 1),
    })
    .apply(input) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(conv) as tfl.SymbolicTensor;
  let out = tfl.layers
    .dense({
      units: classes,
      activation: denseActivation,
      kernelInitializer: init(seed + 2),
      biasInitializer: bias(seed + 3),
    })
    .apply(pooled) as tfl.SymbolicTensor;
  if (ending === 'softmax-layer') out = tfl.layers.softmax().apply(out) as tfl.SymbolicTensor;
  if (ending === 'activation-softmax')
    out = tfl.layers.activation({ activation: 'softmax' }).apply(out) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** A valid card for a model with the given input and classes. */
export function makeCard(inputShape: [number, number, number] = [8, 8, 1], numClasses = 3): ModelCard {
  return {
    format: 'distill-studio/model',
    version: 1,
    architecture: 'test-cnn',
    inputShape,
    numClasses,
    preprocessing: { sourceShape: inputShape, mean: [0.5], std: [0.25] },
    provenance: { createdAt: '2024-01-01T00:00:00.000Z', appVersion: '0.1.0', backend: 'cpu', seed: 1 },
    metrics: { testAccuracy: 0.5 },
  };
}

/** A fixed batch of images in [0, 1). */
export function images(shape: readonly number[], count = 4, seed = 3): tf.Tensor {
  return tf.randomUniform([count, ...shape], 0, 1, 'float32', seed);
}

/** The model's output on `x`, as plain numbers (the tensor is disposed). */
export function predictValues(model: tfl.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

/** Edits model.json in place through `edit`, which receives the parsed object. */
export async function editModelJson(
  folder: string,
  edit: (json: Record<string, unknown>) => void,
): Promise<void> {
  const file = path.join(folder, 'model.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  await writeFile(file, JSON.stringify(json));
}

/** The first weights-manifest group of a parsed model.json, for tests that rewrite it. */
export function firstGroup(json: Record<string, unknown>): {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[];
} {
  const manifest = json['weightsManifest'] as {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string }[];
  }[];
  const group = manifest[0];
  if (!group) throw new Error('model.json has no weights group');
  return group;
}

/** Asserts that `run` fails with a UserError of `code` that has a message and a fix; returns it. */
export async function expectUserError(run: () => unknown, code: string): Promise<UserError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected UserError ${code}`).toBeInstanceOf(UserError);
  const error = caught as UserError;
  expect(error.code, error.message).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.fix.trim().length).toBeGreaterThan(0);
  return error;
}
