import type { InputSpace } from '../synthesis/init.js';
import { tf } from '../tf.js';
import { everyShift, shiftCount } from './batch-transforms.js';

/**
 * Images whose shifted copies go to the teacher in one pass (x 25 copies at 2 pixels): 250
 * copies. Passes of 1,000 were hardly faster per image (LeNet-5 on wasm: 0.05 against 0.05-0.07
 * ms) but raise the backend's memory high-water mark, the job process's peak resident memory.
 */
const IMAGES_PER_PASS = 10;

/**
 * The teacher's logits for every shift of up to `maxShift` pixels of each of
 * `count` images (flat NHWC, normalised), as [count][shiftCount(maxShift)][k]
 * in `everyShift`'s order. Computed once, when images join the transfer set,
 * a shifted student batch is labelled by lookup instead of by a teacher pass
 * per student step: a round of 800 new images costs 800 x 25 teacher answers
 * in large batches, where 600 student steps x 128 images cost 76,800.
 */
export async function labelEveryShift(
  inputs: Float32Array,
  count: number,
  space: InputSpace,
  maxShift: number,
  numClasses: number,
  teacher: (x: tf.Tensor4D) => tf.Tensor2D,
): Promise<Float32Array> {
  const [h, w, c] = space.inputShape;
  const size = h * w * c;
  const shifts = shiftCount(maxShift);
  const out = new Float32Array(count * shifts * numClasses);
  const copies = new Float32Array(IMAGES_PER_PASS * shifts * size);
  for (let first = 0; first < count; first += IMAGES_PER_PASS) {
    const n = Math.min(IMAGES_PER_PASS, count - first);
    for (let i = 0; i < n; i++) {
      everyShift(inputs, first + i, copies, i * shifts * size, space.inputShape, maxShift, space.low);
    }
    const logits = tf.tidy(() =>
      teacher(tf.tensor4d(copies.subarray(0, n * shifts * size), [n * shifts, h, w, c])),
    );
    try {
      out.set(await logits.data(), first * shifts * numClasses);
    } finally {
      logits.dispose();
    }
  }
  return out;
}
