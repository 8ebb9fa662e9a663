import '@tensorflow/tfjs-backend-cpu';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultPreprocessing } from '../../../../src/engine/data/preprocess.js';
import type { LabeledImages } from '../../../../src/engine/data/types.js';
import { EXPORT_OPSET, exportOnnx } from '../../../../src/engine/models/onnx/export.js';
import { writeOnnxFile } from '../../../../src/engine/models/onnx/export-file.js';
import { readOnnxFile } from '../../../../src/engine/models/onnx/file.js';
import { importOnnxTeacher } from '../../../../src/engine/models/onnx/import.js';
import { runOnnxRuntime } from '../../../../src/engine/models/onnx/runtime.js';
import { buildPreset } from '../../../../src/engine/models/presets.js';
import { tf, tfl } from '../../../../src/engine/tf.js';
import { Rng } from '../../../../src/engine/util/rng.js';
import { expectUserError, removeTempDirs, tempDir } from '../fixtures.js';
import { attr, OnnxBuilder } from './builder.js';
import { guardTensorLeaks } from '../../leak-guard.js';

/**
 * Students exported as .onnx: every preset family (random weights and batch
 * statistics, so a wrong transpose cannot hide behind zeros), checked by
 * writeOnnxFile itself in ONNX Runtime against the engine; a round trip
 * ONNX -> engine -> ONNX; labelled images; refusals.
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks({ cleanup: removeTempDirs });

/** Sets every weight to seeded random values; BatchNorm variances stay positive. */
function randomize(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    for (const layer of model.layers) {
      const weights = layer.weights.map((w) => {
        const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
        const positive = /variance/.test(w.originalName);
        const scale = /kernel/.test(w.originalName)
          ? Math.sqrt(3 / Math.max(1, n / (w.shape.at(-1) ?? 1)))
          : 0.5;
        const values = Float32Array.from({ length: n }, () =>
          positive ? 0.5 + rng.next() : (rng.next() * 2 - 1) * scale,
        );
        return tf.tensor(values, w.shape as number[]);
      });
      if (weights.length > 0) layer.setWeights(weights);
    }
  });
}

function report(
  label: string,
  check: { maxAbsDifference: number; images: number; maxAbsOutput: number; sameTopClass: number },
): void {
  console.log(
    `${label}: max |engine - ONNX Runtime| = ${check.maxAbsDifference.toExponential(2)} over ${check.images} images (outputs up to ${check.maxAbsOutput.toFixed(3)}); same top class ${check.sameTopClass}/${check.images}`,
  );
}

describe('writeOnnxFile: presets checked in ONNX Runtime', () => {
  const cases: { preset: string; inputShape?: [number, number, number] }[] = [
    { preset: 'lenet5' },
    { preset: 'lenet5-half' },
    { preset: 'alexnet-half' },
    { preset: 'resnet18', inputShape: [8, 8, 3] },
  ];
  for (const { preset, inputShape } of cases) {
    it(`exports ${preset}${inputShape ? ` (${inputShape.join('x')})` : ''}`, async () => {
      const model = buildPreset(preset, { numClasses: 10, seed: 1, ...(inputShape ? { inputShape } : {}) });
      try {
        randomize(model, 7);
        const shape = inputShape ?? (model.inputs[0]!.shape.slice(1) as [number, number, number]);
        const file = path.join(await tempDir(), `${preset}.onnx`);
        const result = await writeOnnxFile(model, file, {
          preprocessing: defaultPreprocessing(shape, shape),
        });
        report(preset, result.check);
        expect(result.opset).toBe(EXPORT_OPSET);
        expect(result.check.maxAbsDifference).toBeLessThanOrEqual(result.check.tolerance);
        expect(result.check.sameTopClass).toBe(result.check.images);
        expect(result.check.maxAbsOutput).toBeGreaterThan(0.01);
        expect((await fs.stat(file)).size).toBe(result.fileBytes);
        const { graph } = await readOnnxFile(file);
        expect(graph.opset).toBe(EXPORT_OPSET);
        expect(graph.inputs[0]!.dims).toEqual(['batch', shape[2], shape[0], shape[1]]);
      } finally {
        model.dispose();
      }
    });
  }
});

