import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/engine/backend/select.js';
import { sampleDirichlet, sampleGamma } from '../../../src/engine/synthesis/dirichlet.js';
import { distillationLoss, jsDivergence, klToTargets } from '../../../src/engine/synthesis/losses.js';
import { tf } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';
import { guardTensorLeaks } from '../leak-guard.js';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

function softmax(row: number[], t: number): number[] {
  const m = Math.max(...row.map((v) => v / t));
  const e = row.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The value of a scalar tensor computed inside tf.tidy; every tensor it made is disposed. */
async function valueOf(compute: () => tf.Tensor): Promise<number> {
  const result = tf.tidy(compute);
  const [value] = await result.data();
  result.dispose();
  return value ?? Number.NaN;
}

/** Mean and (unbiased) variance of some numbers. */
function moments(values: readonly number[]): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

/**
 * How far a sample statistic may stray from its exact value: 5 standard errors.
 * For any seed a correct sampler lands outside with probability about 6e-7
 * (two-sided normal tail at 5 sigma), so a failure means the sampler is wrong,
 * not that the seed was unlucky; the seeds here are fixed anyway.
 */
const SIGMAS = 5;

describe('losses against their definitions', () => {
  guardTensorLeaks();

  const logitsA = [
    [2, -1, 0.5],
    [0, 3, -2],
  ];
  const logitsB = [
    [1, 0, 0],
    [-1, 2, 1],
  ];

  it('klToTargets = mean_i sum_k p log(p/q) with q = softmax(logits/tau)', async () => {
    const p = logitsA.map((r) => softmax(r, 1));
    const expected = p.map((pi, i) => {
      const q = softmax(logitsB[i]!, 4);
      return pi.reduce((s, v, k) => s + v * Math.log(v / q[k]!), 0);
    });
    const got = await valueOf(() => klToTargets(tf.tensor2d(p), tf.tensor2d(logitsB), 4));
    expect(got).toBeCloseTo((expected[0]! + expected[1]!) / 2, 5);
  });

  it('distillationLoss = tau^2 KL(softmax(t/tau) || softmax(s/tau))', async () => {
    const tau = 3;
    const expected = logitsA.map((t, i) => {
      const p = softmax(t, tau);
      const q = softmax(logitsB[i]!, tau);
      return p.reduce((s, v, k) => s + v * Math.log(v / q[k]!), 0);
    });
    const got = await valueOf(() => distillationLoss(tf.tensor2d(logitsA), tf.tensor2d(logitsB), tau));
    expect(got).toBeCloseTo((tau * tau * (expected[0]! + expected[1]!)) / 2, 4);
    const same = await valueOf(() => distillationLoss(tf.tensor2d(logitsA), tf.tensor2d(logitsA), tau));
    expect(same).toBeCloseTo(0, 5);
  });

  it('jsDivergence = mean_i (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2', async () => {
    const tau = 2;
    const expected = logitsA.map((a, i) => {
      const p = softmax(a, tau);
      const q = softmax(logitsB[i]!, tau);
      const m = p.map((v, k) => (v + q[k]!) / 2);
      const kl = (x: number[]) => x.reduce((s, v, k) => s + v * Math.log(v / m[k]!), 0);
      return (kl(p) + kl(q)) / 2;
    });
    const got = await valueOf(() => jsDivergence(tf.tensor2d(logitsA), tf.tensor2d(logitsB), tau));
    expect(got).toBeCloseTo((expected[0]! + expected[1]!) / 2, 5);
    const same = await valueOf(() => jsDivergence(tf.tensor2d(logitsA), tf.tensor2d(logitsA), tau));
    expect(same).toBeCloseTo(0, 6);
  });

  it('jsDivergence and its gradient stay finite at logits of +-1e4 (where the naive form gives NaN)', async () => {
    const a = tf.tensor2d([
      [1e4, -1e4, 0],
      [-1e4, 1e4, 5],
    ]);
    const b = tf.tensor2d([
      [-1e4, 1e4, 0],
      [-1e4, 1e4, 5],
    ]);
    const grad = tf.grad((x: tf.Tensor) => jsDivergence(x as tf.Tensor2D, b, 1));
    const g = grad(a);
    const js = tf.tidy(() => jsDivergence(a, b, 1));
    const [jsValue] = await js.data();
    const gValues = await g.data();
    // Opposite certainties: JS reaches its maximum log 2 for row 1; agreement gives 0 for row 2.
    expect(jsValue).toBeCloseTo(Math.log(2) / 2, 5);
    expect(Array.from(gValues).every(Number.isFinite)).toBe(true);
    // The naive form, log of the mixed probabilities, is not finite here.
    const naive = tf.grad((x: tf.Tensor) =>
      tf.tidy(() => {
        const p = tf.softmax(x);
        const q = tf.softmax(b);
        const m = tf.mul(tf.add(p, q), 0.5);
        return tf.mean(tf.sum(tf.mul(p, tf.log(tf.div(p, m))), -1));
      }),
    )(a);
    expect(Array.from(await naive.data()).some((v) => !Number.isFinite(v))).toBe(true);
    tf.dispose([a, b, g, js, naive]);
  });
});

describe('Dirichlet sampling', () => {
  it('gamma samples have mean and variance equal to the shape (also below 1)', () => {
    // Gamma(a, 1): mean a, variance a, fourth central moment 3a^2 + 6a. Over n draws the mean's
    // standard error is sqrt(a / n) and the sample variance's sqrt((3a^2 + 6a - a^2) / n).
    const rng = new Rng(3);
    const n = 100_000;
    for (const shape of [0.1, 0.5, 1, 4]) {
      const draws = Array.from({ length: n }, () => sampleGamma(shape, rng));
      const { mean, variance } = moments(draws);
      expect(Math.abs(mean - shape), `mean, shape ${shape}`).toBeLessThan(SIGMAS * Math.sqrt(shape / n));
      expect(Math.abs(variance - shape), `variance, shape ${shape}`).toBeLessThan(
        SIGMAS * Math.sqrt((2 * shape * shape + 6 * shape) / n),
      );
    }
  });

  it('Dirichlet samples are distributions with mean alpha / sum(alpha)', () => {
    // Component k of Dirichlet(alpha) has mean a_k / a0 and variance a_k (a0 - a_k) / (a0^2 (a0 + 1)).
    const rng = new Rng(4);
    const alpha = [2, 0.5, 1.5];
    const a0 = alpha.reduce((a, b) => a + b, 0);
    const n = 40_000;
    const mean = [0, 0, 0];
    let worstSum = 0;
    for (let i = 0; i < n; i++) {
      const y = sampleDirichlet(alpha, rng);
      worstSum = Math.max(worstSum, Math.abs(y.reduce((a, b) => a + b, 0) - 1));
      y.forEach((v, k) => (mean[k]! += v / n));
    }
    expect(worstSum).toBeLessThan(1e-12);
    alpha.forEach((a, k) => {
      const standardError = Math.sqrt((a * (a0 - a)) / (a0 * a0 * (a0 + 1)) / n);
      expect(Math.abs(mean[k]! - a / a0), `component ${k}`).toBeLessThan(SIGMAS * standardError);
    });
  });
});
