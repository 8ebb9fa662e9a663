import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../shared/errors.js';
import { CIFAR10_RECORD_BYTES, loadCifar10, looksLikeCifar10Folder } from './cifar.js';
import type { Split } from './files.js';
import { isGzip, isHidden, listFolder, pathKind } from './files.js';
import type { IdxOptions } from './idx.js';
import { isIdxFileName, loadIdxFolder, loadIdxPair } from './idx.js';
import type { ImageFolderOptions } from './image-folder.js';
import { loadImageFolder, looksLikeImageFolder } from './image-folder.js';
import { loadMnistDigits } from './mnist-digits.js';
import type { ImageShape, LabeledImages } from './types.js';

/** The names of the built-in test datasets, as the user types them (CLI) and picks them (app catalog). */
export const DATASET_NAMES = { mnistDigits: 'mnist-digits', fashionMnist: 'fashion-mnist' } as const;

/** Where the Debian package dataset-fashion-mnist installs its files. */
export const FASHION_MNIST_FOLDER = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST's classes, in label order. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Settings that only some kinds of dataset use; each kind ignores the others. */
export interface ResolveOptions
  extends Pick<ImageFolderOptions, 'channels' | 'resizeTo'>, Pick<IdxOptions, 'numClasses'> {
  /** mnist-digits: seed of the fixed split (default 1234). */
  seed?: number;
  /** mnist-digits: share of each class held out for testing (default 0.2). */
  testFraction?: number;
  /** fashion-mnist: where its IDX files are (default FASHION_MNIST_FOLDER). */
  fashionMnistFolder?: string;
}

/** What is known about a spec before choosing a loader, read once. */
interface Probe {
  spec: string;
  kind: 'file' | 'folder' | 'missing' | 'other';
  /** Non-hidden entry names of a folder. */
  names: string[];
  /** First bytes and size of a file. */
  head: Uint8Array;
  size: number;
}

/** One kind of dataset the command line accepts. */
interface DatasetKind {
  /** How users write it, for the list of accepted datasets. */
  accepts: string;
  matches(probe: Probe): boolean | Promise<boolean>;
  load(spec: string, split: Split, options: ResolveOptions): Promise<LabeledImages>;
}

const IDX_IMAGES_MAGIC = [0x00, 0x00, 0x08, 0x03];

/** The labels file next to an IDX images file, by MNIST naming ("images-idx3" -> "labels-idx1"). */
function idxLabelsSibling(imagesFile: string): string {
  const name = path
    .basename(imagesFile)
    .replace(/images/i, 'labels')
    .replace(/idx3/i, 'idx1');
  return path.join(path.dirname(imagesFile), name);
}

/**
 * The accepted kinds, tried in order; the first that recognises the spec
 * loads it. Names are matched exactly; paths by what they contain (magic
 * bytes, record sizes, standard file names), not by their own name.
 */
const KINDS: DatasetKind[] = [
  {
    accepts: 'mnist-digits (10,000 real digits built in: a fixed 8,000/2,000 train/test split)',
    matches: (p) => p.spec === DATASET_NAMES.mnistDigits,
    load: (_spec, split, o) => loadMnistDigits({ split, seed: o.seed, testFraction: o.testFraction }),
  },
  {
    accepts: `fashion-mnist (Debian package dataset-fashion-mnist, read from ${FASHION_MNIST_FOLDER})`,
    matches: (p) => p.spec === DATASET_NAMES.fashionMnist,
    load: async (_spec, split, o) => {
      const folder = o.fashionMnistFolder ?? FASHION_MNIST_FOLDER;
      if ((await pathKind(folder)) !== 'folder') {
        throw new UserError(
          'DATASET_NOT_INSTALLED',
          `Fashion-MNIST is not installed (no folder ${folder})`,
          'Install it with "sudo apt-get install dataset-fashion-mnist", or pass the path of a folder holding its IDX files',
        );
      }
      return loadIdxFolder(folder, split, {
        source: `fashion-mnist (${split})`,
        classNames: FASHION_MNIST_CLASSES,
      });
    },
  },
  {
    accepts: 'a folder of IDX files (train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz], ...)',
    matches: (p) => p.kind === 'folder' && p.names.some(isIdxFileName),
    load: (spec, split, o) => loadIdxFolder(spec, split, { numClasses: o.numClasses }),
  },
  {
    accepts: 'an IDX images file (its labels file is found next to it by name)',
    matches: (p) =>
      p.kind === 'file' &&
      (IDX_IMAGES_MAGIC.every((b, i) => p.head[i] === b) ||
        (isGzip(p.head) && isIdxFileName(path.basename(p.spec)))),
    load: (spec, _split, o) => loadIdxPair(spec, idxLabelsSibling(spec), { numClasses: o.numClasses }),
  },
  {
    accepts: 'a CIFAR-10 binary file (data_batch_N.bin, test_batch.bin) or the cifar-10-batches-bin folder',
    matches: (p) =>
      p.kind === 'file'
        ? p.spec.endsWith('.bin') || (p.size > 0 && p.size % CIFAR10_RECORD_BYTES === 0)
        : p.kind === 'folder' && looksLikeCifar10Folder(p.names),
    load: (spec, split) => loadCifar10(spec, { split }),
  },
  {
    accepts: 'a folder with one sub-folder of PNG/JPEG images per class (optionally inside train/ and test/)',
    matches: (p) => p.kind === 'folder' && looksLikeImageFolder(p.spec),
    load: (spec, split, o) => loadImageFolder(spec, { split, channels: o.channels, resizeTo: o.resizeTo }),
  },
];

