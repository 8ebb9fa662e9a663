import {
  RECOMMENDED_DISTILL,
  RECOMMENDED_EPOCHS,
  RECOMMENDED_ROUND_DISTILL,
  RECOMMENDED_ROUNDS,
} from './recommended.js';

/**
 * The job's own settings (everything but the synthesis method's, which each
 * method declares in its `fields`), declared once: where the value lives in
 * a job, its bounds, its default in each pipeline, its words for the app and
 * its command-line flag. The job schema's bounds, the command line's options
 * and the app's defaults and form are all derived from this list, so a
 * setting added here appears everywhere.
 */

export type Pipeline = 'rounds' | 'two-stage';

/** A default that may differ between the two pipelines. */
export type PerPipeline<T> = T | { readonly rounds: T; readonly 'two-stage': T };

interface Common {
  /** Where the value lives: top level of the job, `distill.*` or `rounds.*`. */
  readonly group: 'job' | 'distill' | 'rounds';
  readonly key: string;
  /** The command line's flag, without dashes. */
  readonly flag: string;
  /** Words for the app's form. */
  readonly label: string;
  /** One sentence for the app's help text and the command line's --help. */
  readonly description: string;
  /** The pipelines that read it (the app shows it only for those). */
  readonly pipelines: readonly Pipeline[];
  /** In the app: under "Advanced settings" (true) or chosen up front (the time budget and size). */
  readonly advanced: boolean;
}

export type JobSetting = Common &
  (
    | {
        readonly kind: 'number';
        readonly min: number;
        readonly max: number;
        readonly integer: boolean;
        /** A duration: the command line takes e.g. 90s, 15m, 1h (the value is in seconds). */
        readonly duration?: true;
        readonly default: PerPipeline<number>;
      }
    | { readonly kind: 'boolean'; readonly default: PerPipeline<boolean> }
  );

const BOTH: readonly Pipeline[] = ['rounds', 'two-stage'];
const ROUNDS: readonly Pipeline[] = ['rounds'];
const TWO_STAGE: readonly Pipeline[] = ['two-stage'];

