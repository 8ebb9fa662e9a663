import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCifar10Binary } from '../../../src/engine/data/cifar.js';
import {
  acceptedDatasets,
  describeDataset,
  FASHION_MNIST_FOLDER,
  resolveDataset,
} from '../../../src/engine/data/datasets.js';
import { expectUserError, fashionMnistMissing, idxBytes, tempFolder } from './helpers.js';

const { dir, cleanup } = tempFolder('datasets');
afterAll(cleanup);

function folder(name: string): string {
  const made = path.join(dir, name);
  mkdirSync(made, { recursive: true });
  return made;
}

function tinyIdx(into: string, prefix: string, labels: number[]): void {
  writeFileSync(
    path.join(into, `${prefix}-images-idx3-ubyte`),
    idxBytes([labels.length, 2, 2], new Uint8Array(labels.length * 4).fill(9)),
  );
  writeFileSync(
    path.join(into, `${prefix}-labels-idx1-ubyte`),
    idxBytes([labels.length], Uint8Array.from(labels)),
  );
}

describe('resolveDataset', () => {
  it('resolves the built-in names', async () => {
    const digits = await resolveDataset('mnist-digits', 'test');
    expect(describeDataset(digits)).toMatchObject({
      source: 'mnist-digits (test)',
      count: 2000,
      shape: [28, 28, 1],
      numClasses: 10,
    });
  });

  it.skipIf(fashionMnistMissing())('resolves fashion-mnist (Debian package)', async () => {
    const fashion = await resolveDataset('fashion-mnist', 'test');
    const summary = describeDataset(fashion);
    expect(summary).toMatchObject({
      source: 'fashion-mnist (test)',
      count: 10_000,
      shape: [28, 28, 1],
      numClasses: 10,
    });
    expect(summary.classCounts).toEqual(new Array<number>(10).fill(1000));
    expect(summary.classNames?.[9]).toBe('Ankle boot');
  });

  it('tells how to install Fashion-MNIST when it is missing', async () => {
    const error = await expectUserError(
      () => resolveDataset('fashion-mnist', 'test', { fashionMnistFolder: path.join(dir, 'not-installed') }),
      'DATASET_NOT_INSTALLED',
      /not-installed/,
    );
    expect(error.fix).toContain('apt-get install dataset-fashion-mnist');
    expect(FASHION_MNIST_FOLDER).toBe('/usr/share/datasets/fashion-mnist');
  });

  it('recognises an IDX folder and an IDX images file (with its labels next to it)', async () => {
    const idx = folder('idx');
    tinyIdx(idx, 'train', [0, 1, 2]);
    tinyIdx(idx, 't10k', [3, 4]);
    expect((await resolveDataset(idx, 'train')).count).toBe(3);
    expect(Array.from((await resolveDataset(idx, 'test')).labels)).toEqual([3, 4]);
    const single = await resolveDataset(path.join(idx, 't10k-images-idx3-ubyte'), 'train');
    expect(single.count).toBe(2);
    const gz = folder('idx-gz');
    const digits = await resolveDataset('mnist-digits', 'test');
    writeFileSync(
      path.join(gz, 't10k-images-idx3-ubyte.gz'),
      gzipSync(idxBytes([digits.count, 28, 28], digits.pixels)),
    );
    writeFileSync(
      path.join(gz, 't10k-labels-idx1-ubyte.gz'),
      gzipSync(idxBytes([digits.count], digits.labels)),
    );
    expect((await resolveDataset(path.join(gz, 't10k-images-idx3-ubyte.gz'), 'test')).count).toBe(2000);
  });

  it('recognises CIFAR-10 files and folders', async () => {
    const cifar = folder('cifar');
    const batch = {
      source: 'x',
      shape: [32, 32, 3] as [number, number, number],
      count: 2,
      pixels: new Uint8Array(2 * 3072).fill(3),
      labels: Uint8Array.from([4, 5]),
      numClasses: 10,
    };
    await writeCifar10Binary(batch, path.join(cifar, 'data_batch_1.bin'));
    await writeCifar10Binary(
      { ...batch, count: 1, labels: Uint8Array.from([6]) },
      path.join(cifar, 'test_batch.bin'),
    );
    expect(describeDataset(await resolveDataset(cifar, 'train'))).toMatchObject({
      count: 2,
      shape: [32, 32, 3],
      classCounts: [0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
    });
    expect((await resolveDataset(cifar, 'test')).count).toBe(1);
    // A single file is used whatever the split: the user named exactly that data.
    expect((await resolveDataset(path.join(cifar, 'data_batch_1.bin'), 'test')).count).toBe(2);
    const odd = path.join(cifar, 'odd.bin');
    writeFileSync(odd, new Uint8Array(100));
    await expectUserError(() => resolveDataset(odd, 'test'), 'CIFAR_INVALID', odd, /100 bytes/);
  });

  it('recognises a folder of class folders', async () => {
    const root = folder('pets');
    for (const [cls, value] of [
      ['cat', 10],
      ['dog', 20],
    ] as const) {
      mkdirSync(path.join(root, cls));
      const png = new PNG({ width: 2, height: 2 });
      png.data = Buffer.from(new Array<number>(4).fill(value));
      writeFileSync(path.join(root, cls, 'a.png'), PNG.sync.write(png, { colorType: 0, inputColorType: 0 }));
    }
    const data = await resolveDataset(root, 'test');
    expect(describeDataset(data)).toMatchObject({
      count: 2,
      shape: [2, 2, 1],
      numClasses: 2,
      classNames: ['cat', 'dog'],
      classCounts: [1, 1],
    });
    expect((await resolveDataset(root, 'train', { channels: 3, resizeTo: [4, 4] })).shape).toEqual([4, 4, 3]);
  });

  it('lists what it accepts for an unknown name, an unreadable file, or an empty folder', async () => {
    const unknown = await expectUserError(
      () => resolveDataset('mnist-digitz', 'test'),
      'DATASET_UNKNOWN',
      /mnist-digitz/,
      /neither a built-in dataset nor an existing file/,
    );
    for (const kind of ['mnist-digits', 'fashion-mnist', 'IDX', 'CIFAR-10', 'PNG/JPEG'])
      expect(unknown.fix).toContain(kind);
    expect(acceptedDatasets()).toHaveLength(6);
    const text = path.join(dir, 'readme.txt');
    writeFileSync(text, 'not a dataset');
    await expectUserError(() => resolveDataset(text, 'test'), 'DATASET_UNKNOWN', text, /not a dataset/);
    await expectUserError(() => resolveDataset(folder('empty'), 'test'), 'DATASET_EMPTY', /is empty/);
  });
});
