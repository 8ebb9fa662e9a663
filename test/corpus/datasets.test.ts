import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_RECORD_BYTES, loadCifar10 } from '../../src/engine/data/cifar.js';
import { resolveDataset } from '../../src/engine/data/datasets.js';
import { gunzipIfNeeded } from '../../src/engine/data/files.js';
import { loadIdxFolder, loadIdxPair } from '../../src/engine/data/idx.js';
import { loadImageFolder } from '../../src/engine/data/image-folder.js';
import { idxBytes } from '../engine/data/helpers.js';
import { expectRefused } from './helpers.js';

/**
 * A corpus of broken datasets (issue 11): IDX pairs (gzipped or not),
 * CIFAR-10 binary batches and image folders, each written by the test and
 * each refused by its loader with the expected code and a one-line message
 * with a fix.
 */

let root = '';
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'distill-corpus-data-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A new empty folder for one case. */
async function caseDir(): Promise<string> {
  const dir = path.join(root, `case-${++counter}`);
  await mkdir(dir);
  return dir;
}

/** Writes files (name -> bytes) into a new case folder, creating sub-folders; returns the folder. */
async function folderWith(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = await caseDir();
  for (const [name, bytes] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  }
  return dir;
}

const IMAGES = idxBytes([3, 4, 4], new Uint8Array(3 * 16).fill(7));
const LABELS = idxBytes([3], Uint8Array.from([0, 1, 2]));

/** Writes an IDX images file and a labels file, then loads them as a pair. */
async function idxPair(images: Uint8Array, labels: Uint8Array, numClasses?: number): Promise<unknown> {
  const dir = await folderWith({ 'images-idx3-ubyte': images, 'labels-idx1-ubyte': labels });
  return loadIdxPair(path.join(dir, 'images-idx3-ubyte'), path.join(dir, 'labels-idx1-ubyte'), {
    ...(numClasses ? { numClasses } : {}),
  });
}

function withMagic(bytes: Uint8Array, magic: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  new DataView(copy.buffer).setUint32(0, magic);
  return copy;
}

function png(width: number, height: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(128);
  return PNG.sync.write(image);
}

function jpg(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 4, 128);
  return Buffer.from(jpeg.encode({ data, width, height }, 90).data);
}

/** A valid PNG whose IHDR claims another size (the CRC is not checked before the size). */
function pngClaiming(width: number, height: number): Buffer {
  const bytes = Buffer.from(png(2, 2));
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return bytes;
}

