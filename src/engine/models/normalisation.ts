import type { Preprocessing } from '../data/types.js';
import { UserError } from '../../shared/errors.js';

/** Per-channel normalisation the user states for a model that does not record one. */
export interface NormalisationOverride {
  mean?: number[];
  std?: number[];
}

/**
 * `base` with the user's mean and std in place of its own, each given as
 * one value for every channel or one per channel.
 */
export function applyNormalisation(
  base: Preprocessing,
  override: NormalisationOverride,
  channels: number,
): Preprocessing {
  const check = (name: 'mean' | 'std', values: number[] | undefined): number[] | undefined => {
    if (values === undefined) return undefined;
    const expanded = values.length === 1 ? new Array<number>(channels).fill(values[0] ?? 0) : values;
    if (expanded.length !== channels) {
      throw new UserError(
        'NORMALISATION_INVALID',
        `--${name} has ${values.length} values but the model's images have ${channels} channel(s)`,
        `Give one value, or ${channels} comma-separated values`,
      );
    }
    return expanded;
  };
  return {
    ...base,
    mean: check('mean', override.mean) ?? base.mean,
    std: check('std', override.std) ?? base.std,
  };
}
