import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistDigits } from '../../../src/engine/data/mnist-digits.js';
import { computeChannelStats, defaultPreprocessing } from '../../../src/engine/data/preprocess.js';
import type { LabeledImages } from '../../../src/engine/data/types.js';
import { buildPreset } from '../../../src/engine/models/presets.js';
import { tf } from '../../../src/engine/tf.js';
import { initBackend } from '../../../src/engine/backend/select.js';
import { augmentBatch } from '../../../src/engine/train/augment.js';
import {
  accuracyOf,
  trainClassifier,
  type TrainProgress,
} from '../../../src/engine/train/train-classifier.js';
import { Rng } from '../../../src/engine/util/rng.js';

function slice(data: LabeledImages, n: number): LabeledImages {
  const size = data.shape[0] * data.shape[1] * data.shape[2];
  return { ...data, count: n, pixels: data.pixels.slice(0, n * size), labels: data.labels.slice(0, n) };
}

let train: LabeledImages;
let test: LabeledImages;
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  train = slice(await loadMnistDigits({ split: 'train' }), 600);
  test = slice(await loadMnistDigits({ split: 'test' }), 300);
});

describe('trainClassifier', () => {
  const settings = { epochs: 2, batchSize: 50, learningRate: 0.003, seed: 11, augment: null };

  async function trainOnce(
    seed: number,
  ): Promise<{ weights: Float32Array; accuracy: number; progress: TrainProgress[]; lossPerEpoch: number[] }> {
    const model = buildPreset('lenet5-half', { seed });
    const preprocessing = defaultPreprocessing(train.shape, [32, 32, 1], computeChannelStats(train));
    const progress: TrainProgress[] = [];
    const result = await trainClassifier(model, train, {
      settings: { ...settings, seed },
      preprocessing,
      inputShape: [32, 32, 1],
      onProgress: (p) => progress.push(p),
    });
    const accuracy = await accuracyOf(model, test, preprocessing, [32, 32, 1]);
    const weights = (await model.getWeights()[0]!.data()) as Float32Array;
    model.dispose();
    return { weights: Float32Array.from(weights), accuracy, progress, lossPerEpoch: result.lossPerEpoch };
  }

  it('learns real digits, reports progress, reproduces with a seed and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const first = await trainOnce(5);
    expect(tf.memory().numTensors).toBe(before);
    expect(first.accuracy).toBeGreaterThan(0.5);
    expect(first.lossPerEpoch[1]).toBeLessThan(first.lossPerEpoch[0]!);
    const last = first.progress.at(-1)!;
    expect(last).toMatchObject({ step: 24, totalSteps: 24, epoch: 2, epochs: 2 });
    expect(last.samplesPerSecond).toBeGreaterThan(0);
    const again = await trainOnce(5);
    expect(again.weights).toEqual(first.weights);
    const other = await trainOnce(6);
    expect(other.weights).not.toEqual(first.weights);
  });

  it('stops when cancelled', async () => {
    const model = buildPreset('lenet5-half', { seed: 1 });
    const controller = new AbortController();
    const run = trainClassifier(model, train, {
      settings,
      preprocessing: defaultPreprocessing(train.shape, [32, 32, 1]),
      inputShape: [32, 32, 1],
      onProgress: () => controller.abort(new Error('cancelled by test')),
      signal: controller.signal,
    });
    await expect(run).rejects.toThrow('cancelled by test');
    model.dispose();
  });
});

describe('augmentBatch', () => {
  it('shifts with zero fill and mirrors raw pixels', () => {
    const pixels = Uint8Array.from({ length: 9 }, (_, i) => i + 1); // 3x3: 1..9
    const data: LabeledImages = {
      source: 't',
      shape: [3, 3, 1],
      count: 1,
      pixels,
      labels: Uint8Array.of(4),
      numClasses: 10,
    };
    const seen = new Set<string>();
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) {
      const out = augmentBatch(data, [0], { maxShift: 1, flip: true }, rng);
      expect(out.labels[0]).toBe(4);
      seen.add(Array.from(out.pixels).join(','));
    }
    expect(seen.has('1,2,3,4,5,6,7,8,9')).toBe(true); // identity
    expect(seen.has('3,2,1,6,5,4,9,8,7')).toBe(true); // mirrored
    expect(seen.has('0,0,0,1,2,3,4,5,6')).toBe(true); // shifted down by one
    expect(seen.size).toBeLessThanOrEqual(18); // 9 shifts x 2 flips
  });
});
