import { afterEach, beforeEach, expect } from 'vitest';
import { tf } from '../../src/engine/tf.js';

/** What tfjs holds at a moment: live tensors and registered variables. */
function held(): { tensors: number; variables: number } {
  return {
    tensors: tf.memory().numTensors,
    variables: Object.keys(tf.engine().registeredVariables).length,
  };
}

/**
 * Fails every test of the calling file that leaves tensors behind (and, with
 * `variables`, registered variables): the counts are taken before each test
 * and compared after it, once `cleanup` (e.g. removing temporary folders) has
 * run. Leaks are the most common tfjs bug, so engine tests end with memory
 * back where it started; call this once at the top level of a test file,
 * after the hook that picks the backend.
 */
export function guardTensorLeaks(options: { variables?: boolean; cleanup?: () => unknown } = {}): void {
  let before = held();
  beforeEach(() => {
    before = held();
  });
  afterEach(async () => {
    await options.cleanup?.();
    const after = held();
    expect(after.tensors, 'tensors left behind by this test').toBe(before.tensors);
    if (options.variables)
      expect(after.variables, 'variables left behind by this test').toBe(before.variables);
  });
}
