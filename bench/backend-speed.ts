/**
 * How fast one LeNet-5 training step and one input-synthesis step run on each
 * backend that starts here (wasm and cpu by default, fastest first).
 *
 *   node --import tsx bench/backend-speed.ts [--backends wasm,cpu] [--batch 256]
 *
 * Prints a table and writes bench/results/backend-speed.json with the
 * figures and the backend details, so results from different machines can
 * be compared. Times are medians over several steps after warm-up.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { APP_VERSION } from '../src/engine/app-info.js';
import {
  initBackend,
  parseBackendName,
  type BackendInfo,
  type BackendName,
} from '../src/engine/backend/select.js';
import { tf, tfl } from '../src/engine/tf.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    batch: { type: 'string', default: '256' },
  },
});
const batch = Number(values.batch);
const backends = values.backends.split(',').map((name) => parseBackendName(name));

/** LeNet-5 on 32x32 grey images, as in LeCun et al. 1998 but with ReLU and max pooling. */
function lenet5(seed: number): tfl.Sequential {
  const init = (offset: number) => tfl.initializers.glorotUniform({ seed: seed + offset });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [32, 32, 1],
        filters: 6,
        kernelSize: 5,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 120, activation: 'relu', kernelInitializer: init(3) }),
      tfl.layers.dense({ units: 84, activation: 'relu', kernelInitializer: init(4) }),
      tfl.layers.dense({ units: 10, kernelInitializer: init(5) }),
    ],
  });
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

/** Median milliseconds of `step` over `runs` calls, after `warmup` untimed ones. */
async function timeSteps(
  step: () => Promise<void>,
  warmup: number,
  runs: number,
): Promise<{ medianMs: number; samplesMs: number[] }> {
  for (let i = 0; i < warmup; i++) await step();
  const samplesMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await step();
    samplesMs.push(Math.round((performance.now() - start) * 10) / 10);
  }
  return { medianMs: median(samplesMs), samplesMs };
}

interface BackendResult {
  backend: BackendInfo;
  /** Forward, backward and Adam update of all weights, on a batch of random images. */
  trainStep: { medianMs: number; samplesMs: number[] };
  /** Forward, backward to the input images and Adam update of the images (weights fixed), as in data-free synthesis. */
  inputGradStep: { medianMs: number; samplesMs: number[] };
}

async function measure(name: BackendName | 'auto'): Promise<BackendResult> {
  const backend = await initBackend({ force: name });
  // The cpu backend is about two orders of magnitude slower: fewer runs keep
  // the benchmark to a minute or so.
  const [warmup, runs] = backend.name === 'cpu' ? [1, 3] : [3, 10];
  const model = lenet5(1);
  const images = tf.randomNormal([batch, 32, 32, 1], 0, 1, 'float32', 2);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 3) as tf.Tensor1D, 10);
  const loss = (x: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;

  const weightOptimizer = tf.train.adam(1e-3);
  const trainStep = await timeSteps(
    async () => {
      const value = weightOptimizer.minimize(() => loss(images), true);
      await value?.data();
      value?.dispose();
    },
    warmup,
    runs,
  );

  const synthetic = tf.variable(tf.randomNormal([batch, 32, 32, 1], 0, 1, 'float32', 4));
  const inputOptimizer = tf.train.adam(0.05);
  const inputGradStep = await timeSteps(
    async () => {
      const value = inputOptimizer.minimize(() => loss(synthetic), true, [synthetic]);
      await value?.data();
      value?.dispose();
    },
    warmup,
    runs,
  );

  tf.dispose([images, labels, synthetic]);
  weightOptimizer.dispose();
  inputOptimizer.dispose();
  model.dispose();
  return { backend, trainStep, inputGradStep };
}

const results: BackendResult[] = [];
for (const name of backends) {
  const result = await measure(name);
  results.push(result);
  console.log(
    `${result.backend.name.padEnd(8)} train step ${result.trainStep.medianMs.toFixed(1).padStart(8)} ms   ` +
      `input-gradient step ${result.inputGradStep.medianMs.toFixed(1).padStart(8)} ms   (LeNet-5, batch ${batch})`,
  );
}

const report = {
  benchmark: 'backend-speed',
  model:
    'LeNet-5 32x32x1 (conv 6@5x5 relu, maxpool 2, conv 16@5x5 relu, maxpool 2, dense 120 relu, dense 84 relu, dense 10)',
  batch,
  appVersion: APP_VERSION,
  tfjsVersion: tf.version_core,
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  date: new Date().toISOString(),
  results,
};
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'backend-speed.json');
await writeFileAtomic(out, JSON.stringify(report, null, 2) + '\n');
console.log(`wrote ${path.relative(process.cwd(), out)}`);
