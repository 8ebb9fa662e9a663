import '@tensorflow/tfjs-backend-cpu';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../../src/engine/models/io.js';
import { asLogitsClassifier, importTeacher } from '../../../src/engine/models/teacher.js';
import { tf, tfl } from '../../../src/engine/tf.js';
import {
  expectUserError,
  functionalCnn,
  images,
  makeCard,
  predictValues,
  removeTempDirs,
  sequentialCnn,
  tempDir,
  type Ending,
} from './fixtures.js';
import { guardTensorLeaks } from '../leak-guard.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks({ cleanup: removeTempDirs });

/** softmax(logits(x)) against original(x), computed independently of the engine. */
function expectSoftmaxOfLogitsEqualsOriginal(
  original: tfl.LayersModel,
  logits: tfl.LayersModel,
  shape: readonly number[],
): void {
  const x = images(shape);
  const probs = predictValues(original, x);
  const raw = predictValues(logits, x);
  const k = original.outputs[0]!.shape[1] as number;
  for (let row = 0; row < raw.length / k; row++) {
    const z = Array.from(raw.subarray(row * k, (row + 1) * k));
    const max = Math.max(...z);
    const exp = z.map((v) => Math.exp(v - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    exp.forEach((e, j) => expect(e / sum).toBeCloseTo(probs[row * k + j]!, 6));
  }
  // Logits really are logits, not the probabilities again.
  expect(raw.some((v) => v < 0 || v > 1)).toBe(true);
  x.dispose();
}

describe('asLogitsClassifier', () => {
  const softmaxEndings: Ending[] = ['dense-softmax', 'softmax-layer', 'activation-softmax'];
  for (const ending of softmaxEndings) {
    it(`removes a final softmax (${ending}) from a Sequential model`, () => {
      const model = sequentialCnn({ ending });
      const { model: logits, info } = asLogitsClassifier(model);
      expect(logits).not.toBe(model);
      expect(info).toEqual({ inputShape: [8, 8, 1], numClasses: 3, outputWasSoftmax: true, warnings: [] });
      expectSoftmaxOfLogitsEqualsOriginal(model, logits, [8, 8, 1]);
      // The two models share nothing: disposing the original keeps the logits model usable.
      model.dispose();
      const x = images([8, 8, 1]);
      expect(predictValues(logits, x).length).toBe(12);
      x.dispose();
      logits.dispose();
    });

    it(`removes a final softmax (${ending}) from a functional model`, () => {
      const model = functionalCnn({ ending });
      const { model: logits, info } = asLogitsClassifier(model);
      expect(info.outputWasSoftmax).toBe(true);
      expect(info.inputShape).toEqual([8, 8, 3]);
      expect(info.numClasses).toBe(4);
      expectSoftmaxOfLogitsEqualsOriginal(model, logits, [8, 8, 3]);
      logits.dispose();
      model.dispose();
    });
  }

  it('returns a logits model as it is', () => {
    const model = sequentialCnn();
    const { model: same, info } = asLogitsClassifier(model);
    expect(same).toBe(model);
    expect(info.outputWasSoftmax).toBe(false);
    expect(info.warnings).toEqual([]);
    model.dispose();
  });

  it('accepts another final activation with a warning', () => {
    const model = sequentialCnn({ ending: 'relu' });
    const { model: same, info } = asLogitsClassifier(model);
    expect(same).toBe(model);
    expect(info.warnings.join(' ')).toContain('relu');
    model.dispose();
  });

  it('refuses a sigmoid (multi-label) head', async () => {
    const model = functionalCnn({ ending: 'sigmoid' });
    await expectUserError(() => asLogitsClassifier(model), 'TEACHER_OUTPUT_SIGMOID');
    model.dispose();
  });

  it('refuses a softmax it cannot remove (inside a nested model)', async () => {
    const input = tfl.input({ shape: [8, 8, 1] });
    const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
    const head = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [64], units: 3, activation: 'softmax' })],
    });
    const model = tfl.model({ inputs: input, outputs: head.apply(flat) as tfl.SymbolicTensor });
    await expectUserError(() => asLogitsClassifier(model), 'TEACHER_OUTPUT_PROBABILITIES');
    model.dispose();
  });

  it('refuses a flattened vector input, suggesting the image shape', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [784], units: 10 })] });
    const error = await expectUserError(() => asLogitsClassifier(model), 'TEACHER_INPUT_NOT_IMAGE');
    expect(error.message).toContain('flattened');
    expect(error.fix).toContain('(28, 28, 1)');
    model.dispose();
  });

  it('refuses an image without a channel axis', async () => {
    const model = tfl.sequential({
      layers: [tfl.layers.flatten({ inputShape: [28, 28] }), tfl.layers.dense({ units: 10 })],
    });
    await expectUserError(() => asLogitsClassifier(model), 'TEACHER_INPUT_NOT_IMAGE');
    model.dispose();
  });

  it('refuses several inputs', async () => {
    const a = tfl.input({ shape: [8, 8, 1] });
    const b = tfl.input({ shape: [8, 8, 1] });
    const merged = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten().apply(merged) as tfl.SymbolicTensor;
    const model = tfl.model({
      inputs: [a, b],
      outputs: tfl.layers.dense({ units: 3 }).apply(flat) as tfl.SymbolicTensor,
    });
    await expectUserError(() => asLogitsClassifier(model), 'TEACHER_INPUT_MULTIPLE');
    model.dispose();
  });

  it('refuses inputs larger than the app takes, before building anything for them', async () => {
    const input = tfl.input({ shape: [300, 300, 3] });
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(input) as tfl.SymbolicTensor;
    const big = tfl.model({
      inputs: input,
      outputs: tfl.layers.dense({ units: 3 }).apply(pooled) as tfl.SymbolicTensor,
    });
    const error = await expectUserError(() => asLogitsClassifier(big), 'TEACHER_INPUT_TOO_LARGE');
    expect(error.message).toContain('300x300');
    big.dispose();
  });

  it('refuses 4-channel and unknown-size inputs', async () => {
    const rgba = sequentialCnn({ channels: 4 });
    expect((await expectUserError(() => asLogitsClassifier(rgba), 'TEACHER_INPUT_CHANNELS')).fix).toContain(
      'alpha',
    );
    rgba.dispose();
    const input = tfl.input({ shape: [null, null, 3] });
    const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(conv) as tfl.SymbolicTensor;
    const anySize = tfl.model({
      inputs: input,
      outputs: tfl.layers.dense({ units: 3 }).apply(pooled) as tfl.SymbolicTensor,
    });
    await expectUserError(() => asLogitsClassifier(anySize), 'TEACHER_INPUT_SIZE_UNKNOWN');
    anySize.dispose();
  });

  it('refuses outputs that are not a class vector', async () => {
    const map = tfl.sequential({
      layers: [tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 3, kernelSize: 1 })],
    });
    const error = await expectUserError(() => asLogitsClassifier(map), 'TEACHER_OUTPUT_NOT_CLASSES');
    expect(error.message).toContain('[8, 8, 3]');
    map.dispose();
    const single = sequentialCnn({ classes: 1 });
    await expectUserError(() => asLogitsClassifier(single), 'TEACHER_OUTPUT_SINGLE_UNIT');
    single.dispose();
  });

  it('refuses several outputs', async () => {
    const input = tfl.input({ shape: [8, 8, 1] });
    const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
    const outputs = [3, 5].map((units) => tfl.layers.dense({ units }).apply(flat) as tfl.SymbolicTensor);
    const model = tfl.model({ inputs: input, outputs });
    await expectUserError(() => asLogitsClassifier(model), 'TEACHER_OUTPUT_MULTIPLE');
    model.dispose();
  });
});

