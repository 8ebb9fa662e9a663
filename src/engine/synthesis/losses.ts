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

/**
 * Mean over the batch of the Jensen-Shannon divergence between
 * softmax(a / tau) and softmax(b / tau): how much two networks disagree.
 * Written in log space (log-softmax, and log m as a log-sum-exp of the two
 * log-probabilities), so it and its gradient stay finite at any logits; the
 * naive log((p + q) / 2) underflows to log 0 and yields NaN gradients.
 */
export function jsDivergence(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(a, temperature));
    const logQ = tf.logSoftmax(tf.div(b, temperature));
    const top = tf.maximum(logP, logQ);
    const logM = tf.add(
      top,
      tf.log(tf.mul(tf.add(tf.exp(tf.sub(logP, top)), tf.exp(tf.sub(logQ, top))), 0.5)),
    );
    const klP = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logM)), -1);
    const klQ = tf.sum(tf.mul(tf.exp(logQ), tf.sub(logQ, logM)), -1);
    return tf.mean(tf.mul(tf.add(klP, klQ), 0.5)) as tf.Scalar;
  });
}
