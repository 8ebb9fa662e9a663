import { RECOMMENDED_METHOD_SETTINGS } from '../../shared/recommended.js';
import type { SettingValues } from '../../shared/settings.js';
import type { Classifier } from '../models/classifier.js';
import { tf } from '../tf.js';
import { Rng } from '../util/rng.js';
import { sampleDirichlet } from './dirichlet.js';
import { SHARED_FIELDS } from './fields.js';
import { framedSpace, initialInputs, type InitKind } from './init.js';
import { crossEntropyToTargets } from './losses.js';
import type { SynthesisMethod } from './method.js';
import { darkDecision, priorNotes, imagePrior, jitterer } from './priors.js';
import type { InputLoss } from './optimize-inputs.js';
import { runBatches } from './run-batches.js';
import { splitTeacher } from './teacher-net.js';

const FIELDS = {
  ...SHARED_FIELDS,
  betaHigh: {
    kind: 'number',
    default: 1.0,
    min: 1e-4,
    max: 100,
    advanced: true,
    description:
      'Dirichlet scale for the first half of the images (ZSKD: 1.0; larger gives peakier targets).',
  },
  betaLow: {
    kind: 'number',
    default: 0.1,
    min: 1e-4,
    max: 100,
    advanced: true,
    description: 'Dirichlet scale for the second half of the images (ZSKD: 0.1).',
  },
} as const;

type Settings = SettingValues<typeof FIELDS>;

/**
 * ZSKD's class similarity: cosine similarity of the logits layer's per-class
 * weight vectors, min-max normalised to [0, 1] over the whole matrix, then
 * each row min-max normalised (so the class itself gets concentration 1).
 */
export async function classSimilarity(logitsKernel: tf.Tensor2D): Promise<number[][]> {
  const matrix = tf.tidy(() => {
    const wn = tf.div(logitsKernel, tf.maximum(tf.norm(logitsKernel, 'euclidean', 0, true), 1e-12));
    const c = tf.matMul(wn, wn, true, false);
    const min = tf.min(c);
    return tf.div(tf.sub(c, min), tf.maximum(tf.sub(tf.max(c), min), 1e-12));
  });
  const rows = (await matrix.array()) as number[][];
  matrix.dispose();
  return rows.map((row) => {
    const lo = Math.min(...row);
    const hi = Math.max(...row);
    return row.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 1));
  });
}

/**
 * Dirichlet targets for one batch: classes balanced (image i is class
 * (offset + i) mod K), concentration beta * C_k + 1e-4, beta high for the
 * first half of the whole set and low for the second.
 */
export function dirichletTargets(
  similarity: number[][],
  batch: number,
  offset: number,
  total: number,
  settings: Settings,
  rng: Rng,
): Float32Array {
  const k = similarity.length;
  const out = new Float32Array(batch * k);
  for (let i = 0; i < batch; i++) {
    const index = offset + i;
    const row = similarity[index % k] ?? [];
    const beta = index < total / 2 ? settings.betaHigh : settings.betaLow;
    out.set(
      sampleDirichlet(
        row.map((v) => beta * v + 1e-4),
        rng,
      ),
      i * k,
    );
  }
  return out;
}

function create(classifier: Classifier, settings: Settings) {
  const teacher = splitTeacher(classifier);
  const space = settings.frame
    ? framedSpace(teacher.space, classifier.preprocessing.sourceShape)
    : teacher.space;
  const priors = { ...settings, dark: darkDecision(settings, classifier.preprocessing).weight };
  const similarity = classSimilarity(teacher.logitsKernel());
  const runner = {
    space,
    logits: (x: tf.Tensor4D) => teacher.model.predict(x) as tf.Tensor2D,
    batchSize: settings.batchSize,
    iterations: settings.iterations,
    learningRate: settings.learningRate,
    decay: settings.decay,
    blur: settings.blur,
    coarse: { factor: settings.coarse, share: settings.coarseShare },
    pyramid: settings.pyramid,
  };
  return {
    synthesize: async (count: number, seed: number, options = {}) => {
      const c = await similarity;
      const rng = new Rng(seed);
      let offset = 0;
      return runBatches(runner, count, seed, options, (batch, batchSeed) => {
        const targets = tf.tensor2d(dirichletTargets(c, batch, offset, count, settings, rng), [
          batch,
          c.length,
        ]);
        offset += batch;
        const jitter = jitterer(space, settings.jitter, batchSeed + 2, settings.mirror);
        return {
          start: initialInputs(space, batch, settings.init as InitKind, batchSeed + 1),
          targets,
          loss: (x): InputLoss => {
            const input = jitter(x);
            const logits = teacher.model.apply(input) as tf.Tensor2D;
            const ce = crossEntropyToTargets(targets, logits, settings.temperature);
            const prior = imagePrior(x, priors, space);
            const seen = { input, logits };
            return prior
              ? { total: tf.add(ce, prior) as tf.Scalar, parts: { crossEntropy: ce, prior }, seen }
              : { total: ce, parts: { crossEntropy: ce }, seen };
          },
        };
      });
    },
  };
}

/** ZSKD (Nayak et al., ICML 2019): "data impressions" matched to per-class Dirichlet targets. */
export const zskdMethod: SynthesisMethod<typeof FIELDS> = {
  name: 'zskd',
  title: 'Zero-shot KD data impressions (Nayak 2019)',
  description:
    'Draws targets class by class from a Dirichlet built on how similar the classes look to the teacher, then shapes images to match them.',
  fields: FIELDS,
  recommended: (RECOMMENDED_METHOD_SETTINGS['zskd'] ?? {}) as Partial<Settings>,
  needsDenseHead: true,
  create,
  notes: priorNotes,
};
