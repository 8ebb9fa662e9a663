import '@tensorflow/tfjs-backend-cpu';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { loadClassifier } from '../../../../src/engine/models/classifier.js';
import { saveOnnxTeacher } from '../../../../src/engine/models/onnx/save-teacher.js';
import { tf } from '../../../../src/engine/tf.js';
import { images, predictValues, removeTempDirs, tempDir } from '../fixtures.js';
import { attr, OnnxBuilder } from './builder.js';
import { guardTensorLeaks } from '../../leak-guard.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks({ cleanup: removeTempDirs });

it('saves an ONNX teacher as a model folder whose card records the preprocessing; it loads as the same model', async () => {
  const b = new OnnxBuilder({ input: [1, 3, 8, 8], seed: 6 });
  const block = b.convBn('x', 3, 4, 3, { pads: attr.ints([1, 1, 1, 1]) });
  const pool = b.node('MaxPool', [block], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  const logits = b.node('Gemm', [b.node('Flatten', [pool]), b.random('fc', [64, 3])]);
  const file = await b.write(await tempDir(), b.node('Softmax', [logits]), 'teacher.onnx');
  const folder = path.join(await tempDir(), 'teacher');
  const normalisation = { mean: [0.5, 0.4, 0.3], std: [0.2] };
  const saved = await saveOnnxTeacher(file, folder, normalisation);
  expect(saved.card.preprocessing.mean).toEqual([0.5, 0.4, 0.3]);
  expect(saved.card.preprocessing.std).toEqual([0.2, 0.2, 0.2]);
  expect(saved.card.provenance.producedBy).toMatch(/import of teacher\.onnx \(ONNX opset 13.*max difference/);

  const fromFolder = await loadClassifier(folder);
  const fromFile = await loadClassifier(file, normalisation);
  try {
    expect(fromFolder.preprocessing).toEqual(fromFile.preprocessing);
    expect(fromFolder.fingerprint).toBe(fromFile.fingerprint);
    expect(fromFolder.fingerprint).toBe(saved.fingerprint);
    expect(fromFile.onnx?.check.images).toBe(8);
    expect(fromFile.outputWasSoftmax).toBe(true);
    const x = images([8, 8, 3]);
    expect(Array.from(predictValues(fromFolder.model, x))).toEqual(
      Array.from(predictValues(fromFile.model, x)),
    );
    x.dispose();
  } finally {
    fromFolder.model.dispose();
    fromFile.model.dispose();
  }
});
