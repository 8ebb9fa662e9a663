import { z } from 'zod';
import { jobSetting, type JobSettingKey } from './job-settings.js';
import type { JobSetting } from './setting-declaration.js';

/**
 * The job protocol: one typed request (a JobSpec) and a stream of typed
 * events. The command line, the app's main process and worker processes all
 * speak it; every message is parsed with these schemas where it is received.
 */

/** A number schema with a declared setting's bounds (src/shared/job-settings.ts). */
function declaredNumber<G extends JobSetting['group']>(group: G, key: JobSettingKey<G>): z.ZodNumber {
  const setting = jobSetting(group, key);
  if (setting.kind !== 'number') throw new Error(`${group}.${key} is not a number setting`);
  const schema = z
    .number({ error: 'must be a number' })
    .min(setting.min, `must be at least ${setting.min}`)
    .max(setting.max, `must be at most ${setting.max}`);
  return setting.integer ? schema.int('must be a whole number') : schema;
}

/** The student's training. Bounds, defaults and words: src/shared/job-settings.ts. */
export const DistillSettingsSchema = z.object({
  epochs: declaredNumber('distill', 'epochs'),
  batchSize: declaredNumber('distill', 'batchSize'),
  learningRate: declaredNumber('distill', 'learningRate'),
  /** Temperature tau of the distillation loss. */
  temperature: declaredNumber('distill', 'temperature'),
  /** Small random shifts of the images the student trains on. */
  augment: z.boolean(),
  /** The teacher answers for every shifted image, instead of its stored answer for the unshifted one. */
  relabel: z.boolean().default(false),
  /** Fraction of each batch replaced by teacher-labelled blends of two images. 0 = off. */
  mixup: declaredNumber('distill', 'mixup').default(0),
  /** Fraction of each batch mirrored left to right, labelled by the teacher. 0 = off. */
  flip: declaredNumber('distill', 'flip').default(0),
  /** Fraction of each batch faded toward the data mean, labelled by the teacher. 0 = off. */
  fade: declaredNumber('distill', 'fade').default(0),
  /** Fraction of each batch blurred (softened), labelled by the teacher. 0 = off. */
  soften: declaredNumber('distill', 'soften').default(0),
});
export type DistillSettings = z.infer<typeof DistillSettingsSchema>;

/**
 * The round pipeline: synthesize a round of images, train the student on
 * batches drawn from everything made so far, repeat until the time budget
 * is spent. The student exists, and is measured, after every round.
 */
export const RoundsSettingsSchema = z.object({
  /** Wall time the job may take, in seconds; it ends within one round of it. */
  budgetSeconds: declaredNumber('rounds', 'budgetSeconds'),
  /** A fixed number of rounds instead (0: as many as the budget allows); the budget still caps it. */
  maxRounds: declaredNumber('rounds', 'maxRounds'),
  imagesPerRound: declaredNumber('rounds', 'imagesPerRound'),
  /** Student training steps (of distill.batchSize images) after each round. */
  studentSteps: declaredNumber('rounds', 'studentSteps'),
  /** Weight of the teacher-student disagreement (Jensen-Shannon) term in synthesis, from round 2; 0 = off. */
  disagreement: declaredNumber('rounds', 'disagreement'),
  disagreementTemperature: declaredNumber('rounds', 'disagreementTemperature'),
  /** The student's learning rate follows a cosine over the budget (or the span below) down to this fraction of its peak. */
  learningRateFloor: declaredNumber('rounds', 'learningRateFloor'),
  /**
   * The cosine runs over this many seconds when longer than the budget, so a short job ends with
   * its rate still high (src/shared/learning-rate.ts; absent: over the budget, as a job made
   * before the setting ran).
   */
  learningRateSpanSeconds: declaredNumber('rounds', 'learningRateSpanSeconds').optional(),
  /** Share of each round's images that start from random images of earlier rounds instead of noise (absent: 0). */
  restart: declaredNumber('rounds', 'restart').optional(),
  /**
   * The student kept is an exponential moving average of its weights with this decay per step
   * (absent: 0, the last weights; the spec of a job made before the setting keeps meaning that).
   */
  averaging: declaredNumber('rounds', 'averaging').optional(),
  /**
   * Round r's images are made with the student of round r - 2 instead of r - 1, so worker
   * processes make them while this process trains on round r - 1 (every core busy).
   */
  pipelined: z.boolean().optional(),
});
export type RoundsSettings = z.infer<typeof RoundsSettingsSchema>;

