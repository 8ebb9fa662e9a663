import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../../../src/engine/backend/wasm-kernels.js';
import { tf } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';

// The input gradient of a depthwise convolution, which the wasm backend lacks and
// src/engine/backend/wasm-depthwise-grads.ts adds: computed on the cpu backend (tfjs's
// reference kernels) and on wasm from the same numbers, and compared.

beforeAll(async () => {
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});

function normals(seed: number, size: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => rng.normal());
}

async function on(backend: 'cpu' | 'wasm', compute: () => tf.Tensor): Promise<Float32Array> {
  expect(await tf.setBackend(backend)).toBe(true);
  const before = tf.memory().numTensors;
  const out = tf.tidy(compute);
  const values = (await out.data()) as Float32Array;
  out.dispose();
  expect(tf.memory().numTensors).toBe(before);
  await tf.setBackend('wasm');
  return values;
}

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

describe('DepthwiseConv2dNativeBackpropInput on wasm', () => {
  const cases: {
    size: [number, number];
    channels: number;
    multiplier: number;
    kernel: number;
    stride: number;
    dilation: number;
    pad: Pad;
  }[] = [
    { size: [8, 8], channels: 3, multiplier: 1, kernel: 3, stride: 1, dilation: 1, pad: 'same' },
    { size: [9, 7], channels: 4, multiplier: 2, kernel: 3, stride: 1, dilation: 1, pad: 'valid' },
    { size: [12, 12], channels: 6, multiplier: 1, kernel: 3, stride: 2, dilation: 1, pad: 'same' },
    { size: [11, 13], channels: 2, multiplier: 3, kernel: 5, stride: 2, dilation: 1, pad: 'valid' },
    // (tfjs itself has no depthwise gradient for dilations above 1, on any backend.)
    { size: [10, 10], channels: 3, multiplier: 2, kernel: 3, stride: 1, dilation: 1, pad: 'same' },
    {
      size: [7, 9],
      channels: 2,
      multiplier: 1,
      kernel: 3,
      stride: 2,
      dilation: 1,
      pad: [
        [0, 0],
        [1, 0],
        [0, 1],
        [0, 0],
      ],
    },
  ];

  it.each(cases)(
    'matches cpu: size $size, $channels channels x $multiplier, kernel $kernel, stride $stride, dilation $dilation, pad $pad',
    async (c) => {
      const xShape: [number, number, number, number] = [2, ...c.size, c.channels];
      const filterShape: [number, number, number, number] = [c.kernel, c.kernel, c.channels, c.multiplier];
      const xValues = normals(1, tf.util.sizeFromShape(xShape));
      const filterValues = normals(2, tf.util.sizeFromShape(filterShape));
      const compute = (): tf.Tensor => {
        const x = tf.tensor4d(xValues, xShape);
        const filter = tf.tensor4d(filterValues, filterShape);
        const conv = (input: tf.Tensor): tf.Tensor =>
          tf.depthwiseConv2d(input as tf.Tensor4D, filter, c.stride, c.pad, 'NHWC', c.dilation);
        const dy = tf.tensor(normals(3, tf.util.sizeFromShape(conv(x).shape)), conv(x).shape);
        // d/dx of Σ conv(x)·dy is exactly DepthwiseConv2dNativeBackpropInput(dy, filter).
        return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(conv(input), dy)))(x);
      };
      const [expected, actual] = [await on('cpu', compute), await on('wasm', compute)];
      expect(actual.length).toBe(expected.length);
      let difference = 0;
      let scale = 1e-6;
      expected.forEach((e, i) => {
        difference = Math.max(difference, Math.abs(e - (actual[i] ?? Number.NaN)));
        scale = Math.max(scale, Math.abs(e));
      });
      expect(difference / scale).toBeLessThan(1e-5);
    },
  );
});
