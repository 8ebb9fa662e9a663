/**
 * Where a step's time goes, kernel by kernel (a benchmark, not a test), with and without
 * Distill Studio's SIMD kernels (src/engine/backend/simd/kernels.c):
 *   synthesis    the round pipeline's own synthesis step: teacher LeNet-5 and the current
 *                student (lenet5-half) forward and backward to the pixels, the round settings'
 *                priors (jitter, total variation, coarse-to-fine, statistics), Adam on the pixels;
 *   student-kd   LeNet-5-half, teacher logits given, KD loss, Adam on the weights;
 *   teacher-train LeNet-5, softmax cross-entropy, Adam on the weights.
 *
 *   node --import tsx bench/profile-kernels.ts [--steps 20] [--synthesis-batch 256]
 *     [--kd-batch 128] [--train-batch 256] [--top 15] [--only synthesis,student-kd,teacher-train]
 *
 * Every registered wasm kernel is wrapped with a timer; a kernel that calls others (our
 * replacements run the backend's own) counts their time too, so the rows overlap. Writes
 * bench/results/profile-kernels.json: per step and per setting, ms per step untimed and timed,
 * and the top kernels (name and input shapes) in ms per step.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  RECOMMENDED_METHOD_SETTINGS,
  RECOMMENDED_ROUND_METHOD_SETTINGS,
  RECOMMENDED_ROUNDS,
} from '../src/shared/recommended.js';
import { resolveSettings } from '../src/shared/settings.js';
import { APP_VERSION } from '../src/engine/app-info.js';
import { initBackend } from '../src/engine/backend/select.js';
import { SIMD_KERNELS_ENV, simdKernelsFor } from '../src/engine/backend/simd-kernels.js';
import { loadClassifier } from '../src/engine/models/classifier.js';
import { buildPreset } from '../src/engine/models/presets.js';
import { distillationLoss } from '../src/engine/synthesis/losses.js';
import { softTargetMethod } from '../src/engine/synthesis/soft-target.js';
import { tf } from '../src/engine/tf.js';
import { ScheduledAdam } from '../src/engine/train/schedule.js';
import { optimizeStep } from '../src/engine/train/step.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    'synthesis-batch': { type: 'string', default: '256' },
    'kd-batch': { type: 'string', default: '128' },
    'train-batch': { type: 'string', default: '256' },
    top: { type: 'string', default: '15' },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(here, 'results', 'profile-kernels.json') },
  },
});
const steps = Number(values.steps);

const backend = await initBackend({});
if (backend.name !== 'wasm')
  throw new Error(`this profile is of the wasm backend; ${backend.name} runs here`);

// Kernel timers, on only while a profiled block runs.
const times = new Map<string, { ms: number; calls: number }>();
let timing = false;
for (const kernel of tf.getKernelsForBackend('wasm')) {
  const original = kernel.kernelFunc;
  tf.unregisterKernel(kernel.kernelName, 'wasm');
  tf.registerKernel({
    ...kernel,
    kernelFunc: (args) => {
      if (!timing) return original(args);
      const start = performance.now();
      const out = original(args);
      const ms = performance.now() - start;
      const shapes = Object.values(args.inputs)
        .map((t) => JSON.stringify(t?.shape))
        .join(' ');
      const key = `${kernel.kernelName} ${shapes}`;
      const entry = times.get(key) ?? { ms: 0, calls: 0 };
      entry.ms += ms;
      entry.calls++;
      times.set(key, entry);
      return out;
    },
  });
}

/** Runs `block` (which makes `steps` steps) untimed, then with kernel timers. */
async function profile(block: () => Promise<void>) {
  await block(); // warm-up
  let start = performance.now();
  await block();
  const msPerStep = (performance.now() - start) / steps;
  times.clear();
  timing = true;
  start = performance.now();
  await block();
  const profiledMsPerStep = (performance.now() - start) / steps;
  timing = false;
  const kernels = [...times.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, Number(values.top))
    .map(([kernel, e]) => ({
      kernel,
      msPerStep: +(e.ms / steps).toFixed(2),
      callsPerStep: +(e.calls / steps).toFixed(1),
    }));
  return { msPerStep: +msPerStep.toFixed(1), profiledMsPerStep: +profiledMsPerStep.toFixed(1), kernels };
}

const teacher = await loadClassifier('builtin:mnist-lenet5');

function synthesisBlock(batch: number) {
  const student = buildPreset('lenet5-half', { numClasses: 10, seed: 1, inputShape: [32, 32, 1] });
  const { settings } = resolveSettings(softTargetMethod.fields, {
    ...RECOMMENDED_METHOD_SETTINGS['soft-target'],
    ...RECOMMENDED_ROUND_METHOD_SETTINGS['soft-target'],
    iterations: steps,
    batchSize: batch,
  });
  const synthesizer = softTargetMethod.create(teacher, settings);
  const aware = {
    logits: (x: tf.Tensor4D) => student.apply(x, { training: false }) as tf.Tensor2D,
    weight: RECOMMENDED_ROUNDS.disagreement,
    temperature: RECOMMENDED_ROUNDS.disagreementTemperature,
  };
  return async () => {
    await synthesizer.synthesize(batch, 1, { student: aware });
  };
}

function weightBlock(kind: 'kd' | 'train', batch: number) {
  const x = tf.randomNormal([batch, 32, 32, 1], 0, 1, 'float32', 2);
  const model = buildPreset(kind === 'kd' ? 'lenet5-half' : 'lenet5', { seed: 2 });
  const targets = tf.randomNormal([batch, 10], 0, 5, 'float32', 3) as tf.Tensor2D;
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 4) as tf.Tensor1D, 10);
  const loss =
    kind === 'kd'
      ? () => distillationLoss(targets, model.apply(x, { training: true }) as tf.Tensor2D, 4)
      : () =>
          tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  const optimizer = new ScheduledAdam(1e-3);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return async () => {
    for (let i = 0; i < steps; i++) await optimizeStep(optimizer, variables, loss, 'profile');
  };
}

const blocks = [
  { name: 'synthesis', batch: Number(values['synthesis-batch']), make: synthesisBlock },
  { name: 'student-kd', batch: Number(values['kd-batch']), make: (b: number) => weightBlock('kd', b) },
  {
    name: 'teacher-train',
    batch: Number(values['train-batch']),
    make: (b: number) => weightBlock('train', b),
  },
];
const results = [];
for (const { name, batch, make } of blocks) {
  if (values.only && !values.only.split(',').includes(name)) continue;
  const block = make(batch);
  for (const simd of [true, false]) {
    if (simd) delete process.env[SIMD_KERNELS_ENV];
    else process.env[SIMD_KERNELS_ENV] = '0';
    if ((simdKernelsFor(tf.backend()) !== undefined) !== simd) throw new Error('kernels.c did not switch');
    const result = await profile(block);
    console.error(`${name} b${batch} ${simd ? 'with' : 'without'} kernels.c: ${result.msPerStep} ms/step`);
    results.push({ step: name, batch, simdKernels: simd, ...result });
  }
}
delete process.env[SIMD_KERNELS_ENV];

await writeFileAtomic(
  values.out,
  JSON.stringify(
    {
      benchmark: 'profile-kernels',
      backend: backend.name,
      steps,
      appVersion: APP_VERSION,
      node: process.version,
      date: new Date().toISOString(),
      results,
    },
    null,
    2,
  ) + '\n',
);
console.error(`wrote ${path.relative(process.cwd(), values.out)}`);
