import { cpus } from 'node:os';
import path from 'node:path';
import type { JobEvent, JobSpec, RoundsSettings } from '../../shared/job.js';
import { parseDuration } from '../../shared/duration.js';
import {
  RECOMMENDED_DISTILL,
  RECOMMENDED_EPOCHS,
  RECOMMENDED_ROUNDS,
  startingMethodSettings,
} from '../../shared/recommended.js';
import { UserError } from '../../worker/engine/errors.js';
import { runJob } from '../../worker/engine/job/run-job.js';
import { WorkerPool } from '../../worker/engine/job/worker-pool.js';
import { writeReport } from '../../worker/engine/report/write-report.js';
import type { SynthesisMethod } from '../../worker/engine/synthesis/method.js';
import { getSynthesisMethod } from '../../worker/engine/synthesis/registry.js';
import { numberOption, stringOption } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import type { ProgressBar } from '../progress-bar.js';
import { formatDuration } from '../progress-bar.js';

const options = {
  teacher: {
    type: 'string',
    value: 'MODEL',
    description: 'The teacher: a TensorFlow.js model folder or builtin:NAME.',
    default: 'builtin:mnist-lenet5',
  },
  student: {
    type: 'string',
    value: 'PRESET',
    description: 'Student architecture (see "distill-studio presets").',
    default: 'lenet5-half',
  },
  method: {
    type: 'string',
    value: 'NAME',
    description: 'Synthesis method: soft-target (the paper), zskd or noise (see "distill-studio methods").',
    default: 'soft-target',
  },
  settings: {
    type: 'string',
    value: 'recommended|paper',
    description:
      "Starting method settings: the measured best (recommended) or the paper's configuration (paper); --set changes single ones.",
    default: 'recommended',
  },
  pipeline: {
    type: 'string',
    value: 'rounds|two-stage',
    description:
      "rounds: synthesis and student steps alternate until --budget is spent (default with --settings recommended); two-stage: the paper's whole set first, then --epochs epochs (default with --settings paper).",
  },
  budget: {
    type: 'string',
    value: 'TIME',
    description: 'Time budget of the round pipeline, e.g. 90s, 5m, 15m, 1h.',
    default: '15m',
  },
  rounds: {
    type: 'string',
    value: 'N',
    description:
      'Run exactly N rounds instead (reproducible; the budget still caps it). 0 = as the budget allows.',
    default: '0',
  },
  'round-images': {
    type: 'string',
    value: 'N',
    description: 'Images synthesized per round.',
    default: String(RECOMMENDED_ROUNDS.imagesPerRound),
  },
  'round-steps': {
    type: 'string',
    value: 'N',
    description: 'Student steps after each round.',
    default: String(RECOMMENDED_ROUNDS.studentSteps),
  },
  disagreement: {
    type: 'string',
    value: 'W',
    description:
      'From round 2, push new images to where the student disagrees with the teacher (Jensen-Shannon weight; 0 = off).',
    default: String(RECOMMENDED_ROUNDS.disagreement),
  },
  pipelined: {
    type: 'string',
    value: 'on|off',
    description:
      "Make the next round's images in worker processes while the student trains (with the student of two rounds before).",
    default: RECOMMENDED_ROUNDS.pipelined ? 'on' : 'off',
  },
  set: {
    type: 'string',
    value: 'NAME=VALUE',
    multiple: true,
    description: 'A method setting, e.g. --set sigma=2 --set iterations=300 (repeatable).',
  },
  samples: { type: 'string', value: 'N', description: 'Synthesized images to distill on.', default: '6000' },
  holdout: {
    type: 'string',
    value: 'N',
    description: 'Extra synthesized images held back to measure teacher-student agreement.',
    default: '500',
  },
  'shard-size': {
    type: 'string',
    value: 'N',
    description: 'Images per shard file (unit of resumption and of parallel work).',
    default: '500',
  },
  epochs: {
    type: 'string',
    value: 'N',
    description: 'Distillation epochs over the transfer set.',
    default: String(RECOMMENDED_EPOCHS),
  },
  batch: {
    type: 'string',
    value: 'N',
    description: `Images per distillation step (default 64; ${RECOMMENDED_ROUNDS.batchSize} in rounds).`,
  },
  lr: {
    type: 'string',
    value: 'RATE',
    description: `Peak Adam learning rate of the student, cosine decay (default 0.001; ${RECOMMENDED_ROUNDS.learningRate} in rounds).`,
  },
  temperature: { type: 'string', value: 'TAU', description: 'Distillation temperature.', default: '20' },
  augment: {
    type: 'string',
    value: 'on|off',
    description: 'Random shifts of up to 2 pixels while distilling.',
    default: RECOMMENDED_DISTILL.augment ? 'on' : 'off',
  },
  relabel: {
    type: 'string',
    value: 'on|off',
    description: 'The teacher labels every shifted image again instead of reusing its answer.',
    default: RECOMMENDED_DISTILL.relabel ? 'on' : 'off',
  },
  mixup: {
    type: 'string',
    value: 'F',
    description: 'Fraction of each batch replaced by teacher-labelled blends of two images (0 = off).',
    default: String(RECOMMENDED_DISTILL.mixup),
  },
  fade: {
    type: 'string',
    value: 'F',
    description: 'Fraction of each batch faded toward the data mean and labelled by the teacher (0 = off).',
    default: String(RECOMMENDED_DISTILL.fade),
  },
  'test-data': {
    type: 'string',
    value: 'DATASET',
    description: 'Labelled test set to measure accuracy (optional; never used for training).',
  },
  seed: {
    type: 'string',
    value: 'N',
    description: 'Random seed: the same settings and seed give the same student on the same backend.',
    default: '1',
  },
  workers: {
    type: 'string',
    value: 'N',
    description: 'Parallel synthesis processes (default: one per core).',
  },
  run: {
    type: 'string',
    value: 'FOLDER',
    description: 'Run folder for everything the job writes; run again on it to resume.',
    default: 'runs/latest',
  },
} as const satisfies Command['options'];

