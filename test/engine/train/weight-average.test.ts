import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { tf, tfl } from '../../../src/engine/tf.js';
import { WeightAverage } from '../../../src/engine/train/weight-average.js';

/** A dense layer 2 -> 1 (kernel [2, 1], bias [1]) with the given weights. */
function tinyModel(kernel: [number, number], bias: number): tfl.LayersModel {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 1 })] });
  setTo(model, kernel, bias);
  return model;
}

function setTo(model: tfl.LayersModel, kernel: [number, number], bias: number): void {
  const values = [tf.tensor2d(kernel, [2, 1]), tf.tensor1d([bias])];
  model.setWeights(values);
  tf.dispose(values);
}

async function weightsOf(model: tfl.LayersModel): Promise<number[]> {
  return (await Promise.all(model.getWeights().map((w) => w.data()))).flatMap((d) => Array.from(d));
}

describe('WeightAverage', () => {
  it('folds the weights in every 4 steps with the warmed-up decay, as computed by hand', async () => {
    const model = tinyModel([1, 2], 3);
    const average = new WeightAverage(model, 0.9);
    const expected = [1, 2, 3];
    // Twelve steps, the weights changing at each; the average sees those of steps 4, 8 and 12.
    for (let t = 1; t <= 12; t++) {
      const w: [number, number, number] = [t, -2 * t, 0.5 * t];
      setTo(model, [w[0], w[1]], w[2]);
      average.step();
      if (t % 4 === 0) {
        const d = Math.min(0.9, (1 + t) / (10 + t)) ** 4;
        for (let i = 0; i < 3; i++) expected[i] = d * expected[i]! + (1 - d) * w[i]!;
      }
    }
    expect(average.steps).toBe(12);
    const values = (await average.values()).flatMap((v) => Array.from(v));
    values.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    // Measured with the average, then the trained weights back, bit for bit.
    const trained = await weightsOf(model);
    const seen = await average.withAverage(() => weightsOf(model));
    seen.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    expect(await weightsOf(model)).toEqual(trained);
    average.applyToModel();
    expect(await weightsOf(model)).toEqual(values);
    average.dispose();
    model.dispose();
  });

  it('keeps the tensor count flat across steps and measurements', async () => {
    const model = tinyModel([1, 2], 3);
    const average = new WeightAverage(model, 0.99);
    for (let t = 0; t < 8; t++) average.step();
    await average.withAverage(async () => 0);
    const before = tf.memory().numTensors;
    for (let t = 0; t < 40; t++) average.step();
    await average.withAverage(async () => 0);
    expect(tf.memory().numTensors).toBe(before);
    average.dispose();
    model.dispose();
  });

  it('restores its values and step count (a checkpoint) and refuses arrays that do not fit', async () => {
    const model = tinyModel([1, 2], 3);
    const first = new WeightAverage(model, 0.9);
    for (let t = 1; t <= 8; t++) {
      setTo(model, [t, t], t);
      first.step();
    }
    const second = new WeightAverage(model, 0.9);
    second.restore(await first.values(), first.steps);
    setTo(model, [9, 9], 9);
    for (const a of [first, second]) for (let t = 0; t < 4; t++) a.step();
    expect(second.steps).toBe(first.steps);
    expect(await second.values()).toEqual(await first.values());
    expect(() => second.restore([new Float32Array(2)], 0)).toThrow(/1 arrays for 2 weights/);
    first.dispose();
    second.dispose();
    model.dispose();
  });
});
