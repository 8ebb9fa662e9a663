import { gatherBatch } from '../distill/batch-transforms.js';

/**
 * A transfer set read image by image: the teacher's logits on all of it, and the images asked
 * for. Backed by a plain array of normalised values (`heldSet`) or by the round pipeline's pool,
 * which keeps 8-bit pixels and decodes only what is read.
 */
export interface HeldSet {
  readonly count: number;
  /** The teacher's logits, `count` rows. */
  readonly logits: Float32Array;
  /** Images `indices`, one after another (normalised values, NHWC). */
  images(indices: readonly number[]): Float32Array;
}

/** A HeldSet over `count` images of `pixels` values each in `inputs`. */
export function heldSet(
  set: { count: number; inputs: Float32Array; logits: Float32Array },
  pixels: number,
): HeldSet {
  return {
    count: set.count,
    logits: set.logits,
    images: (indices) => {
      const outside = indices.find((i) => i < 0 || i >= set.count);
      if (outside !== undefined) throw new Error(`HeldSet: image ${outside} asked for, ${set.count} held`);
      return gatherBatch(set.inputs, indices, pixels);
    },
  };
}
