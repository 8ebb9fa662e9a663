import type { DistillSettings } from '../../shared/job.js';
import type { InputSpace } from '../synthesis/init.js';
import { tf } from '../tf.js';
import type { Rng } from '../util/rng.js';
import {
  blendBatch,
  fadeBatch,
  flipBatch,
  gatherBatch,
  shiftCount,
  shiftedBatch,
  softenBatch,
} from './batch-transforms.js';

/** Synthesized images (normalised NHWC) and the teacher's logits on them. */
export interface TransferData {
  count: number;
  inputs: Float32Array;
  logits: Float32Array;
  /**
   * The teacher's logits on every shift of each image (`labelEveryShift`, up to MAX_SHIFT pixels),
   * where they were computed: a shifted batch then takes its answers from here.
   */
  shiftLogits?: Float32Array;
}

/** How a student batch is drawn from the transfer set: shifts, flips, blends, fading and softening, and who labels them. */
export type BatchAugmentation = Pick<
  DistillSettings,
  'augment' | 'relabel' | 'mixup' | 'fade' | 'flip' | 'soften'
>;

/** Largest random shift, in pixels per axis, of an augmented image. */
export const MAX_SHIFT = 2;

/** Why a batch with these settings cannot be drawn without the teacher (`where`: the caller, for the message). */
export function teacherMissing(where: string): Error {
  return new Error(`${where}: relabel, flip, mixup, fade and soften need the teacher (options.teacher)`);
}

/** Whether these settings ever ask the teacher to label a batch (so it must be at hand). */
export function needsTeacher(settings: BatchAugmentation): boolean {
  return (
    settings.relabel || settings.mixup > 0 || settings.fade > 0 || settings.flip > 0 || settings.soften > 0
  );
}

/** Whether these settings change images by shifts alone, each shifted image labelled by the teacher. */
export function relabelsShiftsOnly(settings: BatchAugmentation): boolean {
  return settings.augment && settings.relabel && !needsTeacher({ ...settings, relabel: false });
}

/**
 * The arrays a loop's student batches are written into, kept from batch to batch: a new batch
 * of images every step (half a megabyte for 128 images of 32x32) is garbage V8 collects only
 * once some 64 MB of it have piled up, which was the job process's peak memory. The tensors of
 * one batch must be disposed before the next batch is drawn into the same scratch (the cpu and
 * node backends keep the array they are given).
 */
export class BatchScratch {
  private readonly arrays = new Map<'pixels' | 'answers', Float32Array>();

  /** The array called `name`, of exactly `length` values (its values are whatever was there). */
  take(name: 'pixels' | 'answers', length: number): Float32Array {
    let array = this.arrays.get(name);
    if (array?.length !== length) {
      array = new Float32Array(length);
      this.arrays.set(name, array);
    }
    return array;
  }
}

/**
 * One student batch: images `indices` of the transfer set, shifted, mirrored,
 * blended, faded and softened as the settings ask (random draws from `rng`), with their
 * targets. Changed images are labelled by the teacher, since its stored
 * answer holds for the image it was made for only; unchanged ones (and
 * shifted ones without `relabel`) take the stored logits. With `scratch`, the
 * batch's arrays are the scratch's (see BatchScratch).
 */
export function studentBatch(
  data: TransferData,
  indices: ArrayLike<number>,
  settings: BatchAugmentation,
  space: InputSpace,
  numClasses: number,
  rng: Rng,
  teacher?: (x: tf.Tensor4D) => tf.Tensor2D,
  scratch?: BatchScratch,
): { x: tf.Tensor4D; t: tf.Tensor2D } {
  const [h, w, c] = space.inputShape;
  const size = h * w * c;
  const n = indices.length;
  const shifts = settings.augment ? new Uint8Array(n) : undefined;
  const into = scratch?.take('pixels', n * size);
  const answers = scratch?.take('answers', n * numClasses);
  const pixels = shifts
    ? shiftedBatch(data.inputs, indices, space.inputShape, MAX_SHIFT, space.low, rng, shifts, into)
    : gatherBatch(data.inputs, indices, size, into);
  const changed =
    flipBatch(pixels, n, space.inputShape, settings.flip, rng) +
    blendBatch(pixels, n, size, settings.mixup, rng) +
    fadeBatch(pixels, n, size, settings.fade, rng) +
    softenBatch(pixels, n, space.inputShape, settings.soften, rng);
  const x = tf.tensor4d(pixels, [n, h, w, c]);
  const shifted = settings.relabel && shifts !== undefined;
  if (changed === 0 && shifted && data.shiftLogits) {
    const known = shiftedAnswers(data.shiftLogits, indices, shifts, numClasses, answers);
    return { x, t: tf.tensor2d(known, [n, numClasses]) };
  }
  const ask = changed > 0 || shifted;
  if (ask && !teacher) {
    x.dispose();
    throw teacherMissing('studentBatch');
  }
  const t =
    ask && teacher
      ? tf.tidy(() => teacher(x))
      : tf.tensor2d(gatherBatch(data.logits, indices, numClasses, answers), [n, numClasses]);
  return { x, t };
}

/** The stored answers for images `indices`, each under the shift it was given (`shifts`). */
function shiftedAnswers(
  shiftLogits: Float32Array,
  indices: ArrayLike<number>,
  shifts: Uint8Array,
  numClasses: number,
  out: Float32Array = new Float32Array(indices.length * numClasses),
): Float32Array {
  const perImage = shiftCount(MAX_SHIFT);
  for (let b = 0; b < indices.length; b++) {
    const from = ((indices[b] ?? 0) * perImage + (shifts[b] ?? 0)) * numClasses;
    out.set(shiftLogits.subarray(from, from + numClasses), b * numClasses);
  }
  return out;
}
