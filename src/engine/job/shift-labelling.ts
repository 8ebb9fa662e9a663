import { shiftCount } from '../distill/batch-transforms.js';
import { labelEveryShift } from '../distill/shift-labels.js';
import type { Classifier } from '../models/classifier.js';
import { inputSpace, type InputSpace } from '../synthesis/init.js';
import type { tf } from '../tf.js';
import { writeShiftFile } from '../transfer/shift-file.js';
import type { ShardEntry } from '../transfer/store.js';
import { snapToPixels } from './image-pool.js';

/**
 * The round pipeline's lookup of the teacher's answers on shifted images: for each image as the
 * pool keeps it (snapped to pixel levels), the teacher's logits on every shift of up to `maxShift`
 * pixels. The student's process and the synthesis workers compute them with this one definition,
 * shard by shard, so that labels made by a worker and labels made by the student's process (when
 * a worker's file is missing) are the same numbers.
 */
export interface ShiftLabelling {
  space: InputSpace;
  /** The teacher's logits, in inference mode. */
  teacher: (x: tf.Tensor4D) => tf.Tensor2D;
  numClasses: number;
  maxShift: number;
}

/** The teacher's logits in inference mode: what the round pipeline labels and relabels with. */
export function inferenceLogits(teacher: Classifier): (x: tf.Tensor4D) => tf.Tensor2D {
  return (x) => teacher.model.apply(x, { training: false }) as tf.Tensor2D;
}

/** The shift labelling of a classifier's answers. */
export function shiftLabelling(teacher: Classifier, maxShift: number): ShiftLabelling {
  return {
    space: inputSpace(teacher),
    teacher: inferenceLogits(teacher),
    numClasses: teacher.numClasses,
    maxShift,
  };
}

/** Logits for every shift of each of `count` images (normalised NHWC), as the pool keeps them. */
export function labelShifts(
  inputs: Float32Array,
  count: number,
  labelling: ShiftLabelling,
): Promise<Float32Array> {
  const { space, maxShift, numClasses, teacher } = labelling;
  return labelEveryShift(snapToPixels(inputs, space), count, space, maxShift, numClasses, teacher);
}

/** Labels a just-made shard's shifts and writes them beside it; returns its manifest record. */
export async function writeShardShifts(
  dir: string,
  index: number,
  batch: { count: number; inputs: Float32Array },
  labelling: ShiftLabelling,
): Promise<NonNullable<ShardEntry['shifts']>> {
  const logits = await labelShifts(batch.inputs, batch.count, labelling);
  const shape = {
    count: batch.count,
    shifts: shiftCount(labelling.maxShift),
    numClasses: labelling.numClasses,
  };
  const written = await writeShiftFile(dir, index, shape, logits);
  return { ...written, maxShift: labelling.maxShift };
}
