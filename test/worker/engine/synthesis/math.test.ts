import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../../src/worker/engine/backend/select.js';
import { sampleDirichlet, sampleGamma } from '../../../../src/worker/engine/synthesis/dirichlet.js';
import {
  distillationLoss,
  jsDivergence,
  klToTargets,
} from '../../../../src/worker/engine/synthesis/losses.js';
import { tf } from '../../../../src/worker/engine/tf.js';
import { Rng } from '../../../../src/worker/engine/util/rng.js';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

function softmax(row: number[], t: number): number[] {
  const m = Math.max(...row.map((v) => v / t));
  const e = row.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('losses against their definitions', () => {
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
    const got = klToTargets(tf.tensor2d(p), tf.tensor2d(logitsB), 4);
    expect((await got.data())[0]).toBeCloseTo((expected[0]! + expected[1]!) / 2, 5);
  });

  it('distillationLoss = tau^2 KL(softmax(t/tau) || softmax(s/tau))', async () => {
    const tau = 3;
    const expected = logitsA.map((t, i) => {
      const p = softmax(t, tau);
      const q = softmax(logitsB[i]!, tau);
      return p.reduce((s, v, k) => s + v * Math.log(v / q[k]!), 0);
    });
    const got = distillationLoss(tf.tensor2d(logitsA), tf.tensor2d(logitsB), tau);
    expect((await got.data())[0]).toBeCloseTo((tau * tau * (expected[0]! + expected[1]!)) / 2, 4);
    const same = distillationLoss(tf.tensor2d(logitsA), tf.tensor2d(logitsA), tau);
    expect((await same.data())[0]).toBeCloseTo(0, 5);
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
    const got = tf.tidy(() => jsDivergence(tf.tensor2d(logitsA), tf.tensor2d(logitsB), tau));
    expect((await got.data())[0]).toBeCloseTo((expected[0]! + expected[1]!) / 2, 5);
    got.dispose();
    const same = tf.tidy(() => jsDivergence(tf.tensor2d(logitsA), tf.tensor2d(logitsA), tau));
    expect((await same.data())[0]).toBeCloseTo(0, 6);
    same.dispose();
  });

  it('jsDivergence and its gradient stay finite at logits of +-1e4 (where the naive form gives NaN)', async () => {
    const before = tf.memory().numTensors;
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
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Dirichlet sampling', () => {
  it('gamma samples have mean = shape (also below 1)', () => {
    const rng = new Rng(3);
    for (const shape of [0.1, 0.5, 1, 4]) {
      let sum = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) sum += sampleGamma(shape, rng);
      expect(sum / n).toBeCloseTo(shape, 1);
    }
  });

  it('Dirichlet samples are distributions with mean alpha / sum(alpha)', () => {
    const rng = new Rng(4);
    const alpha = [2, 0.5, 1.5];
    const mean = [0, 0, 0];
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const y = sampleDirichlet(alpha, rng);
      expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      y.forEach((v, k) => (mean[k]! += v / n));
    }
    mean.forEach((m, k) => expect(m).toBeCloseTo(alpha[k]! / 4, 2));
  });
});
