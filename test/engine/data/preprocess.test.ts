import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkCompatible,
  computeChannelStats,
  defaultPreprocessing,
  labelsTensor,
  oneHotLabels,
  toInputTensor,
} from '../../../src/engine/data/preprocess.js';
import type { ImageShape, LabeledImages, Preprocessing } from '../../../src/engine/data/types.js';
import { tf } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';
import { expectUserError } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function images(shape: ImageShape, pixels: number[], labels: number[], numClasses = 10): LabeledImages {
  return {
    source: 'hand-made',
    shape,
    count: labels.length,
    pixels: Uint8Array.from(pixels),
    labels: Uint8Array.from(labels),
    numClasses,
  };
}

function expectClose(actual: ArrayLike<number>, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, 5));
}

describe('toInputTensor', () => {
  it('pads raw pixels centrally (extra row and column at the bottom and right), then normalises', async () => {
    // Two 2x3 gray images into a 5x6 input: 3 spare rows (1 above, 2 below), 3 spare columns (1 left, 2 right).
    const data = images([2, 3, 1], [10, 20, 30, 40, 50, 60, 255, 0, 255, 0, 255, 0], [4, 7]);
    const pre: Preprocessing = { sourceShape: [2, 3, 1], mean: [0.25], std: [0.5] };
    const f = (p: number): number => (p / 255 - 0.25) / 0.5;
    const P = f(0); // the padding: a zero pixel, normalised like any other
    const first = [
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      f(10),
      f(20),
      f(30),
      P,
      P,
      P,
      f(40),
      f(50),
      f(60),
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
    ];
    const second = [
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      1.5,
      -0.5,
      1.5,
      P,
      P,
      P,
      -0.5,
      1.5,
      -0.5,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
      P,
    ];
    const byRange = toInputTensor(data, { start: 0, end: 2 }, pre, [5, 6, 1]);
    expect(byRange.shape).toEqual([2, 5, 6, 1]);
    expect(byRange.dtype).toBe('float32');
    expectClose(await byRange.data(), [...first, ...second]);
    const byIndex = toInputTensor(data, [1, 0], pre, [5, 6, 1]);
    expectClose(await byIndex.data(), [...second, ...first]);
    tf.dispose([byRange, byIndex]);
  });

  it('normalises each RGB channel with its own mean and std', async () => {
    const data = images([1, 1, 3], [51, 102, 204], [0]);
    const pre: Preprocessing = { sourceShape: [1, 1, 3], mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 0.125] };
    const x = toInputTensor(data, [0], pre, [3, 3, 3]);
    // By hand: (0.2-0.1)/0.5, (0.4-0.2)/0.25, (0.8-0.3)/0.125; padding (0-mean)/std.
    const pad = [-0.2, -0.8, -2.4];
    expectClose(await x.data(), [
      ...pad,
      ...pad,
      ...pad,
      ...pad,
      0.2,
      0.8,
      4,
      ...pad,
      ...pad,
      ...pad,
      ...pad,
    ]);
    x.dispose();
  });

  it('pads 28x28 to 32x32 by exactly 2 pixels on every side', async () => {
    const data = images([28, 28, 1], new Array<number>(784).fill(255), [3]);
    const x = toInputTensor(data, [0], defaultPreprocessing([28, 28, 1], [32, 32, 1]), [32, 32, 1]);
    const values = await x.data();
    x.dispose();
    for (let y = 0; y < 32; y++) {
      for (let col = 0; col < 32; col++) {
        const inside = y >= 2 && y < 30 && col >= 2 && col < 30;
        expect(values[y * 32 + col]).toBe(inside ? 1 : 0);
      }
    }
  });

  it('gives labels as int32 and one-hot tensors, and leaves no tensor behind', async () => {
    const data = images([1, 1, 1], [0, 1, 2], [2, 0, 1], 3);
    const before = tf.memory().numTensors;
    const labels = labelsTensor(data, [2, 0]);
    expect(labels.dtype).toBe('int32');
    expect(Array.from(await labels.data())).toEqual([1, 2]);
    const oneHot = oneHotLabels(data, { start: 0, end: 3 });
    expect(oneHot.dtype).toBe('float32');
    expect(await oneHot.array()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const x = toInputTensor(data, [0, 1, 2], defaultPreprocessing([1, 1, 1], [2, 2, 1]), [2, 2, 1]);
    tf.dispose([labels, oneHot, x]);
    // Inside tf.tidy (as training does) the input tensor and anything made from it are released.
    tf.tidy(() => {
      tf.mean(toInputTensor(data, [0], defaultPreprocessing([1, 1, 1], [1, 1, 1]), [1, 1, 1]));
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => toInputTensor(data, [3], defaultPreprocessing([1, 1, 1], [1, 1, 1]), [1, 1, 1])).toThrow(
      RangeError,
    );
  });
});

describe('preprocessing', () => {
  it('defaults to pixels in [0, 1] and records the source shape', () => {
    expect(defaultPreprocessing([28, 28, 1], [32, 32, 1])).toEqual({
      sourceShape: [28, 28, 1],
      mean: [0],
      std: [1],
    });
    expect(defaultPreprocessing([32, 32, 3], [32, 32, 3], { mean: [0.5], std: [0.25] })).toEqual({
      sourceShape: [32, 32, 3],
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
    });
  });

  it('refuses data that cannot feed the model input', async () => {
    await expectUserError(
      () => defaultPreprocessing([32, 32, 3], [28, 28, 3]),
      'DATASET_SHAPE_MISMATCH',
      /32x32x3/,
      /28x28x3/,
    );
    await expectUserError(
      () => defaultPreprocessing([28, 28, 1], [32, 32, 3]),
      'DATASET_SHAPE_MISMATCH',
      /28x28x1/,
      /32x32x3/,
    );
    await expectUserError(
      () => defaultPreprocessing([8, 8, 3], [8, 8, 3], { mean: [0.1, 0.2], std: [1] }),
      'NORMALISATION_INVALID',
      /2 values/,
    );
  });

  it('computes channel statistics that match the textbook formula', () => {
    const rng = new Rng(7);
    const n = 5 * 4 * 3 * 3;
    const data = images(
      [4, 3, 3],
      Array.from({ length: n }, () => rng.int(256)),
      [0, 1, 2, 3, 4],
    );
    const stats = computeChannelStats(data);
    for (let c = 0; c < 3; c++) {
      const values = Array.from(data.pixels)
        .filter((_, i) => i % 3 === c)
        .map((p) => p / 255);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      expect(stats.mean[c]).toBeCloseTo(mean, 12);
      expect(stats.std[c]).toBeCloseTo(std, 12);
    }
    // A constant channel would make std 0; it is floored at one grey level so normalising never divides by zero.
    expect(computeChannelStats(images([1, 1, 1], [7, 7], [0, 0])).std).toEqual([1 / 255]);
  });
});

describe('checkCompatible', () => {
  const model = {
    inputShape: [32, 32, 1] as ImageShape,
    numClasses: 10,
    preprocessing: defaultPreprocessing([28, 28, 1], [32, 32, 1]),
  };

  it('accepts matching data', () => {
    expect(() =>
      checkCompatible(images([28, 28, 1], new Array<number>(784).fill(0), [9]), model),
    ).not.toThrow();
  });

  it('names both shapes when images do not match the model', async () => {
    const cifar = images([32, 32, 3], new Array<number>(3072).fill(7), [1]);
    const error = await expectUserError(
      () => checkCompatible(cifar, model),
      'DATASET_SHAPE_MISMATCH',
      /32x32x3/,
      /28x28x1/,
    );
    expect(error.fix).toMatch(/28x28x1/);
    await expectUserError(
      () => toInputTensor(cifar, [0], model.preprocessing, model.inputShape),
      'DATASET_SHAPE_MISMATCH',
      /32x32x3/,
      /28x28x1/,
    );
  });

  it('refuses a different number of classes, labels beyond the model, and an empty dataset', async () => {
    const pixels = new Array<number>(784).fill(0);
    await expectUserError(
      () => checkCompatible(images([28, 28, 1], pixels, [1], 26), model),
      'DATASET_CLASSES_MISMATCH',
      /26 classes/,
      /predicts 10/,
    );
    await expectUserError(
      () => checkCompatible(images([28, 28, 1], pixels, [10]), model),
      'DATASET_CLASSES_MISMATCH',
      /label 10/,
      /0\.\.9/,
    );
    await expectUserError(
      () => checkCompatible(images([28, 28, 1], [], []), model),
      'DATASET_EMPTY',
      /no images/,
    );
    await expectUserError(
      () => computeChannelStats(images([28, 28, 1], [], [])),
      'DATASET_EMPTY',
      /hand-made/,
    );
  });
});
