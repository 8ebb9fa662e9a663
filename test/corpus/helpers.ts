import { expect } from 'vitest';
import { UserError, type ErrorInfo } from '../../src/shared/errors.js';

/**
 * The contract every malformed input in the corpus must meet: refused with a
 * UserError of the expected code, a one-line message naming the problem and
 * a fix that says what to do.
 */
export async function expectRefused(run: () => unknown, code: string): Promise<UserError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected UserError ${code}, got ${String(caught)}`).toBeInstanceOf(UserError);
  const error = caught as UserError;
  expectOneLineError({ code: error.code, message: error.message, fix: error.fix }, code);
  return error;
}

/** The same contract for an ErrorInfo sent back by the services. */
export function expectOneLineError(error: ErrorInfo, code: string): void {
  expect(error.code, error.message).toBe(code);
  expect(error.message.trim().length).toBeGreaterThan(10);
  expect(error.message, 'message must be one line').not.toMatch(/[\r\n]/);
  expect(error.fix.trim().length).toBeGreaterThan(10);
  expect(error.fix, 'fix must be one line').not.toMatch(/[\r\n]/);
}
