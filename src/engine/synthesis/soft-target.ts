import { RECOMMENDED_METHOD_SETTINGS } from '../../shared/recommended.js';
import type { SettingValues } from '../../shared/settings.js';
import { tf } from '../tf.js';
import { SHARED_FIELDS } from './fields.js';
import { framedSpace, initialInputs, type InitKind } from './init.js';
import { klToTargets } from './losses.js';
import type { SynthesisMethod, Synthesizer } from './method.js';
import { batchNormPrior, darkDecision, priorNotes, imagePrior, jitterer } from './priors.js';
import type { InputLoss } from './optimize-inputs.js';
import { runBatches } from './run-batches.js';
import type { Classifier } from '../models/classifier.js';
import { splitTeacher, type TeacherNet } from './teacher-net.js';

const FIELDS = {
  ...SHARED_FIELDS,
  layer: {
    kind: 'text',
    default: '',
    advanced: true,
    description:
      'Dense layer whose input is modelled (empty: the last dense layer, i.e. the penultimate features).',
  },
  sigma: {
    kind: 'number',
    default: 1.5,
    min: 0.01,
    max: 100,
    description:
      'Spread of the feature-space normal distribution N(0, sigma R) (paper: 1.5 for MNIST, 2.0 for CIFAR-10).',
  },
  lambdaA: {
    kind: 'number',
    default: 0.05,
    min: 0,
    max: 100,
    advanced: true,
    description:
      'Weight of the activation loss that rewards strong features (paper: 0.05 for LeNet-5, 0.1 for AlexNet).',
  },
  targetTemperature: {
    kind: 'number',
    default: 1,
    min: 0.1,
    max: 1000,
    advanced: true,
    description:
      'Temperature of the soft targets softmax(head(z)/T); 1 keeps them informative (see METHOD.md).',
  },
  bn: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1000,
    advanced: true,
    description:
      "Weight of the BatchNorm statistics prior (DeepInversion): each BatchNorm layer's batch mean and variance on the images pulled toward what it recorded on the real data; only for teachers with BatchNorm layers, 0 = off.",
  },
  balance: {
    kind: 'boolean',
    default: false,
    advanced: true,
    description:
      "Draw the same number of targets for every class (by the target's top class) instead of as the feature-space normal falls: the normal favours some classes (one Fashion-MNIST set held 232 T-shirts against 931 sneakers in 5,000 images).",
  },
  scaleKl: {
    kind: 'boolean',
    default: true,
    advanced: true,
    description: 'Multiply the KL term by tau squared so the activation term cannot dominate it.',
  },
} as const;

type Settings = SettingValues<typeof FIELDS>;

/**
 * Samples feature vectors z = sqrt(sigma) * Wn e, e ~ N(0, I): exactly
 * N(0, sigma Wn Wn^T) = N(0, sigma R), where Wn is the first head layer's
 * kernel with each feature's outgoing weights scaled to unit length. R is
 * singular (rank <= K'), so sampling through the factor avoids a Cholesky.
 */
export function sampleFeatures(teacher: TeacherNet, count: number, sigma: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const w = teacher.headKernel();
    const wn = tf.div(w, tf.maximum(tf.norm(w, 'euclidean', 1, true), 1e-12));
    const e = tf.randomNormal([count, w.shape[1]], 0, 1, 'float32', seed);
    return tf.mul(tf.matMul(e, wn, false, true), Math.sqrt(sigma)) as tf.Tensor2D;
  });
}

/**
 * Like sampleFeatures, but with the same number of samples (within one) for every class, by the
 * top class of head(z): draws candidates in blocks and keeps each class's first ones. A class the
 * normal almost never reaches is filled with the candidates closest to it (its highest logit
 * relative to the top one), so the batch always has `count` rows.
 */
