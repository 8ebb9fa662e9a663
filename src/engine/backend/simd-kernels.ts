import type { TensorInfo } from '@tensorflow/tfjs-core';
import { SIMD_KERNELS_WASM_BASE64 } from './simd/kernels.wasm.js';

/**
 * Distill Studio's own WebAssembly SIMD kernels (src/engine/backend/simd/kernels.c), run on
 * the memory of the tfjs wasm backend itself: the module imports that memory, so the kernels
 * read and write the backend's tensors where they lie, with no copies.
 *
 * {@link simdKernelsFor} returns undefined wherever the module cannot be had (a runtime
 * without WebAssembly SIMD, a backend whose memory is not reachable), and callers then use
 * their XNNPACK or JavaScript path, so the kernels are an acceleration, never a requirement.
 */

/** The exports of kernels.c; every pointer is a byte offset into the backend's memory. */
export interface SimdKernels {
  conv2d_dot(
    x: number,
    w: number,
    out: number,
    batch: number,
    h: number,
    wd: number,
    cin: number,
    kh: number,
    kw: number,
    cout: number,
    oh: number,
    ow: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
  /** Returns 0, doing nothing, for output channel counts above 8. bias 0: none. */
  conv2d_c1(
    x: number,
    w: number,
    bias: number,
    relu: number,
    out: number,
    batch: number,
    h: number,
    wd: number,
    kh: number,
    kw: number,
    cout: number,
    oh: number,
    ow: number,
  ): number;
  conv2d_filter_grad_t(
    xt: number,
    dyt: number,
    dw: number,
    batch: number,
    cin: number,
    h: number,
    wd: number,
    kh: number,
    kw: number,
    cout: number,
    oh: number,
    ow: number,
    sh: number,
    pt: number,
    pl: number,
  ): void;
  /**
   * dw of a stride-1-across, unpadded convolution, channels last (x, dy untransposed). Returns 0,
   * doing nothing, unless cout is a multiple of 4 and every window lies inside the image.
   */
  conv2d_filter_grad_nhwc(
    x: number,
    dy: number,
    dw: number,
    batch: number,
    h: number,
    wd: number,
    cin: number,
    kh: number,
    kw: number,
    cout: number,
    oh: number,
    ow: number,
    sh: number,
  ): number;
  shift_images(
    x: number,
    out: number,
    batch: number,
    h: number,
    wd: number,
    c: number,
    dy: number,
    dx: number,
    fill: number,
  ): void;
  pad_images(
    x: number,
    out: number,
    batch: number,
    h: number,
    wd: number,
    c: number,
    pt: number,
    pb: number,
    pl: number,
    pr: number,
  ): void;
  /**
   * op: 0 add, 1 sub, 2 mul, 3 max, 4 min; pattern: the broadcast operand repeated to `period`
   * floats, a multiple of 4; n: the floats of x; swap 1: pattern op x. Returns 0 for other ops.
   */
  binary_periodic(
    op: number,
    x: number,
    pattern: number,
    out: number,
    n: number,
    period: number,
    swap: number,
  ): number;
  /** acc: scratch of `period` floats, a multiple of both c and 4; n: the floats of x. */
  sum_rows(x: number, acc: number, out: number, n: number, period: number, c: number): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  adam_update(
    w: number,
    m: number,
    v: number,
    g: number,
    w2: number,
    m2: number,
    v2: number,
    n: number,
    lr: number,
    b1: number,
    a1: number,
    b2: number,
    a2: number,
    eps: number,
    c1: number,
    c2: number,
  ): void;
  max_pool_grad(
    x: number,
    dy: number,
    dx: number,
    batch: number,
    h: number,
    wd: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
}

/** The part of the tfjs wasm backend the kernels need. */
export interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
  /** Where a tensor's data starts in the backend's memory (a byte offset). */
  getMemoryOffset(dataId: object): number;
  wasm: { asm?: { memory?: unknown } };
}

export function isHeapBackend(backend: unknown): backend is HeapBackend {
  const b = backend as Partial<HeapBackend> | null;
  return (
    typeof b?.makeOutput === 'function' &&
    typeof b.typedArrayFromHeap === 'function' &&
    typeof b.disposeData === 'function' &&
    typeof b.getMemoryOffset === 'function' &&
    typeof b.wasm === 'object'
  );
}

/** Set DISTILL_SIMD_KERNELS=0 to run without them (to compare, or to rule them out). */
export const SIMD_KERNELS_ENV = 'DISTILL_SIMD_KERNELS';

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

function compileOnce(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = Uint8Array.from(atob(SIMD_KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
      compiled = new WebAssembly.Module(bytes);
    } catch {
      compiled = null; // no WebAssembly SIMD here
    }
  }
  return compiled;
}

function enabled(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.[SIMD_KERNELS_ENV] !== '0';
}

/** The kernels bound to this backend's memory, or undefined where they cannot run. */
export function simdKernelsFor(backend: unknown): SimdKernels | undefined {
  if (!enabled() || !isHeapBackend(backend)) return undefined;
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  const known = instances.get(memory);
  if (known) return known;
  const module = compileOnce();
  if (!module) return undefined;
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
  instances.set(memory, kernels);
  return kernels;
}

/** The byte offset of a tensor in the backend's memory: what kernels.c takes as a pointer. */
export function pointer(backend: HeapBackend, info: TensorInfo): number {
  return backend.getMemoryOffset(info.dataId);
}