describe('round trip', () => {
  it('an imported ONNX teacher exported again computes what the original file computes', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 10, 10], seed: 5 });
    const stem = b.convBn('x', 3, 6, 3, { pads: attr.ints([1, 1, 1, 1]) });
    const padded = b.node('Pad', [stem, b.int64s('pads', [0, 0, 1, 1, 0, 0, 0, 0])]);
    const pool = b.node('MaxPool', [padded], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
    const branch = b.convBn(pool, 6, 6, 1, {}, false);
    const joined = b.node('Concat', [b.node('Relu', [b.node('Add', [branch, pool])]), pool], {
      axis: attr.int(1),
    });
    const dw = b.node('Conv', [joined, b.random('dw', [12, 1, 3, 3])], {
      kernel_shape: attr.ints([3, 3]),
      group: attr.int(12),
    });
    const flat = b.node('Flatten', [b.node('LeakyRelu', [dw], { alpha: attr.float(0.1) })]);
    const logits = b.node('Gemm', [flat, b.random('fc', [4, 12 * 3 * 3]), b.random('fb', [4])], {
      transB: attr.int(1),
    });
    const original = await b.write(await tempDir(), logits, 'original.onnx');
    const teacher = await importOnnxTeacher(original);
    const exported = path.join(await tempDir(), 'exported.onnx');
    try {
      const result = await writeOnnxFile(teacher.model, exported, { preprocessing: teacher.preprocessing });
      report('round trip (engine vs exported file)', result.check);
    } finally {
      teacher.model.dispose();
    }
    // The two files, both in ONNX Runtime, on the same images.
    const rng = new Rng(3);
    const images = Float32Array.from({ length: 4 * 3 * 10 * 10 }, () => rng.next());
    const dims: [number, number, number, number] = [4, 3, 10, 10];
    const run = async (file: string, input: string, output: string): Promise<Float32Array> =>
      runOnnxRuntime(
        { bytes: await fs.readFile(file), inputName: input, outputName: output, file },
        images,
        dims,
      );
    const a = await run(original, 'x', logits);
    const c = await run(exported, 'input', 'logits');
    const diff = Math.max(...a.map((v, i) => Math.abs(v - (c[i] ?? NaN))));
    console.log(`round trip: max |original file - exported file| in ONNX Runtime = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.01);
    // And the exported file imports as a teacher again.
    const again = await importOnnxTeacher(exported);
    again.model.dispose();
    expect(again.info.numClasses).toBe(4);
  });
});

describe('round trip of arithmetic layers', () => {
  it('per-channel normalisation (a 1x1 depthwise affine) and squeeze-and-excitation (Multiply) export again', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8], seed: 12 });
    const normalised = b.node('Div', [
      b.node('Sub', ['x', b.floats('mean', [1, 3, 1, 1], [0.5, 0.4, 0.3])]),
      b.floats('std', [1, 3, 1, 1], [0.2, 0.25, 0.3]),
    ]);
    const y = b.node('Relu', [
      b.node('Conv', [normalised, b.random('w', [4, 3, 3, 3])], { kernel_shape: attr.ints([3, 3]) }),
    ]);
    const gate = b.node('Sigmoid', [
      b.node('Conv', [b.node('GlobalAveragePool', [y]), b.random('se', [4, 4, 1, 1])], {
        kernel_shape: attr.ints([1, 1]),
      }),
    ]);
    const flat = b.node('Flatten', [b.node('Mul', [y, gate])]);
    const logits = b.node('Gemm', [flat, b.random('fc', [144, 3])]);
    const teacher = await importOnnxTeacher(await b.write(await tempDir(), logits));
    try {
      const result = await writeOnnxFile(teacher.model, path.join(await tempDir(), 'se.onnx'), {
        preprocessing: teacher.preprocessing,
      });
      report('normalisation + SE, exported again', result.check);
      expect(result.check.sameTopClass).toBe(result.check.images);
    } finally {
      teacher.model.dispose();
    }
  });
});

describe('labelled test images', () => {
  it('measures accuracy in both runtimes and checks every image', async () => {
    const model = buildPreset('lenet5-half', { numClasses: 10, seed: 2 });
    try {
      randomize(model, 3);
      const rng = new Rng(9);
      const count = 600; // more than one chunk
      const data: LabeledImages = {
        source: 'synthetic digits',
        shape: [28, 28, 1],
        count,
        pixels: Uint8Array.from({ length: count * 784 }, () => rng.int(256)),
        labels: Uint8Array.from({ length: count }, () => rng.int(10)),
        numClasses: 10,
      };
      const result = await writeOnnxFile(model, path.join(await tempDir(), 's.onnx'), {
        preprocessing: defaultPreprocessing([28, 28, 1], [32, 32, 1]),
        testData: data,
      });
      report('lenet5-half on 600 labelled images', result.check);
      expect(result.check.images).toBe(count);
      expect(result.checkedOn).toBe('synthetic digits');
      expect(result.check.correct?.engine).toBe(result.check.correct?.onnxRuntime);
    } finally {
      model.dispose();
    }
  });
});

describe('refusals', () => {
  it('refuses a layer with no ONNX counterpart, naming it, and writes nothing', async () => {
    const input = tfl.input({ shape: [8, 8, 1] });
    const up = tfl.layers.upSampling2d({ name: 'upsample', size: [2, 2] }).apply(input) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten().apply(up) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3 }).apply(flat) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    try {
      const file = path.join(await tempDir(), 'bad.onnx');
      const error = await expectUserError(() => exportOnnx(model), 'ONNX_EXPORT_UNSUPPORTED');
      expect(error.message).toContain('"upsample" (UpSampling2D)');
      await expectUserError(
        () => writeOnnxFile(model, file, { preprocessing: defaultPreprocessing([8, 8, 1], [8, 8, 1]) }),
        'ONNX_EXPORT_UNSUPPORTED',
      );
      await expect(fs.stat(file)).rejects.toThrow();
    } finally {
      model.dispose();
    }
  });

  it('refuses test images of another shape', async () => {
    const model = buildPreset('lenet5-half', { numClasses: 10, seed: 2 });
    try {
      const data: LabeledImages = {
        source: 'colour',
        shape: [32, 32, 3],
        count: 1,
        pixels: new Uint8Array(3072),
        labels: new Uint8Array(1),
        numClasses: 10,
      };
      const file = path.join(await tempDir(), 's.onnx');
      await expectUserError(
        () =>
          writeOnnxFile(model, file, {
            preprocessing: defaultPreprocessing([28, 28, 1], [32, 32, 1]),
            testData: data,
          }),
        'DATASET_SHAPE_MISMATCH',
      );
    } finally {
      model.dispose();
    }
  });
});
