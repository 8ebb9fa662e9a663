import path from 'node:path';
import { UserError } from '../../shared/errors.js';
import type { Split } from './files.js';
import { checkLabelRange, gunzipIfNeeded, isGzip, isHidden, listFolder, readDataFile } from './files.js';
import type { LabeledImages } from './types.js';

/** IDX magic numbers: two zero bytes, element type 0x08 (unsigned byte), number of dimensions. */
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

/** What an IDX file holds: images [n, rows, cols] or labels [n]. */
export type IdxKind = 'images' | 'labels';

/** The dimensions and raw bytes of one IDX file. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Options of the IDX loaders. */
export interface IdxOptions {
  /** Classes of the task; labels must lie in 0..numClasses-1. Default 10, as in every MNIST-style dataset. */
  numClasses?: number;
  /** Names of the classes, length numClasses. */
  classNames?: string[];
  /** What reports call the data (default: the images file, or the folder and split). */
  source?: string;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * Reads one IDX file (MNIST layout, unsigned bytes only), gzipped or not,
 * and checks its magic number and that its length matches its header. A
 * mismatch is almost always a truncated copy or a swapped argument, so each
 * error names the file and says which.
 */
export async function readIdx(file: string, kind: IdxKind): Promise<IdxArray> {
  const raw = await readDataFile(file, `IDX ${kind} file`);
  const bytes = await gunzipIfNeeded(raw, file);
  const expectedMagic = kind === 'images' ? IMAGES_MAGIC : LABELS_MAGIC;
  const wanted = kind === 'images' ? 'an *-images-idx3-ubyte file' : 'an *-labels-idx1-ubyte file';
  if (bytes.length < 4) {
    throw new UserError(
      'IDX_INVALID',
      `${file} is not an IDX ${kind} file: it holds only ${bytes.length} bytes`,
      `Pass ${wanted} (gzipped or not)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expectedMagic) {
    const swapped = magic === (kind === 'images' ? LABELS_MAGIC : IMAGES_MAGIC);
    throw new UserError(
      'IDX_INVALID',
      swapped
        ? `${file} is an IDX ${kind === 'images' ? 'labels' : 'images'} file, but it was given as the ${kind} file`
        : `${file} is not an IDX ${kind} file: it starts with ${hex(magic)}, expected ${hex(expectedMagic)}`,
      swapped
        ? 'Swap the images and labels files'
        : `Pass ${wanted} (gzipped or not) from an MNIST-style dataset`,
    );
  }
  const rank = kind === 'images' ? 3 : 1;
  const headerBytes = 4 + 4 * rank;
  const dims =
    bytes.length >= headerBytes ? Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i)) : [];
  const expectedBytes = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (dims.length !== rank || bytes.length !== expectedBytes) {
    const announced =
      dims.length === rank
        ? `its header announces ${describeDims(dims, kind)} (${expectedBytes} bytes)`
        : 'its header is incomplete';
    throw new UserError(
      'IDX_INVALID',
      `${file} is ${bytes.length < expectedBytes ? 'truncated' : 'damaged'}: ${announced} but it holds ${bytes.length} bytes${isGzip(raw) ? ' once decompressed' : ''}`,
      'Copy the file again from its source; a complete file is exactly as long as its header announces',
    );
  }
  if (kind === 'images' && dims.slice(1).some((d) => d === 0)) {
    throw new UserError(
      'IDX_INVALID',
      `${file} announces images of ${dims.slice(1).join('x')} pixels`,
      'Pass an IDX images file with at least one pixel per image',
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

function describeDims(dims: number[], kind: IdxKind): string {
  return kind === 'images' ? `${dims[0]} images of ${dims[1]}x${dims[2]}` : `${dims[0]} labels`;
}

/**
 * Loads a pair of IDX files (images and their labels) as raw grayscale
 * images of shape [rows, cols, 1]. Checks that the files agree on the
 * number of images and that every label is a class of the task.
 */
export async function loadIdxPair(
  imagesPath: string,
  labelsPath: string,
  options: IdxOptions = {},
): Promise<LabeledImages> {
  const numClasses = options.numClasses ?? 10;
  // Both read at once; when both are wrong, the images file's problem is reported (not whichever failed first).
  const [imagesRead, labelsRead] = await Promise.allSettled([
    readIdx(imagesPath, 'images'),
    readIdx(labelsPath, 'labels'),
  ]);
  if (imagesRead.status === 'rejected') throw imagesRead.reason;
  if (labelsRead.status === 'rejected') throw labelsRead.reason;
  const images = imagesRead.value;
  const labels = labelsRead.value;
  const [count = 0, rows = 0, cols = 0] = images.dims;
  const labelCount = labels.dims[0] ?? 0;
  if (count !== labelCount) {
    throw new UserError(
      'IDX_MISMATCH',
      `${imagesPath} holds ${count} images but ${labelsPath} holds ${labelCount} labels`,
      'Pass the labels file of the same split as the images (train with train, t10k with t10k)',
    );
  }
  if (count === 0) {
    throw new UserError(
      'DATASET_EMPTY',
      `${imagesPath} holds no images`,
      'Pass an IDX images file with at least one image',
    );
  }
  checkLabelRange(
    labels.data,
    numClasses,
    labelsPath,
    `Check that this is the labels file of a ${numClasses}-class dataset; if the dataset has more classes, load it with numClasses set to their number`,
  );
  return {
    source: options.source ?? imagesPath,
    shape: [rows, cols, 1],
    count,
    // Copies detach the result from the (possibly much larger) read buffer.
    pixels: new Uint8Array(images.data),
    labels: new Uint8Array(labels.data),
    numClasses,
    ...(options.classNames ? { classNames: options.classNames } : {}),
  };
}

/** File-name prefixes of each split: MNIST calls its test split "t10k". */
const SPLIT_PREFIXES: Record<Split, string[]> = { train: ['train'], test: ['t10k', 'test'] };

/** Matches e.g. "train-images-idx3-ubyte", "t10k-labels.idx1-ubyte.gz", "emnist-letters-test-images-idx3-ubyte". */
const IDX_NAME = /^(?:(.*)[-_.])?(train|t10k|test)[-_.](images|labels)[-_.]idx([13])[-_.]ubyte(\.gz)?$/i;

/** True when a file name follows the MNIST IDX naming (used to recognise IDX folders). */
export function isIdxFileName(name: string): boolean {
  return IDX_NAME.test(name);
}

/** The two files of one split in an IDX folder. */
export interface IdxPair {
  images: string;
  labels: string;
}

/**
 * Finds the images and labels files of a split in a folder laid out like
 * MNIST ("train-…" for train, "t10k-…" or "test-…" for test, gzipped or
 * not), so that users can pass the folder instead of two file names. When
 * both a compressed and an uncompressed copy exist, the uncompressed one is
 * used because it loads faster.
 */
export async function findIdxPair(folder: string, split: Split): Promise<IdxPair> {
  const names = (await listFolder(folder, 'IDX dataset folder'))
    .filter((e) => !e.isDirectory() && !isHidden(e.name))
    .map((e) => e.name);
  const find = (kind: IdxKind): string => {
    const matches = names.filter((name) => {
      const m = IDX_NAME.exec(name);
      return (
        m !== null &&
        SPLIT_PREFIXES[split].includes((m[2] ?? '').toLowerCase()) &&
        (m[3] ?? '').toLowerCase() === kind
      );
    });
    // Collapse "x" and "x.gz" into one candidate, preferring "x".
    const candidates = [...new Set(matches.map((name) => name.replace(/\.gz$/i, '')))];
    const first = candidates[0];
    if (first === undefined) {
      const present = names.filter(isIdxFileName);
      throw new UserError(
        'IDX_NOT_FOUND',
        `${folder} has no IDX ${kind} file for the ${split} split (looked for ${SPLIT_PREFIXES[split].map((p) => `${p}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte[.gz]`).join(' or ')}; found ${present.length > 0 ? present.join(', ') : 'no IDX files'})`,
        `Put the ${split} files in the folder with their original names, or pass the other split`,
      );
    }
    if (candidates.length > 1) {
      throw new UserError(
        'IDX_AMBIGUOUS',
        `${folder} holds several IDX ${kind} files for the ${split} split: ${candidates.join(', ')}`,
        'Keep one dataset per folder',
      );
    }
    return path.join(folder, matches.includes(first) ? first : `${first}.gz`);
  };
  return { images: find('images'), labels: find('labels') };
}

/** Finds and loads a split of an IDX folder (see findIdxPair). */
export async function loadIdxFolder(
  folder: string,
  split: Split,
  options: IdxOptions = {},
): Promise<LabeledImages> {
  const pair = await findIdxPair(folder, split);
  return loadIdxPair(pair.images, pair.labels, { source: `${folder} (${split})`, ...options });
}
