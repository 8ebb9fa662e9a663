import type { LabeledImages } from '../data/types.js';
import type { Rng } from '../util/rng.js';

/** Light augmentation of raw images: what may change without changing the class. */
export interface AugmentOptions {
  /** Largest random shift in pixels, each axis (0 = none). */
  maxShift: number;
  /** Random horizontal flips (off for digits, fine for clothing). */
  flip: boolean;
}

/**
 * Copies the images at `indices` into a new raw batch, each shifted by a
 * random offset (vacated pixels are 0, the background of MNIST-like data)
 * and optionally mirrored. Works on raw pixels so that normalisation stays
 * the single job of data/preprocess.ts.
 */
export function augmentBatch(
  data: LabeledImages,
  indices: ArrayLike<number>,
  options: AugmentOptions,
  rng: Rng,
): LabeledImages {
  const [h, w, c] = data.shape;
  const size = h * w * c;
  const n = indices.length;
  const pixels = new Uint8Array(n * size);
  const labels = new Uint8Array(n);
  for (let b = 0; b < n; b++) {
    const src = (indices[b] ?? 0) * size;
    labels[b] = data.labels[indices[b] ?? 0] ?? 0;
    const dy = options.maxShift > 0 ? rng.int(2 * options.maxShift + 1) - options.maxShift : 0;
    const dx = options.maxShift > 0 ? rng.int(2 * options.maxShift + 1) - options.maxShift : 0;
    const flip = options.flip && rng.next() < 0.5;
    const dst = b * size;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const sxRaw = x - dx;
        if (sxRaw < 0 || sxRaw >= w) continue;
        const sx = flip ? w - 1 - sxRaw : sxRaw;
        const from = src + (sy * w + sx) * c;
        const to = dst + (y * w + x) * c;
        for (let k = 0; k < c; k++) pixels[to + k] = data.pixels[from + k] ?? 0;
      }
    }
  }
  return { ...data, count: n, pixels, labels };
}
