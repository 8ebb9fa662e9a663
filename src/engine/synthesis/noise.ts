import type { tf } from '../tf.js';
import { SHARED_FIELDS } from './fields.js';
import { initialInputs, inputSpace, type InitKind } from './init.js';
import type { SynthesisMethod } from './method.js';
import { runBatches } from './run-batches.js';

const FIELDS = { batchSize: SHARED_FIELDS.batchSize, init: SHARED_FIELDS.init } as const;

/** Baseline: random images labelled by the teacher, without any optimisation. */
export const noiseMethod: SynthesisMethod<typeof FIELDS> = {
  name: 'noise',
  title: 'Random noise (baseline)',
  description:
    'Shows the student random images labelled by the teacher. A lower bound to compare the real methods against.',
  fields: FIELDS,
  recommended: {},
  needsDenseHead: false,
  create(classifier, settings) {
    const space = inputSpace(classifier);
    const runner = {
      space,
      logits: (x: tf.Tensor4D) => classifier.model.predict(x) as tf.Tensor2D,
      batchSize: settings.batchSize,
      iterations: 0,
      learningRate: 0,
    };
    return {
      synthesize: (count, seed, options) =>
        runBatches(runner, count, seed, options ?? {}, (batch, batchSeed) => ({
          start: initialInputs(space, batch, settings.init as InitKind, batchSeed),
        })),
    };
  },
};
