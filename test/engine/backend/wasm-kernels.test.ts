import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMD_KERNELS_ENV, simdKernelsFor } from '../../../src/engine/backend/simd-kernels.js';
import { registerWasmTrainingKernels } from '../../../src/engine/backend/wasm-kernels.js';
import { tf, tfl } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';

// Every check computes the same thing on the cpu backend (tfjs's reference
// implementation, which has all gradient kernels) and on wasm with our added
// and replaced kernels, from the same numbers, and compares.

beforeAll(async () => {
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});

function normals(seed: number, size: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** A convolution's padding, as tf.conv2d takes it. */
type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

/** Runs `compute` on the given backend and returns its outputs as arrays. */
async function on(backend: 'cpu' | 'wasm', compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  expect(await tf.setBackend(backend)).toBe(true);
  const outputs = tf.tidy(compute);
  const values = await Promise.all(outputs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(outputs);
  await tf.setBackend('wasm');
  return values;
}

/** Largest absolute difference, relative to the largest magnitude in `expected`. */
function relativeError(expected: Float32Array, actual: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 1e-6;
  expected.forEach((e, i) => {
    diff = Math.max(diff, Math.abs(e - (actual[i] ?? Number.NaN)));
    scale = Math.max(scale, Math.abs(e));
  });
  return diff / scale;
}

async function expectSameOnBothBackends(compute: () => tf.Tensor[], tolerance: number): Promise<void> {
  const [reference, candidate] = [await on('cpu', compute), await on('wasm', compute)];
  expect(candidate).toHaveLength(reference.length);
  reference.forEach((expected, i) => {
    expect(relativeError(expected, candidate[i] ?? new Float32Array()), `output ${i}`).toBeLessThan(
      tolerance,
    );
  });
}

// Each kernel is checked twice: with kernels.c (Distill Studio's SIMD module on the backend's
// memory) and without it (DISTILL_SIMD_KERNELS=0: XNNPACK and JavaScript paths), since either
// may be the one a machine runs.
describe.each([
  { path: 'with kernels.c', env: undefined },
  { path: 'without kernels.c', env: '0' },
])('$path', ({ env }) => {
  beforeAll(() => {
    if (env === undefined) delete process.env[SIMD_KERNELS_ENV];
    else process.env[SIMD_KERNELS_ENV] = env;
  });
  afterAll(() => {
    delete process.env[SIMD_KERNELS_ENV];
  });

  it(env === undefined ? 'runs kernels.c here' : 'runs without kernels.c when told to', () => {
    expect(simdKernelsFor(tf.backend()) !== undefined).toBe(env === undefined);
  });

  describe('Conv2DBackpropFilter on wasm', () => {
    const cases: {
      batch: number;
      size: [number, number];
      inC: number;
      outC: number;
      kernel: number;
      stride: number | [number, number];
      pad: Pad;
    }[] = [
      { batch: 2, size: [32, 32], inC: 1, outC: 6, kernel: 5, stride: 1, pad: 'valid' },
      // kernels.c's channels-last path (output channels a multiple of 4, no padding, stride 1
      // across): 8 channels a vector pair, 12 in vectors of 4, a filter wider than five columns,
      // a row stride with a row no window reaches.
      { batch: 3, size: [14, 14], inC: 6, outC: 16, kernel: 5, stride: 1, pad: 'valid' },
      { batch: 2, size: [9, 11], inC: 4, outC: 12, kernel: 3, stride: 1, pad: 'valid' },
      { batch: 2, size: [10, 12], inC: 2, outC: 4, kernel: 7, stride: 1, pad: 'valid' },
      { batch: 2, size: [10, 9], inC: 3, outC: 8, kernel: 3, stride: [2, 1], pad: 'valid' },
      { batch: 3, size: [14, 14], inC: 3, outC: 8, kernel: 5, stride: 1, pad: 'valid' },
      { batch: 3, size: [13, 11], inC: 3, outC: 8, kernel: 3, stride: 2, pad: 'same' },
      { batch: 4, size: [14, 15], inC: 6, outC: 16, kernel: 5, stride: 2, pad: 'valid' },
      { batch: 1, size: [9, 9], inC: 3, outC: 8, kernel: 3, stride: 2, pad: 'valid' },
      { batch: 2, size: [8, 8], inC: 6, outC: 16, kernel: 3, stride: 1, pad: 'same' },
      { batch: 5, size: [12, 10], inC: 1, outC: 6, kernel: 5, stride: 2, pad: 'same' },
      {
        batch: 2,
        size: [7, 9],
        inC: 3,
        outC: 4,
        kernel: 3,
        stride: 2,
        pad: [
          [0, 0],
          [1, 2],
          [2, 0],
          [0, 0],
        ],
      },
    ];

    it.each(cases)(
      'matches cpu: batch $batch, size $size, $inC->$outC channels, kernel $kernel, stride $stride, pad $pad',
      async (c) => {
        const xShape: [number, number, number, number] = [c.batch, ...c.size, c.inC];
        const filterShape: [number, number, number, number] = [c.kernel, c.kernel, c.inC, c.outC];
        const xValues = normals(1, tf.util.sizeFromShape(xShape));
        const filterValues = normals(2, tf.util.sizeFromShape(filterShape));
        await expectSameOnBothBackends(() => {
          const x = tf.tensor4d(xValues, xShape);
          const filter = tf.tensor4d(filterValues, filterShape);
          const outShape = tf.conv2d(x, filter, c.stride, c.pad).shape;
          const dy = tf.tensor(normals(3, tf.util.sizeFromShape(outShape)), outShape);
          // d/dfilter of Σ conv(x, filter)·dy is exactly Conv2DBackpropFilter(x, dy).
          const filterGrad = tf.grad((f: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.stride, c.pad), dy)),
          )(filter);
          return [filterGrad];
        }, 1e-4);
      },
    );
  });

  describe('Conv2DBackpropInput on wasm (faster for stride 1)', () => {
    const cases: {
      size: [number, number];
      inC: number;
      outC: number;
      kernel: number;
      stride: number;
      pad: Pad;
    }[] = [
      { size: [32, 32], inC: 1, outC: 6, kernel: 5, stride: 1, pad: 'valid' },
      { size: [9, 11], inC: 6, outC: 16, kernel: 3, stride: 1, pad: 'same' },
      { size: [8, 7], inC: 3, outC: 8, kernel: 4, stride: 1, pad: 'same' },
      {
        size: [7, 9],
        inC: 3,
        outC: 4,
        kernel: 3,
        stride: 1,
        pad: [
          [0, 0],
          [2, 0],
          [1, 2],
          [0, 0],
        ],
      },
      {
        size: [9, 9],
        inC: 2,
        outC: 3,
        kernel: 3,
        stride: 1,
        pad: [
          [0, 0],
          [4, 4],
          [0, 0],
          [0, 0],
        ],
      },
      { size: [13, 11], inC: 3, outC: 8, kernel: 3, stride: 2, pad: 'same' },
    ];

    it.each(cases)(
      'matches cpu: size $size, $inC->$outC channels, kernel $kernel, stride $stride, pad $pad',
      async (c) => {
        const xShape: [number, number, number, number] = [3, ...c.size, c.inC];
        const filterShape: [number, number, number, number] = [c.kernel, c.kernel, c.inC, c.outC];
        const xValues = normals(5, tf.util.sizeFromShape(xShape));
        const filterValues = normals(6, tf.util.sizeFromShape(filterShape));
        await expectSameOnBothBackends(() => {
          const filter = tf.tensor4d(filterValues, filterShape);
          const x = tf.tensor4d(xValues, xShape);
          const outShape = tf.conv2d(x, filter, c.stride, c.pad).shape;
          const dy = tf.tensor(normals(7, tf.util.sizeFromShape(outShape)), outShape);
          const inputGrad = tf.grad((input: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, filter, c.stride, c.pad), dy)),
          )(x);
          return [inputGrad];
        }, 1e-4);
      },
    );
  });

  describe('MaxPoolGrad on wasm (over wasm memory)', () => {
    const cases: {
      size: [number, number];
      channels: number;
      window: number;
      stride: number;
      pad: 'valid' | 'same';
    }[] = [
      // Windows that tile the image: kernels.c's SIMD path (4 channels at a time, the last group
      // of 4 overlapping when the count is not a multiple of 4).
      { size: [28, 28], channels: 6, window: 2, stride: 2, pad: 'valid' },
      { size: [10, 10], channels: 16, window: 2, stride: 2, pad: 'valid' },
      { size: [9, 6], channels: 4, window: 3, stride: 3, pad: 'valid' },
      // 2 or 3 channels in 2x2 windows: a window's channels in one vector, the last of each row
      // scalar (LeNet-5-half's first pooling); other windows of fewer than 4 channels one at a time.
      { size: [28, 28], channels: 3, window: 2, stride: 2, pad: 'valid' },
      { size: [6, 10], channels: 2, window: 2, stride: 2, pad: 'valid' },
      { size: [7, 9], channels: 3, window: 2, stride: 2, pad: 'valid' },
      { size: [4, 2], channels: 3, window: 2, stride: 2, pad: 'valid' },
      { size: [9, 6], channels: 2, window: 3, stride: 3, pad: 'valid' },
      // The same, with a last row and column no window covers (their gradient is zero).
      { size: [7, 9], channels: 5, window: 2, stride: 2, pad: 'valid' },
      { size: [11, 9], channels: 3, window: 3, stride: 2, pad: 'valid' },
      { size: [11, 9], channels: 3, window: 3, stride: 2, pad: 'same' },
      { size: [7, 8], channels: 2, window: 3, stride: 1, pad: 'same' },
      { size: [5, 5], channels: 1, window: 2, stride: 2, pad: 'same' },
    ];

    it.each(cases)(
      'matches cpu: size $size, $channels channels, window $window, stride $stride, pad $pad',
      async (c) => {
        const xShape: [number, number, number, number] = [3, ...c.size, c.channels];
        const xValues = normals(8, tf.util.sizeFromShape(xShape));
        await expectSameOnBothBackends(() => {
          const x = tf.tensor4d(xValues, xShape);
          const outShape = tf.maxPool(x, c.window, c.stride, c.pad).shape;
          const dy = tf.tensor(normals(9, tf.util.sizeFromShape(outShape)), outShape);
          return [
            tf.grad((input: tf.Tensor) =>
              tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, c.window, c.stride, c.pad), dy)),
            )(x),
          ];
        }, 1e-6);
      },
    );

    it.each([2, 4, 6])(
      "gives a tied window's gradient to its first largest input, as cpu does (ReLU zeros), %i channels",
      async (channels) => {
        // Whole windows of zeros, as after a ReLU: every input ties. Some windows hold only -inf,
        // which passes nothing back.
        const size = 2 * 4 * 4 * channels;
        const values = Float32Array.from({ length: size }, (_, i) =>
          i % 5 === 0 ? 1 + (i % 3) : i < size / 4 ? -Infinity : 0,
        );
        await expectSameOnBothBackends(() => {
          const x = tf.tensor4d(values, [2, 4, 4, channels]);
          const dy = tf.tensor4d(normals(10, 2 * 2 * 2 * channels), [2, 2, 2, channels]);
          return [
            tf.grad((input: tf.Tensor) =>
              tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid'), dy)),
            )(x),
          ];
        }, 1e-7);
      },
    );

    it.each([1, 2, 3, 4, 5, 6])(
      'picks the same winner as cpu among ties in every order, NaN and -inf, %i channels',
      async (channels) => {
        // Inputs from {0, 1, 2}, so that windows tie in every pattern, with some NaN and -inf.
        const rng = new Rng(channels);
        const shape: [number, number, number, number] = [2, 8, 10, channels];
        const values = Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => {
          const u = rng.next();
          return u < 0.05 ? Number.NaN : u < 0.1 ? -Infinity : Math.floor(rng.next() * 3);
        });
        await expectSameOnBothBackends(() => {
          const x = tf.tensor4d(values, shape);
          const dy = tf.tensor4d(normals(11, 2 * 4 * 5 * channels), [2, 4, 5, channels]);
          return [
            tf.grad((input: tf.Tensor) =>
              tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid'), dy)),
            )(x),
          ];
        }, 1e-7);
      },
    );
  });

  describe('BatchMatMul on wasm (faster with a transposed operand)', () => {
    it('matches cpu for every transpose combination, in 2-D and batched', async () => {
      const a = normals(8, 6 * 5);
      const b = normals(9, 5 * 6);
      await expectSameOnBothBackends(() => {
        const products: tf.Tensor[] = [];
        for (const transposeA of [false, true]) {
          for (const transposeB of [false, true]) {
            products.push(
              tf.matMul(
                tf.tensor2d(a, transposeA ? [5, 6] : [6, 5]),
                tf.tensor2d(b, transposeB ? [6, 5] : [5, 6]),
                transposeA,
                transposeB,
              ),
            );
            products.push(
              tf.matMul(
                tf.tensor3d(a, transposeA ? [2, 5, 3] : [2, 3, 5]),
                tf.tensor3d(b, transposeB ? [2, 3, 5] : [2, 5, 3]),
                transposeA,
                transposeB,
              ),
            );
          }
        }
        return products;
      }, 1e-6);
    });
  });

  describe('UnsortedSegmentSum on wasm', () => {
    it('sums rows by segment, drops out-of-range ids, and makes tf.gather differentiable', async () => {
      const [sums] = await on('wasm', () => [
        tf.unsortedSegmentSum(
          tf.tensor2d([
            [1, 2],
            [3, 4],
            [5, 6],
            [7, 8],
          ]),
          tf.tensor1d([0, 2, 0, -1], 'int32'),
          3,
        ),
      ]);
      expect(Array.from(sums ?? [])).toEqual([6, 8, 0, 0, 3, 4]);
      const xValues = normals(4, 2 * 5 * 3);
      await expectSameOnBothBackends(() => {
        const weights = tf.reshape(tf.range(1, 16), [1, 5, 3]);
        const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, [4, 0, 0, 2, 1], 1), weights)))(
          tf.tensor3d(xValues, [2, 5, 3]),
        );
        return [grad];
      }, 1e-6);
    });
  });

  // Model families the engine trains (small versions): every layer type whose
  // gradient must exist on wasm appears at least once.
  function lenet(seed: number): tfl.LayersModel {
    const init = (s: number) => tfl.initializers.glorotNormal({ seed: seed + s });
    return tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [16, 16, 1],
          filters: 6,
          kernelSize: 5,
          activation: 'tanh',
          kernelInitializer: init(1),
        }),
        tfl.layers.averagePooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 12, activation: 'relu', kernelInitializer: init(3) }),
        tfl.layers.dense({ units: 10, kernelInitializer: init(4) }),
      ],
    });
  }

  function residual(seed: number): tfl.LayersModel {
    const init = (s: number) => tfl.initializers.heNormal({ seed: seed + s });
    const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
      layer.apply(x) as tfl.SymbolicTensor;
    const input = tfl.input({ shape: [12, 12, 3] });
    let x = apply(
      tfl.layers.conv2d({
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(1),
      }),
      input,
    );
    x = apply(tfl.layers.reLU(), apply(tfl.layers.batchNormalization(), x));
    let y = apply(
      tfl.layers.conv2d({
        filters: 12,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(2),
      }),
      x,
    );
    y = apply(tfl.layers.reLU(), apply(tfl.layers.batchNormalization(), y));
    y = apply(
      tfl.layers.batchNormalization(),
      apply(
        tfl.layers.conv2d({
          filters: 12,
          kernelSize: 3,
          padding: 'same',
          useBias: false,
          kernelInitializer: init(3),
        }),
        y,
      ),
    );
    const shortcut = apply(
      tfl.layers.conv2d({
        filters: 12,
        kernelSize: 1,
        strides: 2,
        useBias: false,
        kernelInitializer: init(4),
      }),
      x,
    );
    let z = apply(tfl.layers.reLU(), apply(tfl.layers.add(), [y, shortcut]));
    z = apply(tfl.layers.globalAveragePooling2d({}), z);
    // A fixed dropout seed draws the same mask on both backends.
    z = apply(tfl.layers.dropout({ rate: 0.25, seed: seed + 5 }), z);
    return tfl.model({
      inputs: input,
      outputs: apply(tfl.layers.dense({ units: 10, kernelInitializer: init(6) }), z),
    });
  }

  /** Gradients of a training-mode cross-entropy loss with respect to every weight and to the input. */
  function lossGradients(model: tfl.LayersModel, x: tf.Tensor, labels: tf.Tensor): tf.Tensor[] {
    const loss = (input: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(labels, model.apply(input, { training: true }) as tf.Tensor) as tf.Scalar;
    const { value, grads } = tf.variableGrads(() => loss(x));
    const inputGrad = tf.grad(loss)(x);
    return [value, ...model.trainableWeights.map((w) => grads[w.name] ?? tf.scalar(Number.NaN)), inputGrad];
  }

  describe('model gradients on wasm', () => {
    const families = [
      { name: 'LeNet (conv, avg/max pool, dense, tanh/relu)', build: lenet, inputShape: [4, 16, 16, 1] },
      {
        name: 'ResNet block (stride-2 conv, batch norm in training mode, add, global pool, dropout)',
        build: residual,
        inputShape: [4, 12, 12, 3],
      },
    ];

    it.each(families)('match cpu for weights and input: $name', async ({ build, inputShape }) => {
      // Built on cpu; tfjs moves the weights to whichever backend reads them.
      await tf.setBackend('cpu');
      const model = build(7);
      const xValues = normals(8, tf.util.sizeFromShape(inputShape));
      const compute = () =>
        lossGradients(
          model,
          tf.tensor(xValues, inputShape),
          tf.oneHot(tf.tensor1d([1, 3, 5, 7], 'int32'), 10),
        );
      await expectSameOnBothBackends(compute, 2e-3);
      model.dispose();
    });

    it('release every intermediate (tensors and wasm buffers) when repeated', async () => {
      const model = lenet(9);
      const x = tf.tensor(normals(10, 8 * 16 * 16), [8, 16, 16, 1]);
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
      const step = () => tf.dispose(tf.tidy(() => lossGradients(model, x, labels)));
      step(); // warm-up: first calls may cache kernels
      const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
      for (let i = 0; i < 3; i++) step();
      expect(tf.memory().numTensors).toBe(before.tensors);
      // The backend's own count of buffers also sees the intermediates our
      // kernels create outside the engine's bookkeeping.
      expect(tf.engine().backend.numDataIds()).toBe(before.buffers);
      tf.dispose([x, labels]);
      model.dispose();
    });
  });

  describe('Conv2D on wasm (faster for one input channel)', () => {
    const cases: { size: [number, number]; outC: number; kernel: [number, number]; pad: 'valid' | 'same' }[] =
      [
        { size: [32, 32], outC: 6, kernel: [5, 5], pad: 'valid' },
        { size: [13, 10], outC: 3, kernel: [5, 5], pad: 'same' },
        { size: [9, 11], outC: 1, kernel: [2, 1], pad: 'valid' },
        { size: [9, 11], outC: 8, kernel: [1, 2], pad: 'valid' },
        { size: [6, 7], outC: 5, kernel: [3, 4], pad: 'same' },
        // More output channels than kernels.c has versions for: XNNPACK.
        { size: [8, 8], outC: 9, kernel: [3, 3], pad: 'valid' },
      ];

    it.each(cases)('matches cpu: size $size, 1->$outC channels, kernel $kernel, pad $pad', async (c) => {
      const xShape: [number, number, number, number] = [3, ...c.size, 1];
      const filterShape: [number, number, number, number] = [...c.kernel, 1, c.outC];
      const xValues = normals(11, tf.util.sizeFromShape(xShape));
      const filterValues = normals(12, tf.util.sizeFromShape(filterShape));
      await expectSameOnBothBackends(
        () => [tf.conv2d(tf.tensor4d(xValues, xShape), tf.tensor4d(filterValues, filterShape), 1, c.pad)],
        1e-5,
      );
    });
  });

  describe('FusedConv2D on wasm (faster for one input channel, bias, linear or relu)', () => {
    it.each([
      { activation: 'relu', bias: true, pad: 'valid', outC: 6 },
      { activation: 'linear', bias: true, pad: 'same', outC: 3 },
      { activation: 'relu', bias: false, pad: 'same', outC: 8 },
      // Not ours: another activation, and too many output channels.
      { activation: 'elu', bias: true, pad: 'valid', outC: 4 },
      { activation: 'relu', bias: true, pad: 'valid', outC: 12 },
    ] as const)('matches cpu: $activation, bias $bias, pad $pad, 1->$outC channels', async (c) => {
      const xShape: [number, number, number, number] = [3, 12, 10, 1];
      const filterShape: [number, number, number, number] = [5, 5, 1, c.outC];
      const xValues = normals(15, tf.util.sizeFromShape(xShape));
      const filterValues = normals(16, tf.util.sizeFromShape(filterShape));
      const biasValues = normals(17, c.outC);
      await expectSameOnBothBackends(
        () => [
          tf.fused.conv2d({
            x: tf.tensor4d(xValues, xShape),
            filter: tf.tensor4d(filterValues, filterShape),
            strides: 1,
            pad: c.pad,
            bias: c.bias ? tf.tensor1d(biasValues) : undefined,
            activation: c.activation,
          }),
        ],
        1e-5,
      );
    });
  });

  describe('Add, Sub, Multiply, Maximum, Minimum on wasm (faster with one operand broadcast)', () => {
    const shapes = [
      [[5, 7, 3, 6], [6]],
      [[4, 8], [8]],
      [[3], [2, 3]],
      // Sizes that repeat in whole SIMD vectors only after several rows, with rows left over,
      // and fewer floats than one period.
      [[7, 5], [5]],
      [[3, 3, 3], [3]],
      [[1, 6], [6]],
      // A single value, and one image's mask over a batch.
      [[6, 5, 5, 1], []],
      [[1], [6, 5, 5, 1]],
      [
        [6, 5, 5, 1],
        [1, 5, 5, 1],
      ],
      [
        [1, 1, 4, 3],
        [2, 3, 4, 3],
      ],
      // Not a repeated operand: the original kernel.
      [
        [2, 3, 4],
        [2, 3, 4],
      ],
      [
        [2, 3, 4],
        [3, 1],
      ],
    ];
    const ops = [
      { name: 'add', op: tf.add },
      { name: 'sub', op: tf.sub },
      { name: 'mul', op: tf.mul },
      { name: 'maximum', op: tf.maximum },
      { name: 'minimum', op: tf.minimum },
    ];
    it.each(ops.flatMap(({ name, op }) => shapes.map(([a, b]) => ({ name, op, a, b }))))(
      'matches cpu: $name of $a and $b',
      async ({ op, a, b }) => {
        const aValues = normals(13, tf.util.sizeFromShape(a ?? []));
        const bValues = normals(14, tf.util.sizeFromShape(b ?? []));
        await expectSameOnBothBackends(() => [op(tf.tensor(aValues, a), tf.tensor(bValues, b))], 1e-7);
      },
    );

    // kernels.c's, that is (registered once): the backend's own kernels differ from cpu there.
    if (env === undefined)
      it('maximum and minimum are NaN where either input is, as on cpu', async () => {
        const x = [1, Number.NaN, -2, 3, 0, -1, Number.NaN];
        for (const op of [tf.maximum, tf.minimum]) {
          const compute = () => [
            op(tf.tensor(x), tf.tensor([0.5])),
            op(tf.tensor(x), tf.tensor([Number.NaN])),
          ];
          const [cpu, wasm] = [await on('cpu', compute), await on('wasm', compute)];
          expect(wasm.map((t) => Array.from(t))).toEqual(cpu.map((t) => Array.from(t)));
        }
      });
  });

  describe('Sum on wasm (faster over every axis but the last: a bias gradient)', () => {
    it.each([
      { shape: [5, 7, 3, 6], axis: [0, 1, 2], keepDims: false },
      { shape: [5, 7, 3, 6], axis: [2, 0, 1], keepDims: true },
      { shape: [9, 5], axis: 0, keepDims: false },
      { shape: [2, 3], axis: -2, keepDims: false },
      { shape: [1, 12], axis: [0], keepDims: true },
      // Not a bias gradient: the original kernel.
      { shape: [2, 3, 4], axis: [1], keepDims: false },
      { shape: [4, 6], axis: -1, keepDims: false },
      { shape: [4, 6], axis: [0, 1], keepDims: false },
    ])('matches cpu: $shape over $axis, keepDims $keepDims', async ({ shape, axis, keepDims }) => {
      const values = normals(21, tf.util.sizeFromShape(shape));
      await expectSameOnBothBackends(() => [tf.sum(tf.tensor(values, shape), axis, keepDims)], 1e-5);
    });
  });

  describe('the gradients of sum and mean on wasm (dy broadcast, no array of ones)', () => {
    it.each([
      { shape: [5, 7, 3, 2], axis: undefined, keepDims: false },
      { shape: [5, 7, 3, 2], axis: [2, 0, 1], keepDims: true },
      { shape: [5, 7, 3, 2], axis: [1, 2], keepDims: false },
      { shape: [9, 5], axis: 0, keepDims: false },
      { shape: [2, 3], axis: -1, keepDims: true },
      { shape: [4, 6], axis: [-2, 1], keepDims: false },
    ])('match cpu: $shape over $axis, keepDims $keepDims', async ({ shape, axis, keepDims }) => {
      const values = normals(22, tf.util.sizeFromShape(shape));
      await expectSameOnBothBackends(() => {
        const x = tf.tensor(values, shape);
        const reduced = tf.sum(x, axis, keepDims);
        // A weight per reduced value, so that dy differs from place to place.
        const weights = tf.tensor(normals(23, reduced.size), reduced.shape);
        const viaSum = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sum(v, axis, keepDims), weights)))(x);
        const viaMean = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.mean(v, axis, keepDims), weights)))(x);
        return [viaSum, viaMean];
      }, 1e-6);
    });
  });

  describe('the gradient of relu on wasm (one pass)', () => {
    it('matches cpu, zeros and negatives included, for every length of the last vector', async () => {
      for (const size of [1, 4, 7, 64 * 9 + 3]) {
        const values = normals(22, size).map((v, i) => (i % 5 === 0 ? 0 : v));
        const weights = normals(23, size);
        await expectSameOnBothBackends(
          () => [
            tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.tensor(weights))))(tf.tensor(values)),
          ],
          1e-7, // exact: dx is dy or 0
        );
      }
    });

    it('is NaN where the input is NaN, as tfjs makes it', async () => {
      const compute = () => [
        tf.grad((x: tf.Tensor) => tf.sum(tf.relu(x)))(tf.tensor([1, Number.NaN, -1, 2, 0])),
      ];
      for (const backend of ['cpu', 'wasm'] as const) {
        const [dx] = await on(backend, compute);
        expect(Array.from(dx ?? [])).toEqual([1, Number.NaN, 0, 1, 0]);
      }
    });
  });

  describe('Identity on wasm (shares its input)', () => {
    it('gives the same values, outlives its input, and frees the buffer with the last reference', async () => {
      const buffers = tf.engine().backend.numDataIds();
      const x = tf.tensor([1, 2, 3, 4], [2, 2]);
      const y = tf.clone(x);
      expect(tf.engine().backend.numDataIds()).toBe(buffers + 1);
      x.dispose();
      expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
      expect(y.shape).toEqual([2, 2]);
      y.dispose();
      expect(tf.engine().backend.numDataIds()).toBe(buffers);
    });
  });
});
