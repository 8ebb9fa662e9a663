import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { isHeapBackend, pointer, simdKernelsFor } from './simd-kernels.js';
import { attrsOf, WASM, wasmKernel } from './wasm-kernel-util.js';

/** One variable's part of an Adam step: its value, moments and gradient. */
export interface AdamSlot {
  value: tf.Variable;
  firstMoment: tf.Variable;
  secondMoment: tf.Variable;
  gradient: tf.Tensor;
}

export interface AdamHyper {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t, as float32 (the bias corrections). */
  correction1: number;
  correction2: number;
}

/** Distill Studio's own kernel: one variable's Adam step (new value and moments). */
export const ADAM_KERNEL = 'DistillStudioAdam';

const adamKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { value, m, v, g } = inputs;
  const simd = simdKernelsFor(backend);
  if (!value || !m || !v || !g || !simd || !isHeapBackend(backend))
    throw new Error(`${ADAM_KERNEL} needs value, m, v and g, and kernels.c`);
  const h = attrsOf<AdamHyper>(attrs);
  const outputs = [value, m, v].map((t) => backend.makeOutput([...t.shape], 'float32'));
  const [w2, m2, v2] = outputs as [TensorInfo, TensorInfo, TensorInfo];
  simd.adam_update(
    pointer(backend, value),
    pointer(backend, m),
    pointer(backend, v),
    pointer(backend, g),
    pointer(backend, w2),
    pointer(backend, m2),
    pointer(backend, v2),
    tf.util.sizeFromShape(value.shape),
    h.learningRate,
    h.beta1,
    1 - h.beta1,
    h.beta2,
    1 - h.beta2,
    h.epsilon,
    h.correction1,
    h.correction2,
  );
  return outputs;
};

/** Registers {@link ADAM_KERNEL} for the wasm backend (once). */
export function registerWasmAdamKernel(): void {
  if (!wasmKernel(ADAM_KERNEL))
    tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: WASM, kernelFunc: adamKernel });
}

/** Whether {@link fusedAdamUpdate} can run on the active backend. */
export function canFuseAdam(): boolean {
  return tf.getBackend() === WASM && simdKernelsFor(tf.backend()) !== undefined && !!wasmKernel(ADAM_KERNEL);
}

/**
 * Adam's update of every slot in one kernels.c call each, instead of the 14 tensor operations
 * per variable tfjs's AdamOptimizer runs (1.9 ms per student step of lenet5-half's 10
 * variables, most of it per-operation overhead). Returns false, changing nothing, where it
 * cannot run: another backend, no SIMD module, or a tensor that is not float32.
 */
export function fusedAdamUpdate(slots: readonly AdamSlot[], hyper: AdamHyper): boolean {
  if (!canFuseAdam()) return false;
  const tensors = slots.flatMap((s) => [s.value, s.firstMoment, s.secondMoment, s.gradient]);
  if (tensors.some((t) => t.dtype !== 'float32')) return false;
  tf.tidy(() => {
    for (const { value, firstMoment, secondMoment, gradient } of slots) {
      const [w, m, v] = tf
        .engine()
        .runKernel(
          ADAM_KERNEL,
          { value, m: firstMoment, v: secondMoment, g: gradient },
          hyper as unknown as NamedAttrMap,
        ) as tf.Tensor[];
      if (!w || !m || !v) throw new Error(`${ADAM_KERNEL} returned fewer than 3 outputs`);
      value.assign(w);
      firstMoment.assign(m);
      secondMoment.assign(v);
    }
  });
  return true;
}
