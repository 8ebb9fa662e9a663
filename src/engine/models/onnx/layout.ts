/**
 * Moving weight values between ONNX's layouts (NCHW images, [out, in, kh, kw]
 * kernels, [out, in] Gemm weights) and tfjs's (NHWC, [kh, kw, in, out],
 * [in, out]), in plain typed arrays before any tensor is made.
 */

/**
 * `values` of shape `dims` (row-major) with its axes reordered: axis k of
 * the result is axis perm[k] of the input, as numpy.transpose(values, perm).
 */
export function transpose(
  values: Float32Array,
  dims: readonly number[],
  perm: readonly number[],
): Float32Array {
  const n = dims.length;
  if (perm.length !== n || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`transpose: [${perm.join(', ')}] is not a permutation of ${n} axes`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count)
    throw new Error(`transpose: ${values.length} values for shape [${dims.join(', ')}]`);
  const strides = new Array<number>(n).fill(1);
  for (let k = n - 2; k >= 0; k--) strides[k] = (strides[k + 1] ?? 1) * (dims[k + 1] ?? 1);
  const outDims = perm.map((p) => dims[p] ?? 1);
  const outStrides = perm.map((p) => strides[p] ?? 0);
  const out = new Float32Array(count);
  const index = new Array<number>(n).fill(0);
  let source = 0;
  for (let o = 0; o < count; o++) {
    out[o] = values[source] ?? 0;
    // Odometer over the output's indices, moving `source` along with it.
    for (let k = n - 1; k >= 0; k--) {
      const next = (index[k] ?? 0) + 1;
      if (next < (outDims[k] ?? 1)) {
        index[k] = next;
        source += outStrides[k] ?? 0;
        break;
      }
      source -= (next - 1) * (outStrides[k] ?? 0);
      index[k] = 0;
    }
  }
  return out;
}
