import '@tensorflow/tfjs-backend-cpu';
import { promises as fs, truncateSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertOnnx } from '../../src/engine/models/onnx/convert.js';
import { readOnnxFile } from '../../src/engine/models/onnx/file.js';
import { importOnnxTeacher, verifyWithOnnxRuntime } from '../../src/engine/models/onnx/import.js';
import { LIMITS } from '../../src/shared/limits.js';
import { tf } from '../../src/engine/tf.js';
import { removeTempDirs, tempDir } from '../engine/models/fixtures.js';
import { attr, encodeModel, onnx, OnnxBuilder } from '../engine/models/onnx/builder.js';
import { expectRefused } from './helpers.js';
import { guardTensorLeaks } from '../engine/leak-guard.js';

/**
 * Malformed and unsupported .onnx files: each refused by importOnnxTeacher
 * with its own code, a one-line message naming the problem (and for graph
 * problems the operator and the node) and a fix; no tensor or variable is
 * left behind.
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks({ variables: true, cleanup: removeTempDirs });

/** A valid small classifier: Conv, Relu, GlobalAveragePool, Flatten, Gemm. */
function classifier(
  input: (number | string)[] = ['N', 3, 8, 8],
  seed = 1,
): { b: OnnxBuilder; output: string } {
  const b = new OnnxBuilder({ input, seed });
  const channels = typeof input[1] === 'number' ? input[1] : 3;
  const conv = b.node('Conv', ['x', b.random('w', [4, channels, 3, 3]), b.random('cb', [4])], {
    kernel_shape: attr.ints([3, 3]),
  });
  const flat = b.node('Flatten', [b.node('GlobalAveragePool', [b.node('Relu', [conv])])]);
  const output = b.node('Gemm', [flat, b.random('fc', [3, 4]), b.random('fb', [3])], { transB: attr.int(1) });
  return { b, output };
}

async function write(bytes: Uint8Array | string, name = 'model.onnx'): Promise<string> {
  const file = path.join(await tempDir(), name);
  await fs.writeFile(file, bytes);
  return file;
}

describe('ONNX files that are not readable models', () => {
  it('refuses a missing file', async () => {
    await expectRefused(() => importOnnxTeacher('/nonexistent/model.onnx'), 'ONNX_FILE_MISSING');
  });

  it('refuses a folder', async () => {
    await expectRefused(async () => importOnnxTeacher(await tempDir()), 'ONNX_NOT_A_FILE');
  });

  it('refuses a file over the size limit before reading it', async () => {
    const file = await write('');
    truncateSync(file, LIMITS.onnxFileBytes + 1); // sparse: no disk used
    const error = await expectRefused(() => importOnnxTeacher(file), 'ONNX_TOO_LARGE');
    expect(error.message).toMatch(/544 MiB/);
  });

  it('refuses bytes that are not protobuf', async () => {
    await expectRefused(async () => importOnnxTeacher(await write('{"this": "is json"}')), 'ONNX_INVALID');
  });

  it('refuses an empty file (no graph)', async () => {
    await expectRefused(async () => importOnnxTeacher(await write('')), 'ONNX_INVALID');
  });

  it('refuses a truncated file', async () => {
    const { b, output } = classifier();
    const bytes = b.encode(output);
    await expectRefused(
      async () => importOnnxTeacher(await write(bytes.subarray(0, bytes.length - 37))),
      'ONNX_INVALID',
    );
  });

  it('refuses a model without an opset', async () => {
    const { b, output } = classifier();
    const model = b.model(output);
    model.opsetImport = [];
    await expectRefused(async () => importOnnxTeacher(await write(encodeModel(model))), 'ONNX_INVALID');
  });

  it('refuses weights stored in an external file', async () => {
    const { b, output } = classifier();
    const model = b.model(output);
    const w = model.graph!.initializer![0]!;
    w.rawData = new Uint8Array();
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [{ key: 'location', value: 'weights.bin' }];
    const error = await expectRefused(
      async () => importOnnxTeacher(await write(encodeModel(model))),
      'ONNX_EXTERNAL_DATA',
    );
    expect(error.message).toContain('initializer "w"');
  });

  it('refuses float16 weights', async () => {
    const { b, output } = classifier();
    const model = b.model(output);
    const w = model.graph!.initializer![0]!;
    w.dataType = onnx.TensorProto.DataType.FLOAT16;
    w.rawData = new Uint8Array(4 * 3 * 3 * 3 * 2);
    const error = await expectRefused(
      async () => importOnnxTeacher(await write(encodeModel(model))),
      'ONNX_TENSOR_TYPE_UNSUPPORTED',
    );
    expect(error.message).toContain('float16');
  });

  it('refuses weights whose byte count does not fit their shape', async () => {
    const { b, output } = classifier();
    const model = b.model(output);
    const w = model.graph!.initializer![0]!;
    w.rawData = (w.rawData as Uint8Array).subarray(0, 12);
    const error = await expectRefused(
      async () => importOnnxTeacher(await write(encodeModel(model))),
      'ONNX_TENSOR_INVALID',
    );
    expect(error.message).toMatch(/holds 12 bytes.*needs 432/);
  });
});