describe('importTeacher', () => {
  it('imports a softmax-ended saved model as logits, with its card and fingerprint', async () => {
    const folder = path.join(await tempDir(), 'teacher');
    const original = sequentialCnn({ ending: 'dense-softmax' });
    const saved = await saveModel(original, folder, makeCard());
    const teacher = await importTeacher(folder);
    expect(teacher.info.outputWasSoftmax).toBe(true);
    expect(teacher.fingerprint).toBe(saved.fingerprint);
    expect(teacher.fileBytes).toBe(saved.fileBytes);
    expect(teacher.card).toEqual(makeCard());
    expect(teacher.folder).toBe(path.resolve(folder));
    expectSoftmaxOfLogitsEqualsOriginal(original, teacher.model, [8, 8, 1]);
    original.dispose();
    teacher.model.dispose();
  });

  it('refuses a model that is not a teacher without leaking it', async () => {
    const folder = path.join(await tempDir(), 'sigmoid');
    const model = sequentialCnn({ ending: 'sigmoid' });
    await saveModel(model, folder, makeCard());
    model.dispose();
    await expectUserError(() => importTeacher(folder), 'TEACHER_OUTPUT_SIGMOID');
  });

  it('refuses a card that contradicts the model', async () => {
    const folder = path.join(await tempDir(), 'mismatch');
    const model = sequentialCnn({ ending: 'softmax-layer' });
    await saveModel(model, folder, makeCard([8, 8, 1], 10));
    model.dispose();
    await expectUserError(() => importTeacher(folder), 'TEACHER_CARD_MISMATCH');
  });

  it('passes load errors through', async () => {
    await expectUserError(
      async () => importTeacher(path.join(await tempDir(), 'absent')),
      'MODEL_FOLDER_MISSING',
    );
  });
});
