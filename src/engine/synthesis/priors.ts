import { shiftOnWasm } from '../backend/wasm-shift.js';
import { tf } from '../tf.js';
import { Rng } from '../util/rng.js';
import type { Classifier } from '../models/classifier.js';
import { frameMask, recordsDataStats, type InputSpace } from './init.js';

/** Image-prior settings shared by the optimising methods (beyond the paper; all off by default). */
export interface PriorSettings {
  tv: number;
  l2: number;
  jitter: number;
  /** Weight of pixelStatsPrior (absent: 0). */
  pixelStats?: number;
  /** Weight of darknessPrior (absent: 0). */
  dark?: number;
}

/**
 * Total variation (mean absolute difference of neighbouring pixels) and
 * mean squared value of the images, weighted: natural images are smooth and
 * mostly near the data mean, noise is neither (DeepInversion's priors).
 * With `space`, adds the recorded-statistics prior (pixelStatsPrior) at weight `pixelStats` and
 * the pull toward black (darknessPrior) at weight `dark`.
 * Returns undefined when every weight is 0, so the paper's loss is unchanged.
 */
export function imagePrior(
  x: tf.Tensor4D,
  settings: PriorSettings,
  space?: InputSpace,
): tf.Scalar | undefined {
  const statsWeight = settings.pixelStats ?? 0;
  const darkWeight = settings.dark ?? 0;
  const terms: tf.Scalar[] = [];
  if (settings.tv !== 0 || settings.l2 !== 0) terms.push(smoothnessPrior(x, settings));
  // Intermediates stay for the gradient; the caller's scope (tidy or the optimizer's) frees them.
  const stats = statsWeight > 0 && space ? pixelStatsPrior(x, space) : undefined;
  if (stats) terms.push(tf.mul(stats, statsWeight) as tf.Scalar);
  if (darkWeight > 0 && space) terms.push(tf.mul(darknessPrior(x, space), darkWeight) as tf.Scalar);
  if (terms.length <= 1) return terms[0];
  return tf.addN(terms) as tf.Scalar;
}

/**
 * Below this recorded pixel mean (0..1) in every channel, a teacher's training images count as
 * mostly black: handwritten digits 0.13, Fashion-MNIST 0.29 (both measured to gain from the pull
 * toward black), against 0.45-0.5 for photographs (CIFAR-10, ImageNet).
 */
export const DARK_IMAGES_MEAN = 0.35;

/** What the `background` setting decides for one teacher: the weight of the pull toward black, and why. */
export interface DarkDecision {
  weight: number;
  /** One sentence for the job's log; undefined when the setting is off (dark 0 or background any). */
  note?: string;
}

/**
 * The weight the pull toward black gets for a teacher: `dark` when `background` is 'dark', or
 * 'auto' and the teacher's preprocessing records a mean pixel value below DARK_IMAGES_MEAN in
 * every channel (its training images were mostly black); otherwise 0. A teacher whose
 * preprocessing records no statistics (mean 0 and std 1, e.g. an imported file) says nothing
 * about its images, so 'auto' leaves the pull off.
 */
export function darkDecision(
  settings: { dark: number; background: string },
  preprocessing: { mean: readonly number[]; std: readonly number[] },
): DarkDecision {
  if (settings.dark <= 0 || settings.background === 'any') return { weight: 0 };
  if (settings.background === 'dark') {
    return {
      weight: settings.dark,
      note: `Pull toward black: on (weight ${settings.dark}, background=dark)`,
    };
  }
  const { mean } = preprocessing;
  const means = mean.map((m) => m.toFixed(3)).join(', ');
  if (!recordsDataStats(preprocessing)) {
    return {
      weight: 0,
      note: "Pull toward black: off (the teacher's preprocessing records no pixel statistics; set background=dark if its images are bright on black)",
    };
  }
  if (mean.every((m) => m < DARK_IMAGES_MEAN)) {
    return {
      weight: settings.dark,
      note: `Pull toward black: on (weight ${settings.dark}; the teacher's training images had mean pixel value ${means}, mostly black)`,
    };
  }
  return {
    weight: 0,
    note: `Pull toward black: off (the teacher's training images had mean pixel value ${means}, not mostly black; background=dark forces it)`,
  };
}

