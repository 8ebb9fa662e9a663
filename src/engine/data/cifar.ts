import path from 'node:path';
import { UserError } from '../../shared/errors.js';
import { writeFileAtomic } from '../util/atomic-fs.js';
import type { Split } from './files.js';
import { checkLabelRange, isGzip, listFolder, pathKind, readDataFile } from './files.js';
import type { LabeledImages } from './types.js';

/** The ten CIFAR-10 classes, in label order. */
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

const SIDE = 32;
const PLANE = SIDE * SIDE;
const IMAGE_BYTES = 3 * PLANE;
/** One record of the binary format: a label byte, then the red, green and blue planes. */
export const CIFAR10_RECORD_BYTES = 1 + IMAGE_BYTES;

/** The folder the official archive (cifar-10-binary.tar.gz) extracts to. */
const ARCHIVE_FOLDER = 'cifar-10-batches-bin';
const TRAIN_FILE = /^data_batch_(\d+)\.bin$/;
const TEST_FILE = 'test_batch.bin';

/** Options of loadCifar10. */
export interface Cifar10Options {
  /** Which files of a folder to read: data_batch_*.bin (train) or test_batch.bin (test). Ignored for a single file. */
  split: Split;
}

/** Reads one CIFAR-10 binary file into interleaved (NHWC) pixels and labels. */
async function readCifar10File(file: string): Promise<{ pixels: Uint8Array; labels: Uint8Array }> {
  const bytes = await readDataFile(file, 'CIFAR-10 file');
  if (isGzip(bytes)) {
    throw new UserError(
      'CIFAR_INVALID',
      `${file} is a compressed archive, not a CIFAR-10 binary batch`,
      `Extract it first (tar xzf) and pass the ${ARCHIVE_FOLDER} folder or one of its .bin files`,
    );
  }
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new UserError(
      'CIFAR_INVALID',
      `${file} is not a CIFAR-10 binary batch: its ${bytes.length} bytes are not a whole number of ${CIFAR10_RECORD_BYTES}-byte records (1 label + 32x32x3 pixels)`,
      'Pass an intact data_batch_N.bin or test_batch.bin from the CIFAR-10 binary version (CIFAR-100 and the Python version are not supported)',
    );
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * IMAGE_BYTES);
  for (let r = 0; r < count; r++) {
    const base = r * CIFAR10_RECORD_BYTES;
    labels[r] = bytes[base] ?? 0;
    // The file stores each image channel-planar (all red, then green, then blue); the engine wants RGB per pixel.
    const out = r * IMAGE_BYTES;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[base + 1 + p] ?? 0;
      pixels[out + 3 * p + 1] = bytes[base + 1 + PLANE + p] ?? 0;
      pixels[out + 3 * p + 2] = bytes[base + 1 + 2 * PLANE + p] ?? 0;
    }
  }
  checkLabelRange(
    labels,
    CIFAR10_CLASSES.length,
    file,
    'Pass a CIFAR-10 binary batch (CIFAR-100 files are not supported)',
  );
  return { pixels, labels };
}

/**
 * The files of a split in a CIFAR-10 folder, either the extracted archive's
 * own folder or the folder that contains it. Train batches are ordered by
 * number (so data_batch_10 follows data_batch_9).
 */
export async function cifar10Files(folder: string, split: Split): Promise<string[]> {
  let entries = await listFolder(folder, 'CIFAR-10 folder');
  if (entries.some((e) => e.isDirectory() && e.name === ARCHIVE_FOLDER)) {
    folder = path.join(folder, ARCHIVE_FOLDER);
    entries = await listFolder(folder, 'CIFAR-10 folder');
  }
  const names = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
  const files =
    split === 'test'
      ? names.filter((name) => name === TEST_FILE)
      : names.filter((name) => TRAIN_FILE.test(name)).sort((a, b) => batchNumber(a) - batchNumber(b));
  if (files.length === 0) {
    throw new UserError(
      'CIFAR_NOT_FOUND',
      `${folder} has no CIFAR-10 ${split} file (${split === 'test' ? TEST_FILE : 'data_batch_1.bin … data_batch_5.bin'})`,
      `Pass the ${ARCHIVE_FOLDER} folder extracted from cifar-10-binary.tar.gz, or a .bin file`,
    );
  }
  return files.map((name) => path.join(folder, name));
}

function batchNumber(name: string): number {
  return Number(TRAIN_FILE.exec(name)?.[1] ?? 0);
}

/** True when a folder holds CIFAR-10 batches (directly or in the extracted archive folder). */
export function looksLikeCifar10Folder(names: string[]): boolean {
  return names.some((name) => name === TEST_FILE || name === ARCHIVE_FOLDER || TRAIN_FILE.test(name));
}

/**
 * Loads CIFAR-10 from its binary version: a single .bin file (any split is
 * that file, since the user named it) or a folder, from which the split's
 * files are read and concatenated. Returns 32x32x3 images, RGB per pixel.
 */
export async function loadCifar10(pathOrFolder: string, options: Cifar10Options): Promise<LabeledImages> {
  const kind = await pathKind(pathOrFolder);
  if (kind === 'missing') {
    throw new UserError(
      'DATA_NOT_FOUND',
      `The CIFAR-10 file or folder ${pathOrFolder} does not exist`,
      'Check the path, or pass the cifar-10-batches-bin folder',
    );
  }
  const files = kind === 'folder' ? await cifar10Files(pathOrFolder, options.split) : [pathOrFolder];
  const parts = [];
  for (const file of files) parts.push(await readCifar10File(file));
  const count = parts.reduce((n, part) => n + part.labels.length, 0);
  const pixels = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let offset = 0;
  for (const part of parts) {
    pixels.set(part.pixels, offset * IMAGE_BYTES);
    labels.set(part.labels, offset);
    offset += part.labels.length;
  }
  return {
    source: kind === 'folder' ? `${pathOrFolder} (${options.split})` : pathOrFolder,
    shape: [SIDE, SIDE, 3],
    count,
    pixels,
    labels,
    numClasses: CIFAR10_CLASSES.length,
    classNames: [...CIFAR10_CLASSES],
  };
}

/**
 * Writes 32x32x3 images in the CIFAR-10 binary format (the inverse of
 * loadCifar10), e.g. to make small test files or to export a subset.
 */
export async function writeCifar10Binary(images: LabeledImages, file: string): Promise<void> {
  const [h, w, c] = images.shape;
  if (h !== SIDE || w !== SIDE || c !== 3) {
    throw new UserError(
      'CIFAR_INVALID',
      `Only 32x32x3 images fit the CIFAR-10 format, not ${images.shape.join('x')}`,
      'Resize the images to 32x32 RGB first',
    );
  }
  checkLabelRange(
    images.labels.subarray(0, images.count),
    CIFAR10_CLASSES.length,
    images.source,
    'CIFAR-10 labels must be 0..9',
  );
  const bytes = new Uint8Array(images.count * CIFAR10_RECORD_BYTES);
  for (let r = 0; r < images.count; r++) {
    const base = r * CIFAR10_RECORD_BYTES;
    const src = r * IMAGE_BYTES;
    bytes[base] = images.labels[r] ?? 0;
    for (let p = 0; p < PLANE; p++) {
      for (let ch = 0; ch < 3; ch++) bytes[base + 1 + ch * PLANE + p] = images.pixels[src + 3 * p + ch] ?? 0;
    }
  }
  await writeFileAtomic(file, bytes);
}
