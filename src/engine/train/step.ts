import type { tf } from '../tf.js';

/**
 * One optimisation step shared by supervised training and distillation:
 * minimise `loss` over `variables`, read the loss value, refuse a non-finite
 * one (saying where it happened), then let timers and IPC run so a worker
 * stays responsive between steps.
 */
export async function optimizeStep(
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  loss: () => tf.Scalar,
  where: string,
): Promise<number> {
  const cost = optimizer.minimize(loss, true, variables);
  const value = cost ? ((await cost.data())[0] ?? NaN) : NaN;
  cost?.dispose();
  if (!Number.isFinite(value)) {
    throw new Error(`${where}: the loss diverged (${value}); lower the learning rate`);
  }
  await yieldToEventLoop();
  return value;
}

/** Lets timers and IPC run between steps of a long loop. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
