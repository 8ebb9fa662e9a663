import { tf } from '../tf.js';
import { Rng } from '../util/rng.js';
import type { InputSpace } from './init.js';

/** Image-prior settings shared by the optimising methods (beyond the paper; all off by default). */
export interface PriorSettings {
  tv: number;
  l2: number;
  jitter: number;
}

/**
 * Total variation (mean absolute difference of neighbouring pixels) and
 * mean squared value of the images, weighted: natural images are smooth and
 * mostly near the data mean, noise is neither (DeepInversion's priors).
 * Returns undefined when both weights are 0, so the paper's loss is unchanged.
 */
export function imagePrior(x: tf.Tensor4D, settings: PriorSettings): tf.Scalar | undefined {
  if (settings.tv === 0 && settings.l2 === 0) return undefined;
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const dy = tf.sub(
      tf.slice(x, [0, 1, 0, 0], [-1, h - 1, -1, -1]),
      tf.slice(x, [0, 0, 0, 0], [-1, h - 1, -1, -1]),
    );
    const dx = tf.sub(
      tf.slice(x, [0, 0, 1, 0], [-1, -1, w - 1, -1]),
      tf.slice(x, [0, 0, 0, 0], [-1, -1, w - 1, -1]),
    );
    const tv = tf.add(tf.mean(tf.abs(dy)), tf.mean(tf.abs(dx)));
    return tf.add(tf.mul(tv, settings.tv), tf.mul(tf.mean(tf.square(x)), settings.l2)) as tf.Scalar;
  });
}

/**
 * Returns a function that shifts a batch by a fresh random offset of up to
 * `jitter` pixels at each call (the same offset for the whole batch), filling
 * with the value of a black pixel. Seeded, so synthesis stays reproducible.
 */
export function jitterer(space: InputSpace, jitter: number, seed: number): (x: tf.Tensor4D) => tf.Tensor4D {
  if (jitter <= 0) return (x) => x;
  const rng = new Rng(seed);
  const fill = space.low[0] ?? 0;
  return (x) => {
    const dy = rng.int(2 * jitter + 1);
    const dx = rng.int(2 * jitter + 1);
    const [n, h, w, c] = x.shape;
    return tf.tidy(() => {
      const padded = tf.pad(
        x,
        [
          [0, 0],
          [jitter, jitter],
          [jitter, jitter],
          [0, 0],
        ],
        fill,
      );
      return tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]);
    });
  };
}
