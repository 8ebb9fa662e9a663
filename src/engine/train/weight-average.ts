import { tf, type tfl } from '../tf.js';

/**
 * Training steps per update of the average: each update costs three tensor operations per
 * weight (about 13 us each on wasm, so 0.4 ms for lenet5-half's 10 weights), a step 15-20 ms.
 */
const STEPS_PER_UPDATE = 4;

/**
 * An exponential moving average of a model's weights (all of them, BatchNorm statistics
 * included), folded in every STEPS_PER_UPDATE training steps: avg = d^n * avg + (1 - d^n) * w,
 * n = STEPS_PER_UPDATE, with the per-step decay d = min(decay, (1 + t) / (10 + t)) at step t, so
 * the first steps are not dominated by the starting weights (TensorFlow's
 * ExponentialMovingAverage with num_updates). The model keeps training on its own weights; the
 * average is what is measured and kept.
 */
export class WeightAverage {
  private readonly averages: tf.Variable[];
  /** Training steps so far. */
  steps = 0;

  constructor(
    private readonly model: tfl.LayersModel,
    readonly decay: number,
  ) {
    // A copy (mul by 1), never the weight's own buffer, which an optimizer may update in place.
    this.averages = model.weights.map((w) => tf.tidy(() => tf.variable(tf.mul(w.read(), 1), false)));
  }

  /** Counts a training step; every STEPS_PER_UPDATE steps, folds the weights into the average. */
  step(): void {
    this.steps += 1;
    if (this.steps % STEPS_PER_UPDATE !== 0) return;
    const d = Math.min(this.decay, (1 + this.steps) / (10 + this.steps)) ** STEPS_PER_UPDATE;
    const weights = this.model.weights;
    tf.tidy(() => {
      this.averages.forEach((avg, i) => {
        const w = weights[i]!.read();
        avg.assign(tf.add(tf.mul(avg, d), tf.mul(w, 1 - d)));
      });
    });
  }

  /** Runs `measure` with the averaged weights in the model, then puts the trained ones back. */
  async withAverage<T>(measure: () => Promise<T>): Promise<T> {
    const trained = this.model.weights.map((w) => tf.tidy(() => tf.mul(w.read(), 1)));
    try {
      this.model.setWeights(this.averages);
      return await measure();
    } finally {
      this.model.setWeights(trained);
      tf.dispose(trained);
    }
  }

  /** Leaves the averaged weights in the model (at the end of training). */
  applyToModel(): void {
    this.model.setWeights(this.averages);
  }

  /** The averaged values, in the order of the model's weights (for a checkpoint). */
  async values(): Promise<Float32Array[]> {
    return Promise.all(this.averages.map(async (a) => (await a.data()) as Float32Array));
  }

  /** The sizes of the values, in the same order. */
  sizes(): number[] {
    return this.averages.map((a) => a.size);
  }

  /** Restores what `values` and `steps` were (from a checkpoint). */
  restore(values: readonly Float32Array[], steps: number): void {
    if (values.length !== this.averages.length) {
      throw new Error(`WeightAverage.restore: ${values.length} arrays for ${this.averages.length} weights`);
    }
    tf.tidy(() => this.averages.forEach((a, i) => a.assign(tf.tensor(values[i]!, a.shape, a.dtype))));
    this.steps = steps;
  }

  dispose(): void {
    tf.dispose(this.averages);
  }
}
