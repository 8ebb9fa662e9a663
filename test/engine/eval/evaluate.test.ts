import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistDigits } from '../../../src/engine/data/mnist-digits.js';
import { defaultPreprocessing, toInputTensor } from '../../../src/engine/data/preprocess.js';
import type { LabeledImages } from '../../../src/engine/data/types.js';
import { evaluate } from '../../../src/engine/eval/evaluate.js';
import type { Classifier } from '../../../src/engine/models/classifier.js';
import { buildPreset } from '../../../src/engine/models/presets.js';
import { tf } from '../../../src/engine/tf.js';
import { initBackend } from '../../../src/engine/backend/select.js';

let data: LabeledImages;
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  const test = await loadMnistDigits({ split: 'test' });
  const n = 120;
  data = { ...test, count: n, pixels: test.pixels.slice(0, n * 784), labels: test.labels.slice(0, n) };
});

function classifier(seed: number): Classifier {
  return {
    model: buildPreset('lenet5-half', { seed }),
    inputShape: [32, 32, 1],
    numClasses: 10,
    preprocessing: defaultPreprocessing([28, 28, 1], [32, 32, 1]),
  };
}

describe('evaluate', () => {
  it('matches an independent count of predictions, per class and against a teacher', async () => {
    const student = classifier(1);
    const teacher = classifier(2);
    const before = tf.memory().numTensors;
    const result = await evaluate(student, data, { teacher, batchSize: 50 });
    expect(tf.memory().numTensors).toBe(before);

    const predict = async (c: Classifier): Promise<Int32Array> => {
      const x = toInputTensor(data, { start: 0, end: data.count }, c.preprocessing, c.inputShape);
      const y = tf.argMax(c.model.predict(x) as tf.Tensor, -1);
      const values = (await y.data()) as Int32Array;
      tf.dispose([x, y]);
      return values;
    };
    const mine = await predict(student);
    const theirs = await predict(teacher);
    let correct = 0;
    let agree = 0;
    const perClass = new Array<number>(10).fill(0);
    const totals = new Array<number>(10).fill(0);
    for (let i = 0; i < data.count; i++) {
      const truth = data.labels[i]!;
      totals[truth]!++;
      if (mine[i] === truth) {
        correct++;
        perClass[truth]!++;
      }
      if (mine[i] === theirs[i]) agree++;
      expect(result.confusion[truth]![mine[i]!]).toBeGreaterThan(0);
    }
    expect(result.accuracy).toBeCloseTo(correct / data.count, 12);
    expect(result.agreementWithTeacher).toBeCloseTo(agree / data.count, 12);
    expect(result.perClassAccuracy).toEqual(perClass.map((c, k) => (totals[k]! > 0 ? c / totals[k]! : null)));
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(data.count);
    expect(result.parameters).toBeGreaterThan(0);
    expect(result.latency.msPerImageBatch1).toBeGreaterThan(0);
    expect(result.backend).toBe('wasm');
    student.model.dispose();
    teacher.model.dispose();
  });

  it('refuses an empty dataset and a mismatched one', async () => {
    const subject = classifier(1);
    await expect(
      evaluate(subject, { ...data, count: 0, pixels: new Uint8Array(0), labels: new Uint8Array(0) }),
    ).rejects.toMatchObject({ name: 'UserError' });
    await expect(
      evaluate(subject, {
        ...data,
        shape: [32, 32, 1],
        count: 1,
        pixels: new Uint8Array(1024),
        labels: Uint8Array.of(0),
      }),
    ).rejects.toThrow(/32x32x1/);
    subject.model.dispose();
  });
});
