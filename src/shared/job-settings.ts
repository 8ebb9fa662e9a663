import {
  RECOMMENDED_DISTILL,
  RECOMMENDED_EPOCHS,
  RECOMMENDED_ROUND_DISTILL,
  RECOMMENDED_ROUNDS,
} from './recommended.js';
import { ROUND_SETTINGS } from './round-settings.js';
import { settingDefault, type JobSetting, type Pipeline } from './setting-declaration.js';

/**
 * The job's own settings (everything but the synthesis method's, which each
 * method declares in its `fields`), declared once (setting-declaration.ts
 * says how): the round pipeline's in round-settings.ts, the others here. The
 * job schema's bounds, the command line's options and the app's defaults and
 * form are all derived from this list, so a setting added here appears
 * everywhere.
 */

const BOTH: readonly Pipeline[] = ['rounds', 'two-stage'];
const TWO_STAGE: readonly Pipeline[] = ['two-stage'];

export const JOB_SETTINGS = [
  ...ROUND_SETTINGS,
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
    default: { rounds: RECOMMENDED_ROUND_DISTILL.temperature, 'two-stage': 20 },
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
  {
    group: 'distill',
    key: 'soften',
    flag: 'soften',
    label: 'Softened images (training)',
    description:
      'Share of each batch blurred into smooth shapes, labelled by the teacher (0 = off; synthesized images are sharp textures).',
    pipelines: BOTH,
    advanced: true,
    kind: 'number',
    min: 0,
    max: 1,
    integer: false,
    default: RECOMMENDED_DISTILL.soften,
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
