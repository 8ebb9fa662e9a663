import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { UserError } from '../../../src/shared/errors.js';
import type { TransferBatch } from '../../../src/engine/synthesis/method.js';

/** A fresh folder under the system temp dir; `next()` gives a new empty sub-folder per test. */
export function tempFolder(tag: string): { dir: string; next: () => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `distill-transfer-${tag}-`));
  let n = 0;
  return {
    dir,
    next: () => path.join(dir, `case${n++}`),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A batch whose every value says where it came from, so misplaced data is caught. */
export function labelledBatch(
  tag: number,
  count: number,
  pixelsPerImage: number,
  numClasses: number,
): TransferBatch {
  return {
    count,
    inputs: Float32Array.from({ length: count * pixelsPerImage }, (_, i) => tag * 1000 + i + 0.25),
    logits: Float32Array.from({ length: count * numClasses }, (_, i) => -(tag * 1000 + i) - 0.5),
    metrics: { kl: tag / 10 },
  };
}

/** Runs `action` and checks it fails with a UserError of `code`; returns the error for more checks. */
export async function expectUserError(action: () => Promise<unknown>, code: string): Promise<UserError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    const userError = error as UserError;
    expect(userError.code).toBe(code);
    expect(userError.fix.length).toBeGreaterThan(0);
    return userError;
  }
  throw new Error(`expected UserError ${code}, but nothing was thrown`);
}
