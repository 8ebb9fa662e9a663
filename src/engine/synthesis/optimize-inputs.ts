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
  /** Report the loss parts every this many iterations (and at the end). */
  reportEvery?: number;
  onReport?: (iteration: number, losses: Record<string, number>) => void;
  signal?: AbortSignal;
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
  const x = tf.variable(start, true);
  const optimizer = new ScheduledAdam(options.learningRate);
  const reportEvery = options.reportEvery ?? 10;
  let losses: Record<string, number> = {};
  try {
    for (let iteration = 1; iteration <= options.iterations; iteration++) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      if (options.decay) {
        optimizer.setLearningRate(cosineRate(options.learningRate, iteration - 1, options.iterations));
      }
      optimizer.minimize(
        () => {
          const { total, parts } = loss(x as unknown as tf.Tensor4D);
          tf.dispose(Object.values(parts));
          return total;
        },
        false,
        [x],
      );
      tf.tidy(() =>
        x.assign(clipToRange(blurImages(x as unknown as tf.Tensor4D, space, options.blur ?? 0), space)),
      );
      if (iteration % reportEvery === 0 || iteration === options.iterations) {
        losses = await readParts(() => loss(x as unknown as tf.Tensor4D));
        options.onReport?.(iteration, losses);
        await yieldToEventLoop();
      }
    }
    return { inputs: x.clone() as tf.Tensor4D, losses };
  } finally {
    optimizer.dispose();
    x.dispose();
  }
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
