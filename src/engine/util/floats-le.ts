/**
 * Float32 values as little-endian bytes and back, whatever the host's byte order: the files the
 * engine writes (transfer-set shards, starting images) are always little-endian.
 */

// Typed arrays use the host's byte order.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes `values` into `out` at byte `offset`, little-endian. */
export function copyFloatsLE(values: Float32Array, out: Uint8Array, offset: number): void {
  if (HOST_IS_LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < values.length; i++) view.setFloat32(offset + 4 * i, values[i]!, true);
}

/** Reads `length` little-endian floats from `bytes` at byte `offset`. */
export function floatsFromLE(bytes: Uint8Array, offset: number, length: number): Float32Array {
  // Copy into a fresh buffer: file buffers need not be 4-byte aligned.
  const result = new Float32Array(length);
  if (HOST_IS_LITTLE_ENDIAN) {
    new Uint8Array(result.buffer).set(bytes.subarray(offset, offset + 4 * length));
    return result;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < length; i++) result[i] = view.getFloat32(offset + 4 * i, true);
  return result;
}
