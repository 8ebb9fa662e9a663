import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../shared/errors.js';
import { writeFileAtomic } from '../util/atomic-fs.js';
import { copyFloatsLE, floatsFromLE } from '../util/floats-le.js';
import { Rng } from '../util/rng.js';
import type { HeldSet } from '../transfer/held-set.js';
import type { ShardTask } from './shards.js';

/**
 * Starting images for a round's shards taken from earlier rounds (the `restart` setting): the
 * coordinator picks them from the images in memory and writes one file per shard, which the
 * process that makes the shard (this one or a worker) reads. The picks depend on the seed, the
 * shard and the images of the rounds before only, so a resumed job picks the same ones.
 */

/** How many of a shard's `count` images start from earlier ones at share `restart`. */
export function restartCount(count: number, restart: number): number {
  return Math.min(count, Math.round(count * Math.max(0, restart)));
}

/**
 * Picks `k` images at random (with replacement) among the first `eligible` of `held`, seeded by
 * `seed`, one after another.
 */
export function pickStartImages(
  held: Pick<HeldSet, 'count' | 'images'>,
  eligible: number,
  k: number,
  seed: number,
): Float32Array {
  if (eligible <= 0 || k <= 0) return new Float32Array(0);
  if (eligible > held.count) {
    throw new Error(`pickStartImages: ${eligible} images asked for, ${held.count} held`);
  }
  const rng = new Rng(seed);
  return held.images(Array.from({ length: k }, () => rng.int(eligible)));
}

/**
 * Picks the starting images of each shard among the first `eligible` images held (those of the
 * earlier rounds), seeded by `seed` and the shard, and writes them to the shard's file in `dir`:
 * the shards as tasks that name their file (shards without any, as they are).
 */
export async function startImagesFor(
  shards: readonly ShardTask[],
  held: Pick<HeldSet, 'count' | 'images'>,
  eligible: number,
  restart: number,
  seed: number,
  dir: string,
): Promise<ShardTask[]> {
  // Picked before any await, while `held` holds what it held when called.
  const picked = shards.map((shard) => ({
    shard,
    images: pickStartImages(
      held,
      eligible,
      restartCount(shard.count, restart),
      (seed * 1_000_003 + shard.index * 7_919 + 101) % 2_147_483_647,
    ),
  }));
  return Promise.all(
    picked.map(async ({ shard, images }) => {
      if (images.length === 0) return shard;
      const file = startFile(dir, shard.index);
      await writeStartImages(file, images);
      return { ...shard, starts: file };
    }),
  );
}

/** The file of shard `index`'s starting images in `dir`. */
export function startFile(dir: string, index: number): string {
  return path.join(dir, `starts-${String(index).padStart(5, '0')}.bin`);
}

/** Writes starting images (raw float32, little-endian, NHWC), atomically. */
export async function writeStartImages(file: string, images: Float32Array): Promise<void> {
  const bytes = new Uint8Array(images.byteLength);
  copyFloatsLE(images, bytes, 0);
  await writeFileAtomic(file, bytes);
}

/**
 * Reads a file of starting images for a shard of `count` images of `pixels` values each:
 * at most `count` whole images, else a UserError naming the file.
 */
export async function readStartImages(file: string, pixels: number, count: number): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new UserError(
      'CHECKPOINT_DAMAGED',
      `The starting images of a shard are missing (${file}): ${(error as Error).message}`,
      'Start the job again; it writes them anew from the images on disk',
    );
  }
  const values = bytes.byteLength / 4;
  if (bytes.byteLength % (4 * pixels) !== 0 || values / pixels > count) {
    throw new UserError(
      'CHECKPOINT_DAMAGED',
      `The starting images in ${file} are damaged: ${bytes.byteLength} bytes is not a whole number of at most ${count} images of ${pixels} values`,
      'Start the job again; it writes them anew from the images on disk',
    );
  }
  return floatsFromLE(bytes, 0, values);
}
