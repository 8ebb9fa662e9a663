/**
 * MaxPoolGrad on wasm: tfjs's own kernel against Distill Studio's (over wasm
 * memory), on the pooling layers of LeNet-5 at a synthesis batch of 200,
 * alternating in one process; medians of 20 calls after warm-up. Writes
 * bench/results/maxpool-grad.json.
 *
 *   node --import tsx bench/maxpool-grad.ts
 */
import '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { fastMaxPoolGrad } from '../src/engine/backend/wasm-pool-grads.js';
import { tf } from '../src/engine/tf.js';

await tf.setBackend('wasm');
const native = tf.getKernel(tf.MaxPoolGrad, 'wasm') as KernelConfig;
const fast = { ...native, kernelFunc: fastMaxPoolGrad(native.kernelFunc) };
const use = (config: KernelConfig): void => {
  tf.unregisterKernel(tf.MaxPoolGrad, 'wasm');
  tf.registerKernel(config);
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const layers = [
  { name: 'pool1 (200x28x28x6)', shape: [200, 28, 28, 6] as [number, number, number, number] },
  { name: 'pool2 (200x10x10x16)', shape: [200, 10, 10, 16] as [number, number, number, number] },
];
const rows = [];
for (const layer of layers) {
  const x = tf.randomNormal(layer.shape) as tf.Tensor4D;
  const dy = tf.randomNormal(tf.maxPool(x, 2, 2, 'valid').shape);
  const grad = tf.grad((input: tf.Tensor) =>
    tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid'), dy)),
  );
  const times: Record<'native' | 'fast', number[]> = { native: [], fast: [] };
  for (let i = 0; i < 25; i++) {
    for (const which of ['native', 'fast'] as const) {
      use(which === 'native' ? native : fast);
      const start = performance.now();
      const g = grad(x);
      g.dataSync();
      const ms = performance.now() - start;
      g.dispose();
      if (i >= 5) times[which].push(ms);
    }
  }
  rows.push({ layer: layer.name, nativeMs: median(times.native), fastMs: median(times.fast) });
  tf.dispose([x, dy]);
}
const out = {
  backend: 'wasm',
  note: 'forward + backward of one max-pool layer (the gradient includes the forward pool and the multiply)',
  rows,
};
writeFileSync('bench/results/maxpool-grad.json', `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out, null, 2));