/** A valid JPEG whose start-of-frame claims another size. */
function jpgClaiming(width: number, height: number): Buffer {
  const bytes = Buffer.from(jpg(8, 8));
  for (let i = 2; i + 9 < bytes.length;) {
    const marker = bytes[i + 1] ?? 0;
    if (marker >= 0xc0 && marker <= 0xc3) {
      bytes.writeUInt16BE(height, i + 5);
      bytes.writeUInt16BE(width, i + 7);
      return bytes;
    }
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  throw new Error('no start-of-frame in the test JPEG');
}

/** One CIFAR-10 record per label, all pixels gray. */
function cifar(labels: number[]): Uint8Array {
  const bytes = new Uint8Array(labels.length * CIFAR10_RECORD_BYTES).fill(100);
  labels.forEach((label, i) => (bytes[i * CIFAR10_RECORD_BYTES] = label));
  return bytes;
}

interface Case {
  name: string;
  code: string;
  run: () => Promise<unknown>;
}

const IDX_CASES: Case[] = [
  {
    name: 'images: wrong magic',
    code: 'IDX_INVALID',
    run: () => idxPair(withMagic(IMAGES, 0x12345678), LABELS),
  },
  {
    name: 'labels: wrong magic',
    code: 'IDX_INVALID',
    run: () => idxPair(IMAGES, withMagic(LABELS, 0x00000d01)),
  },
  { name: 'images and labels swapped', code: 'IDX_INVALID', run: () => idxPair(LABELS, IMAGES) },
  { name: 'images: empty file', code: 'IDX_INVALID', run: () => idxPair(new Uint8Array(0), LABELS) },
  { name: 'labels: 3 bytes', code: 'IDX_INVALID', run: () => idxPair(IMAGES, LABELS.subarray(0, 3)) },
  {
    name: 'images: truncated header',
    code: 'IDX_INVALID',
    run: () => idxPair(IMAGES.subarray(0, 10), LABELS),
  },
  {
    name: 'images: truncated pixels',
    code: 'IDX_INVALID',
    run: () => idxPair(IMAGES.subarray(0, -1), LABELS),
  },
  {
    name: 'images: longer than the header says',
    code: 'IDX_INVALID',
    run: () => idxPair(Uint8Array.from([...IMAGES, 0, 0]), LABELS),
  },
  {
    name: 'images: header announces far more than the file holds',
    code: 'IDX_INVALID',
    run: () => idxPair(idxBytes([60000, 28, 28], new Uint8Array(48)), LABELS),
  },
  {
    name: 'images: zero-pixel images',
    code: 'IDX_INVALID',
    run: () => idxPair(idxBytes([3, 0, 4], new Uint8Array(0)), LABELS),
  },
  {
    name: 'label count differs from image count',
    code: 'IDX_MISMATCH',
    run: () => idxPair(IMAGES, idxBytes([2], Uint8Array.from([0, 1]))),
  },
  {
    name: 'no images',
    code: 'DATASET_EMPTY',
    run: () => idxPair(idxBytes([0, 4, 4], new Uint8Array(0)), idxBytes([0], new Uint8Array(0))),
  },
  {
    name: 'label 10 in a 10-class dataset',
    code: 'LABEL_OUT_OF_RANGE',
    run: () => idxPair(IMAGES, idxBytes([3], Uint8Array.from([0, 10, 2]))),
  },
  {
    name: 'label 255 with numClasses 3',
    code: 'LABEL_OUT_OF_RANGE',
    run: () => idxPair(IMAGES, idxBytes([3], Uint8Array.from([0, 1, 255])), 3),
  },
  {
    name: 'gzip truncated',
    code: 'DATA_DAMAGED',
    run: () => {
      const gz = gzipSync(IMAGES);
      return idxPair(gz.subarray(0, gz.length - 6), LABELS);
    },
  },
  {
    name: 'gzip body damaged',
    code: 'DATA_DAMAGED',
    run: () => {
      const gz = Buffer.from(gzipSync(Buffer.from(IMAGES)));
      for (let i = 12; i < gz.length - 8; i++) gz[i] = (gz[i] ?? 0) ^ 0x5a;
      return idxPair(gz, LABELS);
    },
  },
  {
    name: 'gzip of only the gzip magic',
    code: 'DATA_DAMAGED',
    run: () => idxPair(Uint8Array.from([0x1f, 0x8b]), LABELS),
  },
  {
    name: 'gzip holding a file with a wrong magic',
    code: 'IDX_INVALID',
    run: () => idxPair(gzipSync(withMagic(IMAGES, 0xcafebabe)), LABELS),
  },
  {
    name: 'gzip holding a truncated header',
    code: 'IDX_INVALID',
    run: () => idxPair(IMAGES, gzipSync(LABELS.subarray(0, 6))),
  },
  {
    name: 'gzip that unpacks beyond the limit given',
    code: 'DATA_TOO_LARGE',
    run: () => gunzipIfNeeded(gzipSync(Buffer.alloc(64 * 1024)), 'bomb.gz', 1024),
  },
  {
    name: 'images file missing',
    code: 'DATA_NOT_FOUND',
    run: async () => loadIdxPair(path.join(await caseDir(), 'nope'), path.join(root, 'nope-labels')),
  },
  {
    name: 'images path is a folder',
    code: 'DATA_NOT_FOUND',
    run: async () => {
      const dir = await folderWith({ 'labels-idx1-ubyte': LABELS });
      return loadIdxPair(dir, path.join(dir, 'labels-idx1-ubyte'));
    },
  },
  {
    name: 'images file larger than the limit (sparse)',
    code: 'DATA_TOO_LARGE',
    run: async () => {
      const dir = await folderWith({ 'images-idx3-ubyte': IMAGES, 'labels-idx1-ubyte': LABELS });
      await truncate(path.join(dir, 'images-idx3-ubyte'), 1024 * 1024 * 1024 + 1);
      return loadIdxPair(path.join(dir, 'images-idx3-ubyte'), path.join(dir, 'labels-idx1-ubyte'));
    },
  },
  {
    name: 'IDX folder without the test split',
    code: 'IDX_NOT_FOUND',
    run: async () =>
      loadIdxFolder(
        await folderWith({ 'train-images-idx3-ubyte': IMAGES, 'train-labels-idx1-ubyte': LABELS }),
        'test',
      ),
  },
  {
    name: 'IDX folder without labels',
    code: 'IDX_NOT_FOUND',
    run: async () => loadIdxFolder(await folderWith({ 'train-images-idx3-ubyte': IMAGES }), 'train'),
  },
  {
    name: 'IDX folder with two datasets',
    code: 'IDX_AMBIGUOUS',
    run: async () =>
      loadIdxFolder(
        await folderWith({
          'train-images-idx3-ubyte': IMAGES,
          'emnist-train-images-idx3-ubyte': IMAGES,
          'train-labels-idx1-ubyte': LABELS,
        }),
        'train',
      ),
  },
];

const CIFAR_CASES: Case[] = [
  {
    name: 'record length wrong (one byte short)',
    code: 'CIFAR_INVALID',
    run: async () => {
      const dir = await folderWith({ 'data_batch_1.bin': cifar([1, 2]).subarray(1) });
      return loadCifar10(path.join(dir, 'data_batch_1.bin'), { split: 'train' });
    },
  },
  {
    name: 'CIFAR-100 record length',
    code: 'CIFAR_INVALID',
    run: async () => {
      const dir = await folderWith({ 'train.bin': new Uint8Array(2 * 3074) });
      return loadCifar10(path.join(dir, 'train.bin'), { split: 'train' });
    },
  },
  {
    name: 'empty batch file',
    code: 'CIFAR_INVALID',
    run: async () => {
      const dir = await folderWith({ 'test_batch.bin': new Uint8Array(0) });
      return loadCifar10(path.join(dir, 'test_batch.bin'), { split: 'test' });
    },
  },
  {
    name: 'compressed archive instead of a batch',
    code: 'CIFAR_INVALID',
    run: async () => {
      const dir = await folderWith({ 'cifar-10-binary.tar.gz': gzipSync(cifar([1])) });
      return loadCifar10(path.join(dir, 'cifar-10-binary.tar.gz'), { split: 'train' });
    },
  },
  {
    name: 'label 10',
    code: 'LABEL_OUT_OF_RANGE',
    run: async () => {
      const dir = await folderWith({ 'test_batch.bin': cifar([3, 10]) });
      return loadCifar10(path.join(dir, 'test_batch.bin'), { split: 'test' });
    },
  },
  {
    name: 'folder without batches',
    code: 'CIFAR_NOT_FOUND',
    run: async () => loadCifar10(await folderWith({ 'readme.html': 'x' }), { split: 'train' }),
  },
  {
    name: 'folder with train batches only, test asked',
    code: 'CIFAR_NOT_FOUND',
    run: async () => loadCifar10(await folderWith({ 'data_batch_1.bin': cifar([1]) }), { split: 'test' }),
  },
  {
    name: 'archive folder empty',
    code: 'CIFAR_NOT_FOUND',
    run: async () => {
      const dir = await caseDir();
      await mkdir(path.join(dir, 'cifar-10-batches-bin'));
      return loadCifar10(dir, { split: 'train' });
    },
  },
  {
    name: 'second batch of a folder damaged',
    code: 'CIFAR_INVALID',
    run: async () =>
      loadCifar10(
        await folderWith({ 'data_batch_1.bin': cifar([1]), 'data_batch_2.bin': cifar([2]).subarray(0, 100) }),
        { split: 'train' },
      ),
  },
  {
    name: 'path does not exist',
    code: 'DATA_NOT_FOUND',
    run: async () => loadCifar10(path.join(await caseDir(), 'nope.bin'), { split: 'train' }),
  },
];

const IMAGE_FOLDER_CASES: Case[] = [
  {
    name: 'folder with files but no class folders',
    code: 'DATASET_EMPTY',
    run: async () => loadImageFolder(await folderWith({ 'a.png': png(4, 4) })),
  },
  {
    name: 'empty class folder',
    code: 'DATASET_EMPTY',
    run: async () => {
      const dir = await folderWith({ 'cats/a.png': png(4, 4) });
      await mkdir(path.join(dir, 'dogs'));
      return loadImageFolder(dir);
    },
  },
  {
    name: 'class folder with hidden files only',
    code: 'DATASET_EMPTY',
    run: async () => loadImageFolder(await folderWith({ 'cats/.DS_Store': 'x', 'cats/._a.png': png(4, 4) })),
  },
  {
    name: 'nested folder in a class',
    code: 'IMAGE_FOLDER_INVALID',
    run: async () =>
      loadImageFolder(await folderWith({ 'cats/a.png': png(4, 4), 'cats/more/b.png': png(4, 4) })),
  },
  {
    name: 'non-image file',
    code: 'IMAGE_INVALID',
    run: async () =>
      loadImageFolder(await folderWith({ 'cats/a.png': png(4, 4), 'cats/notes.txt': 'hello' })),
  },
  {
    name: 'GIF renamed .png',
    code: 'IMAGE_INVALID',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.png': 'GIF89a\u0001\u0000\u0001\u0000' })),
  },
  {
    name: 'empty image file',
    code: 'IMAGE_INVALID',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.png': '' })),
  },
  {
    name: 'damaged PNG (cut short)',
    code: 'IMAGE_INVALID',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.png': png(4, 4).subarray(0, 40) })),
  },
  {
    name: 'damaged PNG (data corrupted)',
    code: 'IMAGE_INVALID',
    run: async () => {
      const bytes = Buffer.from(png(4, 4));
      for (let i = 41; i < bytes.length - 12; i++) bytes[i] = 0xee;
      return loadImageFolder(await folderWith({ 'cats/a.png': bytes }));
    },
  },
  {
    name: 'damaged JPEG (cut short)',
    code: 'IMAGE_INVALID',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.jpg': jpg(8, 8).subarray(0, 30) })),
  },
  {
    name: 'PNG header claiming 20000x20000',
    code: 'IMAGE_TOO_LARGE',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.png': pngClaiming(20000, 20000) })),
  },
  {
    name: 'JPEG header claiming 60000x60000',
    code: 'IMAGE_TOO_LARGE',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.jpg': jpgClaiming(60000, 60000) })),
  },
  {
    name: 'image larger than any model input',
    code: 'IMAGE_TOO_LARGE',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.png': png(300, 2) })),
  },
  {
    name: 'mixed sizes',
    code: 'IMAGE_SIZE_MISMATCH',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.png': png(4, 4), 'dogs/b.png': png(5, 4) })),
  },
  {
    name: 'train/ only, test split asked',
    code: 'IMAGE_FOLDER_INVALID',
    run: async () => loadImageFolder(await folderWith({ 'train/cats/a.png': png(4, 4) }), { split: 'test' }),
  },
  {
    name: 'resize to zero pixels',
    code: 'IMAGE_FOLDER_INVALID',
    run: async () => loadImageFolder(await folderWith({ 'cats/a.png': png(4, 4) }), { resizeTo: [0, 32] }),
  },
  {
    name: 'more than 256 classes',
    code: 'IMAGE_FOLDER_INVALID',
    run: async () => {
      const dir = await caseDir();
      await Promise.all(Array.from({ length: 257 }, (_, i) => mkdir(path.join(dir, `c${i}`))));
      return loadImageFolder(dir);
    },
  },
  {
    name: 'folder does not exist',
    code: 'DATA_NOT_FOUND',
    run: async () => loadImageFolder(path.join(await caseDir(), 'nope')),
  },
];

const RESOLVE_CASES: Case[] = [
  {
    name: 'unknown dataset name',
    code: 'DATASET_UNKNOWN',
    run: () => resolveDataset('imagenet-1k', 'train'),
  },
  {
    name: 'empty folder',
    code: 'DATASET_EMPTY',
    run: async () => resolveDataset(await caseDir(), 'train'),
  },
  {
    name: 'folder with hidden files only',
    code: 'DATASET_EMPTY',
    run: async () => resolveDataset(await folderWith({ '.DS_Store': 'x', '.hidden': 'y' }), 'train'),
  },
  {
    name: 'a text file',
    code: 'DATASET_UNKNOWN',
    run: async () => resolveDataset(path.join(await folderWith({ 'notes.txt': 'hi' }), 'notes.txt'), 'train'),
  },
  {
    name: 'an IDX images file whose labels file is missing',
    code: 'DATA_NOT_FOUND',
    run: async () =>
      resolveDataset(
        path.join(await folderWith({ 'x-images-idx3-ubyte': IMAGES }), 'x-images-idx3-ubyte'),
        'train',
      ),
  },
  {
    name: 'a .bin file that is not CIFAR-10',
    code: 'CIFAR_INVALID',
    run: async () =>
      resolveDataset(path.join(await folderWith({ 'w.bin': new Uint8Array(100) }), 'w.bin'), 'train'),
  },
];

const CASES: [string, Case[]][] = [
  ['IDX', IDX_CASES],
  ['CIFAR-10', CIFAR_CASES],
  ['image folder', IMAGE_FOLDER_CASES],
  ['dataset spec', RESOLVE_CASES],
];

describe('malformed datasets are refused', () => {
  it('has at least 40 cases', () => {
    expect(CASES.reduce((n, [, cases]) => n + cases.length, 0)).toBeGreaterThanOrEqual(40);
  });

  for (const [kind, cases] of CASES) {
    describe(kind, () => {
      it.each(cases)('$name -> $code', async ({ run, code }) => {
        await expectRefused(run, code);
      });
    });
  }
});