/**
 * The methods' `notes`: what the `background` setting decided for this teacher, if anything, and
 * whether the recorded-statistics prior (pixelStats > 0) has statistics to pull toward.
 */
export function priorNotes(
  teacher: Classifier,
  settings: { dark: number; background: string; pixelStats: number },
): string[] {
  const { note } = darkDecision(settings, teacher.preprocessing);
  const notes = note === undefined ? [] : [note];
  if (settings.pixelStats > 0) {
    const { mean, std } = teacher.preprocessing;
    const list = (values: readonly number[]): string => values.map((v) => v.toFixed(3)).join(', ');
    notes.push(
      recordsDataStats(teacher.preprocessing)
        ? `Recorded-statistics prior: on (weight ${settings.pixelStats}; each batch pulled toward the training images' pixel mean ${list(mean)} and spread ${list(std)})`
        : "Recorded-statistics prior: off (the teacher's preprocessing records no pixel statistics)",
    );
  }
  return notes;
}

/**
 * The mean distance of the pixels above black (images are clipped to the valid range, so every
 * pixel is at or above it): an L1 pull toward black whose gradient is the same for every pixel,
 * so only pixels the teacher's answer needs are lit, on a dark background. The L2 prior pulls
 * toward the data mean instead, which for digits and clothing is a grey no real image has.
 */
export function darknessPrior(x: tf.Tensor4D, space: InputSpace): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(x, tf.tensor1d(space.low))) as tf.Scalar);
}

function smoothnessPrior(x: tf.Tensor4D, settings: PriorSettings): tf.Scalar {
  return tf.tidy(() => {
    const c = x.shape[3];
    // Neighbour differences as convolutions with [-1, 1] kernels: the same values as
    // slicing and subtracting, but convolutions (and their input gradients) are fast
    // on every backend, where 4-D slices are not (wasm: half of a synthesis step).
    const dy = tf.conv2d(x, differenceKernel(c, [2, 1]), 1, 'valid') as tf.Tensor4D;
    const dx = tf.conv2d(x, differenceKernel(c, [1, 2]), 1, 'valid') as tf.Tensor4D;
    const tv = tf.add(tf.mean(tf.abs(dy)), tf.mean(tf.abs(dx)));
    return tf.add(tf.mul(tv, settings.tv), tf.mul(tf.mean(tf.square(x)), settings.l2)) as tf.Scalar;
  });
}

/**
 * The recorded-statistics prior: squared distance of the batch's per-channel pixel mean and
 * standard deviation (inside the unpadded images' region, if the preprocessing pads them) from
 * those of the teacher's training data, which its preprocessing records (0 and 1 in normalised
 * units), averaged over channels. The input-level
 * analogue of DeepInversion's BatchNorm prior, for teachers without BatchNorm layers. Undefined
 * when the preprocessing records no statistics.
 */
export function pixelStatsPrior(x: tf.Tensor4D, space: InputSpace): tf.Scalar | undefined {
  if (!space.hasDataStats) return undefined;
  return tf.tidy(() => {
    const [n, h, w] = x.shape;
    // The statistics were recorded on the unpadded images: measure inside them.
    const region = space.source ?? space.frame;
    const frame = region ?? { height: h, width: w };
    const inside = frameMask(space, region);
    const count = n * frame.height * frame.width;
    const mean = tf.div(tf.sum(tf.mul(x, inside), [0, 1, 2]), count);
    const variance = tf.div(tf.sum(tf.mul(tf.square(tf.sub(x, mean)), inside), [0, 1, 2]), count);
    const std = tf.sqrt(tf.add(variance, 1e-8));
    return tf.mean(tf.add(tf.square(mean), tf.square(tf.sub(std, 1)))) as tf.Scalar;
  });
}

/** A [kh, kw, c, c] kernel taking, per channel, the last tap minus the first. */
function differenceKernel(c: number, [kh, kw]: [number, number]): tf.Tensor4D {
  const values = new Float32Array(kh * kw * c * c);
  for (let ch = 0; ch < c; ch++) {
    values[ch * c + ch] = -1; // tap (0, 0)
    values[(kh * kw - 1) * c * c + ch * c + ch] = 1; // tap (kh - 1, kw - 1)
  }
  return tf.tensor4d(values, [kh, kw, c, c]);
}

