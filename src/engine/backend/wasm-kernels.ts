import type { KernelFunc } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { registerWasmAdamKernel } from './wasm-adam.js';
import { fastBroadcast, fastSum } from './wasm-broadcast.js';
import { fastConv2D, fastFusedConv2D } from './wasm-conv-forward.js';
import { conv2DBackpropFilter, fastConv2DBackpropInput } from './wasm-conv-grads.js';
import { depthwiseConv2dBackpropInput } from './wasm-depthwise-grads.js';
import { fastBatchMatMul, unsortedSegmentSum } from './wasm-matmul.js';
import { fastMaxPoolGrad } from './wasm-pool-grads.js';
import { registerWasmReluGrad } from './wasm-relu-grad.js';
import { registerWasmShift } from './wasm-shift.js';
import { registerReductionGradients } from './reduction-grads.js';
import { WASM, wasmKernel } from './wasm-kernel-util.js';

/**
 * What the TensorFlow.js wasm backend (4.22) needs to train conv nets fast.
 *
 * It ships every forward kernel our models use and most gradient kernels
 * (Conv2DBackpropInput, MaxPoolGrad, AvgPoolGrad, the element-wise ones),
 * but not `Conv2DBackpropFilter`, so no conv layer can be trained on it.
 * Every other kernel that the gradients of our model families need (LeNet,
 * AlexNet with dropout and batch norm, CIFAR ResNets with batch norm in
 * training mode, and the gradient with respect to the input image) is
 * present: test/engine/backend/wasm-kernels.test.ts takes those
 * gradients on wasm and compares them with the cpu backend.
 *
 * Added, because wasm has none:
 * - Conv2DBackpropFilter: conv layers' weight gradients.
 * - UnsortedSegmentSum: the gradient of tf.gather (augmentations).
 * - DepthwiseConv2dNativeBackpropInput: the input gradient of depthwise
 *   convolutions, which teachers imported from ONNX (MobileNets) have.
 *   Only the input gradient: students have no depthwise layers to train.
 * Replaced, because the wasm version is several times slower than it could
 * be on shapes every training step has (each falls back to the original for
 * other shapes):
 * - Conv2DBackpropInput for stride 1: the input gradient, on every synthesis step.
 * - BatchMatMul with a transposed 2-D operand: dense layers' gradients.
 * - MaxPoolGrad: max-pooling layers' input gradient, on every step.
 * - Conv2D and FusedConv2D with one input channel: a first layer on grey
 *   images, and the pixel priors' shifts and differences.
 * - Add, Sub, Multiply, Maximum and Minimum with one operand broadcast (a
 *   bias over the last axis, a single value, one mask over a batch): every
 *   convolution in training mode, and clipping images to their range.
 * - Sum over every axis but the last: every bias gradient.
 * - Identity, which copied its input: it now shares the input's data (as
 *   the cpu backend's does). The gradient tape clones every tensor it saves
 *   for the backward pass: 48 clones per student step.
 * And three of our own: DistillStudioAdam, a whole Adam step for one variable
 * (wasm-adam.ts), which ScheduledAdam uses in place of 14 operations,
 * DistillStudioReluGrad, relu's gradient in one pass (wasm-relu-grad.ts), and
 * DistillStudioShift, images moved by whole pixels (wasm-shift.ts), which the
 * synthesis jitter uses in place of a one-hot convolution. The gradients of Sum
 * and Mean are replaced too (reduction-grads.ts): tfjs builds an array of ones
 * in JavaScript at every backward pass.
 *
 * Where the time went, and what each change bought, is measured kernel by
 * kernel in bench/profile-kernels.ts. Several of these run in our own
 * WebAssembly SIMD module (simd/kernels.c, see simd-kernels.ts), on the
 * backend's memory; where it cannot load, the XNNPACK or JavaScript version
 * runs instead.
 */

/** Names of the kernels registered or replaced by {@link registerWasmTrainingKernels}. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  tf.Conv2DBackpropFilter,
  tf.UnsortedSegmentSum,
  tf.DepthwiseConv2dNativeBackpropInput,
  tf.Conv2DBackpropInput,
  tf.BatchMatMul,
  tf.MaxPoolGrad,
  tf.Conv2D,
  tf.FusedConv2D,
  tf.Add,
  tf.Sub,
  tf.Multiply,
  tf.Maximum,
  tf.Minimum,
  tf.Sum,
  tf.Identity,
];

// Our replacement kernel functions, so that registering twice never wraps a wrapper.
const ours = new WeakSet<KernelFunc>();

function add(kernelName: string, kernelFunc: KernelFunc): void {
  // A kernel some later tfjs version provides itself is left alone.
  if (wasmKernel(kernelName)) return;
  ours.add(kernelFunc);
  tf.registerKernel({ kernelName, backendName: WASM, kernelFunc });
}

function replace(kernelName: string, wrap: (native: KernelFunc) => KernelFunc): void {
  const native = wasmKernel(kernelName);
  if (!native || ours.has(native.kernelFunc)) return;
  const kernelFunc = wrap(native.kernelFunc);
  ours.add(kernelFunc);
  tf.unregisterKernel(kernelName, WASM);
  // Keeping the original setupFunc matters: it binds the wasm function that
  // the original kernelFunc (which ours calls) uses, when the backend starts.
  tf.registerKernel({ ...native, kernelFunc });
}

/** The part of the wasm backend a shared Identity needs (it counts references per buffer). */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * Identity as a new reference to its input's buffer, not a copy: tensors never change in
 * place on wasm (even DistillStudioAdam writes new buffers), so sharing is safe, and the
 * backend frees the buffer when its last reference goes, as it does for Reshape.
 */
function sharedIdentity(native: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend } = args;
    const { x } = inputs;
    const b = backend as Partial<RefCountingBackend>;
    if (!x || x.dtype === 'string' || typeof b.incRef !== 'function') return native(args);
    b.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/**
 * Registers the added and faster training kernels for the 'wasm' backend.
 * Safe to call more than once, and before or after the backend starts
 * (the kernels need no setup of their own).
 */
export function registerWasmTrainingKernels(): void {
  add(tf.Conv2DBackpropFilter, conv2DBackpropFilter);
  add(tf.UnsortedSegmentSum, unsortedSegmentSum);
  add(tf.DepthwiseConv2dNativeBackpropInput, depthwiseConv2dBackpropInput);
  replace(tf.Conv2DBackpropInput, fastConv2DBackpropInput);
  replace(tf.BatchMatMul, fastBatchMatMul);
  replace(tf.MaxPoolGrad, fastMaxPoolGrad);
  replace(tf.Conv2D, fastConv2D);
  replace(tf.FusedConv2D, fastFusedConv2D);
  for (const op of [tf.Add, tf.Sub, tf.Multiply, tf.Maximum, tf.Minimum] as const)
    replace(op, fastBroadcast(op));
  replace(tf.Sum, fastSum);
  replace(tf.Identity, sharedIdentity);
  registerWasmAdamKernel();
  registerWasmReluGrad();
  registerWasmShift();
  registerReductionGradients();
}
