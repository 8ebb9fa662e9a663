import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../../src/worker/engine/backend/select.js';
import { sampleDirichlet, sampleGamma } from '../../../../src/worker/engine/synthesis/dirichlet.js';
import { distillationLoss, klToTargets } from '../../../../src/worker/engine/synthesis/losses.js';
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
