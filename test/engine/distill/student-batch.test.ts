import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/engine/backend/select.js';
import {
  BatchScratch,
  MAX_SHIFT,
  studentBatch,
  type BatchAugmentation,
} from '../../../src/engine/distill/student-batch.js';
import { shiftCount, softenBatch } from '../../../src/engine/distill/batch-transforms.js';
import { labelEveryShift } from '../../../src/engine/distill/shift-labels.js';
import type { InputSpace } from '../../../src/engine/synthesis/init.js';
import { tf } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

const space: InputSpace = { inputShape: [4, 4, 1], low: [-1], high: [1] };
const count = 6;
// Image i is a ramp that differs from every other image and from its own shifts.
const data = {
  count,
  inputs: Float32Array.from({ length: count * 16 }, (_, j) => Math.floor(j / 16) + (j % 16) / 16),
  logits: Float32Array.from({ length: count * 3 }, (_, j) => j),
};
const plain: BatchAugmentation = { augment: false, relabel: false, mixup: 0, fade: 0, flip: 0, soften: 0 };
/** A stand-in teacher whose answer depends on the image: its sum, mean and first pixel. */
const teacher = (x: tf.Tensor4D): tf.Tensor2D => {
  const flat = tf.reshape(x, [x.shape[0], 16]);
  const first = tf.squeeze(tf.slice(flat, [0, 0], [-1, 1]), [1]);
  return tf.stack([tf.sum(flat, 1), tf.mean(flat, 1), first], 1) as tf.Tensor2D;
};

