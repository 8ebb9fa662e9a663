import path from 'node:path';
import { formatBytes } from '../../shared/format.js';
import { LIMITS } from '../../shared/limits.js';
import { UserError } from '../../shared/errors.js';
import type { Split } from './files.js';
import { isHidden, listFolder, readDataFile } from './files.js';
import { decodeImage, resizeBilinear, rgbaToChannels } from './image-decode.js';
import type { LabeledImages } from './types.js';

/** Options of loadImageFolder. */
export interface ImageFolderOptions {
  /** With a folder holding train/ and test/ sub-folders, which one to read (default 'train'). */
  split?: Split;
  /** Channels of the result: 1 (gray) or 3 (RGB). Default: those of the first image. */
  channels?: 1 | 3;
  /** Resize every image to [height, width] (bilinear). Without it all images must have the same size. */
  resizeTo?: [number, number];
}

/** The split folders a dataset folder may hold instead of class folders. */
const SPLIT_FOLDERS: readonly Split[] = ['train', 'test'];

async function subfolders(folder: string): Promise<string[]> {
  return (await listFolder(folder, 'image folder'))
    .filter((e) => e.isDirectory() && !isHidden(e.name))
    .map((e) => e.name);
}

/**
 * The folder holding the class folders of a split, and the class names. A
 * folder with train/ and test/ inside is split that way; its class list is
 * the union of both sides' class folders, so a class missing from one side
 * still keeps the same label index on the other.
 */
async function classLayout(folder: string, split: Split): Promise<{ root: string; classNames: string[] }> {
  const top = await subfolders(folder);
  const splits = top.filter((name) => (SPLIT_FOLDERS as readonly string[]).includes(name));
  if (splits.length === 0) return { root: folder, classNames: top };
  if (!splits.includes(split)) {
    throw new UserError(
      'IMAGE_FOLDER_INVALID',
      `${folder} has ${splits.map((s) => `${s}/`).join(' and ')} but no ${split}/ folder`,
      `Add ${path.join(folder, split)} with one sub-folder of images per class, or ask for the other split`,
    );
  }
  const names = new Set<string>();
  for (const name of splits) for (const cls of await subfolders(path.join(folder, name))) names.add(cls);
  return { root: path.join(folder, split), classNames: [...names].sort() };
}

/** The image files of one class folder, sorted by name; hidden files are skipped. */
async function classFiles(folder: string): Promise<string[]> {
  const entries = (await listFolder(folder, 'class folder')).filter((e) => !isHidden(e.name));
  const nested = entries.find((e) => e.isDirectory());
  if (nested) {
    throw new UserError(
      'IMAGE_FOLDER_INVALID',
      `The class folder ${folder} contains a folder (${nested.name})`,
      'Class folders must hold images only: move the folder out, or make it a class of its own at the top level',
    );
  }
  return entries.map((e) => path.join(folder, e.name));
}

/**
 * Orders images round-robin over classes (first image of each class, then
 * the second, ...), so any prefix of the dataset, e.g. a quick trial with
 * the first N images, holds every class instead of only the first ones.
 */
function interleave(perClass: string[][]): { file: string; label: number }[] {
  const order: { file: string; label: number }[] = [];
  const longest = Math.max(0, ...perClass.map((files) => files.length));
  for (let i = 0; i < longest; i++) {
    perClass.forEach((files, label) => {
      const file = files[i];
      if (file !== undefined) order.push({ file, label });
    });
  }
  return order;
}

/**
 * Loads a folder with one sub-folder of PNG or JPEG images per class (the
 * sorted sub-folder names are the class names, as in torchvision's
 * ImageFolder). Formats are recognised by content; hidden files are
 * skipped; any other file is an error, so that nothing is silently left
 * out. Images keep their size unless `resizeTo` is given, in which case
 * they must all match the first one.
 */
