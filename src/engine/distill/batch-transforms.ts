/** The ways a student batch can be drawn from synthesized images: shifted, mirrored, blended, faded, softened. */
import type { ImageShape } from '../data/types.js';
import type { Rng } from '../util/rng.js';

/** How many shifts of up to `maxShift` pixels per axis there are: (2 maxShift + 1)^2, the unshifted one among them. */
export function shiftCount(maxShift: number): number {
  return (2 * maxShift + 1) ** 2;
}

/** The number of shift (dy, dx) among the `shiftCount(maxShift)`, row by row from (-maxShift, -maxShift). */
function shiftNumber(dy: number, dx: number, maxShift: number): number {
  return (dy + maxShift) * (2 * maxShift + 1) + dx + maxShift;
}

/**
 * Copies the image at `from` (of `inputs`) into `out` at `to`, moved by dy
 * rows and dx columns; vacated pixels take `fill` (per channel).
 */
function shiftImage(
  inputs: Float32Array,
  from: number,
  out: Float32Array,
  to: number,
  shape: ImageShape,
  dy: number,
  dx: number,
  fill: readonly number[],
): void {
  const [h, w, c] = shape;
  const row = w * c;
  // Columns x0..x1-1 of each row have a source (x - dx inside the image); the rest is fill.
  const x0 = Math.max(0, dx);
  const x1 = Math.min(w, w + dx);
  const fillRange = (start: number, end: number): void => {
    for (let i = start; i < end; i++) out[i] = fill[(i - to) % c] ?? 0;
  };
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    const dst = to + y * row;
    if (sy < 0 || sy >= h || x1 <= x0) {
      fillRange(dst, dst + row);
      continue;
    }
    fillRange(dst, dst + x0 * c);
    const src = from + (sy * w + x0 - dx) * c;
    const n = (x1 - x0) * c;
    for (let i = 0; i < n; i++) out[dst + x0 * c + i] = inputs[src + i] ?? 0;
    fillRange(dst + x1 * c, dst + row);
  }
}

/**
 * Writes the `shiftCount(maxShift)` shifted copies of image `index` of
 * `inputs` into `out` from `to` on, in the order of their shift numbers.
 */
export function everyShift(
  inputs: Float32Array,
  index: number,
  out: Float32Array,
  to: number,
  shape: ImageShape,
  maxShift: number,
  fill: readonly number[],
): void {
  const size = shape[0] * shape[1] * shape[2];
  for (let dy = -maxShift; dy <= maxShift; dy++) {
    for (let dx = -maxShift; dx <= maxShift; dx++) {
      const at = to + shiftNumber(dy, dx, maxShift) * size;
      shiftImage(inputs, index * size, out, at, shape, dy, dx, fill);
    }
  }
}

/**
 * Copies images `indices` of a flat NHWC float array into a new batch, each
 * shifted by up to `maxShift` pixels per axis; vacated pixels take `fill`
 * (per channel: the normalised value of a black pixel). Used to augment
 * synthesized images while distilling. Where `chosen` is given, it receives
 * each image's shift number (as `everyShift` orders them). Written into `out` where given.
 */
export function shiftedBatch(
  inputs: Float32Array,
  indices: ArrayLike<number>,
  shape: ImageShape,
  maxShift: number,
  fill: readonly number[],
  rng: Rng,
  chosen?: Uint8Array,
  out: Float32Array = new Float32Array(indices.length * shape[0] * shape[1] * shape[2]),
): Float32Array {
  const [h, w, c] = shape;
  const size = h * w * c;
  for (let b = 0; b < indices.length; b++) {
    const dy = rng.int(2 * maxShift + 1) - maxShift;
    const dx = rng.int(2 * maxShift + 1) - maxShift;
    shiftImage(inputs, (indices[b] ?? 0) * size, out, b * size, shape, dy, dx, fill);
    if (chosen) chosen[b] = shiftNumber(dy, dx, maxShift);
  }
  return out;
}

/** Copies items `indices` (images, or rows of logits) of `size` values each, unchanged (into `out` where given). */
export function gatherBatch(
  inputs: Float32Array,
  indices: ArrayLike<number>,
  size: number,
  out: Float32Array = new Float32Array(indices.length * size),
): Float32Array {
  for (let b = 0; b < indices.length; b++) {
    const src = (indices[b] ?? 0) * size;
    out.set(inputs.subarray(src, src + size), b * size);
  }
  return out;
}

/**
 * Calls `rewrite(b)` for each image b of a batch of `count` chosen with
 * probability `fraction` (one draw from `rng` per image, before whatever
 * `rewrite` draws). Returns how many were chosen.
 */
function rewriteSome(count: number, fraction: number, rng: Rng, rewrite: (b: number) => void): number {
  let chosen = 0;
  for (let b = 0; b < count; b++) {
    if (rng.next() >= fraction) continue;
    rewrite(b);
    chosen++;
  }
  return chosen;
}

