import { cpus } from 'node:os';
import path from 'node:path';
import type { JobEvent, JobSpec } from '../../shared/job.js';
import { RECOMMENDED_DISTILL, RECOMMENDED_EPOCHS } from '../../shared/recommended.js';
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
  batch: { type: 'string', value: 'N', description: 'Images per distillation step.', default: '64' },
  lr: {
    type: 'string',
    value: 'RATE',
    description: 'Peak Adam learning rate of the student (cosine decay).',
    default: '0.001',
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
    const spec: JobSpec = {
      teacher: stringOption(args, 'teacher', options.teacher) ?? '',
      student: stringOption(args, 'student', options.student) ?? '',
      method: method.name,
      methodSettings: {
        ...startingSettings(method, stringOption(args, 'settings', options.settings)),
        ...parseSets(args.values.set),
      },
      samples: numberOption(args, 'samples', 6000, { min: 1, max: 10_000_000, integer: true }),
      holdout: numberOption(args, 'holdout', 500, { min: 0, max: 1_000_000, integer: true }),
      shardSize: numberOption(args, 'shard-size', 500, { min: 1, max: 1_000_000, integer: true }),
      distill: {
        epochs: numberOption(args, 'epochs', RECOMMENDED_EPOCHS, { min: 1, max: 10_000, integer: true }),
        batchSize: numberOption(args, 'batch', 64, { min: 1, max: 65_536, integer: true }),
        learningRate: numberOption(args, 'lr', 0.001, { min: 1e-7, max: 1 }),
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
    };
    const info = await backend();
    log(`run folder: ${spec.runDir}`);
    const display = new StageDisplay(context);
    const result = await runJob(spec, {
      emit: (event) => display.show(event),
      ...(spec.workers > 1 ? { shardRunner: (ctx) => new WorkerPool(ctx, info.name) } : {}),
    });
    display.finish();
    const report = await writeReport(spec.runDir, result);
    const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
    const ev = result.evaluation;
    const lines = [
      `transfer set: ${result.transferSet.count} images by ${result.spec.method} in ${formatDuration(result.transferSet.synthesisSeconds)} (${result.transferSet.samplesPerSecond.toFixed(1)} img/s), mean teacher confidence ${pct(result.transferSet.meanTop1)}`,
      `distillation: ${result.distillation.lossPerEpoch.length} epochs in ${formatDuration(result.distillation.seconds)}${result.distillation.resumedFromEpoch ? ` (resumed after epoch ${result.distillation.resumedFromEpoch})` : ''}`,
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
        this.context.log(`sample grid: ${event.grid} (${event.count} images)`);
        return;
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
  name: 'augment' | 'relabel',
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

function startingSettings(method: SynthesisMethod, name: string | undefined): JobSpec['methodSettings'] {
  if (name === 'paper') return {};
  if (name === 'recommended') return { ...method.recommended } as JobSpec['methodSettings'];
  throw new UserError(
    'USAGE',
    `--settings must be recommended or paper, got "${name}"`,
    "Pass --settings recommended (the measured best) or --settings paper (the paper's configuration)",
  );
}
