import type {
  GradConfig,
  GradFunc,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

/**
 * Helpers for kernels written in terms of the wasm backend's own kernels.
 * They call those kernels directly, not through the engine, so that the
 * work stays in wasm memory, the gradient tape and `tf.memory()` never see
 * the intermediates, and each intermediate is released as soon as it is
 * no longer needed.
 */

export const WASM = 'wasm';

/** A 4-D tensor shape (NHWC images, conv filters). */
export type Shape4D = [number, number, number, number];

/** The wasm kernel registered under `name`, if any. */
export function wasmKernel(name: string): KernelConfig | undefined {
  // getKernel is typed as always returning a config, but it returns
  // undefined when nothing is registered under that name.
  return tf.getKernel(name, WASM) as KernelConfig | undefined;
}

const wrappedGradients = new WeakSet<GradConfig>();

/**
 * Registers `wrap(original)` as the gradient of `kernelName`, where `original` is tfjs's own
 * (which the wrapper calls where its fast path does not apply). Once: a second call finds its own
 * wrapper registered and leaves it.
 */
export function wrapGradient(kernelName: string, wrap: (original: GradFunc) => GradFunc): void {
  const original = tf.getGradient(kernelName) as GradConfig | undefined;
  if (!original?.gradFunc || wrappedGradients.has(original)) return;
  const config: GradConfig = { ...original, gradFunc: wrap(original.gradFunc) };
  wrappedGradients.add(config);
  tf.registerGradient(config);
}

/** The part of a tfjs KernelBackend these kernels need. */
export interface DisposingBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Narrows the `{}`-typed backend a kernel receives. */
export function asDisposingBackend(backend: unknown, kernelName: string): DisposingBackend {
  if (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as { disposeData?: unknown }).disposeData === 'function'
  ) {
    return backend as DisposingBackend;
  }
  throw new Error(`${kernelName} on wasm was given an unexpected backend`);
}

/** Runs one kernel function and returns its single output. */
export function runKernelFunc(
  kernelFunc: KernelFunc,
  backend: DisposingBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const out = kernelFunc({ inputs, backend, attrs });
  if (!Array.isArray(out)) return out;
  // None of the kernels used here return several outputs; free any extras
  // rather than leak should a future tfjs version change that.
  for (const extra of out.slice(1)) backend.disposeData(extra.dataId);
  const first = out[0];
  if (!first) throw new Error('A wasm kernel returned no output');
  return first;
}

/**
 * Intermediate results of one kernel call. Every output of `run` is released
 * by `dispose()` except the one handed to `keep()`, which becomes the
 * kernel's result and is owned by the engine from then on.
 */
export class Scratch {
  private readonly owned: TensorInfo[] = [];

  constructor(readonly backend: DisposingBackend) {}

  /** Runs the wasm kernel `name` on intermediates or inputs. */
  run(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = wasmKernel(name);
    if (!kernel)
      throw new Error(`The wasm backend has no ${name} kernel, which Distill Studio's added kernels need`);
    const out = runKernelFunc(kernel.kernelFunc, this.backend, inputs, attrs);
    this.owned.push(out);
    return out;
  }

  /** Marks an output of `run` as the result, so that `dispose` leaves it alone. */
  keep(result: TensorInfo): TensorInfo {
    const index = this.owned.indexOf(result);
    if (index >= 0) this.owned.splice(index, 1);
    return result;
  }

  /** Releases every intermediate not kept. */
  dispose(): void {
    for (const t of this.owned.splice(0)) this.backend.disposeData(t.dataId);
  }
}

/** Runs `compute` with a fresh Scratch, releasing its intermediates even when it throws. */
export function withScratch(
  backend: unknown,
  kernelName: string,
  compute: (scratch: Scratch) => TensorInfo,
): TensorInfo {
  const scratch = new Scratch(asDisposingBackend(backend, kernelName));
  try {
    return compute(scratch);
  } finally {
    scratch.dispose();
  }
}

/** Reads the typed attributes of a kernel (tfjs passes them as a loose map). */
export function attrsOf<T>(attrs: NamedAttrMap | undefined): T {
  return (attrs ?? {}) as unknown as T;
}