/**
 * Replaces a `fraction` of the images of a flat batch, in place, by blends
 * lambda * a + (1 - lambda) * b of two images of the batch (as they were
 * before blending), lambda uniform in [0, 1). Returns how many were blended.
 */
export function blendBatch(
  batch: Float32Array,
  count: number,
  size: number,
  fraction: number,
  rng: Rng,
): number {
  if (fraction <= 0 || count < 2) return 0;
  const original = batch.slice();
  return rewriteSome(count, fraction, rng, (b) => {
    const partner = (b + 1 + rng.int(count - 1)) % count;
    const lambda = rng.next();
    const to = b * size;
    const from = partner * size;
    for (let i = 0; i < size; i++) {
      batch[to + i] = lambda * (original[to + i] ?? 0) + (1 - lambda) * (original[from + i] ?? 0);
    }
  });
}

/**
 * Fades a `fraction` of the images of a flat batch, in place, toward the
 * data mean (0 in normalised units): x becomes lambda * x, lambda uniform in
 * [0, 1). Synthesized images are the strongest answers the teacher can give;
 * faded ones show it weaker, more ordinary inputs. Returns how many faded.
 */
export function fadeBatch(
  batch: Float32Array,
  count: number,
  size: number,
  fraction: number,
  rng: Rng,
): number {
  if (fraction <= 0) return 0;
  return rewriteSome(count, fraction, rng, (b) => {
    const lambda = rng.next();
    for (let i = b * size; i < (b + 1) * size; i++) batch[i] = lambda * (batch[i] ?? 0);
  });
}

/**
 * Mirrors a `fraction` of the images of a flat NHWC batch left to right, in
 * place (for classes that look the same mirrored, e.g. clothing, not
 * digits). Returns how many were mirrored.
 */
export function flipBatch(
  batch: Float32Array,
  count: number,
  shape: readonly [number, number, number],
  fraction: number,
  rng: Rng,
): number {
  if (fraction <= 0) return 0;
  const [h, w, c] = shape;
  return rewriteSome(count, fraction, rng, (b) => {
    for (let y = 0; y < h; y++) {
      const row = (b * h + y) * w * c;
      for (let x = 0; x < w >> 1; x++) {
        const left = row + x * c;
        const right = row + (w - 1 - x) * c;
        for (let k = 0; k < c; k++) {
          const v = batch[left + k] ?? 0;
          batch[left + k] = batch[right + k] ?? 0;
          batch[right + k] = v;
        }
      }
    }
  });
}

/** Blur strengths of a softened image: sigma uniform in this range, in pixels. */
const SOFTEN_SIGMA = { min: 0.5, max: 2 } as const;

/**
 * Softens a `fraction` of the images of a flat NHWC batch, in place: a
 * Gaussian blur with sigma uniform in SOFTEN_SIGMA (edges repeated), each
 * channel alone. Synthesized images are sharp textures; softened ones show
 * the teacher smooth shapes for it to label. Returns how many were softened.
 */
export function softenBatch(
  batch: Float32Array,
  count: number,
  shape: readonly [number, number, number],
  fraction: number,
  rng: Rng,
): number {
  if (fraction <= 0) return 0;
  const [h, w, c] = shape;
  const size = h * w * c;
  const row = new Float32Array(size);
  return rewriteSome(count, fraction, rng, (b) => {
    const sigma = SOFTEN_SIGMA.min + (SOFTEN_SIGMA.max - SOFTEN_SIGMA.min) * rng.next();
    const kernel = gaussianKernel(sigma);
    const image = batch.subarray(b * size, (b + 1) * size);
    blurAxis(image, row, kernel, h, w, c, 'x');
    blurAxis(row, image, kernel, h, w, c, 'y');
  });
}

/** Weights of a normalised 1-D Gaussian of radius ceil(2 sigma), centre first. */
function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.ceil(2 * sigma);
  const weights = Float32Array.from({ length: radius + 1 }, (_, d) =>
    Math.exp((-d * d) / (2 * sigma * sigma)),
  );
  const total = weights.reduce((sum, v, d) => sum + (d === 0 ? v : 2 * v), 0);
  return weights.map((v) => v / total);
}

/** One pass of a separable blur along x or y, from `src` into `dst` (HWC images, edges repeated). */
function blurAxis(
  src: Float32Array,
  dst: Float32Array,
  kernel: Float32Array,
  h: number,
  w: number,
  c: number,
  axis: 'x' | 'y',
): void {
  const radius = kernel.length - 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let d = -radius; d <= radius; d++) {
          const yy = axis === 'y' ? Math.min(h - 1, Math.max(0, y + d)) : y;
          const xx = axis === 'x' ? Math.min(w - 1, Math.max(0, x + d)) : x;
          sum += (kernel[Math.abs(d)] ?? 0) * (src[(yy * w + xx) * c + k] ?? 0);
        }
        dst[(y * w + x) * c + k] = sum;
      }
    }
  }
}
