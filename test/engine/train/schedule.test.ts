import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMD_KERNELS_ENV } from '../../../src/engine/backend/simd-kernels.js';
import { registerWasmTrainingKernels } from '../../../src/engine/backend/wasm-kernels.js';
import { tf } from '../../../src/engine/tf.js';
import { cosineRate, ScheduledAdam } from '../../../src/engine/train/schedule.js';
import { Rng } from '../../../src/engine/util/rng.js';

beforeAll(() => registerWasmTrainingKernels());
afterAll(async () => {
  delete process.env[SIMD_KERNELS_ENV];
  await tf.setBackend('wasm');
});

function normals(seed: number, size: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => rng.normal());
}

/**
 * Five Adam steps with a changing learning rate on a small least-squares problem; returns the
 * weights, both moments as saved in a checkpoint, and the loss of every step.
 */
async function adamRun(backend: 'cpu' | 'wasm') {
  expect(await tf.setBackend(backend)).toBe(true);
  const w = tf.variable(tf.tensor2d(normals(1, 12), [4, 3]), true, `w-${backend}`);
  const b = tf.variable(tf.zeros([3]), true, `b-${backend}`);
  const x = tf.tensor2d(normals(2, 20), [5, 4]);
  const y = tf.tensor2d(normals(3, 15), [5, 3]);
  const optimizer = new ScheduledAdam(0.01);
  const losses: number[] = [];
  const before = tf.memory().numTensors;
  for (let step = 0; step < 5; step++) {
    optimizer.setLearningRate(cosineRate(0.01, step, 5));
    const cost = optimizer.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))), true, [
      w,
      b,
    ]);
    losses.push((await cost?.data())?.[0] ?? NaN);
    cost?.dispose();
  }
  const created = tf.memory().numTensors - before; // the moments, made on the first step
  const weights = await optimizer.getWeights();
  const saved = await Promise.all(
    weights.map(async (v) => ({ name: v.name, values: Array.from(await v.tensor.data()) })),
  );
  const out = { w: Array.from(await w.data()), b: Array.from(await b.data()), saved, losses, created };
  optimizer.dispose();
  tf.dispose([w, b, x, y]);
  return out;
}

describe('ScheduledAdam', () => {
  it.each([
    { path: 'fused in kernels.c', env: undefined },
    { path: "tfjs's own operations", env: '0' },
  ])('on wasm ($path) takes the steps tfjs takes on cpu', async ({ env }) => {
    if (env === undefined) delete process.env[SIMD_KERNELS_ENV];
    else process.env[SIMD_KERNELS_ENV] = env;
    const reference = await adamRun('cpu');
    const candidate = await adamRun('wasm');
    console.log(
      JSON.stringify(reference.losses),
      JSON.stringify(candidate.losses),
      JSON.stringify(reference.w.slice(0, 3)),
      JSON.stringify(candidate.w.slice(0, 3)),
    );
    expect(candidate.created).toBe(reference.created);
    expect(candidate.saved.map((v) => v.name.replace('wasm', ''))).toEqual(
      reference.saved.map((v) => v.name.replace('cpu', '')),
    );
    candidate.w.forEach((v, i) => expect(v).toBeCloseTo(reference.w[i] ?? NaN, 5));
    candidate.b.forEach((v, i) => expect(v).toBeCloseTo(reference.b[i] ?? NaN, 5));
    candidate.saved.forEach((v, i) =>
      v.values.forEach((value, j) => expect(value).toBeCloseTo(reference.saved[i]?.values[j] ?? NaN, 5)),
    );
    candidate.losses.forEach((v, i) => expect(v).toBeCloseTo(reference.losses[i] ?? NaN, 5));
    // The weights moved: the comparison is not of two unchanged starts.
    expect(reference.losses[4]).toBeLessThan(reference.losses[0] ?? 0);
  });
});
