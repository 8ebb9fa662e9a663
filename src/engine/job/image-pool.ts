import type { TransferData } from '../distill/student-batch.js';
import { UserError } from '../../shared/errors.js';

/**
 * The most bytes one array of the pool may hold: the largest resizable ArrayBuffer Node 20
 * accepts (4 GB; a million 32x32 images).
 */
const MAX_BYTES = 2 ** 32 - 4;

/**
 * A Float32Array that grows in place, on a resizable ArrayBuffer: no copy into a larger array,
 * so never the old and the new array resident at once (with doubling copies, a peak of twice
 * the pool at each growth). Only the memory written to becomes resident.
 */
class GrowingFloats {
  private readonly buffer = new ArrayBuffer(0, { maxByteLength: MAX_BYTES });
  /** Tracks the buffer's length as it grows. */
  readonly values = new Float32Array(this.buffer);

  /** Makes room for `length` values, growing by at least half of what is held. */
  reserve(length: number, what: string): void {
    const bytes = length * Float32Array.BYTES_PER_ELEMENT;
    if (bytes <= this.buffer.byteLength) return;
    if (bytes > MAX_BYTES) {
      throw new UserError(
        'POOL_FULL',
        `The transfer set no longer fits in memory: its ${what} would take more than 4 GB`,
        'Give the job a shorter time budget or fewer rounds (--budget, --rounds), or fewer images per round',
      );
    }
    const grown = Math.max(bytes, Math.ceil((this.buffer.byteLength * 1.5) / 4) * 4);
    this.buffer.resize(Math.min(MAX_BYTES, grown));
  }
}

/**
 * The growing transfer set in memory: every round's images, the teacher's logits on them and,
 * where the pool keeps them (`shiftsPerImage` > 0), its logits on every shift of each image.
 */
export class ImagePool {
  count = 0;
  private readonly inputs = new GrowingFloats();
  private readonly logits = new GrowingFloats();
  private readonly shiftLogits = new GrowingFloats();

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
    this.inputs.reserve(needed * this.pixelsPerImage, 'images');
    this.logits.reserve(needed * this.numClasses, "teacher's answers");
    this.shiftLogits.reserve(needed * perShifts, "teacher's answers on shifted images");
    this.inputs.values.set(
      batch.inputs.subarray(0, batch.count * this.pixelsPerImage),
      this.count * this.pixelsPerImage,
    );
    this.logits.values.set(
      batch.logits.subarray(0, batch.count * this.numClasses),
      this.count * this.numClasses,
    );
    if (batch.shiftLogits && perShifts > 0)
      this.shiftLogits.values.set(batch.shiftLogits, this.count * perShifts);
    this.count = needed;
  }

  /** The images and logits held, as views (valid until the next add). */
  data(): TransferData {
    const held = {
      count: this.count,
      inputs: this.inputs.values.subarray(0, this.count * this.pixelsPerImage),
      logits: this.logits.values.subarray(0, this.count * this.numClasses),
    };
    if (this.shiftsPerImage === 0) return held;
    const perShifts = this.shiftsPerImage * this.numClasses;
    return { ...held, shiftLogits: this.shiftLogits.values.subarray(0, this.count * perShifts) };
  }
}
