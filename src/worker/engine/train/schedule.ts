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
}

/** Cosine decay from `base` to `base * floor` over `total` steps. */
export function cosineRate(base: number, step: number, total: number, floor = 0.01): number {
  const t = Math.min(1, Math.max(0, step / Math.max(1, total)));
  return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
