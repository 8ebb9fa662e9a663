import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { FASHION_MNIST_FOLDER } from '../../../src/engine/data/datasets.js';
import { UserError } from '../../../src/shared/errors.js';

/**
 * True when the real Fashion-MNIST files are missing, after printing why the
 * tests that read them are skipped. `make test` installs Debian's
 * dataset-fashion-mnist; where that fails, those tests are skipped.
 */
export function fashionMnistMissing(): boolean {
  if (existsSync(path.join(FASHION_MNIST_FOLDER, 't10k-images-idx3-ubyte.gz'))) return false;
  console.warn(
    `SKIPPED: Fashion-MNIST is not installed in ${FASHION_MNIST_FOLDER} (apt-get install dataset-fashion-mnist); the tests of the real split do not run`,
  );
  return true;
}

/** A fresh temporary folder and a function that removes it. */
export function tempFolder(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `distill-data-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Asserts that `run` fails with a UserError of `code` whose message matches
 * every pattern and whose fix says something: the contract of bad input.
 */
export async function expectUserError(
  run: () => unknown,
  code: string,
  ...patterns: (RegExp | string)[]
): Promise<UserError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a UserError').toBeInstanceOf(UserError);
  const error = caught as UserError;
  expect(error.code).toBe(code);
  for (const pattern of patterns) expect(error.message).toMatch(pattern);
  expect(error.fix.trim().length).toBeGreaterThan(10);
  return error;
}

/** Writes an IDX file (unsigned bytes): magic 0x0000080N, big-endian dims, data. */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, 0x00000800 + dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.byteLength + data.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(data, header.byteLength);
  return out;
}

/**
 * Asserts two byte arrays are equal. Much faster than toEqual on large typed
 * arrays, and on failure it names the first differing index.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (!a.equals(b)) {
    const at = a.findIndex((v, i) => v !== b[i]);
    expect.fail(`bytes differ first at index ${at}: ${a[at]} vs ${b[at]}`);
  }
}