/** `distill`: the main job, synthesize -> distill -> evaluate -> report. */
export const distillCommand: Command = {
  name: 'distill',
  summary: 'Make a small student from a teacher without its data (synthesize, distill, evaluate, report).',
  usage: '[--teacher MODEL] [--student PRESET] [--method NAME] [options]',
  help: [
    'Synthesizes a transfer set from the teacher alone, trains the student on it, and writes a report.',
    'Everything goes into the run folder: the transfer set in shards, a checkpoint per epoch, the student',
    '(student/), result.json and report.html. If the job stops (Ctrl-C, power cut), run the same command',
    'again: finished shards and epochs are kept and the job continues.',
    '',
    'Examples:',
    '  distill-studio distill --teacher builtin:mnist-lenet5 --test-data mnist-digits --run runs/demo',
    '  distill-studio distill --teacher my-teacher/ --student lenet5-half --method zskd --set iterations=500',
  ].join('\n'),
  options,
  async run(context) {
    const { args, backend, log } = context;
    const method = getSynthesisMethod(stringOption(args, 'method', options.method) ?? 'soft-target');
    const augment = onOff(args, 'augment', options.augment.default);
    const settingsName = stringOption(args, 'settings', options.settings);
    const rounds = roundsOption(args, settingsName);
    const spec: JobSpec = {
      teacher: stringOption(args, 'teacher', options.teacher) ?? '',
      student: stringOption(args, 'student', options.student) ?? '',
      method: method.name,
      methodSettings: {
        ...startingSettings(method, settingsName, rounds ? 'rounds' : 'two-stage'),
        ...parseSets(args.values.set),
      },
      samples: numberOption(args, 'samples', 6000, { min: 1, max: 10_000_000, integer: true }),
      holdout: numberOption(args, 'holdout', 500, { min: 0, max: 1_000_000, integer: true }),
      shardSize: numberOption(args, 'shard-size', 500, { min: 1, max: 1_000_000, integer: true }),
      distill: {
        epochs: numberOption(args, 'epochs', RECOMMENDED_EPOCHS, { min: 1, max: 10_000, integer: true }),
        batchSize: numberOption(args, 'batch', rounds ? RECOMMENDED_ROUNDS.batchSize : 64, {
          min: 1,
          max: 65_536,
          integer: true,
        }),
        learningRate: numberOption(args, 'lr', rounds ? RECOMMENDED_ROUNDS.learningRate : 0.001, {
          min: 1e-7,
          max: 1,
        }),
        temperature: numberOption(args, 'temperature', 20, { min: 0.1, max: 1000 }),
        augment,
        relabel: onOff(args, 'relabel', options.relabel.default),
        mixup: numberOption(args, 'mixup', RECOMMENDED_DISTILL.mixup, { min: 0, max: 1 }),
        fade: numberOption(args, 'fade', RECOMMENDED_DISTILL.fade, { min: 0, max: 1 }),
      },
      ...(stringOption(args, 'test-data') ? { testData: stringOption(args, 'test-data') } : {}),
      seed: numberOption(args, 'seed', 1, { min: 0, max: 2 ** 31 - 1, integer: true }),
      workers: numberOption(args, 'workers', Math.max(1, cpus().length), { min: 1, max: 64, integer: true }),
      runDir: path.resolve(stringOption(args, 'run', options.run) ?? 'runs/latest'),
      ...(rounds ? { rounds } : {}),
    };
    const info = await backend();
    log(`run folder: ${spec.runDir}`);
    const display = new StageDisplay(context);
    // In rounds, the first Ctrl-C ends the job after the current step and keeps the student;
    // a second one quits at once (the run folder resumes either way).
    const stop = new AbortController();
    const onInterrupt = (): void => {
      if (stop.signal.aborted) process.exit(130);
      stop.abort();
      display.finish();
      log('Stopping: the student is kept as it is now (press Ctrl-C again to quit at once)');
    };
    if (spec.rounds) process.on('SIGINT', onInterrupt);
    const result = await runJob(spec, {
      emit: (event) => display.show(event),
      stop: stop.signal,
      ...(spec.workers > 1 ? { shardRunner: (ctx) => new WorkerPool(ctx, info.name) } : {}),
    }).finally(() => process.off('SIGINT', onInterrupt));
    display.finish();
    const report = await writeReport(spec.runDir, result);
    const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
    const ev = result.evaluation;
    const r = result.rounds;
    const lines = [
      ...(r
        ? [
            `rounds: ${r.count} in ${formatDuration(r.seconds)} of a ${formatDuration(r.budgetSeconds)} budget${r.stoppedEarly ? ' (stopped early, student kept)' : ''}; ${r.metricName} by round: ${r.curve
              .filter(
                (_, i, all) => all.length <= 8 || i % Math.ceil(all.length / 8) === 0 || i === all.length - 1,
              )
              .map((p) => `${formatDuration(p.seconds)} ${p.metric === null ? '-' : pct(p.metric)}`)
              .join(', ')}`,
          ]
        : []),
      r
        ? `transfer set: ${result.transferSet.count} images by ${result.spec.method}, ${result.transferSet.samplesPerSecond.toFixed(1)} img/s over the run (${formatDuration(result.transferSet.synthesisSeconds)} of synthesis in workers), mean teacher confidence ${pct(result.transferSet.meanTop1)}`
        : `transfer set: ${result.transferSet.count} images by ${result.spec.method} in ${formatDuration(result.transferSet.synthesisSeconds)} (${result.transferSet.samplesPerSecond.toFixed(1)} img/s), mean teacher confidence ${pct(result.transferSet.meanTop1)}`,
      `${r ? 'student training' : 'distillation'}: ${result.distillation.lossPerEpoch.length} ${r ? 'rounds' : 'epochs'} in ${formatDuration(result.distillation.seconds)}${result.distillation.resumedFromEpoch ? ` (resumed after epoch ${result.distillation.resumedFromEpoch})` : ''}`,
      ...(ev
        ? [
            `on ${ev.count} test images: teacher ${pct(ev.teacher.accuracy)}, student ${pct(ev.student.accuracy)} (${pct(result.accuracyRatio ?? 0)} of the teacher), agreement ${pct(ev.student.agreementWithTeacher ?? 0)}`,
          ]
        : []),
      ...(result.holdoutAgreement !== null
        ? [
            `agreement on ${result.spec.holdout} held-back synthesized images: ${pct(result.holdoutAgreement)}`,
          ]
        : []),
      `student: ${result.student.parameters.toLocaleString('en-US')} parameters vs teacher ${result.teacher.parameters.toLocaleString('en-US')} (${(result.teacher.parameters / result.student.parameters).toFixed(1)}x smaller), saved in ${result.student.folder}`,
      ...result.warnings.map((w) => `warning: ${w}`),
      `report: ${report}`,
      `backend: ${result.backend}`,
    ];
    return { json: result, text: lines.join('\n') };
  },
};

