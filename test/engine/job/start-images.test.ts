import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/engine/backend/select.js';
import {
  pickStartImages,
  readStartImages,
  restartCount,
  startFile,
  writeStartImages,
} from '../../../src/engine/job/start-images.js';
import { loadClassifier, type LoadedClassifier } from '../../../src/engine/models/classifier.js';
import { getSynthesisMethod } from '../../../src/engine/synthesis/registry.js';
import { startSlot } from '../../../src/engine/synthesis/run-batches.js';
import { heldSet } from '../../../src/engine/transfer/held-set.js';
import { resolveSettings } from '../../../src/shared/settings.js';

const work = mkdtempSync(path.join(tmpdir(), 'distill-starts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let teacher: LoadedClassifier;
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  teacher = await loadClassifier('builtin:mnist-lenet5');
});

describe('starting images from earlier rounds', () => {
  it('spreads k starting images evenly over a call, each used once', () => {
    for (const [count, k] of [
      [10, 4],
      [7, 7],
      [200, 100],
      [5, 0],
    ] as const) {
      const slots = Array.from({ length: count }, (_, i) => startSlot(i, count, k));
      expect(slots.filter((s) => s >= 0)).toEqual(Array.from({ length: k }, (_, j) => j));
    }
    // Half of 10: every other image.
    expect(Array.from({ length: 10 }, (_, i) => startSlot(i, 10, 5) >= 0)).toEqual(
      Array.from({ length: 10 }, (_, i) => i % 2 === 1),
    );
    expect(restartCount(200, 0.5)).toBe(100);
    expect(restartCount(3, 2)).toBe(3);
    expect(restartCount(3, 0)).toBe(0);
  });

  it('picks only among the eligible images, the same ones for the same seed', () => {
    const pixels = 3;
    // Image j holds the value j in every pixel; only the first 4 of 10 are eligible.
    const inputs = Float32Array.from({ length: 10 * pixels }, (_, i) => Math.floor(i / pixels));
    const held = heldSet({ count: 10, inputs, logits: new Float32Array(10) }, pixels);
    const picked = pickStartImages(held, 4, 50, 7);
    const ids = Array.from({ length: 50 }, (_, i) => picked[i * pixels]!);
    expect(ids.every((id) => id >= 0 && id < 4)).toBe(true);
    expect(new Set(ids).size).toBe(4);
    for (let i = 0; i < 50; i++) {
      expect(Array.from(picked.subarray(i * pixels, (i + 1) * pixels))).toEqual([ids[i], ids[i], ids[i]]);
    }
    expect(pickStartImages(held, 4, 50, 7)).toEqual(picked);
    expect(pickStartImages(held, 0, 5, 7)).toHaveLength(0);
    expect(() => pickStartImages(held, 11, 5, 7)).toThrow(/11 images asked for, 10 held/);
  });

  it('round-trips through a file, and a damaged or missing file is named with the fix', async () => {
    const images = Float32Array.from({ length: 2 * 6 }, (_, i) => i * 0.25 - 1);
    const file = startFile(work, 3);
    expect(path.basename(file)).toBe('starts-00003.bin');
    await writeStartImages(file, images);
    expect(await readStartImages(file, 6, 2)).toEqual(images);
    // More images than the shard has, or a partial image: damaged.
    await expect(readStartImages(file, 6, 1)).rejects.toMatchObject({ code: 'CHECKPOINT_DAMAGED' });
    writeFileSync(file, new Uint8Array(10));
    await expect(readStartImages(file, 6, 2)).rejects.toThrow(/damaged: 10 bytes/);
    await expect(readStartImages(path.join(work, 'none.bin'), 6, 2)).rejects.toThrow(/missing/);
  });

  it('the given images replace the method’s own starts in their slots, and only there', async () => {
    const method = getSynthesisMethod('noise');
    const { settings } = resolveSettings(method.fields, { batchSize: 4 });
    const synthesizer = method.create(teacher, settings);
    const pixels = 32 * 32;
    const own = await synthesizer.synthesize(10, 11);
    const starts = Float32Array.from({ length: 4 * pixels }, (_, i) => Math.floor(i / pixels) + 0.5);
    const mixed = await synthesizer.synthesize(10, 11, { starts });
    for (let i = 0; i < 10; i++) {
      const slot = startSlot(i, 10, 4);
      const image = Array.from(mixed.inputs.subarray(i * pixels, (i + 1) * pixels));
      const expected =
        slot >= 0
          ? Array.from(starts.subarray(slot * pixels, (slot + 1) * pixels))
          : Array.from(own.inputs.subarray(i * pixels, (i + 1) * pixels));
      expect(image).toEqual(expected);
    }
  });
});
