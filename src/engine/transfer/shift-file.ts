import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-fs.js';
import { copyFloatsLE, floatsFromLE } from '../util/floats-le.js';
import { sha256Hex, shardFileName } from './shard-file.js';

/**
 * The teacher's logits on every shift of each image of a shard (distill/shift-labels.ts), kept
 * beside the shard by the process that made it, so that the round pipeline's student process
 * reads them instead of asking the teacher 25 times per image on its own critical path. A cache:
 * when the file is missing or damaged the pipeline computes the same values itself.
 *
 *   0  'DSSL'  magic
 *   4  u32 version
 *   8  u32 count          images
 *  12  u32 shifts         shifted copies per image
 *  16  u32 numClasses
 *  20  f32[count * shifts * numClasses]   little-endian
 */
const MAGIC = 'DSSL';
const VERSION = 1;
const HEADER_BYTES = 20;

/** What a shift-label file must hold. */
export interface ShiftLabelShape {
  count: number;
  shifts: number;
  numClasses: number;
}

/** The file name of shard `index`'s shift labels, beside its shard: e.g. shard-00003.shifts.bin. */
export function shiftFileName(index: number): string {
  return shardFileName(index).replace(/\.bin$/, '.shifts.bin');
}

/** Writes shard `index`'s shift labels into `dir` atomically; returns the file name and sha256. */
export async function writeShiftFile(
  dir: string,
  index: number,
  shape: ShiftLabelShape,
  logits: Float32Array,
): Promise<{ file: string; sha256: string }> {
  const { count, shifts, numClasses } = shape;
  if (logits.length !== count * shifts * numClasses) {
    throw new Error(
      `${count} images x ${shifts} shifts x ${numClasses} classes cannot be ${logits.length} logits`,
    );
  }
  const bytes = new Uint8Array(HEADER_BYTES + 4 * logits.length);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  [VERSION, count, shifts, numClasses].forEach((value, i) => view.setUint32(4 + 4 * i, value, true));
  copyFloatsLE(logits, bytes, HEADER_BYTES);
  const file = shiftFileName(index);
  await writeFileAtomic(path.join(dir, file), bytes);
  return { file, sha256: sha256Hex(bytes) };
}

/**
 * The logits of a shift-label file, or undefined when it is missing, is not such a file, has
 * another shape or checksum, or is named outside `dir`.
 */
export async function readShiftFile(
  dir: string,
  file: string,
  shape: ShiftLabelShape,
  sha256: string,
): Promise<Float32Array | undefined> {
  if (path.basename(file) !== file) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path.join(dir, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const length = shape.count * shape.shifts * shape.numClasses;
  if (bytes.byteLength !== HEADER_BYTES + 4 * length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = [VERSION, shape.count, shape.shifts, shape.numClasses];
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) return undefined;
  if (header.some((value, i) => view.getUint32(4 + 4 * i, true) !== value)) return undefined;
  if (sha256Hex(bytes) !== sha256) return undefined;
  return floatsFromLE(bytes, HEADER_BYTES, length);
}
