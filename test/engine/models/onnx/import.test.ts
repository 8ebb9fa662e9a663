import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { importOnnxTeacher, type ImportedOnnxTeacher } from '../../../../src/engine/models/onnx/import.js';
import { transpose } from '../../../../src/engine/models/onnx/layout.js';
import { initBackend } from '../../../../src/engine/backend/select.js';
import { tf } from '../../../../src/engine/tf.js';
import { removeTempDirs, tempDir } from '../fixtures.js';
import { attr, OnnxBuilder } from './builder.js';
import { guardTensorLeaks } from '../../leak-guard.js';

/**
 * Each supported operator in a small model written by the test, imported
 * with the engine's converter and checked by importOnnxTeacher itself
 * against ONNX Runtime (the reference implementation), which refuses the
 * import beyond ONNX_TOLERANCE. The largest differences measured are
 * printed so they can be quoted.
 */

// ONNX_TEST_BACKEND=wasm runs these on the wasm backend (the engine's default here), whose
// gradient kernels differ from cpu's: every converted model's input gradient is taken below.
beforeAll(async () => {
  await (process.env['ONNX_TEST_BACKEND'] === 'wasm' ? initBackend({ force: 'wasm' }) : tf.setBackend('cpu'));
});

guardTensorLeaks({ cleanup: removeTempDirs });

/** Imports the model built by `b` with output `output`, checks it and disposes it. */
async function importAndCheck(
  b: OnnxBuilder,
  output: string,
  label: string,
  normalisation: { mean?: number[]; std?: number[] } = {},
): Promise<Omit<ImportedOnnxTeacher, 'model'> & { layers: string[] }> {
  const file = await b.write(await tempDir(), output);
  const teacher = await importOnnxTeacher(file, normalisation);
  const layers = teacher.model.layers.map((l) => l.getClassName());
  // Synthesis differentiates the teacher with respect to its input: every converted layer must have a gradient here.
  const gradientNorm = tf.tidy(() => {
    const x = tf.randomUniform([2, ...teacher.info.inputShape], 0, 1, 'float32', 5);
    const loss = (input: tf.Tensor): tf.Tensor => tf.sum(tf.square(teacher.model.apply(input) as tf.Tensor));
    return tf.norm(tf.grad(loss)(x)).dataSync()[0] ?? 0;
  });
  teacher.model.dispose();
  expect(Number.isFinite(gradientNorm) && gradientNorm > 0).toBe(true);
  const { check } = teacher;
  console.log(
    `${label}: max |engine - ONNX Runtime| = ${check.maxAbsDifference.toExponential(2)} over ${check.images} images (outputs up to ${check.maxAbsOutput.toFixed(3)}, allowed ${check.tolerance.toExponential(1)}); same top class ${check.sameTopClass}/${check.images}`,
  );
  expect(check.maxAbsDifference).toBeLessThanOrEqual(check.tolerance);
  expect(check.sameTopClass).toBe(check.images);
  // A check that passes on all-zero outputs would prove nothing.
  expect(check.maxAbsOutput).toBeGreaterThan(0.01);
  const { model: _model, ...rest } = teacher;
  return { ...rest, layers };
}

describe('transpose', () => {
  it('moves each value where numpy.transpose would', () => {
    const dims = [2, 3, 4, 5];
    const values = Float32Array.from({ length: 120 }, (_, i) => i);
    const perm = [2, 3, 1, 0];
    const out = transpose(values, dims, perm);
    const outDims = perm.map((p) => dims[p]!);
    for (let a = 0; a < outDims[0]!; a++)
      for (let b = 0; b < outDims[1]!; b++)
        for (let c = 0; c < outDims[2]!; c++)
          for (let d = 0; d < outDims[3]!; d++) {
            const index = [0, 0, 0, 0];
            [a, b, c, d].forEach((v, k) => (index[perm[k]!] = v));
            const source = ((index[0]! * 3 + index[1]!) * 4 + index[2]!) * 5 + index[3]!;
            expect(out[((a * outDims[1]! + b) * outDims[2]! + c) * outDims[3]! + d]).toBe(source);
          }
  });
});