export async function loadImageFolder(
  folder: string,
  options: ImageFolderOptions = {},
): Promise<LabeledImages> {
  if (options.resizeTo && !options.resizeTo.every((n) => Number.isInteger(n) && n > 0)) {
    throw new UserError(
      'IMAGE_FOLDER_INVALID',
      `Cannot resize images to ${options.resizeTo.join('x')}`,
      'Give a height and width in whole pixels, e.g. 32x32',
    );
  }
  const split = options.split ?? 'train';
  const { root, classNames } = await classLayout(folder, split);
  if (classNames.length === 0) {
    throw new UserError(
      'DATASET_EMPTY',
      `${root} has no class folders`,
      'Put the images in one sub-folder per class (e.g. cats/, dogs/); the sorted folder names become the class names',
    );
  }
  if (classNames.length > 256) {
    throw new UserError(
      'IMAGE_FOLDER_INVALID',
      `${root} has ${classNames.length} class folders`,
      'Use at most 256 classes (labels are stored as bytes)',
    );
  }
  const present = new Set(await subfolders(root));
  const perClass: string[][] = [];
  for (const name of classNames) {
    const classFolder = path.join(root, name);
    // A class absent from this side of a split keeps its index with no images; an existing empty folder is a mistake.
    const files = present.has(name) ? await classFiles(classFolder) : [];
    if (files.length === 0 && present.has(name)) {
      throw new UserError(
        'DATASET_EMPTY',
        `The class folder ${classFolder} has no images`,
        'Put at least one PNG or JPEG image in it, or remove it (class indices follow the sorted folder names)',
      );
    }
    perClass.push(files);
  }
  const order = interleave(perClass);
  if (order.length === 0) {
    throw new UserError(
      'DATASET_EMPTY',
      `${root} has no images in its class folders`,
      'Put PNG or JPEG images in the class folders',
    );
  }

  let expected: { file: string; height: number; width: number; channels: 1 | 3 } | undefined;
  let chunks: Uint8Array | undefined;
  const labels = new Uint8Array(order.length);
  for (const [i, { file, label }] of order.entries()) {
    const image = decodeImage(await readDataFile(file, 'image'), file);
    expected ??= {
      file,
      height: options.resizeTo?.[0] ?? image.height,
      width: options.resizeTo?.[1] ?? image.width,
      channels: options.channels ?? image.channels,
    };
    if (!options.resizeTo && (image.height !== expected.height || image.width !== expected.width)) {
      throw new UserError(
        'IMAGE_SIZE_MISMATCH',
        `${file} is ${image.width}x${image.height} pixels but the first image (${expected.file}) is ${expected.width}x${expected.height}`,
        `Make all images the same size, or resize them on loading (resizeTo: [${expected.height}, ${expected.width}])`,
      );
    }
    const size = expected.height * expected.width * expected.channels;
    if (!chunks) checkDatasetSize(order.length, expected, root);
    chunks ??= new Uint8Array(order.length * size);
    let pixels = rgbaToChannels(image.rgba, image.width * image.height, expected.channels);
    if (image.height !== expected.height || image.width !== expected.width) {
      pixels = resizeBilinear(
        pixels,
        [image.height, image.width],
        [expected.height, expected.width],
        expected.channels,
      );
    }
    chunks.set(pixels, i * size);
    labels[i] = label;
  }
  if (!expected || !chunks) throw new Error('unreachable: order is not empty');
  return {
    source: root,
    shape: [expected.height, expected.width, expected.channels],
    count: order.length,
    pixels: chunks,
    labels,
    numClasses: classNames.length,
    classNames,
  };
}

/** True when a folder looks like an image dataset: it has sub-folders (classes, or train/ and test/). */
export async function looksLikeImageFolder(folder: string): Promise<boolean> {
  return (await subfolders(folder)).length > 0;
}

/**
 * Refuses images larger than any model input, and a whole folder larger
 * than one data file may be, before the memory for it is taken.
 */
function checkDatasetSize(
  count: number,
  shape: { file: string; height: number; width: number; channels: number },
  root: string,
): void {
  if (shape.height > LIMITS.inputSide || shape.width > LIMITS.inputSide) {
    throw new UserError(
      'IMAGE_TOO_LARGE',
      `${shape.file} is ${shape.width}x${shape.height} pixels, larger than any model input (at most ${LIMITS.inputSide}x${LIMITS.inputSide})`,
      "Shrink the images to the teacher's input size (e.g. 32x32) before using them as a test set",
    );
  }
  const bytes = count * shape.height * shape.width * shape.channels;
  if (bytes > LIMITS.dataFileBytes) {
    throw new UserError(
      'DATA_TOO_LARGE',
      `${root} holds ${count} images of ${shape.width}x${shape.height}x${shape.channels}: ${formatBytes(bytes)}, more than the ${formatBytes(LIMITS.dataFileBytes)} a dataset may take in memory`,
      'Use fewer images (a few thousand are enough to measure a student) or smaller ones',
    );
  }
}
