import type { ImageShape } from '../data/types.js';
import { tf, type tfl } from '../tf.js';

/** Inference speed on the running backend. */
export interface Latency {
  /** Median milliseconds to classify one image alone (batch 1). */
  msPerImageBatch1: number;
  /** Mean milliseconds per image when classifying a batch. */
  msPerImageBatched: number;
  batchSize: number;
  backend: string;
}

/**
 * Times forward passes on random inputs after a warm-up (the first calls
 * compile kernels and allocate). Results include the data read-back, as a
 * user waiting for an answer would see.
 */
export async function measureLatency(
  model: tfl.LayersModel,
  inputShape: ImageShape,
  options: { repeats?: number; batchSize?: number } = {},
): Promise<Latency> {
  const repeats = options.repeats ?? 20;
  const batchSize = options.batchSize ?? 256;
  const one = tf.randomUniform([1, ...inputShape]);
  const many = tf.randomUniform([batchSize, ...inputShape]);
  try {
    await timeOnce(model, one);
    await timeOnce(model, many);
    const singles: number[] = [];
    for (let i = 0; i < repeats; i++) singles.push(await timeOnce(model, one));
    const batched: number[] = [];
    for (let i = 0; i < Math.max(3, Math.floor(repeats / 5)); i++) batched.push(await timeOnce(model, many));
    return {
      msPerImageBatch1: median(singles),
      msPerImageBatched: median(batched) / batchSize,
      batchSize,
      backend: tf.getBackend(),
    };
  } finally {
    tf.dispose([one, many]);
  }
}

async function timeOnce(model: tfl.LayersModel, x: tf.Tensor): Promise<number> {
  const started = performance.now();
  const y = model.predict(x) as tf.Tensor;
  await y.data();
  y.dispose();
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