async function probe(spec: string): Promise<Probe> {
  const kind = await pathKind(spec);
  const result: Probe = { spec, kind, names: [], head: new Uint8Array(0), size: 0 };
  if (kind === 'folder') {
    result.names = (await listFolder(spec, 'dataset folder'))
      .filter((e) => !isHidden(e.name))
      .map((e) => e.name);
  } else if (kind === 'file') {
    const handle = await fs.open(spec, 'r');
    try {
      result.size = (await handle.stat()).size;
      const head = new Uint8Array(4);
      const { bytesRead } = await handle.read(head, 0, 4, 0);
      result.head = head.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  return result;
}

/** The accepted datasets, one per line, as error messages and help list them. */
export function acceptedDatasets(): string[] {
  return KINDS.map((kind) => kind.accepts);
}

/**
 * Turns what a user typed (a built-in name or a path) into labelled images
 * of the given split. Datasets with splits (mnist-digits, fashion-mnist,
 * IDX and CIFAR-10 folders, image folders with train/ and test/) return the
 * split asked for; a single file or a plain class folder is returned as a
 * whole for either split, since the user named exactly that data.
 */
export async function resolveDataset(
  spec: string,
  split: Split,
  options: ResolveOptions = {},
): Promise<LabeledImages> {
  const found = await probe(spec);
  for (const kind of KINDS) {
    if (await kind.matches(found)) return kind.load(spec, split, options);
  }
  const fix = `Use one of: ${acceptedDatasets().join('; ')}`;
  if (found.kind === 'missing') {
    throw new UserError(
      'DATASET_UNKNOWN',
      `"${spec}" is neither a built-in dataset nor an existing file or folder`,
      fix,
    );
  }
  if (found.kind === 'folder' && found.names.length === 0) {
    throw new UserError('DATASET_EMPTY', `The folder ${spec} is empty`, `Put a dataset in it. ${fix}`);
  }
  throw new UserError('DATASET_UNKNOWN', `${spec} is not a dataset this app can read`, fix);
}

/** A short summary of a dataset, as the `data` command prints it. */
export interface DatasetSummary {
  source: string;
  count: number;
  shape: ImageShape;
  numClasses: number;
  /** Images per class, indexed by label. */
  classCounts: number[];
  classNames?: string[];
}

/** Counts images per class and collects what identifies a dataset. */
export function describeDataset(data: LabeledImages): DatasetSummary {
  const classCounts = new Array<number>(data.numClasses).fill(0);
  for (let i = 0; i < data.count; i++) {
    const label = data.labels[i] ?? 0;
    classCounts[label] = (classCounts[label] ?? 0) + 1;
  }
  return {
    source: data.source,
    count: data.count,
    shape: [...data.shape],
    numClasses: data.numClasses,
    classCounts,
    ...(data.classNames ? { classNames: [...data.classNames] } : {}),
  };
}
