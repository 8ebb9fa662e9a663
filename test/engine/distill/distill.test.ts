import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistillSettings } from '../../../src/shared/job.js';
import type { ModelCard } from '../../../src/shared/model-card.js';
import { initBackend } from '../../../src/engine/backend/select.js';
import { distill } from '../../../src/engine/distill/distill.js';
import {
  blendBatch,
  everyShift,
  fadeBatch,
  shiftCount,
  shiftedBatch,
} from '../../../src/engine/distill/batch-transforms.js';
import { buildPreset } from '../../../src/engine/models/presets.js';
import type { InputSpace } from '../../../src/engine/synthesis/init.js';
import { tf } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';

const work = mkdtempSync(path.join(tmpdir(), 'distill-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

describe('blendBatch', () => {
  const size = 4;
  const images = () => new Float32Array([0, 0, 0, 0, 1, 1, 1, 1, 10, 10, 10, 10]);

  it('leaves the batch alone at fraction 0', () => {
    const batch = images();
    expect(blendBatch(batch, 3, size, 0, new Rng(1))).toBe(0);
    expect([...batch]).toEqual([...images()]);
  });

  it('replaces every image by a convex blend of itself and another image at fraction 1', () => {
    const batch = images();
    expect(blendBatch(batch, 3, size, 1, new Rng(2))).toBe(3);
    const original = [0, 1, 10];
    for (let b = 0; b < 3; b++) {
      const pixels = [...batch.subarray(b * size, (b + 1) * size)];
      // Every pixel of an image gets the same weights, so the image stays uniform.
      expect(new Set(pixels).size).toBe(1);
      const value = pixels[0] ?? NaN;
      const self = original[b] ?? NaN;
      // value = lambda * self + (1 - lambda) * other for one other image and lambda in [0, 1).
      const fits = original
        .filter((_, i) => i !== b)
        .some((other) => {
          const lambda = other === self ? 0 : (value - other) / (self - other);
          return lambda >= 0 && lambda < 1;
        });
      expect(fits).toBe(true);
    }
    expect([...batch]).not.toEqual([...images()]);
  });

  it('blends about the requested fraction, deterministically for a seed', () => {
    const count = 400;
    const make = () => Float32Array.from({ length: count * size }, (_, i) => Math.floor(i / size));
    const a = make();
    const b = make();
    const blendedA = blendBatch(a, count, size, 0.5, new Rng(7));
    expect(blendBatch(b, count, size, 0.5, new Rng(7))).toBe(blendedA);
    expect([...a]).toEqual([...b]);
    expect(blendedA).toBeGreaterThan(150);
    expect(blendedA).toBeLessThan(250);
  });
});

describe('fadeBatch', () => {
  it('scales the chosen images toward the data mean (0) by one weight each', () => {
    const size = 3;
    const batch = Float32Array.from({ length: 200 * size }, (_, i) => 2 + (i % size));
    const faded = fadeBatch(batch, 200, size, 0.5, new Rng(5));
    expect(faded).toBeGreaterThan(70);
    expect(faded).toBeLessThan(130);
    let changed = 0;
    for (let b = 0; b < 200; b++) {
      const [p, q, r] = [...batch.subarray(b * size, (b + 1) * size)] as [number, number, number];
      const lambda = p / 2;
      expect(lambda).toBeGreaterThanOrEqual(0);
      expect(lambda).toBeLessThanOrEqual(1);
      expect(q).toBeCloseTo(3 * lambda, 5);
      expect(r).toBeCloseTo(4 * lambda, 5);
      if (lambda < 1) changed++;
    }
    expect(changed).toBe(faded);
    expect(fadeBatch(batch, 200, size, 0, new Rng(5))).toBe(0);
  });
});

describe('shiftedBatch', () => {
  it('moves an image by at most the maximum shift and fills with the given value', () => {
    const shape = [5, 5, 1] as const;
    const image = new Float32Array(25);
    image[12] = 1; // centre pixel
    const out = shiftedBatch(image, [0], [...shape], 1, [-1], new Rng(3));
    const lit = [...out].findIndex((v) => v === 1);
    const [y, x] = [Math.floor(lit / 5), lit % 5];
    expect(Math.abs(y - 2)).toBeLessThanOrEqual(1);
    expect(Math.abs(x - 2)).toBeLessThanOrEqual(1);
    expect(out.filter((v) => v === 1)).toHaveLength(1);
  });
});

describe('everyShift', () => {
  it('writes every shift of an image as defined: out[y][x] = in[y - dy][x - dx], else the fill of its channel', () => {
    const [h, w, c] = [4, 6, 3];
    const size = h * w * c;
    const images = Float32Array.from({ length: 2 * size }, (_, i) => i + 1);
    const fill = [-1, -2, -3];
    const maxShift = 2;
    const out = new Float32Array(shiftCount(maxShift) * size + 7).fill(99);
    everyShift(images, 1, out, 7, [h, w, c], maxShift, fill);
    expect([...out.subarray(0, 7)]).toEqual(new Array(7).fill(99));
    let at = 7;
    for (let dy = -maxShift; dy <= maxShift; dy++)
      for (let dx = -maxShift; dx <= maxShift; dx++) {
        const expected: number[] = [];
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            for (let k = 0; k < c; k++) {
              const [sy, sx] = [y - dy, x - dx];
              const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
              expected.push(inside ? images[size + (sy * w + sx) * c + k]! : fill[k]!);
            }
        expect([...out.subarray(at, at + size)], `shift ${dy}, ${dx}`).toEqual(expected);
        at += size;
      }
  });
});

describe('distill with teacher-labelled augmentation', () => {
  const space: InputSpace = { inputShape: [32, 32, 1], low: [0], high: [1] };
  const settings: DistillSettings = {
    epochs: 1,
    batchSize: 16,
    learningRate: 0.001,
    temperature: 20,
    augment: true,
    relabel: true,
    mixup: 0.5,
    flip: 0,
    fade: 0.25,
    soften: 0,
  };
  const card: ModelCard = {
    format: 'distill-studio/model',
    version: 1,
    architecture: 'lenet5-half',
    inputShape: [32, 32, 1],
    numClasses: 10,
    preprocessing: { sourceShape: [32, 32, 1], mean: [0], std: [1] },
    provenance: { createdAt: '2026-11-30T00:00:00Z', appVersion: 'test', backend: 'wasm' },
  };
  const data = {
    count: 32,
    inputs: Float32Array.from({ length: 32 * 1024 }, (_, i) => ((i * 7919) % 101) / 100),
    logits: new Float32Array(32 * 10),
  };

  it('refuses relabel or mixup without a teacher', async () => {
    const student = buildPreset('lenet5-half', { seed: 1, inputShape: [32, 32, 1] });
    await expect(
      distill(student, data, {
        settings,
        space,
        numClasses: 10,
        seed: 1,
        checkpointDir: path.join(work, 'a'),
        card,
      }),
    ).rejects.toThrow(/need the teacher/);
    student.dispose();
  });

  it('asks the teacher about every batch it changed, and leaks no tensors', async () => {
    const student = buildPreset('lenet5-half', { seed: 1, inputShape: [32, 32, 1] });
    const teacherNet = buildPreset('lenet5', { seed: 2, inputShape: [32, 32, 1] });
    let asked = 0;
    const before = tf.memory().numTensors;
    const result = await distill(student, data, {
      settings,
      space,
      numClasses: 10,
      seed: 1,
      checkpointDir: path.join(work, 'b'),
      card,
      teacher: (x) => {
        asked += x.shape[0];
        return teacherNet.apply(x, { training: false }) as tf.Tensor2D;
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(asked).toBe(32);
    // Stored logits are all zero: a loss above zero means the teacher's answers were used.
    expect(result.lossPerEpoch[0]).toBeGreaterThan(0);
    student.dispose();
    teacherNet.dispose();
  });
});
