import { tf } from '../tf.js';
import type { InputSpace } from './init.js';
import { jsDivergence } from './losses.js';
import type { StudentAwareness, SynthesizeOptions, TransferBatch } from './method.js';
import { optimizeInputs, type CoarseSettings, type InputLoss } from './optimize-inputs.js';

/** What a method prepares for one batch: starting images, optional targets and loss. */
export interface BatchPlan {
  start: tf.Tensor4D;
  /** Target distributions (kept to measure how well they were met). */
  targets?: tf.Tensor2D;
  /** Loss to minimise over the images; absent: the images are used as they start. */
  loss?: (x: tf.Tensor4D) => InputLoss;
}

/** The forward pass and settings every method's batch loop needs. */
export interface BatchRunner {
  space: InputSpace;
  logits(x: tf.Tensor4D): tf.Tensor2D;
  batchSize: number;
  iterations: number;
  learningRate: number;
  /** Cosine decay of the pixel step size. */
  decay?: boolean;
  /** Blur mixed into the images after each pixel step (0 = off). */
  blur?: number;
  /** Coarse-to-fine synthesis (optimizeInputs); absent: full resolution throughout. */
  coarse?: CoarseSettings;
  /** Pyramid parameterisation of the images (optimizeInputs); absent or 1: pixels only. */
  pyramid?: number;
}

/**
 * Splits `count` images into batches, lets the method plan each batch
 * (seeded by `seed` and the batch index), optimises it, and gathers inputs
 * and the teacher's logits into flat arrays. Metrics are averaged over
 * batches weighted by size; `targetMatch` is the fraction of images whose
 * teacher argmax equals the target's argmax.
 */
export async function runBatches(
  runner: BatchRunner,
  count: number,
  seed: number,
  options: SynthesizeOptions,
  plan: (batch: number, batchSeed: number) => BatchPlan,
): Promise<TransferBatch> {
  const [h, w, c] = runner.space.inputShape;
  const pixels = h * w * c;
  const inputs = new Float32Array(count * pixels);
  let logits = new Float32Array(0);
  const sums: Record<string, number> = {};
  let done = 0;
  for (let b = 0; done < count; b++) {
    const batch = Math.min(runner.batchSize, count - done);
    const planned = plan(batch, (seed * 7919 + b * 104_729) % 2_147_483_647);
    const { targets } = planned;
    const start = withStarts(planned.start, options.starts, done, count, pixels);
    const loss =
      planned.loss && options.student ? withDisagreement(planned.loss, options.student) : planned.loss;
    let final = start;
    let losses: Record<string, number> = {};
    try {
      if (loss && runner.iterations > 0) {
        const result = await optimizeInputs(runner.space, start, loss, {
          iterations: runner.iterations,
          learningRate: runner.learningRate,
          decay: runner.decay ?? false,
          blur: runner.blur ?? 0,
          ...(runner.coarse ? { coarse: runner.coarse } : {}),
          ...(runner.pyramid ? { pyramid: runner.pyramid } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          onReport: (iteration, current) =>
            options.onProgress?.({
              done,
              total: count,
              batch,
              iteration,
              iterations: runner.iterations,
              losses: current,
            }),
        });
        final = result.inputs;
        losses = result.losses;
      }
      const teacherLogits = tf.tidy(() => runner.logits(final));
      const [xData, yData] = await Promise.all([final.data(), teacherLogits.data()]);
      if (logits.length === 0) logits = new Float32Array(count * (teacherLogits.shape[1] ?? 0));
      inputs.set(xData as Float32Array, done * pixels);
      logits.set(yData as Float32Array, done * (teacherLogits.shape[1] ?? 0));
      if (targets) losses.targetMatch = await matchRate(targets, teacherLogits);
      teacherLogits.dispose();
    } finally {
      tf.dispose([start, final, ...(targets ? [targets] : [])]);
    }
    for (const [name, value] of Object.entries(losses)) sums[name] = (sums[name] ?? 0) + value * batch;
    done += batch;
    options.onProgress?.({
      done,
      total: count,
      batch: 0,
      iteration: runner.iterations,
      iterations: runner.iterations,
      losses,
    });
  }
  const metrics = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / count]));
  return { count, inputs, logits, metrics };
}

/**
 * Which of the given starting images image `i` of `count` takes when `k` are spread evenly over
 * them (the ones where floor(i k / count) steps up), or -1 for none.
 */
export function startSlot(i: number, count: number, k: number): number {
  const below = Math.floor((i * k) / count);
  return Math.floor(((i + 1) * k) / count) > below ? below : -1;
}

/** The batch's starts with the given starting images put in their slots (disposes `start` if it replaces it). */
function withStarts(
  start: tf.Tensor4D,
  starts: Float32Array | undefined,
  offset: number,
  count: number,
  pixels: number,
): tf.Tensor4D {
  const k = starts ? Math.floor(starts.length / pixels) : 0;
  if (!starts || k === 0) return start;
  const n = start.shape[0];
  const slots = Array.from({ length: n }, (_, i) => startSlot(offset + i, count, k));
  if (slots.every((slot) => slot < 0)) return start;
  const values = start.dataSync().slice() as Float32Array;
  slots.forEach((slot, i) => {
    if (slot >= 0) values.set(starts.subarray(slot * pixels, (slot + 1) * pixels), i * pixels);
  });
  const replaced = tf.tensor4d(values, start.shape);
  start.dispose();
  return replaced;
}

async function matchRate(targets: tf.Tensor2D, logits: tf.Tensor2D): Promise<number> {
  const same = tf.tidy(() =>
    tf.mean(tf.cast(tf.equal(tf.argMax(targets, -1), tf.argMax(logits, -1)), 'float32')),
  );
  const value = (await same.data())[0] ?? 0;
  same.dispose();
  return value;
}

/**
 * Adds the student-aware term to a method's loss: minus weight times the
 * teacher-student JS divergence on exactly the images the teacher saw. A
 * loss that does not say what the teacher saw is left as it is.
 */
export function withDisagreement(
  loss: (x: tf.Tensor4D) => InputLoss,
  student: StudentAwareness,
): (x: tf.Tensor4D) => InputLoss {
  if (student.weight <= 0) return loss;
  return (x) => {
    const own = loss(x);
    if (!own.seen) return own;
    const js = jsDivergence(own.seen.logits, student.logits(own.seen.input), student.temperature);
    return {
      total: tf.sub(own.total, tf.mul(js, student.weight)) as tf.Scalar,
      parts: { ...own.parts, disagreement: js },
      seen: own.seen,
    };
  };
}