export function sampleBalancedFeatures(
  teacher: TeacherNet,
  count: number,
  sigma: number,
  seed: number,
): tf.Tensor2D {
  const k = teacher.numClasses;
  const wanted = Array.from({ length: k }, (_, c) => Math.floor(count / k) + (c < count % k ? 1 : 0));
  const chosen: number[][] = Array.from({ length: k }, () => []);
  const blocks: tf.Tensor2D[] = [];
  const logitRows: Float32Array[] = [];
  const perBlock = count * 4;
  const MAX_BLOCKS = 8;
  for (let block = 0; block < MAX_BLOCKS && chosen.some((c, i) => c.length < wanted[i]!); block++) {
    const z = sampleFeatures(teacher, perBlock, sigma, seed + block * 7_919);
    const logits = tf.tidy(() => teacher.head(z));
    const values = logits.dataSync() as Float32Array;
    logits.dispose();
    blocks.push(z);
    logitRows.push(values);
    for (let i = 0; i < perBlock; i++) {
      let top = 0;
      for (let c = 1; c < k; c++) if (values[i * k + c]! > values[i * k + top]!) top = c;
      if (chosen[top]!.length < wanted[top]!) chosen[top]!.push(block * perBlock + i);
    }
  }
  // Classes still short: the candidates whose logit for the class is closest to their top logit.
  const used = new Set(chosen.flat());
  for (let c = 0; c < k; c++) {
    const short = wanted[c]! - chosen[c]!.length;
    if (short <= 0) continue;
    const ranked: { index: number; gap: number }[] = [];
    logitRows.forEach((values, b) => {
      for (let i = 0; i < perBlock; i++) {
        const index = b * perBlock + i;
        if (used.has(index)) continue;
        let top = -Infinity;
        for (let j = 0; j < k; j++) top = Math.max(top, values[i * k + j]!);
        ranked.push({ index, gap: top - values[i * k + c]! });
      }
    });
    ranked.sort((a, b) => a.gap - b.gap);
    for (const { index } of ranked.slice(0, short)) {
      chosen[c]!.push(index);
      used.add(index);
    }
  }
  return tf.tidy(() => {
    const all = blocks.length === 1 ? blocks[0]! : tf.concat(blocks, 0);
    const picked = tf.gather(all, tf.tensor1d(chosen.flat(), 'int32')) as tf.Tensor2D;
    tf.dispose(blocks);
    return picked;
  });
}

/** Soft targets y = softmax(head(z) / T) for sampled features z. */
export function softTargets(teacher: TeacherNet, z: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => tf.softmax(tf.div(teacher.head(z), temperature)) as tf.Tensor2D);
}

function create(classifier: Classifier, settings: Settings): Synthesizer {
  const teacher = splitTeacher(classifier, settings.layer || undefined);
  const space = settings.frame
    ? framedSpace(teacher.space, classifier.preprocessing.sourceShape)
    : teacher.space;
  const priors = { ...settings, dark: darkDecision(settings, classifier.preprocessing).weight };
  const tau = settings.temperature;
  const klWeight = settings.scaleKl ? tau * tau : 1;
  const useNorms = settings.bn > 0 && teacher.normStats.length > 0;
  const runner = {
    space,
    logits: (x: tf.Tensor4D) => teacher.featuresAndLogits(x)[1],
    batchSize: settings.batchSize,
    iterations: settings.iterations,
    learningRate: settings.learningRate,
    decay: settings.decay,
    blur: settings.blur,
    coarse: { factor: settings.coarse, share: settings.coarseShare },
    pyramid: settings.pyramid,
  };
  return {
    synthesize: (count, seed, options) =>
      runBatches(runner, count, seed, options ?? {}, (batch, batchSeed) => {
        const jitter = jitterer(space, settings.jitter, batchSeed + 2, settings.mirror);
        const targets = tf.tidy(() =>
          softTargets(
            teacher,
            (settings.balance ? sampleBalancedFeatures : sampleFeatures)(
              teacher,
              batch,
              settings.sigma,
              batchSeed,
            ),
            settings.targetTemperature,
          ),
        );
        return {
          start: initialInputs(space, batch, settings.init as InitKind, batchSeed + 1),
          targets,
          loss: (x): InputLoss => {
            const input = jitter(x);
            const { h, logits, normInputs } = teacher.featuresLogitsAndNormInputs(input);
            // Used inputs stay for the gradient (the optimizer's scope frees them); others go now.
            const norms = useNorms ? batchNormPrior(normInputs, teacher.normStats) : undefined;
            if (!norms) tf.dispose(normInputs);
            const kl = tf.mul(klToTargets(targets, logits, tau), klWeight) as tf.Scalar;
            const activation = tf.mean(tf.abs(h)) as tf.Scalar;
            const total = tf.sub(kl, tf.mul(activation, settings.lambdaA)) as tf.Scalar;
            const prior = imagePrior(x, priors, space);
            const seen = { input, logits };
            const parts: Record<string, tf.Scalar> = { kl, activation };
            let all = total;
            if (prior) {
              parts.prior = prior;
              all = tf.add(all, prior) as tf.Scalar;
            }
            if (norms) {
              parts.normStats = norms;
              all = tf.add(all, tf.mul(norms, settings.bn)) as tf.Scalar;
            }
            return { total: all, parts, seen };
          },
        };
      }),
  };
}

/** The paper's method (Wang 2021): targets from a feature-space normal built from the teacher's weights. */
export const softTargetMethod: SynthesisMethod<typeof FIELDS> = {
  name: 'soft-target',
  title: 'Soft-targeted synthesis (Wang 2021)',
  description:
    "Draws realistic mixed-class targets from a model of the teacher's own feature space, then shapes images until the teacher gives those answers.",
  fields: FIELDS,
  needsDenseHead: true,
  recommended: RECOMMENDED_METHOD_SETTINGS['soft-target'] as Partial<Settings>,
  create,
  notes: priorNotes,
};