function draw(settings: BatchAugmentation, seed = 3, withTeacher = true) {
  const before = tf.memory().numTensors;
  const { x, t } = studentBatch(
    data,
    [4, 1, 1],
    settings,
    space,
    3,
    new Rng(seed),
    withTeacher ? teacher : undefined,
  );
  const out = {
    x: x.arraySync(),
    xs: Array.from(x.dataSync()),
    t: Array.from(t.dataSync()),
    ask: tf.tidy(() => Array.from(teacher(x).dataSync())),
  };
  tf.dispose([x, t]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe('studentBatch', () => {
  it('without augmentation: the chosen images and their stored logits, unchanged', () => {
    const b = draw(plain);
    expect(b.xs).toEqual([
      ...data.inputs.slice(64, 80),
      ...data.inputs.slice(16, 32),
      ...data.inputs.slice(16, 32),
    ]);
    expect(b.t).toEqual([12, 13, 14, 3, 4, 5, 3, 4, 5]);
  });

  it('shifted with relabel: the teacher answers for exactly the shifted images', () => {
    const b = draw({ ...plain, augment: true, relabel: true });
    expect(b.xs).not.toEqual(draw(plain).xs);
    expect(b.t).toEqual(b.ask);
    // Vacated pixels take the normalised black value.
    expect(b.xs).toContain(-1);
  });

  it("shifted with the teacher's answers on every shift stored: the same batch and targets, no teacher asked", async () => {
    const shiftLogits = await labelEveryShift(data.inputs, count, space, MAX_SHIFT, 3, teacher);
    expect(shiftLogits).toHaveLength(count * shiftCount(MAX_SHIFT) * 3);
    const settings = { ...plain, augment: true, relabel: true };
    for (const seed of [3, 4, 5]) {
      const asked = draw(settings, seed);
      const { x, t } = studentBatch({ ...data, shiftLogits }, [4, 1, 1], settings, space, 3, new Rng(seed));
      expect(Array.from(x.dataSync())).toEqual(asked.xs);
      const looked = Array.from(t.dataSync());
      tf.dispose([x, t]);
      looked.forEach((v, i) => expect(v).toBeCloseTo(asked.t[i]!, 5));
    }
    // Anything else that changes an image still goes to the teacher.
    expect(() =>
      studentBatch({ ...data, shiftLogits }, [4, 1, 1], { ...settings, flip: 1 }, space, 3, new Rng(3)),
    ).toThrow(/need the teacher/);
  });

  it('shifted without relabel: the stored logits of the unshifted images', () => {
    const b = draw({ ...plain, augment: true });
    expect(b.t).toEqual([12, 13, 14, 3, 4, 5, 3, 4, 5]);
  });

  it('blended or faded images are labelled by the teacher, and refused without one', () => {
    for (const settings of [
      { ...plain, mixup: 1 },
      { ...plain, fade: 1 },
    ]) {
      const b = draw(settings);
      expect(b.t).toEqual(b.ask);
      expect(b.xs).not.toEqual(draw(plain).xs);
      expect(() => draw(settings, 3, false)).toThrow(/need the teacher/);
    }
  });

  it('mirrors images left to right, labelled by the teacher', () => {
    const b = draw({ ...plain, flip: 1 });
    const row = (image: number[], y: number) => image.slice(y * 4, y * 4 + 4);
    const original = draw(plain).xs;
    for (let img = 0; img < 3; img++) {
      for (let y = 0; y < 4; y++) {
        expect(row(b.xs.slice(img * 16, img * 16 + 16), y)).toEqual(
          row(original.slice(img * 16, img * 16 + 16), y).reverse(),
        );
      }
    }
    expect(b.t).toEqual(b.ask);
    expect(() => draw({ ...plain, flip: 1 }, 3, false)).toThrow(/need the teacher/);
  });

  it('softens images by a blur that keeps flat areas and smooths edges, labelled by the teacher', () => {
    const b = draw({ ...plain, soften: 1 });
    const original = draw(plain).xs;
    // Total variation (sum of neighbour differences) of each 4x4 image.
    const tv = (image: number[]): number =>
      image.reduce((sum, v, i) => {
        const right = i % 4 < 3 ? Math.abs(v - image[i + 1]!) : 0;
        const down = i < 12 ? Math.abs(v - image[i + 4]!) : 0;
        return sum + right + down;
      }, 0);
    for (let img = 0; img < 3; img++) {
      const before = original.slice(img * 16, img * 16 + 16);
      const after = b.xs.slice(img * 16, img * 16 + 16);
      expect(tv(after)).toBeLessThan(tv(before));
      // A weighted mean of neighbours: never outside the image's own range.
      expect(Math.min(...after)).toBeGreaterThanOrEqual(Math.min(...before) - 1e-6);
      expect(Math.max(...after)).toBeLessThanOrEqual(Math.max(...before) + 1e-6);
    }
    expect(b.t).toEqual(b.ask);
    expect(() => draw({ ...plain, soften: 1 }, 3, false)).toThrow(/need the teacher/);
    // A flat image stays flat.
    const flat = new Float32Array(32).fill(0.25);
    expect(softenBatch(flat, 2, [4, 4, 1], 1, new Rng(1))).toBe(2);
    for (const v of flat) expect(v).toBeCloseTo(0.25, 6);
  });

  it('draws the same batch for the same seed', () => {
    const settings = { augment: true, relabel: true, mixup: 0.5, fade: 0.5, flip: 0.5, soften: 0.5 };
    expect(draw(settings, 9).xs).toEqual(draw(settings, 9).xs);
    expect(draw(settings, 9).xs).not.toEqual(draw(settings, 10).xs);
  });

  it('drawn into a scratch: the same batches as in new arrays, step after step, with the arrays reused (wasm and cpu)', async () => {
    const shiftLogits = await labelEveryShift(data.inputs, count, space, MAX_SHIFT, 3, teacher);
    const withShifts = { ...data, shiftLogits };
    const steps: [number[], number][] = [
      [[4, 1, 1], 3],
      [[0, 5, 2], 4],
      [[2, 2, 3], 5],
    ];
    const settingsList: BatchAugmentation[] = [
      plain,
      { ...plain, augment: true },
      { ...plain, augment: true, relabel: true },
      { ...plain, augment: true, relabel: true, mixup: 0.5, flip: 0.5 },
    ];
    const batch = (settings: BatchAugmentation, indices: number[], seed: number, scratch?: BatchScratch) => {
      const { x, t } = studentBatch(withShifts, indices, settings, space, 3, new Rng(seed), teacher, scratch);
      const out = { xs: Array.from(x.dataSync()), t: Array.from(t.dataSync()) };
      tf.dispose([x, t]);
      return out;
    };
    try {
      for (const backend of ['wasm', 'cpu'] as const) {
        await initBackend({ force: backend });
        for (const settings of settingsList) {
          const scratch = new BatchScratch();
          const pixels = scratch.take('pixels', 3 * 16);
          for (const [indices, seed] of steps) {
            expect(batch(settings, indices, seed, scratch)).toEqual(batch(settings, indices, seed));
          }
          // The scratch's own array held the last batch: no new one was made for it.
          expect(scratch.take('pixels', 3 * 16)).toBe(pixels);
          const [indices, seed] = steps.at(-1)!;
          expect(Array.from(pixels)).toEqual(batch(settings, indices, seed).xs);
        }
      }
    } finally {
      await initBackend({ force: 'wasm' });
    }
  });
});