describe('importOnnxTeacher: operators, checked against ONNX Runtime', () => {
  it('Conv (bias, pads) + Relu + MaxPool + Flatten + Gemm (transB) + final Softmax (removed)', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const conv = b.node('Conv', ['x', b.random('w1', [4, 3, 3, 3]), b.random('b1', [4])], {
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
    });
    const pool = b.node('MaxPool', [b.node('Relu', [conv])], {
      kernel_shape: attr.ints([2, 2]),
      strides: attr.ints([2, 2]),
    });
    const flat = b.node('Flatten', [pool], { axis: attr.int(1) });
    const logits = b.node('Gemm', [flat, b.random('fc_w', [5, 64]), b.random('fc_b', [5])], {
      transB: attr.int(1),
    });
    const probs = b.node('Softmax', [logits], { axis: attr.int(1) });
    const teacher = await importAndCheck(b, probs, 'conv-relu-maxpool-gemm-softmax');
    expect(teacher.info.inputShape).toEqual([8, 8, 3]);
    expect(teacher.info.numClasses).toBe(5);
    expect(teacher.info.outputWasSoftmax).toBe(true);
    expect(teacher.preprocessing.mean).toEqual([0, 0, 0]);
    expect(teacher.preprocessing.std).toEqual([1, 1, 1]);
    expect(teacher.layers).toContain('Permute'); // NCHW flatten order
  });

  it('a residual block with BatchNormalization, ResNet stem pooling, GlobalAveragePool, Reshape and MatMul + Add', async () => {
    // PyTorch's default export: batch fixed to 1.
    const b = new OnnxBuilder({ input: [1, 3, 16, 16], seed: 2 });
    const stem = b.convBn('x', 3, 8, 3, { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) });
    // ResNet's 3x3/2 max-pool with padding 1 after a Relu: zero padding is exact there.
    const pooled = b.node('MaxPool', [stem], {
      kernel_shape: attr.ints([3, 3]),
      strides: attr.ints([2, 2]),
      pads: attr.ints([1, 1, 1, 1]),
    });
    const y = b.convBn(
      b.convBn(pooled, 8, 8, 3, { pads: attr.ints([1, 1, 1, 1]) }),
      8,
      8,
      3,
      { pads: attr.ints([1, 1, 1, 1]) },
      false,
    );
    const block = b.node('Relu', [b.node('Add', [y, pooled])]);
    const gap = b.node('GlobalAveragePool', [block]);
    const flat = b.node('Reshape', [gap, b.int64s('shape', [1, -1])]);
    const mm = b.node('MatMul', [flat, b.random('fc_w', [8, 10])]);
    const logits = b.node('Add', [mm, b.random('fc_b', [10])]);
    const teacher = await importAndCheck(b, logits, 'residual block');
    expect(teacher.info.outputWasSoftmax).toBe(false);
    expect(teacher.info.numClasses).toBe(10);
    expect(teacher.layers).toContain('Add');
    expect(teacher.layers.filter((l) => l === 'BatchNormalization')).toHaveLength(3);
    expect(teacher.layers).not.toContain('Permute'); // a 1x1 map flattens the same in both layouts
  });

  it('depthwise Conv, SAME_UPPER, LeakyRelu, Sigmoid, Tanh, Clip, Pad, Concat, AveragePool, Dropout, Identity, Gemm alpha/beta', async () => {
    const b = new OnnxBuilder({ input: ['batch', 1, 12, 12], seed: 3 });
    const c1 = b.node('Conv', ['x', b.random('w1', [6, 1, 3, 3])], {
      kernel_shape: attr.ints([3, 3]),
      auto_pad: attr.string('SAME_UPPER'),
      strides: attr.ints([2, 2]),
    });
    const leaky = b.node('LeakyRelu', [c1], { alpha: attr.float(0.2) });
    // Depthwise: one group per channel, 2 outputs per channel.
    const dw = b.node('Conv', [leaky, b.random('dw', [12, 1, 3, 3]), b.random('dwb', [12])], {
      kernel_shape: attr.ints([3, 3]),
      group: attr.int(6),
      pads: attr.ints([1, 1, 1, 1]),
    });
    const left = b.node('Sigmoid', [dw]);
    const right = b.node('Clip', [b.node('Tanh', [dw]), b.floats('lo', [], [0]), b.floats('hi', [], [6])]);
    const joined = b.node('Concat', [left, right], { axis: attr.int(1) });
    const padded = b.node('Pad', [joined, b.int64s('pads', [0, 0, 1, 0, 0, 0, 0, 1])], {
      mode: attr.string('constant'),
    });
    const avg = b.node('AveragePool', [padded], {
      kernel_shape: attr.ints([3, 3]),
      strides: attr.ints([2, 2]),
      pads: attr.ints([1, 1, 1, 1]),
      count_include_pad: attr.int(1),
    });
    const dropped = b.node('Dropout', [b.node('Identity', [avg])]);
    const flat = b.node('Flatten', [dropped]);
    const logits = b.node('Gemm', [flat, b.random('fc_w', [24 * 4 * 4, 4]), b.random('fc_b', [1, 4])], {
      alpha: attr.float(0.5),
      beta: attr.float(2),
    });
    const teacher = await importAndCheck(b, logits, 'depthwise and friends', { mean: [0.5], std: [0.25] });
    expect(teacher.info.inputShape).toEqual([12, 12, 1]);
    expect(teacher.preprocessing.mean).toEqual([0.5]);
    expect(teacher.layers).toEqual(
      expect.arrayContaining([
        'DepthwiseConv2D',
        'Concatenate',
        'ZeroPadding2D',
        'AveragePooling2D',
        'LeakyReLU',
      ]),
    );
  });

  it('a Constant node, AveragePool with same padding (count_include_pad=0), Conv without bias then Add of a constant bias', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 6, 6], seed: 4, opset: 11 });
    const conv = b.node('Conv', ['x', b.random('w', [4, 3, 1, 1])], { kernel_shape: attr.ints([1, 1]) });
    const biased = b.node('Add', [conv, b.random('cb', [1, 4, 1, 1])]);
    const avg = b.node('AveragePool', [biased], {
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
    });
    const shape = b.node('Constant', [], {
      value: { type: 4, t: { dims: [2], dataType: 7, int64Data: [0, -1] } },
    });
    const flat = b.node('Reshape', [avg, shape]);
    const logits = b.node('Gemm', [flat, b.random('fc', [144, 3])]);
    const teacher = await importAndCheck(b, logits, 'constant, same avgpool, bias add');
    expect(teacher.opset).toBe(11);
    expect(teacher.producer).toBe('distill-studio-test');
  });

  it('a Keras model as tf2onnx converts it: NHWC input, Transposes, Reshape to (-1, features), MatMul + Add', async () => {
    const b = new OnnxBuilder({ input: ['unk__6', 28, 28, 1], seed: 8 });
    const nchw = b.node('Transpose', ['x'], { perm: attr.ints([0, 3, 1, 2]) });
    const conv = b.node('Conv', [nchw, b.random('k', [4, 1, 3, 3]), b.random('kb', [4])], {
      kernel_shape: attr.ints([3, 3]),
      strides: attr.ints([2, 2]),
    });
    const nhwc = b.node('Transpose', [b.node('Relu', [conv])], { perm: attr.ints([0, 2, 3, 1]) });
    const flat = b.node('Reshape', [nhwc, b.int64s('shape', [-1, 13 * 13 * 4])]);
    const dense = b.node('Add', [
      b.node('MatMul', [flat, b.random('w', [13 * 13 * 4, 10])]),
      b.random('bias', [10]),
    ]);
    const teacher = await importAndCheck(b, b.node('Softmax', [dense]), 'keras via tf2onnx (NHWC)');
    expect(teacher.info.inputShape).toEqual([28, 28, 1]);
    expect(teacher.info.outputWasSoftmax).toBe(true);
    expect(teacher.layers).not.toContain('Permute'); // flattened in NHWC order, as tfjs does
  });

  it("PyTorch's x.view(x.size(0), -1) with a variable batch: Shape, Gather, Unsqueeze, Concat, Cast into Reshape", async () => {
    const b = new OnnxBuilder({ input: ['batch_size', 3, 8, 8], seed: 9 });
    const conv = b.node('Relu', [
      b.node('Conv', ['x', b.random('w', [4, 3, 3, 3]), b.random('cb', [4])], {
        kernel_shape: attr.ints([3, 3]),
      }),
    ]);
    const shape = b.node('Shape', [conv]);
    const index = b.node('Constant', [], {
      value: { type: 4, t: { dims: [], dataType: 7, int64Data: [0] } },
    });
    const batch = b.node('Gather', [shape, index], { axis: attr.int(0) });
    const unsqueezed = b.node('Unsqueeze', [batch, b.int64s('axes', [0])]);
    const target = b.node(
      'Cast',
      [b.node('Concat', [unsqueezed, b.int64s('minus_one', [-1])], { axis: attr.int(0) })],
      {
        to: attr.int(7),
      },
    );
    const flat = b.node('Reshape', [conv, target]);
    const logits = b.node('Gemm', [flat, b.random('fc', [3, 4 * 6 * 6]), b.random('fb', [3])], {
      transB: attr.int(1),
    });
    const teacher = await importAndCheck(b, logits, 'x.view(x.size(0), -1)');
    expect(teacher.layers).toContain('Permute'); // a 6x6 map: flattened in ONNX's (C, H, W) order
  });

  it('normalisation inside the model (Sub, Div), squeeze-and-excitation and Swish (Mul), an Add that is no bias', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8], seed: 10 });
    const normalised = b.node('Div', [
      b.node('Sub', ['x', b.floats('mean', [1, 3, 1, 1], [0.485, 0.456, 0.406])]),
      b.floats('std', [1, 3, 1, 1], [0.229, 0.224, 0.225]),
    ]);
    const y = b.node('Relu', [
      b.node('Conv', [normalised, b.random('w', [4, 3, 3, 3]), b.random('cb', [4])], {
        kernel_shape: attr.ints([3, 3]),
        pads: attr.ints([1, 1, 1, 1]),
      }),
    ]);
    const squeezed = b.node('GlobalAveragePool', [y]);
    const excite = b.node('Sigmoid', [
      b.node(
        'Conv',
        [
          b.node('Relu', [
            b.node('Conv', [squeezed, b.random('se1', [2, 4, 1, 1])], { kernel_shape: attr.ints([1, 1]) }),
          ]),
          b.random('se2', [4, 2, 1, 1]),
        ],
        {
          kernel_shape: attr.ints([1, 1]),
        },
      ),
    ]);
    const scaled = b.node('Mul', [y, excite]);
    const swish = b.node('Mul', [scaled, b.node('Sigmoid', [scaled])]);
    const shifted = b.node('Add', [b.floats('shift', [4, 1, 1], [0.1, -0.2, 0.3, 0.05]), swish]);
    const flat = b.node('Flatten', [b.node('GlobalAveragePool', [shifted])]);
    const logits = b.node('Gemm', [flat, b.random('fc', [4, 5], 2)]);
    const teacher = await importAndCheck(b, logits, 'normalisation, SE, Swish');
    expect(teacher.layers).toEqual(expect.arrayContaining(['Multiply', 'DepthwiseConv2D']));
  });

  it('a Keras model with Rescaling(1/255) as tf2onnx writes it: Mul on the NHWC input before the Transpose', async () => {
    const b = new OnnxBuilder({ input: ['unk__1', 16, 16, 3], seed: 11 });
    const scaled = b.node('Mul', ['x', b.floats('scale', [], [1 / 255])]);
    const nchw = b.node('Transpose', [scaled], { perm: attr.ints([0, 3, 1, 2]) });
    const conv = b.node('Relu', [
      b.node('Conv', [nchw, b.random('k', [4, 3, 3, 3]), b.random('kb', [4])], {
        kernel_shape: attr.ints([3, 3]),
      }),
    ]);
    const flat = b.node('Flatten', [b.node('GlobalAveragePool', [conv])]);
    const logits = b.node('Add', [b.node('MatMul', [flat, b.random('w', [4, 3], 2)]), b.random('bias', [3])]);
    // Raw pixels 0..255, as the Keras model expects them: std 1/255.
    const teacher = await importAndCheck(b, logits, 'keras rescaling (NHWC)', { std: [1 / 255] });
    expect(teacher.info.inputShape).toEqual([16, 16, 3]);
    expect(teacher.info.warnings).toEqual([]);
    // Given pixels in 0..1 instead, it would see them divided by 255 again: the import says so.
    const unscaled = await importOnnxTeacher(await b.write(await tempDir(), logits));
    unscaled.model.dispose();
    expect(unscaled.info.warnings).toEqual([
      expect.stringMatching(/divides its input by 255 itself .*--std 0\.0039215686/),
    ]);
  });

  it('ReduceMean as global average pooling: over (H, W) of NCHW with opset 18 axes input, and over NHWC as tf2onnx writes it', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8], seed: 13, opset: 18 });
    const conv = b.node('Relu', [
      b.node('Conv', ['x', b.random('w', [4, 3, 3, 3]), b.random('cb', [4])], {
        kernel_shape: attr.ints([3, 3]),
      }),
    ]);
    const mean = b.node('ReduceMean', [conv, b.int64s('axes', [-1, -2])], { keepdims: attr.int(0) });
    const teacher = await importAndCheck(
      b,
      b.node('Gemm', [mean, b.random('fc', [4, 3], 2)]),
      'ReduceMean (NCHW)',
    );
    expect(teacher.layers).toContain('GlobalAveragePooling2D');

    const k = new OnnxBuilder({ input: ['unk', 8, 8, 3], seed: 14 });
    const nchw = k.node('Transpose', ['x'], { perm: attr.ints([0, 3, 1, 2]) });
    const relu = k.node('Relu', [
      k.node('Conv', [nchw, k.random('w', [4, 3, 3, 3]), k.random('cb', [4])], {
        kernel_shape: attr.ints([3, 3]),
      }),
    ]);
    const nhwc = k.node('Transpose', [relu], { perm: attr.ints([0, 2, 3, 1]) });
    const pooled = k.node('ReduceMean', [nhwc], { axes: attr.ints([1, 2]), keepdims: attr.int(1) });
    const flat = k.node('Reshape', [pooled, k.int64s('shape', [-1, 4])]);
    const logits = k.node('Add', [
      k.node('MatMul', [flat, k.random('dense', [4, 3], 2)]),
      k.random('bias', [3]),
    ]);
    await importAndCheck(k, logits, 'ReduceMean (NHWC, keepdims)');
  });

  it('Squeeze of the 1x1 map after a global pooling (axes as an attribute, or from opset 13 an input)', async () => {
    for (const opset of [11, 13]) {
      const b = new OnnxBuilder({ input: ['N', 3, 8, 8], seed: 15, opset });
      const conv = b.node('Relu', [
        b.node('Conv', ['x', b.random('w', [4, 3, 3, 3]), b.random('cb', [4])], {
          kernel_shape: attr.ints([3, 3]),
        }),
      ]);
      const gap = b.node('GlobalAveragePool', [conv]);
      const squeezed =
        opset >= 13
          ? b.node('Squeeze', [gap, b.int64s('axes', [2, 3])])
          : b.node('Squeeze', [gap], { axes: attr.ints([-1, -2]) });
      await importAndCheck(
        b,
        b.node('Gemm', [squeezed, b.random('fc', [4, 3], 2)]),
        `Squeeze (opset ${opset})`,
      );
    }
  });
});
