import { tf } from '../tf.js';

/**
 * Adam whose learning rate can change between steps. tfjs reads the
 * protected `learningRate` field on every update, so a subclass can expose a
 * setter instead of rebuilding the optimizer (which would lose its moments).
 */
export class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999, 1e-7);
  }

  setLearningRate(value: number): void {
    this.learningRate = value;
  }

  /**
   * Adam's running powers beta1^t and beta2^t. tfjs keeps them private and,
   * on setWeights, recomputes them with pow(), which differs in the last bits
   * from the running product; a checkpoint saves them so that a resumed run
   * continues bit for bit.
   */
  async betaPowers(): Promise<[number, number]> {
    const own = this as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
    return [(await own.accBeta1.data())[0] ?? 1, (await own.accBeta2.data())[0] ?? 1];
  }

  /** Restores the values betaPowers() returned (after setWeights). */
  restoreBetaPowers([beta1Power, beta2Power]: [number, number]): void {
    const own = this as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
    tf.tidy(() => {
      own.accBeta1.assign(tf.scalar(beta1Power));
      own.accBeta2.assign(tf.scalar(beta2Power));
    });
  }
}

/** Cosine decay from `base` to `base * floor` over `total` steps. */
export function cosineRate(base: number, step: number, total: number, floor = 0.01): number {
  const t = Math.min(1, Math.max(0, step / Math.max(1, total)));
  return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
