import type { TransferData } from '../distill/student-batch.js';
import type { InputSpace } from '../synthesis/init.js';
import type { HeldSet } from '../transfer/held-set.js';
import { UserError } from '../../shared/errors.js';

/**
 * The most bytes one array of the pool may hold: the largest resizable ArrayBuffer Node 20
 * accepts (4 GB; five million 28x28 images as 8-bit pixels).
 */
const MAX_BYTES = 2 ** 32 - 4;

/**
 * A typed array that grows in place, on a resizable ArrayBuffer: no copy into a larger array,
 * so never the old and the new array resident at once (with doubling copies, a peak of twice
 * the pool at each growth). Only the memory written to becomes resident.
 */
class Growing<T extends Float32Array | Uint8Array> {
  private readonly buffer = new ArrayBuffer(0, { maxByteLength: MAX_BYTES });
  /** Tracks the buffer's length as it grows. */
  readonly values: T;
  private readonly bytesPerElement: number;

  constructor(view: { new (buffer: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number }) {
    this.values = new view(this.buffer);
    this.bytesPerElement = view.BYTES_PER_ELEMENT;
  }

  /** Makes room for `length` values, growing by at least half of what is held. */
  reserve(length: number, what: string): void {
    const bytes = length * this.bytesPerElement;
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

/** The 256 pixel levels of each channel of a space, from black (`low`) to white (`high`). */
class PixelLevels {
  /** Per channel, the normalised value of each level. */
  readonly values: Float32Array[];
  private readonly lows: number[];
  private readonly scales: number[];

  constructor(space: Pick<InputSpace, 'inputShape' | 'low' | 'high'>) {
    const channels = Array.from({ length: space.inputShape[2] }, (_, ch) => ({
      low: space.low[ch] ?? space.low[0] ?? 0,
      high: space.high[ch] ?? space.high[0] ?? 1,
    }));
    this.lows = channels.map((ch) => ch.low);
    this.scales = channels.map((ch) => 255 / (ch.high - ch.low));
    this.values = channels.map(({ low, high }) =>
      Float32Array.from({ length: 256 }, (_, level) => low + ((high - low) * level) / 255),
    );
  }

  /** Encodes normalised NHWC values as the nearest levels, into `out` from `at`. */
  encode(inputs: Float32Array, out: Uint8Array, at = 0): void {
    const c = this.lows.length;
    for (let i = 0; i < inputs.length; i++) {
      const ch = i % c;
      const level = Math.round(((inputs[i] ?? 0) - this.lows[ch]!) * this.scales[ch]!);
      out[at + i] = level < 0 ? 0 : level > 255 ? 255 : level;
    }
  }
}

/**
 * The images with every value moved to the nearest pixel level (what the pool keeps of them):
 * the teacher is asked about these, so its answers hold for exactly what the student sees.
 */
export function snapToPixels(
  inputs: Float32Array,
  space: Pick<InputSpace, 'inputShape' | 'low' | 'high'>,
): Float32Array {
  const levels = new PixelLevels(space);
  const c = levels.values.length;
  const encoded = new Uint8Array(inputs.length);
  levels.encode(inputs, encoded);
  return Float32Array.from(encoded, (level, i) => levels.values[i % c]![level]!);
}

/**
 * The growing transfer set of the round pipeline, in memory: every round's images as 8-bit
 * pixels (a quarter of their normalised values' size; synthesis keeps images inside the pixel
 * range, and real images have no finer levels either), the teacher's logits on them and, where
 * the pool keeps them (`shiftsPerImage` > 0), its logits on every shift of each image.
 */
export class ImagePool implements HeldSet {
  count = 0;
  readonly pixelsPerImage: number;
  private readonly levels: PixelLevels;
  private readonly pixels = new Growing(Uint8Array);
  private readonly allLogits = new Growing(Float32Array);
  private readonly shiftLogits = new Growing(Float32Array);

  constructor(
    space: Pick<InputSpace, 'inputShape' | 'low' | 'high'>,
    readonly numClasses: number,
    readonly shiftsPerImage = 0,
  ) {
    const [h, w, c] = space.inputShape;
    this.pixelsPerImage = h * w * c;
    this.levels = new PixelLevels(space);
  }

  /** Adds a batch; its images are kept at the nearest pixel levels (see snapToPixels). */
  add(batch: TransferData): void {
    const perShifts = this.shiftsPerImage * this.numClasses;
    if (perShifts > 0 && batch.shiftLogits?.length !== batch.count * perShifts) {
      throw new Error(`ImagePool.add: expected ${batch.count * perShifts} shift logits`);
    }
    const needed = this.count + batch.count;
    this.pixels.reserve(needed * this.pixelsPerImage, 'images');
    this.allLogits.reserve(needed * this.numClasses, "teacher's answers");
    this.shiftLogits.reserve(needed * perShifts, "teacher's answers on shifted images");
    this.levels.encode(
      batch.inputs.subarray(0, batch.count * this.pixelsPerImage),
      this.pixels.values,
      this.count * this.pixelsPerImage,
    );
    this.allLogits.values.set(
      batch.logits.subarray(0, batch.count * this.numClasses),
      this.count * this.numClasses,
    );
    if (batch.shiftLogits && perShifts > 0)
      this.shiftLogits.values.set(batch.shiftLogits, this.count * perShifts);
    this.count = needed;
  }

  /** The teacher's logits on every image held, as a view (valid until the next add). */
  get logits(): Float32Array {
    return this.allLogits.values.subarray(0, this.count * this.numClasses);
  }

  /** Images `indices` as normalised values, one after another (into `out` where given). */
  images(
    indices: readonly number[],
    out: Float32Array = new Float32Array(indices.length * this.pixelsPerImage),
  ): Float32Array {
    const size = this.pixelsPerImage;
    const levels = this.levels.values;
    const c = levels.length;
    const pixels = this.pixels.values;
    for (let b = 0; b < indices.length; b++) {
      const image = indices[b]!;
      if (!(image >= 0 && image < this.count)) {
        throw new Error(`ImagePool: image ${image} asked for, ${this.count} held`);
      }
      const from = image * size;
      const to = b * size;
      if (c === 1) {
        const level = levels[0]!;
        for (let p = 0; p < size; p++) out[to + p] = level[pixels[from + p]!]!;
      } else {
        for (let p = 0; p < size; p++) out[to + p] = levels[p % c]![pixels[from + p]!]!;
      }
    }
    return out;
  }

  /**
   * Images `indices` with their logits (and shift logits, where kept) as a transfer set of their
   * own: image b of it is image indices[b] of the pool. Written into `into` (an earlier batch of
   * the same size, whose arrays are reused) where given.
   */
  gather(indices: readonly number[], into?: TransferData): TransferData {
    const perShifts = this.shiftsPerImage * this.numClasses;
    const n = indices.length;
    const fits = into?.count === n;
    const rows = (from: Float32Array, width: number, out?: Float32Array): Float32Array => {
      const rowsOut = fits && out ? out : new Float32Array(n * width);
      indices.forEach((image, b) =>
        rowsOut.set(from.subarray(image * width, (image + 1) * width), b * width),
      );
      return rowsOut;
    };
    const inputs = this.images(indices, fits ? into.inputs : undefined);
    const logits = rows(this.allLogits.values, this.numClasses, into?.logits);
    if (perShifts === 0) return { count: n, inputs, logits };
    return {
      count: n,
      inputs,
      logits,
      shiftLogits: rows(this.shiftLogits.values, perShifts, into?.shiftLogits),
    };
  }
}
