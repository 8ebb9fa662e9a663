import type { ModelCard } from '../../shared/model-card.js';
import { defaultPreprocessing } from '../data/preprocess.js';
import type { Preprocessing } from '../data/types.js';
import { UserError } from '../errors.js';
import type { Classifier } from '../eval/evaluate.js';
import { resolveModelRef } from './builtin.js';
import { importTeacher } from './teacher.js';

/** A validated classifier loaded from a folder, with what describes it. */
export interface LoadedClassifier extends Classifier {
  folder: string;
  card?: ModelCard;
  /** sha256 of the architecture and weights: identifies the exact model in reports. */
  fingerprint: string;
  /** True when the file's last layer was a softmax that the engine removed. */
  outputWasSoftmax: boolean;
}

/** Per-channel normalisation the user states for a model that does not record one. */
export interface NormalisationOverride {
  mean?: number[];
  std?: number[];
}

/**
 * Loads any TensorFlow.js LayersModel folder (or `builtin:NAME`) as a
 * logits classifier. The preprocessing comes from the model's card when it
 * has one; an imported model without a card is assumed to take pixels
 * scaled to [0, 1] unless the user says otherwise.
 */
export async function loadClassifier(
  ref: string,
  override: NormalisationOverride = {},
): Promise<LoadedClassifier> {
  const folder = resolveModelRef(ref);
  const teacher = await importTeacher(folder);
  const { inputShape, numClasses } = teacher.info;
  const base: Preprocessing = teacher.card?.preprocessing ?? defaultPreprocessing(inputShape, inputShape);
  const preprocessing = applyOverride(base, override, inputShape[2]);
  return {
    model: teacher.model,
    inputShape,
    numClasses,
    preprocessing,
    folder,
    fingerprint: teacher.fingerprint,
    outputWasSoftmax: teacher.info.outputWasSoftmax,
    ...(teacher.fileBytes !== undefined ? { fileBytes: teacher.fileBytes } : {}),
    ...(teacher.card ? { card: teacher.card } : {}),
  };
}

function applyOverride(
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
