import { describe, expect, it } from 'vitest';
import { resolveModelRef } from '../../../src/engine/models/builtin.js';
import { expectUserError } from '../data/helpers.js';

describe('built-in model references', () => {
  it('resolve the shipped example to its folder', () => {
    expect(resolveModelRef('builtin:mnist-lenet5')).toMatch(/examples[/\\]mnist-lenet5$/);
  });

  it("refuse unknown names, also the names of Object's own members, with the valid ones", async () => {
    for (const name of ['nope', 'constructor', '__proto__', 'hasOwnProperty', 'toString']) {
      const error = await expectUserError(
        () => resolveModelRef(`builtin:${name}`),
        'BUILTIN_UNKNOWN',
        `There is no built-in model "${name}"`,
      );
      expect(error.fix).toContain('builtin:mnist-lenet5');
    }
  });
});
