import { tf } from '../tf.js';
import { cosineRate, ScheduledAdam } from '../train/schedule.js';
import { yieldToEventLoop } from '../train/step.js';
import { clipToRange, type InputSpace } from './init.js';
import { blurImages } from './priors.js';

/** Loss terms of one step: `total` is minimised, the named parts are reported. */
export interface InputLoss {
  total: tf.Scalar;
  parts: Record<string, tf.Scalar>;
  /** The images the teacher was shown this step (after jitter) and its logits on them. */
  seen?: { input: tf.Tensor4D; logits: tf.Tensor2D };
}

export interface OptimizeOptions {
  iterations: number;
  learningRate: number;
  /** Cosine decay of the step size over the iterations (else constant). */
  decay?: boolean;
  /** Fraction of a blurred copy mixed into the images after each step (blurImages); 0 = off. */
  blur?: number;
  /**
   * Coarse-to-fine synthesis: the first `share` of the iterations optimise the images at
   * 1/`factor` of the input's resolution, shown to the loss upsampled bilinearly, so those steps
   * can only paint shapes, not fine texture; the rest refine them at full resolution. Absent or
   * factor 1: full resolution throughout.
   */
  coarse?: CoarseSettings;
  /**
   * Pyramid parameterisation: the image is the sum of its full-resolution pixels and of
   * `pyramid - 1` coarser layers (1/2, 1/4, ... of the resolution) shown enlarged, all optimised
   * together. Adam moves every value by about the same step, so a coarse value moves a whole block:
   * broad shapes change faster than fine stripes. 1 or absent: pixels only.
   */
  pyramid?: number;
  /** Report the loss parts every this many iterations (and at the end). */
  reportEvery?: number;
  onReport?: (iteration: number, losses: Record<string, number>) => void;
  signal?: AbortSignal;
}

export interface CoarseSettings {
  factor: number;
  share: number;
}

/**
 * Optimises a batch of images with Adam on the pixels (step size constant,
 * or decaying along a cosine curve), clipping them to the
 * valid input range after every step (the teacher never sees impossible
 * pixels). `loss` must be pure tensor math on x. Returns the final images
 * (caller disposes) and the last reported loss parts.
 */
export async function optimizeInputs(
  space: InputSpace,
  start: tf.Tensor4D,
  loss: (x: tf.Tensor4D) => InputLoss,
  options: OptimizeOptions,
): Promise<{ inputs: tf.Tensor4D; losses: Record<string, number> }> {
  const coarseSteps = coarseIterations(options);
  if (coarseSteps === 0) return optimizeFrom(space, start, loss, options, 1);
  const factor = options.coarse?.factor ?? 1;
  const [, h, w] = start.shape;
  const small = tf.tidy(() => downsample(start, factor));
  const enlarge = (z: tf.Tensor4D): tf.Tensor4D =>
    clipToRange(tf.image.resizeBilinear(z, [h, w], true), space);
  const coarseSpace = {
    ...space,
    inputShape: [small.shape[1], small.shape[2], small.shape[3]],
  } as InputSpace;
  let rough: { inputs: tf.Tensor4D; losses: Record<string, number> };
  try {
    rough = await optimizeFrom(
      { ...coarseSpace, frame: undefined, source: undefined },
      small,
      (z) => loss(enlarge(z)),
      { ...options, iterations: coarseSteps, blur: 0 },
      1,
    );
  } finally {
    small.dispose();
  }
  const image = tf.tidy(() => enlarge(rough.inputs));
  rough.inputs.dispose();
  if (coarseSteps >= options.iterations) return { inputs: image, losses: rough.losses };
  try {
    return await optimizeFrom(space, image, loss, options, coarseSteps + 1);
  } finally {
    image.dispose();
  }
}

/** How many of the iterations run at coarse resolution (0 when coarse synthesis is off). */
export function coarseIterations(options: Pick<OptimizeOptions, 'iterations' | 'coarse'>): number {
  const coarse = options.coarse;
  if (!coarse || coarse.factor <= 1 || coarse.share <= 0) return 0;
  return Math.min(options.iterations, Math.max(1, Math.round(options.iterations * coarse.share)));
}