export const JobSpecSchema = z.object({
  /** Teacher model: a folder or builtin:NAME. */
  teacher: z.string().min(1),
  /** Student architecture preset name. */
  student: z.string().min(1),
  /** Synthesis method name and its settings (validated by the method's declaration). */
  method: z.string().min(1),
  methodSettings: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  /** Size of the transfer set. */
  samples: declaredNumber('job', 'samples'),
  /** Images per shard file: the unit of resumption and of parallel work. */
  shardSize: declaredNumber('job', 'shardSize'),
  distill: DistillSettingsSchema,
  /** Labelled test set (dataset spec); without one, agreement on held-back synthesized images is reported. */
  testData: z.string().optional(),
  /** Synthesized images held back from training to measure agreement. */
  holdout: declaredNumber('job', 'holdout'),
  seed: declaredNumber('job', 'seed'),
  /** Parallel synthesis processes. */
  workers: z.number().int().min(1).max(64),
  /** Folder holding everything the job writes; a job started again on it resumes. */
  runDir: z.string().min(1),
  /**
   * Present: the round pipeline with a time budget (samples and distill.epochs
   * are then unused). Absent: the paper's two stages, the whole transfer set
   * first, then distill.epochs epochs over it.
   */
  rounds: RoundsSettingsSchema.optional(),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

export const StageSchema = z.enum(['prepare', 'synthesize', 'distill', 'rounds', 'evaluate', 'report']);

/** One point of the student's progress in the round pipeline. */
export const RoundPointSchema = z.object({
  round: z.number().int().min(1),
  /** Wall time of the job so far, summed over resumed sessions. */
  seconds: z.number(),
  /** Images synthesized so far. */
  images: z.number().int(),
  /** Test accuracy (with a test set) or hold-out agreement after this round; null if not measured. */
  metric: z.number().nullable(),
  /** Mean distillation loss of this round's student steps. */
  loss: z.number(),
});
export type RoundPoint = z.infer<typeof RoundPointSchema>;
export type Stage = z.infer<typeof StageSchema>;

export const ErrorInfoSchema = z.object({
  code: z.string(),
  message: z.string(),
  fix: z.string(),
  details: z.string().optional(),
});

/** What a finished transfer set looks like to the teacher. */
export const DiagnosticsSchema = z.object({
  count: z.number().int(),
  /** Images per class of the teacher's argmax. */
  classHistogram: z.array(z.number().int()),
  /** Mean over images of the teacher's top-1 probability (temperature 1). */
  meanTop1: z.number(),
  /** Largest class share, and whether it exceeds half the set (collapse). */
  dominantClass: z.number().int(),
  dominantFraction: z.number(),
  collapsed: z.boolean(),
  /** PNG sample grid (one row per class), relative to the run folder. */
  grid: z.string(),
});
export type Diagnostics = z.infer<typeof DiagnosticsSchema>;

export const JobEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stage'), stage: StageSchema, message: z.string() }),
  z.object({
    type: z.literal('progress'),
    stage: StageSchema,
    step: z.number(),
    total: z.number(),
    losses: z.record(z.string(), z.number()),
    samplesPerSecond: z.number(),
    etaSeconds: z.number().nullable(),
  }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn']), message: z.string() }),
  z.object({ type: z.literal('checkpoint'), stage: StageSchema, message: z.string() }),
  z.object({ type: z.literal('samples'), grid: z.string(), count: z.number().int() }),
  z.object({
    type: z.literal('round'),
    point: RoundPointSchema,
    metricName: z.string(),
    budgetSeconds: z.number(),
  }),
  z.object({ type: z.literal('done'), resultFile: z.string() }),
  z.object({ type: z.literal('failed'), error: ErrorInfoSchema }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;

const EvaluationSummarySchema = z.object({
  accuracy: z.number(),
  perClassAccuracy: z.array(z.number().nullable()),
  confusion: z.array(z.array(z.number().int())),
  agreementWithTeacher: z.number().optional(),
  parameters: z.number().int(),
  flopsPerImage: z.number(),
  fileBytes: z.number().int().optional(),
  latency: z.object({
    msPerImageBatch1: z.number(),
    msPerImageBatched: z.number(),
    batchSize: z.number().int(),
  }),
});

/** Everything a finished job reports; saved as result.json in the run folder and rendered as report.html. */
export const JobResultSchema = z.object({
  format: z.literal('distill-studio/job-result'),
  version: z.literal(1),
  spec: JobSpecSchema,
  /** Method settings after defaults were applied. */
  resolvedMethodSettings: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  backend: z.string(),
  appVersion: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  teacher: z.object({
    folder: z.string(),
    fingerprint: z.string(),
    architecture: z.string(),
    parameters: z.number().int(),
    flopsPerImage: z.number(),
    fileBytes: z.number().int().optional(),
  }),
  student: z.object({
    folder: z.string(),
    fingerprint: z.string(),
    architecture: z.string(),
    parameters: z.number().int(),
    flopsPerImage: z.number(),
    fileBytes: z.number().int(),
  }),
  classNames: z.array(z.string()).optional(),
  transferSet: DiagnosticsSchema.extend({
    synthesisSeconds: z.number(),
    samplesPerSecond: z.number(),
    metrics: z.record(z.string(), z.number()),
  }),
  distillation: z.object({
    seconds: z.number(),
    resumedFromEpoch: z.number().int(),
    lossPerEpoch: z.array(z.number()),
    /** Per epoch: test accuracy with a test set, otherwise agreement on held-back synthesized images. */
    metricPerEpoch: z.array(z.number().nullable()),
    metricName: z.string(),
  }),
  /** The round pipeline's course, when it ran (absent for the two-stage pipeline). */
  rounds: z
    .object({
      count: z.number().int(),
      budgetSeconds: z.number(),
      seconds: z.number(),
      /** The user stopped the job early and kept the student as it was. */
      stoppedEarly: z.boolean(),
      metricName: z.string(),
      curve: z.array(RoundPointSchema),
    })
    .optional(),
  /** Teacher vs student on the labelled test set, when one was given. */
  evaluation: z
    .object({
      dataset: z.string(),
      count: z.number().int(),
      teacher: EvaluationSummarySchema,
      student: EvaluationSummarySchema,
    })
    .optional(),
  /** Teacher-student agreement on held-back synthesized images (always measured when holdout > 0). */
  holdoutAgreement: z.number().nullable(),
  /** Student accuracy divided by teacher accuracy, when measured. */
  accuracyRatio: z.number().nullable(),
  warnings: z.array(z.string()),
  /** What the method's settings decided for this teacher (e.g. whether the pull toward black applied). */
  notes: z.array(z.string()).optional(),
});
export type JobResult = z.infer<typeof JobResultSchema>;
