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
 * back where it started. Call it once at the top of a test file (after the
 * hook that picks the backend) or of a describe block.
 */
export function guardTensorLeaks(options: { variables?: boolean; cleanup?: () => unknown } = {}): void {
  // Counted in beforeEach, not here: the file's backend is chosen in a hook that has not run yet.
  let before = { tensors: 0, variables: 0 };
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
