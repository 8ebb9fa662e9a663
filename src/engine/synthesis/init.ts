import type { ImageShape, Preprocessing } from '../data/types.js';
import { tf } from '../tf.js';

/** Noise on the flat `mean` start, in units of the data's standard deviation. */
const MEAN_INIT_NOISE = 0.1;

/** How synthesis starts its images (the `init` setting). */
export type InitKind = 'uniform' | 'normal' | 'smooth' | 'mean';

/** The model's input space: image shape and valid range per channel in normalised units. */
export interface InputSpace {
  inputShape: ImageShape;
  /** Normalised value of pixel 0, per channel. */
  low: number[];
  /** Normalised value of pixel 255, per channel. */
  high: number[];
  /**
   * Where real images sit inside the input, when they are smaller than it and padded (a 28x28
   * image centred in a 32x32 input): synthesis keeps every pixel outside it at the padding value,
   * as the preprocessing always does. Absent: the whole input is free.
   */
  frame?: Region;
  /**
   * Where real images sit inside the input when the preprocessing pads them, whether or not
   * synthesis keeps a frame: the recorded pixel statistics are those of the unpadded images.
   */
  source?: Region;
  /**
   * Whether the preprocessing normalises with statistics of the training data (mean and standard
   * deviation per channel other than 0 and 1), so real images have mean 0 and standard deviation
   * 1 per channel in these units.
   */
  hasDataStats?: boolean;
}

/** A rectangle of an input, in pixels. */
export interface Region {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * The region the preprocessing fills with real pixels when it pads `sourceShape` images
 * centrally to the input size (floor above and left, as it pads); undefined when they fill it.
 */
export function sourceRegion(inputShape: ImageShape, sourceShape: ImageShape): Region | undefined {
  const [h, w] = inputShape;
  const [sh, sw] = sourceShape;
  if (sh >= h && sw >= w) return undefined;
  return { top: Math.floor((h - sh) / 2), left: Math.floor((w - sw) / 2), height: sh, width: sw };
}

/** The space with its frame (sourceRegion); the same space when the images fill the whole input. */
export function framedSpace(space: InputSpace, sourceShape: ImageShape): InputSpace {
  const frame = sourceRegion(space.inputShape, sourceShape);
  return frame ? { ...space, frame } : space;
}

/**
 * Whether a preprocessing normalises with statistics of the training data (a mean or standard
 * deviation other than 0 and 1 in some channel), rather than recording nothing about the images.
 */
export function recordsDataStats(preprocessing: {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}): boolean {
  return preprocessing.mean.some((m) => m !== 0) || preprocessing.std.some((v) => v !== 1);
}

/** The input space of a classifier from its recorded preprocessing. */
export function inputSpace(classifier: { inputShape: ImageShape; preprocessing: Preprocessing }): InputSpace {
  const { mean, std, sourceShape } = classifier.preprocessing;
  const source = sourceRegion(classifier.inputShape, sourceShape);
  return {
    inputShape: classifier.inputShape,
    low: mean.map((m, c) => (0 - m) / (std[c] ?? 1)),
    high: mean.map((m, c) => (1 - m) / (std[c] ?? 1)),
    hasDataStats: recordsDataStats(classifier.preprocessing),
    ...(source ? { source } : {}),
  };
}

/**
 * Starting images for a batch, in normalised units and inside the valid
 * pixel range: uniform noise over the range, standard normal noise (clipped),
 * smooth noise (uniform noise at 1/4 resolution, upsampled bilinearly),
 * which starts closer to natural images' low-frequency content, or a flat
 * image at the data mean with faint noise (std 0.1 of the data's), so that
 * pixels the teacher does not care about stay plain.
 */
export function initialInputs(space: InputSpace, count: number, kind: InitKind, seed: number): tf.Tensor4D {
  const [h, w, c] = space.inputShape;
  return tf.tidy(() => {
    const low = tf.tensor1d(space.low);
    const span = tf.sub(tf.tensor1d(space.high), low);
    let unit: tf.Tensor4D;
    switch (kind) {
      case 'uniform':
        unit = tf.randomUniform([count, h, w, c], 0, 1, 'float32', seed);
        break;
      case 'smooth': {
        const coarse: tf.Tensor4D = tf.randomUniform(
          [count, Math.max(1, Math.round(h / 4)), Math.max(1, Math.round(w / 4)), c],
          0,
          1,
          'float32',
          seed,
        );
        unit = tf.image.resizeBilinear(coarse, [h, w], true) as tf.Tensor4D;
        break;
      }
      case 'normal':
        return clipToRange(tf.randomNormal([count, h, w, c], 0, 1, 'float32', seed), space);
      case 'mean':
        return clipToRange(tf.randomNormal([count, h, w, c], 0, MEAN_INIT_NOISE, 'float32', seed), space);
    }
    return clipToRange(tf.add(low, tf.mul(unit, span)) as tf.Tensor4D, space);
  });
}

/**
 * Clips images to the valid input range, per channel, and sets every pixel outside the space's
 * frame (if any) to the padding value (the normalised value of a black pixel).
 */
export function clipToRange(x: tf.Tensor4D, space: InputSpace): tf.Tensor4D {
  return tf.tidy(() => {
    const low = tf.tensor1d(space.low);
    const clipped = tf.minimum(tf.maximum(x, low), tf.tensor1d(space.high)) as tf.Tensor4D;
    if (!space.frame) return clipped;
    return tf.add(tf.mul(tf.sub(clipped, low), frameMask(space)), low) as tf.Tensor4D;
  });
}

/** A [1, h, w, 1] mask: 1 inside `region` (default the space's frame; the whole input without one), 0 outside. */
export function frameMask(space: InputSpace, region = space.frame): tf.Tensor4D {
  const [h, w] = space.inputShape;
  const frame = region ?? { top: 0, left: 0, height: h, width: w };
  return tf.tidy(() =>
    tf.pad(tf.ones([1, frame.height, frame.width, 1]), [
      [0, 0],
      [frame.top, h - frame.height - frame.top],
      [frame.left, w - frame.width - frame.left],
      [0, 0],
    ]),
  ) as tf.Tensor4D;
}