describe('ONNX graphs that are not image classifiers', () => {
  it('refuses two inputs', async () => {
    const { b, output } = classifier();
    b.extraInputs.push({
      name: 'y',
      type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } },
    });
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), output)),
      'ONNX_INPUT_NOT_IMAGE',
    );
  });

  it('refuses a flat input', async () => {
    const b = new OnnxBuilder({ input: ['N', 64] });
    const output = b.node('Gemm', ['x', b.random('fc', [64, 3])]);
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), output)),
      'ONNX_INPUT_NOT_IMAGE',
    );
  });

  it('refuses an input of unknown height and width', async () => {
    const { b, output } = classifier(['N', 3, 'height', 'width']);
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), output)),
      'ONNX_INPUT_SIZE_UNKNOWN',
    );
    expect(error.fix).toContain('torch.onnx.export');
  });

  it('refuses RGBA input (as for model folders)', async () => {
    const { b, output } = classifier(['N', 4, 8, 8]);
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), output)),
      'TEACHER_INPUT_CHANNELS',
    );
  });

  it('refuses a final Sigmoid (multi-label, as for model folders)', async () => {
    const { b, output } = classifier();
    const sigmoid = b.node('Sigmoid', [output]);
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), sigmoid)),
      'TEACHER_OUTPUT_SIGMOID',
    );
  });

  it('refuses a model whose output is an image', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const output = b.node('Relu', ['x']);
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), output)),
      'TEACHER_OUTPUT_NOT_CLASSES',
    );
  });
});

describe('operators the engine cannot convert, named with their node', () => {
  it('refuses an unsupported operator, naming it and the node', async () => {
    const { b, output } = classifier();
    const lstm = b.node('Erf', [output], {}, { name: '/head/erf' });
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), lstm)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toContain('node "/head/erf" (Erf)');
    expect(error.message).toContain('supported: ');
  });

  it('refuses an operator from another domain', async () => {
    const { b, output } = classifier();
    const custom = b.node('Relu', [output], {}, { name: 'fused', domain: 'com.microsoft' });
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), custom)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toContain('com.microsoft');
  });

  it('refuses a Softmax that is not the last node', async () => {
    const { b, output } = classifier();
    const inner = b.node('Softmax', [output], {}, { name: 'inner_softmax' });
    const last = b.node('Relu', [inner]);
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), last)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toContain('"inner_softmax" (Softmax)');
  });

  it('refuses a grouped (not depthwise) convolution', async () => {
    const b = new OnnxBuilder({ input: ['N', 4, 8, 8] });
    const conv = b.node(
      'Conv',
      ['x', b.random('w', [4, 2, 3, 3])],
      { kernel_shape: attr.ints([3, 3]), group: attr.int(2) },
      { name: 'grouped' },
    );
    const out = b.node('Gemm', [
      b.node('Flatten', [b.node('GlobalAveragePool', [conv])]),
      b.random('fc', [4, 3]),
    ]);
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toMatch(/"grouped" \(Conv\).*2 groups/);
  });

  it('refuses a dilated convolution (tfjs cannot differentiate it, and synthesis must)', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const conv = b.node(
      'Conv',
      ['x', b.random('w', [4, 3, 3, 3])],
      { kernel_shape: attr.ints([3, 3]), dilations: attr.ints([2, 2]) },
      { name: 'atrous' },
    );
    const out = b.node('Gemm', [
      b.node('Flatten', [b.node('GlobalAveragePool', [conv])]),
      b.random('fc', [4, 3]),
    ]);
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toMatch(/"atrous" \(Conv\).*dilated/);
  });

  it('refuses MaxPool padding on inputs that may be negative', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const pool = b.node(
      'MaxPool',
      ['x'],
      { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) },
      { name: 'pool' },
    );
    const out = b.node('Gemm', [b.node('Flatten', [pool]), b.random('fc', [48, 3])]);
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toContain('non-negative');
  });

  it('refuses a Reshape that is not a flatten', async () => {
    const { b } = classifier();
    const reshaped = b.node('Reshape', ['x', b.int64s('shape', [0, 3, 64])], {}, { name: 'unflatten' });
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), reshaped)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toMatch(/"unflatten" \(Reshape\).*\[0, 3, 64\]/);
  });

  it('refuses shape operators used on tensors, and shape arithmetic the engine cannot follow', async () => {
    const { b, output } = classifier();
    const gathered = b.node('Gather', [output, b.int64s('i', [0])], { axis: attr.int(1) }, { name: 'pick' });
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), gathered)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toMatch(/"pick" \(Gather\).*only supported on shapes/);
    const c = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const shape = c.node('Shape', ['x']);
    const doubled = c.node('Mul', [shape, c.int64s('two', [2])]);
    const reshaped = c.node('Reshape', ['x', doubled], {}, { name: 'computed' });
    const out = c.node('Gemm', [reshaped, c.random('fc', [192, 3])]);
    const mul = await expectRefused(
      async () => importOnnxTeacher(await c.write(await tempDir(), out)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(mul.message).toContain('(Mul)');
  });

  it('refuses arithmetic the engine cannot map: a tensor minus a tensor, a constant divided by an image', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const diff = b.node('Sub', ['x', b.node('Relu', ['x'])], {}, { name: 'difference' });
    const out = b.node('Gemm', [
      b.node('Flatten', [b.node('GlobalAveragePool', [diff])]),
      b.random('fc', [3, 3]),
    ]);
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(error.message).toMatch(/"difference" \(Sub\)/);
    const c = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const inverse = c.node('Div', [c.floats('one', [], [1]), 'x'], {}, { name: 'inverse' });
    const out2 = c.node('Gemm', [
      c.node('Flatten', [c.node('GlobalAveragePool', [inverse])]),
      c.random('fc', [3, 3]),
    ]);
    const inv = await expectRefused(
      async () => importOnnxTeacher(await c.write(await tempDir(), out2)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
    expect(inv.message).toMatch(/"inverse" \(Div\).*only dividing an image by a constant/);
  });

  it('refuses an Add of a constant that is not a bias', async () => {
    const { b, output } = classifier();
    const shifted = b.node('Add', [b.node('Relu', [output]), b.random('shift', [3])], {}, { name: 'shift' });
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), shifted)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
  });

  it('refuses weights computed by the graph', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const w = b.node('Relu', [b.random('w', [4, 3, 3, 3])]);
    const conv = b.node('Conv', ['x', w], { kernel_shape: attr.ints([3, 3]) }, { name: 'dynamic' });
    const out = b.node('Gemm', [
      b.node('Flatten', [b.node('GlobalAveragePool', [conv])]),
      b.random('fc', [4, 3]),
    ]);
    // The Relu of a constant is refused first: its input is a constant where a tensor was expected.
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_OPERATOR_UNSUPPORTED',
    );
  });
});

