import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../shared/errors.js';
import type { TransferBatch } from '../synthesis/method.js';
import { writeFileAtomic } from '../util/atomic-fs.js';
import { copyFloatsLE, floatsFromLE } from '../util/floats-le.js';

/**
 * One shard of a transfer set on disk. Layout (all little-endian):
 *
 *   0  'DSTS'           magic
 *   4  u32 version      SHARD_FORMAT_VERSION
 *   8  u32 count        images in the shard
 *  12  u32 pixelsPerImage  h * w * c
 *  16  u32 numClasses
 *  20  f32[count * pixelsPerImage]  inputs (NHWC, normalised units)
 *   .. f32[count * numClasses]      teacher logits
 *
 * The header is a multiple of 4 bytes so the payload stays float-aligned.
 */
export const SHARD_FORMAT_VERSION = 1;
const MAGIC = 'DSTS';
const HEADER_BYTES = 20;
const FIX_DAMAGED = 'Delete the file; the job will make it again when resumed';

/** What a reader expects a shard file to hold; `sha256` is checked when given. */
export interface ShardExpectation {
  count: number;
  pixelsPerImage: number;
  numClasses: number;
  sha256?: string;
}

/** The file name of shard `index` inside a transfer-set folder, e.g. shard-00003.bin. */
export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(5, '0')}.bin`;
}

/** sha256 (hex) of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Encodes a batch as the bytes of a shard file (see the layout above). */
export function encodeShard(batch: Pick<TransferBatch, 'count' | 'inputs' | 'logits'>): Uint8Array {
  const { count, inputs, logits } = batch;
  if (!Number.isInteger(count) || count < 1 || inputs.length % count !== 0 || logits.length % count !== 0) {
    throw new Error(
      `A transfer batch of ${count} images cannot hold ${inputs.length} input values and ${logits.length} logits`,
    );
  }
  const bytes = new Uint8Array(HEADER_BYTES + 4 * (inputs.length + logits.length));
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(4, SHARD_FORMAT_VERSION, true);
  view.setUint32(8, count, true);
  view.setUint32(12, inputs.length / count, true);
  view.setUint32(16, logits.length / count, true);
  copyFloatsLE(inputs, bytes, HEADER_BYTES);
  copyFloatsLE(logits, bytes, HEADER_BYTES + 4 * inputs.length);
  return bytes;
}

/**
 * Says what is wrong with the bytes of a shard file, or returns null when
 * they hold exactly what `expected` describes. Shared by readers and the
 * store's resume check so both judge a file the same way.
 */
export function shardProblem(bytes: Uint8Array, expected: ShardExpectation): string | null {
  if (bytes.byteLength < HEADER_BYTES) return `it is only ${bytes.byteLength} bytes long`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== MAGIC) return 'it is not a transfer-set shard';
  const version = view.getUint32(4, true);
  if (version !== SHARD_FORMAT_VERSION)
    return `it has format version ${version}, not ${SHARD_FORMAT_VERSION}`;
  const header = {
    count: view.getUint32(8, true),
    pixelsPerImage: view.getUint32(12, true),
    numClasses: view.getUint32(16, true),
  };
  for (const key of ['count', 'pixelsPerImage', 'numClasses'] as const) {
    if (header[key] !== expected[key])
      return `its header says ${key} ${header[key]}, expected ${expected[key]}`;
  }
  const size = HEADER_BYTES + 4 * expected.count * (expected.pixelsPerImage + expected.numClasses);
  if (bytes.byteLength !== size) return `it is ${bytes.byteLength} bytes long, expected ${size}`;
  if (expected.sha256 !== undefined && sha256Hex(bytes) !== expected.sha256) {
    return 'its checksum does not match the one recorded when it was written';
  }
  return null;
}

/**
 * Writes shard `index` of a transfer set into `dir` atomically (temporary
 * file, fsync, rename), so a process killed mid-write leaves either no shard
 * or a complete one. Returns the file name relative to `dir`, its sha256 and
 * its size, which the coordinator records in the manifest.
 */
export async function writeShardFile(
  dir: string,
  index: number,
  batch: TransferBatch,
): Promise<{ file: string; sha256: string; bytes: number }> {
  const bytes = encodeShard(batch);
  const file = shardFileName(index);
  await writeFileAtomic(path.join(dir, file), bytes);
  return { file, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}

/**
 * Reads a shard file and checks its header, size and (when given) checksum
 * against what the manifest expects. Throws UserError TRANSFER_SHARD_MISSING
 * or TRANSFER_SHARD_DAMAGED with a fix the user can act on.
 */
export async function readShardFile(
  file: string,
  expected: ShardExpectation,
): Promise<{ inputs: Float32Array; logits: Float32Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(
        'TRANSFER_SHARD_MISSING',
        `The transfer-set shard ${file} is missing`,
        'Start the job again on the same run folder; it will make the missing shard again',
        { cause: error },
      );
    }
    throw error;
  }
  const problem = shardProblem(bytes, expected);
  if (problem !== null) {
    throw new UserError(
      'TRANSFER_SHARD_DAMAGED',
      `The transfer-set shard ${file} is damaged: ${problem}`,
      FIX_DAMAGED,
    );
  }
  const inputLength = expected.count * expected.pixelsPerImage;
  return {
    inputs: floatsFromLE(bytes, HEADER_BYTES, inputLength),
    logits: floatsFromLE(bytes, HEADER_BYTES + 4 * inputLength, expected.count * expected.numClasses),
  };
}
