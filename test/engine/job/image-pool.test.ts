import { describe, expect, it } from 'vitest';
import { ImagePool, snapToPixels } from '../../../src/engine/job/image-pool.js';

/** MNIST's normalisation (mean 0.1307, std 0.3081): black and white in normalised units. */
const GREY = { inputShape: [1, 3, 1] as [number, number, number], low: [-0.4242], high: [2.8215] };
const level = (space: typeof GREY, value: number, ch = 0): number =>
  space.low[ch]! + ((space.high[ch]! - space.low[ch]!) * value) / 255;

/** `count` images of 3 pixels, image i at level (first + i) % 256, and 2 logits each. */
function batch(count: number, first: number, shifts = 0) {
  const inputs = Float32Array.from({ length: count * 3 }, (_, j) =>
    level(GREY, (first + Math.floor(j / 3)) % 256),
  );
  const logits = Float32Array.from({ length: count * 2 }, (_, j) => -(first + Math.floor(j / 2)));
  const shiftLogits = Float32Array.from({ length: count * shifts * 2 }, (_, j) => first + j / 1000);
  return { count, inputs, logits, ...(shifts > 0 ? { shiftLogits } : {}) };
}

describe('ImagePool', () => {
  it('holds every batch added, in order, as it grows in place many times over', () => {
    const pool = new ImagePool(GREY, 2, 4);
    for (let r = 0; r < 40; r++) pool.add(batch(25, r * 25, 4));
    expect(pool.count).toBe(1000);
    expect(pool.logits.length).toBe(2000);
    const asked = [0, 37, 255, 256, 999];
    const images = pool.images(asked);
    asked.forEach((i, b) => {
      const expected = Math.fround(level(GREY, i % 256));
      expect(Array.from(images.subarray(b * 3, b * 3 + 3))).toEqual([expected, expected, expected]);
      expect(Array.from(pool.logits.subarray(i * 2, i * 2 + 2))).toEqual([-i, -i]);
    });
    // A batch drawn from the pool is a set of its own, with its rows of every kind of answer.
    const drawn = pool.gather([999, 3]);
    expect(drawn.count).toBe(2);
    expect(Array.from(drawn.logits)).toEqual([-999, -999, -3, -3]);
    expect(drawn.shiftLogits?.length).toBe(2 * 4 * 2);
    expect(drawn.shiftLogits?.[0]).toBeCloseTo(975 + (24 * 8) / 1000, 3); // image 24 of the last batch
    expect(drawn.shiftLogits?.[8]).toBeCloseTo((3 * 8) / 1000, 3);
    expect(Array.from(drawn.inputs)).toEqual(Array.from(pool.images([999, 3])));
    expect(() => pool.images([1000])).toThrow(/image 1000 asked for, 1000 held/);
    // The next batch of the same size is written into the arrays of the last.
    const again = pool.gather([5, 6], drawn);
    expect(again.inputs).toBe(drawn.inputs);
    expect(again.shiftLogits).toBe(drawn.shiftLogits);
    expect(Array.from(again.logits)).toEqual([-5, -5, -6, -6]);
    expect(Array.from(again.inputs)).toEqual(Array.from(pool.images([5, 6])));
    expect(pool.gather([1, 2, 3], drawn).inputs).not.toBe(drawn.inputs);
  });

  it('keeps the nearest pixel level of each value, per channel, and gives back what snapToPixels gives', () => {
    const rgb = { inputShape: [1, 2, 3] as [number, number, number], low: [-2, -1, 0], high: [2, 1, 1] };
    // Per channel: a value between levels, one below black, one above white.
    const inputs = Float32Array.from([
      level(rgb, 10.4, 0),
      level(rgb, 10.6, 1),
      level(rgb, 254.49, 2),
      -5,
      7,
      level(rgb, 0.51, 2),
    ]);
    const snapped = snapToPixels(inputs, rgb);
    const want = [level(rgb, 10, 0), level(rgb, 11, 1), level(rgb, 254, 2), -2, 1, level(rgb, 1, 2)];
    want.forEach((v, i) => expect(snapped[i]).toBeCloseTo(v, 6));
    // Snapping a snapped image changes nothing, and the pool decodes exactly those values.
    expect(Array.from(snapToPixels(snapped, rgb))).toEqual(Array.from(snapped));
    const pool = new ImagePool(rgb, 2);
    pool.add({ count: 1, inputs, logits: Float32Array.from([0, 1]) });
    expect(Array.from(pool.images([0]))).toEqual(Array.from(snapped));
    expect(pool.gather([0]).shiftLogits).toBeUndefined();
  });

  it('refuses a batch without the shift answers it keeps', () => {
    const pool = new ImagePool(GREY, 2, 4);
    expect(() => pool.add(batch(2, 0))).toThrow(/expected 16 shift logits/);
    expect(pool.count).toBe(0);
  });
});
