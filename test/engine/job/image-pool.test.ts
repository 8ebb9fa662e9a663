import { describe, expect, it } from 'vitest';
import { ImagePool } from '../../../src/engine/job/image-pool.js';

/** `count` images of `pixels` values each, image i filled with first + i, and 2 logits each. */
function batch(count: number, pixels: number, first: number, shifts = 0) {
  const inputs = Float32Array.from({ length: count * pixels }, (_, j) => first + Math.floor(j / pixels));
  const logits = Float32Array.from({ length: count * 2 }, (_, j) => -(first + Math.floor(j / 2)));
  const shiftLogits = Float32Array.from({ length: count * shifts * 2 }, (_, j) => first + j / 1000);
  return { count, inputs, logits, ...(shifts > 0 ? { shiftLogits } : {}) };
}

describe('ImagePool', () => {
  it('holds every batch added, in order, as it grows in place many times over', () => {
    const pool = new ImagePool(3, 2, 4);
    const views = [];
    for (let r = 0; r < 40; r++) {
      pool.add(batch(25, 3, r * 25, 4));
      views.push(pool.data());
    }
    const all = pool.data();
    expect(all.count).toBe(1000);
    expect(all.inputs.length).toBe(3000);
    for (let i = 0; i < 1000; i += 37) {
      expect(Array.from(all.inputs.subarray(i * 3, i * 3 + 3))).toEqual([i, i, i]);
      expect(Array.from(all.logits.subarray(i * 2, i * 2 + 2))).toEqual([-i, -i]);
    }
    expect(all.shiftLogits?.length).toBe(1000 * 4 * 2);
    expect(all.shiftLogits?.[999 * 8]).toBeCloseTo(975 + (24 * 8) / 1000, 3); // image 24 of the last batch
    // A view taken before later batches still shows what it held (the arrays grow, never move).
    expect(views[0]!.count).toBe(25);
    expect(Array.from(views[0]!.inputs.subarray(72, 75))).toEqual([24, 24, 24]);
  });

  it('refuses a batch without the shift answers it keeps', () => {
    const pool = new ImagePool(3, 2, 4);
    expect(() => pool.add(batch(2, 3, 0))).toThrow(/expected 16 shift logits/);
    expect(pool.count).toBe(0);
  });
});
