import type { tfl } from '../tf.js';
import { tf } from '../tf.js';
import type { ImageShape } from '../data/types.js';

/**
 * Fraction of images where the student's top class equals the teacher's,
 * given the images and the teacher's stored logits (hold-out agreement).
 */
export async function agreementOn(
  student: tfl.LayersModel,
  inputs: Float32Array,
  teacherLogits: Float32Array,
  count: number,
  shape: ImageShape,
  numClasses: number,
): Promise<number> {
  if (count === 0) return NaN;
  const size = shape[0] * shape[1] * shape[2];
  let same = 0;
  for (let start = 0; start < count; start += 500) {
    const n = Math.min(500, count - start);
    const agreeing = tf.tidy(() => {
      const x = tf.tensor4d(inputs.subarray(start * size, (start + n) * size), [n, ...shape]);
      const t = tf.tensor2d(teacherLogits.subarray(start * numClasses, (start + n) * numClasses), [
        n,
        numClasses,
      ]);
      const s = student.predict(x) as tf.Tensor2D;
      return tf.sum(tf.cast(tf.equal(tf.argMax(s, -1), tf.argMax(t, -1)), 'int32'));
    });
    same += (await agreeing.data())[0] ?? 0;
    agreeing.dispose();
  }
  return same / count;
}
