import { tf } from '../tf.js';

/**
 * Mean over the batch of KL(p || softmax(logits / tau)) for target
 * distributions p. Written with logSoftmax so that tiny probabilities at
 * high temperature stay finite.
 */
export function klToTargets(targets: tf.Tensor2D, logits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(tf.div(logits, temperature));
    const logP = tf.log(tf.maximum(targets, 1e-12));
    return tf.mean(tf.sum(tf.mul(targets, tf.sub(logP, logQ)), -1));
  });
}

/** Mean over the batch of the cross-entropy -sum p log softmax(logits / tau). */
export function crossEntropyToTargets(
  targets: tf.Tensor2D,
  logits: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(
    () =>
      tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(tf.div(logits, temperature))), -1))) as tf.Scalar,
  );
}

/**
 * The distillation loss of Hinton et al.: tau^2 * KL(softmax(t/tau) ||
 * softmax(s/tau)), averaged over the batch. tau^2 keeps gradient sizes
 * comparable across temperatures.
 */
export function distillationLoss(
  teacherLogits: tf.Tensor2D,
  studentLogits: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    const targets = tf.softmax(tf.div(teacherLogits, temperature));
    return tf.mul(klToTargets(targets as tf.Tensor2D, studentLogits, temperature), temperature * temperature);
  });
}