/** Parses repeated --set NAME=VALUE into method settings (validated later by the method). */
function parseSets(raw: string | boolean | string[] | undefined): Record<string, string> {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new UserError(
        'USAGE',
        `--set "${item}" is not NAME=VALUE`,
        'Write it like --set sigma=2 (see "distill-studio methods" for names)',
      );
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** Shows job events on the terminal: a bar per stage, checkpoints and warnings as lines. */
class StageDisplay {
  private bar: ProgressBar | undefined;
  private inRounds = false;

  constructor(private readonly context: CommandContext) {}

  show(event: JobEvent): void {
    switch (event.type) {
      case 'stage':
        this.finish();
        this.context.log(`== ${event.message}`);
        this.bar = this.context.progress(event.stage);
        return;
      case 'progress': {
        const losses = Object.entries(event.losses)
          .filter(([, v]) => Number.isFinite(v))
          .map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4)}`)
          .join(' ');
        this.bar?.update({
          done: Math.round(event.step),
          total: event.total,
          rate: event.samplesPerSecond,
          unit: 'img/s',
          etaSeconds: event.etaSeconds ?? Infinity,
          detail: losses,
        });
        return;
      }
      case 'log':
        this.context.log(`${event.level === 'warn' ? 'warning: ' : ''}${event.message}`);
        return;
      case 'samples':
        if (!this.inRounds) this.context.log(`sample grid: ${event.grid} (${event.count} images)`);
        return;
      case 'round': {
        const { point } = event;
        this.inRounds = true;
        this.bar?.finish();
        this.context.log(
          `round ${point.round}: ${formatDuration(point.seconds)} of ${formatDuration(event.budgetSeconds)}, ${point.images.toLocaleString('en-US')} images, ${event.metricName} ${point.metric === null ? '-' : `${(point.metric * 100).toFixed(2)}%`}`,
        );
        this.bar = this.context.progress('rounds');
        return;
      }
      case 'checkpoint':
      case 'done':
      case 'failed':
        return;
    }
  }

  finish(): void {
    this.bar?.finish();
    this.bar = undefined;
  }
}

function onOff(
  args: Parameters<typeof stringOption>[0],
  name: 'augment' | 'relabel' | 'pipelined',
  fallback: string,
): boolean {
  const value = stringOption(args, name) ?? fallback;
  if (value !== 'on' && value !== 'off') {
    throw new UserError(
      'USAGE',
      `--${name} must be on or off, got "${value}"`,
      `Pass --${name} on or --${name} off`,
    );
  }
  return value === 'on';
}

function startingSettings(
  method: SynthesisMethod,
  name: string | undefined,
  pipeline: 'rounds' | 'two-stage',
): JobSpec['methodSettings'] {
  if (name === 'paper') return {};
  if (name === 'recommended') return startingMethodSettings(method, pipeline);
  throw new UserError(
    'USAGE',
    `--settings must be recommended or paper, got "${name}"`,
    "Pass --settings recommended (the measured best) or --settings paper (the paper's configuration)",
  );
}

/** The round pipeline's settings from the options, or undefined for the two-stage pipeline. */
function roundsOption(
  args: Parameters<typeof stringOption>[0],
  settingsName: string | undefined,
): RoundsSettings | undefined {
  const pipeline = stringOption(args, 'pipeline') ?? (settingsName === 'paper' ? 'two-stage' : 'rounds');
  if (pipeline === 'two-stage') return undefined;
  if (pipeline !== 'rounds') {
    throw new UserError(
      'USAGE',
      `--pipeline must be rounds or two-stage, got "${pipeline}"`,
      'Pass --pipeline rounds (with --budget) or --pipeline two-stage (with --samples and --epochs)',
    );
  }
  const budgetText = stringOption(args, 'budget', options.budget) ?? '15m';
  const budgetSeconds = parseDuration(budgetText);
  if (budgetSeconds === null || budgetSeconds <= 0 || budgetSeconds > 30 * 24 * 3600) {
    throw new UserError(
      'USAGE',
      `--budget must be a duration such as 90s, 15m or 1h (at most 30 days), got "${budgetText}"`,
      'Pass e.g. --budget 15m',
    );
  }
  return {
    budgetSeconds,
    maxRounds: numberOption(args, 'rounds', 0, { min: 0, max: 100_000, integer: true }),
    imagesPerRound: numberOption(args, 'round-images', RECOMMENDED_ROUNDS.imagesPerRound, {
      min: 1,
      max: 100_000,
      integer: true,
    }),
    studentSteps: numberOption(args, 'round-steps', RECOMMENDED_ROUNDS.studentSteps, {
      min: 1,
      max: 1_000_000,
      integer: true,
    }),
    disagreement: numberOption(args, 'disagreement', RECOMMENDED_ROUNDS.disagreement, {
      min: 0,
      max: 10_000,
    }),
    disagreementTemperature: RECOMMENDED_ROUNDS.disagreementTemperature,
    learningRateFloor: RECOMMENDED_ROUNDS.learningRateFloor,
    pipelined: onOff(args, 'pipelined', options.pipelined.default),
  };
}