/** Images at 1/factor resolution (average of each factor x factor block, partial blocks at the edges). */
function downsample(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  return tf.avgPool(x, factor, factor, 'same');
}

/** The Adam loop from iteration `first` to options.iterations, on images `start` in `space`. */
async function optimizeFrom(
  space: InputSpace,
  start: tf.Tensor4D,
  loss: (x: tf.Tensor4D) => InputLoss,
  options: OptimizeOptions,
  first: number,
): Promise<{ inputs: tf.Tensor4D; losses: Record<string, number> }> {
  const x = tf.variable(start, true);
  const [n, h, w, c] = start.shape;
  const levels = pyramidSizes(h, w, options.pyramid ?? 1).map(([lh, lw]) => {
    const zeros = tf.zeros([n, lh, lw, c]);
    const level = tf.variable(zeros, true);
    zeros.dispose();
    return level;
  });
  // The coarser levels at full resolution: each enlarged onto the next finer one (coarsest
  // first), so every resize is to the next level's size rather than the image's.
  const enlarged = (): tf.Tensor4D => {
    let sum = levels.at(-1) as unknown as tf.Tensor4D;
    for (let l = levels.length - 2; l >= -1; l--) {
      const finer = levels[l];
      const up = tf.image.resizeBilinear(sum, finer ? [finer.shape[1]!, finer.shape[2]!] : [h, w], true);
      sum = finer ? (tf.add(up, finer) as tf.Tensor4D) : up;
    }
    return sum;
  };
  // The image the loss sees: the pixels plus the enlarged levels (`up`), clipped to the range.
  const image = (up = levels.length > 0 ? enlarged() : undefined): tf.Tensor4D =>
    up ? clipToRange(tf.add(x, up) as tf.Tensor4D, space) : (x as unknown as tf.Tensor4D);
  const optimizer = new ScheduledAdam(options.learningRate);
  const reportEvery = options.reportEvery ?? 10;
  let losses: Record<string, number> = {};
  try {
    for (let iteration = first; iteration <= options.iterations; iteration++) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      if (options.decay) {
        optimizer.setLearningRate(cosineRate(options.learningRate, iteration - 1, options.iterations));
      }
      optimizer.minimize(
        () => {
          const { total, parts } = loss(image());
          tf.dispose(Object.values(parts));
          return total;
        },
        false,
        [x, ...levels],
      );
      // The clipped (and blurred) image becomes the state: the pixels hold what the coarser
      // levels do not, so no value drifts outside the range unseen.
      tf.tidy(() => {
        const up = levels.length > 0 ? enlarged() : undefined;
        const kept = clipToRange(blurImages(image(up), space, options.blur ?? 0), space);
        x.assign(up ? tf.sub(kept, up) : kept);
      });
      if (iteration % reportEvery === 0 || iteration === options.iterations) {
        losses = await readParts(() => loss(image()));
        options.onReport?.(iteration, losses);
        await yieldToEventLoop();
      }
    }
    return { inputs: tf.tidy(() => image().clone()), losses };
  } finally {
    optimizer.dispose();
    x.dispose();
    tf.dispose(levels);
  }
}

/** The sizes of a pyramid's coarser levels: halving `levels - 1` times, down to no less than 2x2. */
export function pyramidSizes(h: number, w: number, levels: number): [number, number][] {
  const sizes: [number, number][] = [];
  for (let l = 1; l < levels; l++) {
    const size: [number, number] = [Math.ceil(h / 2 ** l), Math.ceil(w / 2 ** l)];
    if (size[0] < 2 || size[1] < 2) break;
    sizes.push(size);
  }
  return sizes;
}

/** Evaluates the loss once without gradients and reads its parts as numbers. */
export async function readParts(compute: () => InputLoss): Promise<Record<string, number>> {
  // tidy keeps the tensors of the returned map and frees the intermediates.
  const named = tf.tidy(() => {
    const { total, parts } = compute();
    return { ...parts, total };
  }) as Record<string, tf.Tensor>;
  const names = Object.keys(named);
  const values = await Promise.all(names.map((n) => (named[n] as tf.Tensor).data()));
  tf.dispose(Object.values(named));
  return Object.fromEntries(names.map((n, i) => [n, values[i]?.[0] ?? NaN]));
}
