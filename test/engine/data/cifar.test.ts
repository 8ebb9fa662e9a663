import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, loadCifar10, writeCifar10Binary } from '../../../src/engine/data/cifar.js';
import type { LabeledImages } from '../../../src/engine/data/types.js';
import { expectSameBytes, expectUserError, tempFolder } from './helpers.js';

const { dir, cleanup } = tempFolder('cifar');
afterAll(cleanup);

/** A value for (image, row, column, channel) that differs for every neighbour, so a layout mix-up shows. */
const value = (r: number, y: number, x: number, ch: number): number => (r * 17 + y * 32 + x + ch * 85) % 256;

function images(labels: number[], offset = 0): LabeledImages {
  const count = labels.length;
  const pixels = new Uint8Array(count * 3072);
  for (let r = 0; r < count; r++) {
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++)
        for (let ch = 0; ch < 3; ch++) pixels[r * 3072 + (y * 32 + x) * 3 + ch] = value(r + offset, y, x, ch);
  }
  return {
    source: 'test',
    shape: [32, 32, 3],
    count,
    pixels,
    labels: Uint8Array.from(labels),
    numClasses: 10,
  };
}

describe('CIFAR-10 binary', () => {
  it('writes the standard record layout: label byte, then the red, green and blue planes', async () => {
    const file = path.join(dir, 'layout.bin');
    await writeCifar10Binary(images([3, 0, 9]), file);
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(3 * 3073);
    expect([bytes[0], bytes[3073], bytes[2 * 3073]]).toEqual([3, 0, 9]);
    // Image 1, pixel (y=2, x=5): red at 1 + p, green at 1 + 1024 + p, blue at 1 + 2048 + p.
    const base = 3073;
    const p = 2 * 32 + 5;
    expect([bytes[base + 1 + p], bytes[base + 1 + 1024 + p], bytes[base + 1 + 2048 + p]]).toEqual([
      value(1, 2, 5, 0),
      value(1, 2, 5, 1),
      value(1, 2, 5, 2),
    ]);
  });

  it('reads a file back exactly, as interleaved RGB (NHWC)', async () => {
    const file = path.join(dir, 'roundtrip.bin');
    const original = images([3, 0, 9, 7]);
    await writeCifar10Binary(original, file);
    const data = await loadCifar10(file, { split: 'test' });
    expect(data.shape).toEqual([32, 32, 3]);
    expect(data.count).toBe(4);
    expectSameBytes(data.pixels, original.pixels);
    expect(Array.from(data.labels)).toEqual([3, 0, 9, 7]);
    expect(data.classNames).toEqual(CIFAR10_CLASSES);
    expect(data.classNames?.[0]).toBe('airplane');
    expect(data.pixels[(1 * 1024 + 31 * 32 + 4) * 3 + 2]).toBe(value(1, 31, 4, 2));
  });

  it('reads the split files of a folder, train batches in numeric order, also inside cifar-10-batches-bin', async () => {
    const folder = path.join(dir, 'download', 'cifar-10-batches-bin');
    mkdirSync(folder, { recursive: true });
    await writeCifar10Binary(images([1, 2], 0), path.join(folder, 'data_batch_2.bin'));
    await writeCifar10Binary(images([5], 10), path.join(folder, 'data_batch_1.bin'));
    await writeCifar10Binary(images([8, 8, 8]), path.join(folder, 'test_batch.bin'));
    writeFileSync(path.join(folder, 'batches.meta.txt'), CIFAR10_CLASSES.join('\n'));
    const train = await loadCifar10(path.dirname(folder), { split: 'train' });
    expect(Array.from(train.labels)).toEqual([5, 1, 2]);
    expectSameBytes(train.pixels.subarray(0, 3072), images([5], 10).pixels);
    expectSameBytes(train.pixels.subarray(3072), images([1, 2], 0).pixels);
    expect((await loadCifar10(folder, { split: 'test' })).count).toBe(3);
  });

  describe('refuses bad input with a UserError naming the file and the fix', () => {
    it('a file whose length is not a multiple of 3073 bytes', async () => {
      const file = path.join(dir, 'short.bin');
      writeFileSync(file, new Uint8Array(3073 * 2 - 1));
      const error = await expectUserError(
        () => loadCifar10(file, { split: 'train' }),
        'CIFAR_INVALID',
        file,
        /6145 bytes/,
        /3073-byte records/,
      );
      expect(error.fix).toMatch(/data_batch_N\.bin/);
    });

    it('a label beyond the ten classes (e.g. a CIFAR-100 file)', async () => {
      const file = path.join(dir, 'label.bin');
      const bytes = new Uint8Array(3073);
      bytes[0] = 10;
      writeFileSync(file, bytes);
      await expectUserError(
        () => loadCifar10(file, { split: 'train' }),
        'LABEL_OUT_OF_RANGE',
        file,
        /label 10/,
      );
    });

    it('a missing path, an empty file, a folder without the split, a wrong image shape', async () => {
      const missing = path.join(dir, 'nope.bin');
      await expectUserError(() => loadCifar10(missing, { split: 'test' }), 'DATA_NOT_FOUND', missing);
      const empty = path.join(dir, 'empty.bin');
      writeFileSync(empty, new Uint8Array(0));
      await expectUserError(() => loadCifar10(empty, { split: 'test' }), 'CIFAR_INVALID', /0 bytes/);
      const onlyTrain = path.join(dir, 'only-train');
      mkdirSync(onlyTrain);
      await writeCifar10Binary(images([1]), path.join(onlyTrain, 'data_batch_1.bin'));
      await expectUserError(
        () => loadCifar10(onlyTrain, { split: 'test' }),
        'CIFAR_NOT_FOUND',
        /test_batch\.bin/,
      );
      const gray: LabeledImages = {
        source: 'gray',
        shape: [28, 28, 1],
        count: 1,
        pixels: new Uint8Array(784),
        labels: new Uint8Array(1),
        numClasses: 10,
      };
      await expectUserError(
        () => writeCifar10Binary(gray, path.join(dir, 'gray.bin')),
        'CIFAR_INVALID',
        /28x28x1/,
      );
    });
  });
});
