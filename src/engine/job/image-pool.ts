import type { TransferData } from '../distill/student-batch.js';

/**
 * The growing transfer set in memory: every round's images, the teacher's logits on them and,
 * where the pool keeps them (`shiftsPerImage` > 0), its logits on every shift of each image.
 */
export class ImagePool {
  count = 0;
  private inputs = new Float32Array(0);
  private logits = new Float32Array(0);
  private shiftLogits = new Float32Array(0);

  constructor(
    readonly pixelsPerImage: number,
    readonly numClasses: number,
    readonly shiftsPerImage = 0,
  ) {}

  add(batch: TransferData): void {
    const perShifts = this.shiftsPerImage * this.numClasses;
    if (perShifts > 0 && batch.shiftLogits?.length !== batch.count * perShifts) {
      throw new Error(`ImagePool.add: expected ${batch.count * perShifts} shift logits`);
    }
    const needed = this.count + batch.count;
    if (needed * this.pixelsPerImage > this.inputs.length) {
      const capacity = Math.max(needed, this.count * 2);
      this.inputs = grown(this.inputs, capacity * this.pixelsPerImage, this.count * this.pixelsPerImage);
      this.logits = grown(this.logits, capacity * this.numClasses, this.count * this.numClasses);
      this.shiftLogits = grown(this.shiftLogits, capacity * perShifts, this.count * perShifts);
    }
    this.inputs.set(
      batch.inputs.subarray(0, batch.count * this.pixelsPerImage),
      this.count * this.pixelsPerImage,
    );
    this.logits.set(batch.logits.subarray(0, batch.count * this.numClasses), this.count * this.numClasses);
    if (batch.shiftLogits && perShifts > 0) this.shiftLogits.set(batch.shiftLogits, this.count * perShifts);
    this.count = needed;
  }

  /** The images and logits held, as views (valid until the next add). */
  data(): TransferData {
    const held = {
      count: this.count,
      inputs: this.inputs.subarray(0, this.count * this.pixelsPerImage),
      logits: this.logits.subarray(0, this.count * this.numClasses),
    };
    if (this.shiftsPerImage === 0) return held;
    const perShifts = this.shiftsPerImage * this.numClasses;
    return { ...held, shiftLogits: this.shiftLogits.subarray(0, this.count * perShifts) };
  }
}

/** A copy of the first `used` values of `values` in a new array of `length`. */
function grown(values: Float32Array, length: number, used: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(length);
  out.set(values.subarray(0, used));
  return out;
}
