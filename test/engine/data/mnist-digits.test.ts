import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { digitsFromJson, loadMnistDigits, stratifiedSplit } from '../../../src/engine/data/mnist-digits.js';
import type { LabeledImages } from '../../../src/engine/data/types.js';
import { expectSameBytes, expectUserError } from './helpers.js';

const digitsFolder = path.join(
  path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')),
  'src',
  'digits',
);
/** The package's own values per class, read independently of the loader. */
const raw = Array.from(
  { length: 10 },
  (_, d) =>
    (JSON.parse(readFileSync(path.join(digitsFolder, `${d}.json`), 'utf8')) as { data: number[] }).data,
);
const perClass = raw.map((values) => values.length / 784);
const classOrderLabels = Uint8Array.from(perClass.flatMap((n, d) => new Array<number>(n).fill(d)));

let train: LabeledImages;
let test: LabeledImages;
beforeAll(async () => {
  [train, test] = await Promise.all([
    loadMnistDigits({ split: 'train' }),
    loadMnistDigits({ split: 'test' }),
  ]);
});

function counts(labels: Uint8Array): number[] {
  const out = new Array<number>(10).fill(0);
  for (const label of labels) out[label] = (out[label] ?? 0) + 1;
  return out;
}

const imageKey = (data: LabeledImages, i: number): string =>
  Buffer.from(data.pixels.subarray(i * 784, (i + 1) * 784)).toString('base64');

describe('mnist-digits', () => {
  it('splits the 10,000 real digits 8,000 / 2,000, 20% of every class held out', () => {
    expect(perClass.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(train.count).toBe(8000);
    expect(test.count).toBe(2000);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(train.pixels.length).toBe(8000 * 784);
    const testCounts = counts(test.labels);
    const trainCounts = counts(train.labels);
    perClass.forEach((n, d) => {
      expect(trainCounts[d]! + testCounts[d]!).toBe(n);
      expect(Math.abs(testCounts[d]! - n * 0.2)).toBeLessThan(1);
    });
  });

  it('keeps train and test disjoint and covers every digit once', () => {
    const { train: a, test: b } = stratifiedSplit(classOrderLabels, 10, 0.2, 1234);
    const all = [...a, ...b].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    // The same on the loaded images: no test image appears among the training images.
    const trainImages = new Set(Array.from({ length: train.count }, (_, i) => imageKey(train, i)));
    const leaked = Array.from({ length: test.count }, (_, i) => imageKey(test, i)).filter((key) =>
      trainImages.has(key),
    );
    expect(leaked).toEqual([]);
  });

  it('is the same split for the same seed and a different one for another seed', async () => {
    const again = await loadMnistDigits({ split: 'test' });
    expectSameBytes(again.pixels, test.pixels);
    expectSameBytes(again.labels, test.labels);
    const other = await loadMnistDigits({ split: 'test', seed: 99 });
    expect(other.count).toBe(2000);
    expect(Buffer.from(other.labels).equals(Buffer.from(test.labels))).toBe(false);
    expect(other.source).toContain('seed 99');
  });

  it('turns the package values into bytes by rounding 255 * v, and mixes classes in any prefix', () => {
    const { test: order } = stratifiedSplit(classOrderLabels, 10, 0.2, 1234);
    const first = order[0]!;
    const digit = classOrderLabels[first]!;
    const within = first - perClass.slice(0, digit).reduce((a, b) => a + b, 0);
    const expected = Uint8Array.from({ length: 784 }, (_, p) =>
      Math.round(raw[digit]![within * 784 + p]! * 255),
    );
    expect(test.labels[0]).toBe(digit);
    expectSameBytes(test.pixels.subarray(0, 784), expected);
    expect(Math.max(...test.pixels.subarray(0, 784))).toBeGreaterThanOrEqual(250);
    expect(Math.min(...test.pixels.subarray(0, 784))).toBe(0);
    expect(Math.max(...test.labels)).toBe(9);
    expect(new Set(train.labels.subarray(0, 100)).size).toBe(10);
    expect(train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('splits with another test fraction exactly, and refuses a fraction outside (0, 1)', async () => {
    const { train: a, test: b } = stratifiedSplit(classOrderLabels, 10, 0.1, 5);
    expect([a.length, b.length]).toEqual([9000, 1000]);
    await expectUserError(
      () => loadMnistDigits({ split: 'train', testFraction: 1.5 }),
      'SPLIT_INVALID',
      /1\.5/,
    );
    await expectUserError(() => loadMnistDigits({ split: 'train', seed: -1 }), 'SPLIT_INVALID', /-1/);
  });

  it("reads a file of the package's format, with any spacing, and names what is damaged in one that is not", async () => {
    const image = Array.from({ length: 784 }, (_, i) => [0, 0.2, 0.624, 0.992, 1][i % 5]);
    const text = `{ "data" : [ ${image.join(' ,\n ')} ] }\n`;
    expect(Array.from(digitsFromJson(text, 'x.json'))).toEqual(image.map((v) => Math.round(v! * 255)));
    const ok = image.join(',');
    await expectUserError(
      () => digitsFromJson(`[${ok}]`, 'a.json'),
      'DATA_DAMAGED',
      'a.json',
      /not \{"data"/,
    );
    await expectUserError(() => digitsFromJson(`{"data":[${ok},-1]}`, 'b.json'), 'DATA_DAMAGED', /no number/);
    await expectUserError(() => digitsFromJson(`{"data":[${ok};1]}`, 'c.json'), 'DATA_DAMAGED', /unexpected/);
    await expectUserError(() => digitsFromJson(`{"data":[${ok},1]}`, 'd.json'), 'DATA_DAMAGED', /785 values/);
    await expectUserError(() => digitsFromJson('{"data":[]}', 'e.json'), 'DATA_DAMAGED', /0 values/);
  });
});