/**
 * Returns a function that shifts a batch by a fresh random offset of up to
 * `jitter` pixels at each call (the same offset for the whole batch), filling
 * with the value of a black pixel, and with `mirror` also mirrors it left to
 * right at every other call on average (DeepInversion's random flips), so the
 * images must give the teacher's answer both ways round. Seeded, so synthesis
 * stays reproducible.
 */
export function jitterer(
  space: InputSpace,
  jitter: number,
  seed: number,
  mirror = false,
): (x: tf.Tensor4D) => tf.Tensor4D {
  if (jitter <= 0 && !mirror) return (x) => x;
  const rng = new Rng(seed);
  const fill = space.low[0] ?? 0;
  const size = 2 * Math.max(0, jitter) + 1;
  const c = space.inputShape[2];
  const shift = (x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D => {
    // out[i, j] = x[i + dy - jitter, j + dx - jitter], or fill outside the image: one copy on
    // wasm with kernels.c, elsewhere a convolution with a one-hot kernel over (x - fill) with
    // zero padding (fast, unlike pad and slice).
    const copied = shiftOnWasm(x, dy - jitter, dx - jitter, fill);
    if (copied) return copied;
    const values = new Float32Array(size * size * c * c);
    for (let ch = 0; ch < c; ch++) values[(dy * size + dx) * c * c + ch * c + ch] = 1;
    const kernel = tf.tensor4d(values, [size, size, c, c]);
    const moved = tf.conv2d(
      fill === 0 ? x : (tf.sub(x, fill) as tf.Tensor4D),
      kernel,
      1,
      'same',
    ) as tf.Tensor4D;
    return fill === 0 ? moved : (tf.add(moved, fill) as tf.Tensor4D);
  };
  return (x) => {
    const dy = jitter > 0 ? rng.int(size) : 0;
    const dx = jitter > 0 ? rng.int(size) : 0;
    const flip = mirror && rng.int(2) === 1;
    return tf.tidy(() => {
      const moved = jitter > 0 ? shift(x, dy, dx) : x;
      return flip ? (tf.reverse(moved, 2) as tf.Tensor4D) : moved;
    });
  };
}

/**
 * DeepInversion's feature-statistics prior (Yin et al., CVPR 2020): for each
 * BatchNormalization layer, the L2 distances between the per-channel mean and
 * variance of its input over the synthesized batch and the running mean and
 * variance it recorded on the real data, summed over layers.
 */
export function batchNormPrior(
  inputs: readonly tf.Tensor[],
  stats: readonly { mean: tf.Tensor1D; variance: tf.Tensor1D }[],
): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    inputs.forEach((input, l) => {
      const reference = stats[l];
      if (!reference) return;
      const axes = Array.from({ length: input.rank - 1 }, (_, i) => i);
      const { mean, variance } = tf.moments(input, axes);
      const gap = tf.add(
        tf.norm(tf.sub(mean, reference.mean)),
        tf.norm(tf.sub(variance, reference.variance)),
      ) as tf.Scalar;
      total = tf.add(total, gap) as tf.Scalar;
    });
    return total;
  });
}

/**
 * Mixes each image with a blurred copy of itself: x <- (1 - amount) x + amount blur(x), where
 * blur is a 3x3 binomial filter ([1 2 1] / 4 in each direction) per channel, the image extended
 * by black pixels. Applied after each pixel step it removes the stripe patterns that plain
 * gradient steps paint (a projection, unlike the total-variation term, which the loss trades off).
 */
export function blurImages(x: tf.Tensor4D, space: InputSpace, amount: number): tf.Tensor4D {
  if (amount <= 0) return x;
  const c = space.inputShape[2];
  const taps = [1, 2, 1];
  const values = new Float32Array(9 * c);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      for (let ch = 0; ch < c; ch++) values[(i * 3 + j) * c + ch] = (taps[i]! * taps[j]!) / 16;
    }
  }
  return tf.tidy(() => {
    const low = tf.tensor1d(space.low);
    const shifted = tf.sub(x, low) as tf.Tensor4D;
    const blurred = tf.depthwiseConv2d(shifted, tf.tensor4d(values, [3, 3, c, 1]), 1, 'same');
    return tf.add(tf.add(tf.mul(shifted, 1 - amount), tf.mul(blurred, amount)), low) as tf.Tensor4D;
  });
}
