import type { KernelFunc, MaxPoolGradAttrs } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { isHeapBackend, pointer, simdKernelsFor } from './simd-kernels.js';
import { attrsOf } from './wasm-kernel-util.js';

/**
 * MaxPoolGrad on wasm: each output gradient goes to the first largest input
 * of its window (row by row, as the cpu backend picks it), in one pass over
 * the pooled positions, in our SIMD module (kernels.c) or, where that cannot
 * run, in JavaScript over views of wasm memory. The wasm kernel took 34 ms
 * per synthesis step of 200 LeNet-5 images (bench/results/profile-round.json),
 * a third of the network's own work; the JavaScript loop 10.7 ms for 256
 * images' first pooling layer, kernels.c 1.2 ms.
 * Falls back to the native kernel for anything but float32 NHWC.
 */
export function fastMaxPoolGrad(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs;
    if (!dy || !input) throw new Error(`${tf.MaxPoolGrad} needs inputs dy and input`);
    if (!isHeapBackend(backend) || dy.dtype !== 'float32' || input.dtype !== 'float32') return native(args);
    const { filterSize, strides, pad, dimRoundingMode } = attrsOf<MaxPoolGradAttrs>(attrs);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    if (info.dataFormat !== 'channelsLast') return native(args);
    const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
    const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const out = backend.makeOutput([...input.shape], 'float32');
    const simd = simdKernelsFor(backend);
    if (simd) {
      simd.max_pool_grad(
        pointer(backend, input),
        pointer(backend, dy),
        pointer(backend, out),
        batchSize,
        inHeight,
        inWidth,
        channels,
        outHeight,
        outWidth,
        filterHeight,
        filterWidth,
        strideHeight,
        strideWidth,
        top,
        left,
      );
      return out;
    }
    const dx = backend.typedArrayFromHeap(out);
    dx.fill(0);
    const x = backend.typedArrayFromHeap(input);
    const g = backend.typedArrayFromHeap(dy);
    const rowX = inWidth * channels;
    const imageX = inHeight * rowX;
    let at = 0; // position in dy, in its NHWC order
    for (let b = 0; b < batchSize; b++) {
      const base = b * imageX;
      for (let yR = 0; yR < outHeight; yR++) {
        const r0 = Math.max(0, yR * strideHeight - top);
        const r1 = Math.min(inHeight, yR * strideHeight - top + filterHeight);
        for (let yC = 0; yC < outWidth; yC++) {
          const c0 = Math.max(0, yC * strideWidth - left);
          const c1 = Math.min(inWidth, yC * strideWidth - left + filterWidth);
          for (let d = 0; d < channels; d++, at++) {
            let best = -Infinity;
            let where = -1;
            for (let r = r0; r < r1; r++) {
              let p = base + r * rowX + c0 * channels + d;
              for (let c = c0; c < c1; c++, p += channels) {
                const v = x[p] as number;
                if (v > best) {
                  best = v;
                  where = p;
                }
              }
            }
            if (where >= 0) dx[where] = (dx[where] as number) + (g[at] as number);
          }
        }
      }
    }
    return out;
  };
}