describe('mismatched files', () => {
  it('refuses Conv weights that do not fit the input channels', async () => {
    const b = new OnnxBuilder({ input: ['N', 3, 8, 8] });
    const conv = b.node(
      'Conv',
      ['x', b.random('w', [4, 2, 3, 3])],
      { kernel_shape: attr.ints([3, 3]) },
      { name: 'conv' },
    );
    const out = b.node('Gemm', [
      b.node('Flatten', [b.node('GlobalAveragePool', [conv])]),
      b.random('fc', [4, 3]),
    ]);
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_NODE_INVALID',
    );
    expect(error.message).toMatch(/"conv" \(Conv\).*2 input channels.*3/);
  });

  it('refuses a Gemm whose weights do not fit its input', async () => {
    const { b } = classifier();
    const flat = b.node('Flatten', ['x']);
    const out = b.node('Gemm', [flat, b.random('fc2', [100, 3])], {}, { name: 'fc' });
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_NODE_INVALID',
    );
    expect(error.message).toMatch(/"fc" \(Gemm\).*100 inputs.*192 features/);
  });

  it('refuses a node reading a tensor nothing computes', async () => {
    const { b } = classifier();
    const out = b.node('Relu', ['nowhere'], {}, { name: 'orphan' });
    await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), out)),
      'ONNX_NODE_INVALID',
    );
  });

  it('refuses a file ONNX Runtime cannot load, with its reason', async () => {
    const { b, output } = classifier();
    // An attribute Relu does not have: the converter ignores it, ONNX Runtime's checker does not.
    const relu = b.node('Relu', [output], { bogus: attr.int(1) });
    const error = await expectRefused(
      async () => importOnnxTeacher(await b.write(await tempDir(), relu)),
      'ONNX_RUNTIME_REFUSED',
    );
    expect(error.message).toContain('bogus');
  });

  it('refuses a converted model that ONNX Runtime disagrees with, showing the largest difference', async () => {
    const a = classifier(['N', 3, 8, 8], 1);
    const other = classifier(['N', 3, 8, 8], 2); // same graph, other weights
    const { graph } = await readOnnxFile(await a.b.write(await tempDir(), a.output));
    const converted = convertOnnx(graph, 'a.onnx');
    try {
      const error = await expectRefused(
        () =>
          verifyWithOnnxRuntime(
            converted.model,
            { bytes: other.b.encode(other.output), inputName: 'x', outputName: other.output, file: 'b.onnx' },
            [8, 8, 3],
            { sourceShape: [8, 8, 3], mean: [0, 0, 0], std: [1, 1, 1] },
          ),
        'ONNX_MISMATCH',
      );
      expect(error.message).toMatch(/largest difference .* is \d/);
    } finally {
      converted.model.dispose();
    }
  });
});
