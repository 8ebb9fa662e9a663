/**
 * Where a round's time goes (a benchmark, not a test): times one synthesis
 * batch of the round pipeline (soft-target, recommended priors) with and
 * without the student-aware term and at two batch sizes, the student's
 * steps, and the kernels of one synthesis step (tf.profile).
 *
 *   node --import tsx bench/profile-round.ts [--iterations 20]
 *
 * Writes bench/results/profile-round.json.
 */
import { parseArgs } from 'node:util';
import { RECOMMENDED_METHOD_SETTINGS, RECOMMENDED_ROUNDS } from '../src/shared/recommended.js';
import { resolveSettings } from '../src/shared/settings.js';
import { initBackend } from '../src/engine/backend/select.js';
import { loadClassifier } from '../src/engine/models/classifier.js';
import { buildPreset } from '../src/engine/models/presets.js';
import { distillationLoss } from '../src/engine/synthesis/losses.js';
import { softTargetMethod } from '../src/engine/synthesis/soft-target.js';
import { tf } from '../src/engine/tf.js';
import { ScheduledAdam } from '../src/engine/train/schedule.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20' } } });
const iterations = Number(values.iterations);
const backend = await initBackend({});
const teacher = await loadClassifier('builtin:mnist-lenet5');
const student = buildPreset('lenet5-half', { numClasses: 10, seed: 1, inputShape: [32, 32, 1] });

async function timeSynthesis(batch: number, aware: boolean): Promise<number> {
  const { settings } = resolveSettings(softTargetMethod.fields, {
    ...RECOMMENDED_METHOD_SETTINGS['soft-target'],
    iterations,
    batchSize: batch,
  });
  const synth = softTargetMethod.create(teacher, settings);
  const studentRef = {
    logits: (x: tf.Tensor4D) => student.apply(x, { training: false }) as tf.Tensor2D,
    weight: RECOMMENDED_ROUNDS.disagreement,
    temperature: 1,
  };
  await synth.synthesize(batch, 1, aware ? { student: studentRef } : {}); // warm-up
  const started = performance.now();
  await synth.synthesize(batch, 2, aware ? { student: studentRef } : {});
  return (performance.now() - started) / iterations;
}

async function timeStudentSteps(steps: number): Promise<number> {
  const optimizer = new ScheduledAdam(1e-3);
  const x = tf.randomNormal([RECOMMENDED_ROUNDS.batchSize, 32, 32, 1]) as tf.Tensor4D;
  const t = tf.randomNormal([RECOMMENDED_ROUNDS.batchSize, 10]) as tf.Tensor2D;
  const variables = student.trainableWeights.map((v) => v.read() as tf.Variable);
  const step = async () => {
    const cost = optimizer.minimize(
      () => distillationLoss(t, student.apply(x, { training: true }) as tf.Tensor2D, 20),
      true,
      variables,
    );
    await cost?.data();
    cost?.dispose();
  };
  for (let i = 0; i < 3; i++) await step();
  const started = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const ms = (performance.now() - started) / steps;
  tf.dispose([x, t]);
  optimizer.dispose();
  return ms;
}

const rows = {
  backend: backend.name,
  iterations,
  synthesisStepMs: {
    batch200: await timeSynthesis(200, false),
    batch200StudentAware: await timeSynthesis(200, true),
    batch400StudentAware: await timeSynthesis(400, true),
    batch100StudentAware: await timeSynthesis(100, true),
  },
  studentStepMs: { batch128: await timeStudentSteps(30) },
};

// Kernels of one student-aware synthesis step at batch 200.
const { settings } = resolveSettings(softTargetMethod.fields, {
  ...RECOMMENDED_METHOD_SETTINGS['soft-target'],
  iterations: 2,
  batchSize: 200,
});
const profile = await tf.profile(async () => {
  await softTargetMethod.create(teacher, settings).synthesize(200, 3, {
    student: {
      logits: (x) => student.apply(x, { training: false }) as tf.Tensor2D,
      weight: 30,
      temperature: 1,
    },
  });
});
const byKernel = new Map<string, number>();
for (const k of profile.kernels) {
  byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs ?? 0));
}
const kernels = [...byKernel.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 15)
  .map(([name, ms]) => ({ name, msPerStep: ms / 2 }));
const out = { ...rows, topKernels: kernels };
console.log(JSON.stringify(out, null, 2));
await writeFileAtomic('bench/results/profile-round.json', JSON.stringify(out, null, 2) + '\n');
