import { UserError } from '../../shared/errors.js';
import type { NormalisationOverride } from '../../engine/models/normalisation.js';
import type { Command, ParsedArgs } from '../command.js';

/** Flags that state how an imported model expects its pixels normalised. */
export const normalisationOptions = {
  mean: {
    type: 'string',
    value: 'M[,M,M]',
    description:
      'Per-channel mean (pixels in 0..1) the model expects subtracted, for imported models without a card.',
  },
  std: {
    type: 'string',
    value: 'S[,S,S]',
    description: 'Per-channel standard deviation (pixels in 0..1) the model expects divided by.',
  },
} as const satisfies Command['options'];

/** Reads --mean/--std as number lists; bad numbers name the flag. */
export function parseNormalisation(args: ParsedArgs): NormalisationOverride {
  const parse = (name: 'mean' | 'std'): number[] | undefined => {
    const raw = args.values[name];
    if (typeof raw !== 'string') return undefined;
    const values = raw.split(',').map((v) => Number(v.trim()));
    if (values.some((v) => !Number.isFinite(v)) || (name === 'std' && values.some((v) => v <= 0))) {
      throw new UserError(
        'USAGE',
        `--${name} "${raw}" is not a comma-separated list of ${name === 'std' ? 'positive ' : ''}numbers`,
        `Pass e.g. --${name} ${name === 'mean' ? '0.1307' : '0.3081'}`,
      );
    }
    return values;
  };
  const mean = parse('mean');
  const std = parse('std');
  return { ...(mean ? { mean } : {}), ...(std ? { std } : {}) };
}
