import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/engine/backend/select.js';
import { resolveSettings } from '../../../src/shared/settings.js';
import { batchNormPrior } from '../../../src/engine/synthesis/priors.js';
import { softTargetMethod } from '../../../src/engine/synthesis/soft-target.js';
import { splitTeacher } from '../../../src/engine/synthesis/teacher-net.js';
import { tf, tfl } from '../../../src/engine/tf.js';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/**
 * A small BatchNorm classifier whose BatchNorm layer remembers the statistics
 * of its "real data": dark images (pixels uniform in [0, 0.2]), as a trained
 * teacher's running statistics describe its training images.
 */
function bnTeacher() {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 3,
        kernelSize: 3,
        name: 'conv',
        kernelInitializer: init(1),
      }),
      tfl.layers.batchNormalization({ name: 'bn' }),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.dense({ units: 10, kernelInitializer: init(3) }),
    ],
  });
  const bn = model.getLayer('bn');
  const [gamma, beta] = bn.getWeights();
  const real = tf.randomUniform([64, 12, 12, 1], 0, 0.2, 'float32', 11);
  const convOut = tfl.model({
    inputs: model.inputs,
    outputs: model.getLayer('conv').output as tfl.SymbolicTensor,
  });
  const { mean, variance } = tf.tidy(() => tf.moments(convOut.predict(real) as tf.Tensor, [0, 1, 2]));
  bn.setWeights([gamma!, beta!, mean, variance]);
  tf.dispose([real, mean, variance]);
  return {
    model,
    inputShape: [12, 12, 1] as [number, number, number],
    numClasses: 10,
    preprocessing: { sourceShape: [12, 12, 1] as [number, number, number], mean: [0], std: [1] },
  };
}

describe('the BatchNorm statistics prior (DeepInversion)', () => {
  it('finds the BatchNorm layers with their running statistics, and equals a hand computation', async () => {
    const teacher = bnTeacher();
    const net = splitTeacher(teacher);
    expect(net.normStats.map((s) => s.layer)).toEqual(['bn']);
    const RUNNING_MEAN = Array.from(await teacher.model.getLayer('bn').getWeights()[2]!.data());
    const RUNNING_VARIANCE = Array.from(await teacher.model.getLayer('bn').getWeights()[3]!.data());
    expect(Array.from(await net.normStats[0]!.mean.data())).toEqual(RUNNING_MEAN);
    expect(Array.from(await net.normStats[0]!.variance.data())).toEqual(RUNNING_VARIANCE);
    expect(RUNNING_VARIANCE.every((v) => v > 0)).toBe(true);

    const before = tf.memory().numTensors;
    const x = tf.randomUniform([5, 12, 12, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    // By hand: the conv output (the BatchNorm layer's input), per-channel mean and variance over the batch.
    const convOut = tfl.model({
      inputs: teacher.model.inputs,
      outputs: teacher.model.getLayer('conv').output as tfl.SymbolicTensor,
    });
    const y = convOut.predict(x) as tf.Tensor4D;
    const values = await y.data();
    const channels = 3;
    const n = values.length / channels;
    let expected = 0;
    const means: number[] = [];
    const variances: number[] = [];
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += values[i * channels + c]!;
      const mean = sum / n;
      let squares = 0;
      for (let i = 0; i < n; i++) squares += (values[i * channels + c]! - mean) ** 2;
      means.push(mean);
      variances.push(squares / n);
    }
    expected += Math.hypot(...means.map((m, c) => m - RUNNING_MEAN[c]!));
    expected += Math.hypot(...variances.map((v, c) => v - RUNNING_VARIANCE[c]!));
    const got = tf.tidy(() => {
      const { normInputs } = net.featuresLogitsAndNormInputs(x);
      return batchNormPrior(normInputs, net.normStats);
    });
    expect((await got.data())[0]).toBeCloseTo(expected, 4);
    // Its gradient reaches the pixels.
    const grad = tf.grad((v) =>
      batchNormPrior(net.featuresLogitsAndNormInputs(v as tf.Tensor4D).normInputs, net.normStats),
    )(x);
    const g = await grad.data();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    expect(Math.max(...Array.from(g).map(Math.abs))).toBeGreaterThan(0);
    tf.dispose([x, y, got, grad]);
    expect(tf.memory().numTensors).toBe(before);
    teacher.model.dispose();
  });

  it('soft-target synthesis with the prior makes images whose statistics are closer to the recorded ones', async () => {
    const teacher = bnTeacher();
    const net = splitTeacher(teacher);
    const gapAfter = async (bn: number): Promise<{ gap: number; metrics: Record<string, number> }> => {
      const { settings } = resolveSettings(softTargetMethod.fields, { iterations: 40, batchSize: 16, bn });
      const batch = await softTargetMethod.create(teacher, settings).synthesize(16, 5);
      const x = tf.tensor4d(batch.inputs, [16, 12, 12, 1]);
      const gap = tf.tidy(() => batchNormPrior(net.featuresLogitsAndNormInputs(x).normInputs, net.normStats));
      const value = (await gap.data())[0]!;
      tf.dispose([x, gap]);
      return { gap: value, metrics: batch.metrics };
    };
    const without = await gapAfter(0);
    const withPrior = await gapAfter(100);
    expect(without.metrics.normStats).toBeUndefined();
    expect(withPrior.metrics.normStats).toBeGreaterThan(0);
    expect(withPrior.gap).toBeLessThan(without.gap * 0.8);
    teacher.model.dispose();
  });

  it('is absent for a teacher without BatchNorm layers', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [4, 4, 1] }),
        tfl.layers.dense({ units: 6 }),
        tfl.layers.dense({ units: 3 }),
      ],
    });
    const net = splitTeacher({
      model,
      inputShape: [4, 4, 1],
      numClasses: 3,
      preprocessing: { sourceShape: [4, 4, 1], mean: [0], std: [1] },
    });
    expect(net.normStats).toEqual([]);
    model.dispose();
  });
});