export const JOB_SETTINGS = [
  {
    group: 'rounds',
    key: 'budgetSeconds',
    flag: 'budget',
    label: 'Time budget',
    description: 'Wall time the job may take; it ends within one round of it.',
    pipelines: ROUNDS,
    advanced: false,
    kind: 'number',
    min: 1,
    max: 30 * 24 * 3600,
    integer: false,
    duration: true,
    default: RECOMMENDED_ROUNDS.budgetSeconds,
  },
  {
    group: 'rounds',
    key: 'maxRounds',
    flag: 'rounds',
    label: 'Rounds at most',
    description: 'Stop after this many rounds even if time is left (0 = as many as the budget allows).',
    pipelines: ROUNDS,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 100_000,
    integer: true,
    default: RECOMMENDED_ROUNDS.maxRounds,
  },
  {
    group: 'rounds',
    key: 'imagesPerRound',
    flag: 'round-images',
    label: 'Images per round',
    description: 'Made in each round before the student trains on everything made so far.',
    pipelines: ROUNDS,
    advanced: true,
    kind: 'number',
    min: 1,
    max: 100_000,
    integer: true,
    default: RECOMMENDED_ROUNDS.imagesPerRound,
  },
  {
    group: 'rounds',
    key: 'studentSteps',
    flag: 'round-steps',
    label: 'Student steps per round',
    description: 'Training steps of the student after each round of images.',
    pipelines: ROUNDS,
    advanced: true,
    kind: 'number',
    min: 1,
    max: 1_000_000,
    integer: true,
    default: RECOMMENDED_ROUNDS.studentSteps,
  },
  {
    group: 'rounds',
    key: 'disagreement',
    flag: 'disagreement',
    label: 'Disagreement weight',
    description:
      'From round 2, new images are steered to where the student still disagrees with the teacher (Jensen-Shannon weight; 0 = off).',
    pipelines: ROUNDS,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 10_000,
    integer: false,
    default: RECOMMENDED_ROUNDS.disagreement,
  },
  {
    group: 'rounds',
    key: 'disagreementTemperature',
    flag: 'disagreement-temperature',
    label: 'Disagreement temperature',
    description: 'Temperature of the teacher and student answers the disagreement term compares.',
    pipelines: ROUNDS,
    advanced: true,
    kind: 'number',
    min: 0.01,
    max: 1000,
    integer: false,
    default: RECOMMENDED_ROUNDS.disagreementTemperature,
  },
  {
    group: 'rounds',
    key: 'learningRateFloor',
    flag: 'lr-floor',
    label: 'Final learning rate',
    description:
      "The student's learning rate falls on a cosine over the budget to this fraction of its peak.",
    pipelines: ROUNDS,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 1,
    integer: false,
    default: RECOMMENDED_ROUNDS.learningRateFloor,
  },
  {
    group: 'rounds',
    key: 'pipelined',
    flag: 'pipelined',
    label: 'Make the next round while the student trains',
    description:
      "Worker processes make the next round's images (with the student of two rounds before) while the student trains: every core busy.",
    pipelines: ROUNDS,
    advanced: true,
    kind: 'boolean',
    default: RECOMMENDED_ROUNDS.pipelined,
  },
  {
    group: 'job',
    key: 'samples',
    flag: 'samples',
    label: 'Training images',
    description: 'Synthesized images to distill on.',
    pipelines: TWO_STAGE,
    advanced: false,
    kind: 'number',
    min: 10,
    max: 1_000_000,
    integer: true,
    default: 4000,
  },
  {
    group: 'distill',
    key: 'epochs',
    flag: 'epochs',
    label: 'Training passes (epochs)',
    description: 'Distillation epochs over the whole transfer set.',
    pipelines: TWO_STAGE,
    advanced: false,
    kind: 'number',
    min: 1,
    max: 10_000,
    integer: true,
    default: RECOMMENDED_EPOCHS,
  },
  {
    group: 'job',
    key: 'holdout',
    flag: 'holdout',
    label: 'Held-back images',
    description:
      'Made but not trained on, to measure how well the student agrees with the teacher (without a test set).',
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 100_000,
    integer: true,
    default: 500,
  },
  {
    group: 'job',
    key: 'shardSize',
    flag: 'shard-size',
    label: 'Images per shard',
    description: 'Images per file of the transfer set: the unit of resumption and of parallel work.',
    pipelines: TWO_STAGE,
    advanced: true,
    kind: 'number',
    min: 1,
    max: 1_000_000,
    integer: true,
    default: 500,
  },
  {
    group: 'job',
    key: 'seed',
    flag: 'seed',
    label: 'Seed',
    description: 'The same settings and seed give the same student on the same backend.',
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 2 ** 31 - 1,
    integer: true,
    default: 1,
  },
  {
    group: 'distill',
    key: 'batchSize',
    flag: 'batch',
    label: 'Batch size (training)',
    description: 'Images per student training step.',
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 1,
    max: 65_536,
    integer: true,
    default: { rounds: RECOMMENDED_ROUNDS.batchSize, 'two-stage': 64 },
  },
  {
    group: 'distill',
    key: 'learningRate',
    flag: 'lr',
    label: 'Learning rate (training)',
    description: "Peak step size of the student's optimiser (Adam, cosine decay).",
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 1e-7,
    max: 1,
    integer: false,
    default: RECOMMENDED_ROUNDS.learningRate,
  },
  {
    group: 'distill',
    key: 'temperature',
    flag: 'temperature',
    label: 'Temperature (training)',
    description: "Softens the teacher's answers so the student learns how classes resemble each other.",
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 0.1,
    max: 1000,
    integer: false,
    default: 20,
  },
  {
    group: 'distill',
    key: 'augment',
    flag: 'augment',
    label: 'Shift images while training',
    description: 'Random shifts of up to 2 pixels of the images the student trains on.',
    pipelines: BOTH,
    advanced: true,
    kind: 'boolean',
    default: { rounds: RECOMMENDED_ROUND_DISTILL.augment, 'two-stage': RECOMMENDED_DISTILL.augment },
  },
  {
    group: 'distill',
    key: 'relabel',
    flag: 'relabel',
    label: 'Ask the teacher about shifted images',
    description:
      'The teacher answers again for every shifted image instead of its stored answer being reused.',
    pipelines: BOTH,
    advanced: true,
    kind: 'boolean',
    default: { rounds: RECOMMENDED_ROUND_DISTILL.relabel, 'two-stage': RECOMMENDED_DISTILL.relabel },
  },
  {
    group: 'distill',
    key: 'flip',
    flag: 'flip',
    label: 'Mirrored images (training)',
    description:
      'Share of each batch mirrored left to right, labelled by the teacher (0 = off; for classes that look alike mirrored, e.g. clothing, not digits).',
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 1,
    integer: false,
    default: RECOMMENDED_DISTILL.flip,
  },
  {
    group: 'distill',
    key: 'mixup',
    flag: 'mixup',
    label: 'Blended images (training)',
    description: 'Share of each batch replaced by blends of two images, labelled by the teacher (0 = off).',
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 1,
    integer: false,
    default: RECOMMENDED_DISTILL.mixup,
  },
  {
    group: 'distill',
    key: 'fade',
    flag: 'fade',
    label: 'Faded images (training)',
    description: 'Share of each batch faded toward the data mean, labelled by the teacher (0 = off).',
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 1,
    integer: false,
    default: RECOMMENDED_DISTILL.fade,
  },
] as const satisfies readonly JobSetting[];

type Declared = (typeof JOB_SETTINGS)[number];
export type JobSettingKey<G extends JobSetting['group']> = Extract<Declared, { group: G }>['key'];

/** The declared setting `key` of `group` (a typo is a type error). */
export function jobSetting<G extends JobSetting['group']>(group: G, key: JobSettingKey<G>): JobSetting {
  const found = (JOB_SETTINGS as readonly JobSetting[]).find((s) => s.group === group && s.key === key);
  if (!found) throw new Error(`no job setting ${group}.${key}`);
  return found;
}

/** A setting's default in `pipeline` (a boolean for boolean settings, else a number). */
export function settingDefault(setting: JobSetting, pipeline: Pipeline): number | boolean {
  const d = setting.default;
  return typeof d === 'object' ? d[pipeline] : d;
}

/** The values of every setting of a group (declared for some pipeline) at their defaults in `pipeline`. */
export function groupDefaults(
  group: JobSetting['group'],
  pipeline: Pipeline,
  settings: readonly JobSetting[] = JOB_SETTINGS,
): Record<string, number | boolean> {
  return Object.fromEntries(
    settings.filter((s) => s.group === group).map((s) => [s.key, settingDefault(s, pipeline)]),
  );
}

/** Checks one value against its declaration; returns the problem in words, or null. */
export function settingProblem(setting: JobSetting, value: unknown): string | null {
  if (setting.kind === 'boolean') return typeof value === 'boolean' ? null : 'must be on or off';
  const kind = setting.integer ? 'a whole number' : 'a number';
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= setting.min &&
    value <= setting.max &&
    (!setting.integer || Number.isInteger(value));
  return ok ? null : `must be ${kind} from ${setting.min} to ${setting.max}`;
}
