import { UserError } from '../../shared/errors.js';
import type { SynthesisMethod } from './method.js';
import { noiseMethod } from './noise.js';
import { softTargetMethod } from './soft-target.js';
import { zskdMethod } from './zskd.js';

/** Every transfer-set synthesis method, by name (the paper's method first). */
export const SYNTHESIS_METHODS: ReadonlyMap<string, SynthesisMethod> = new Map(
  ([softTargetMethod, zskdMethod, noiseMethod] as SynthesisMethod[]).map((m) => [m.name, m]),
);

/** A method by name; an unknown name lists the valid ones. */
export function getSynthesisMethod(name: string): SynthesisMethod {
  const method = SYNTHESIS_METHODS.get(name);
  if (!method) {
    throw new UserError(
      'METHOD_UNKNOWN',
      `There is no synthesis method "${name}"`,
      `Use one of: ${[...SYNTHESIS_METHODS.keys()].join(', ')}`,
    );
  }
  return method;
}
