import { cpus } from 'node:os';
import path from 'node:path';
import { formatCount, formatDuration, formatPercent } from '../../shared/format.js';
import { JobSpecSchema, type JobEvent, type JobSpec } from '../../shared/job.js';
import type { Pipeline } from '../../shared/setting-declaration.js';
import { startingMethodSettings } from '../../shared/recommended.js';
import { UserError } from '../../shared/errors.js';
import { runJob } from '../../engine/job/run-job.js';
import { isOnnxFile } from '../../engine/models/onnx/import.js';
import { describeOnnxImport, saveOnnxTeacher } from '../../engine/models/onnx/save-teacher.js';
import { WorkerPool } from '../../engine/job/worker-pool.js';
import { writeReport } from '../../engine/report/write-report.js';
import type { SynthesisMethod } from '../../engine/synthesis/method.js';
import { getSynthesisMethod } from '../../engine/synthesis/registry.js';
import { numberOption, stringOption } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { jobSettingOptions, readJobSettings } from '../job-options.js';
import type { ProgressBar } from '../progress-bar.js';
import { normalisationOptions, parseNormalisation } from './normalisation.js';

const options = {
  teacher: {
    type: 'string',
    value: 'MODEL',
    description:
      'The teacher: a TensorFlow.js model folder, an .onnx file (converted into the run folder) or builtin:NAME.',
    default: 'builtin:mnist-lenet5',
  },
  ...normalisationOptions,
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
  set: {
    type: 'string',
    value: 'NAME=VALUE',
    multiple: true,
    description: 'A method setting, e.g. --set sigma=2 --set iterations=300 (repeatable).',
  },
  'test-data': {
    type: 'string',
    value: 'DATASET',
    description: 'Labelled test set to measure accuracy (optional; never used for training).',
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
  // Every job setting declared in src/shared/job-settings.ts: budget, rounds, batch, lr, ...
  ...jobSettingOptions(),
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
    '  distill-studio distill --teacher model.onnx --mean 0.2860 --std 0.3530 --test-data fashion-mnist',
    '',
    'An .onnx teacher is converted, checked against ONNX Runtime and saved as teacher/ in the run folder with',
    'the pixel normalisation given by --mean/--std (default: pixels scaled to 0..1, nothing subtracted).',
  ].join('\n'),
  options,
  async run(context) {
    const { args, backend, log } = context;
    const method = getSynthesisMethod(stringOption(args, 'method', options.method) ?? 'soft-target');
    const settingsName = stringOption(args, 'settings', options.settings);
    const pipeline = pipelineOption(args, settingsName);
    const job = readJobSettings(args, 'job', pipeline);
    const parsed: JobSpec = JobSpecSchema.parse({
      teacher: stringOption(args, 'teacher', options.teacher) ?? '',
      student: stringOption(args, 'student', options.student) ?? '',
      method: method.name,
      methodSettings: {
        ...startingSettings(method, settingsName, pipeline),
        ...parseSets(args.values.set),
      },
      samples: job['samples'],
      holdout: job['holdout'],
      shardSize: job['shardSize'],
      seed: job['seed'],
      distill: readJobSettings(args, 'distill', pipeline),
      ...(stringOption(args, 'test-data') ? { testData: stringOption(args, 'test-data') } : {}),
      workers: numberOption(args, 'workers', Math.max(1, cpus().length), { min: 1, max: 64, integer: true }),
      runDir: path.resolve(stringOption(args, 'run', options.run) ?? 'runs/latest'),
      ...(pipeline === 'rounds' ? { rounds: readJobSettings(args, 'rounds', pipeline) } : {}),
    });
    const normalisation = parseNormalisation(args);
    const onnxTeacher = isOnnxFile(parsed.teacher);
    if (!onnxTeacher && (normalisation.mean || normalisation.std)) {
      throw new UserError(
        'USAGE',
        '--mean and --std apply to an .onnx teacher; a model folder records its own normalisation in its card',
        'Leave out --mean/--std, or give the teacher as an .onnx file',
      );
    }
    const info = await backend();
    log(`run folder: ${parsed.runDir}`);
    let spec = parsed;
    if (onnxTeacher) {
      const saved = await saveOnnxTeacher(parsed.teacher, path.join(parsed.runDir, 'teacher'), normalisation);
      log(`teacher: ${describeOnnxImport(saved.teacher)}; saved as ${saved.folder}`);
      for (const warning of saved.teacher.info.warnings) log(`warning: ${warning}`);
      spec = { ...parsed, teacher: saved.folder };
    }
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
    const pct = (v: number): string => formatPercent(v);
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
        ? `transfer set: ${formatCount(result.transferSet.count)} images by ${result.spec.method}, ${result.transferSet.samplesPerSecond.toFixed(1)} img/s over the run (${formatDuration(result.transferSet.synthesisSeconds)} of synthesis in workers), mean teacher confidence ${pct(result.transferSet.meanTop1)}`
        : `transfer set: ${formatCount(result.transferSet.count)} images by ${result.spec.method} in ${formatDuration(result.transferSet.synthesisSeconds)} (${result.transferSet.samplesPerSecond.toFixed(1)} img/s), mean teacher confidence ${pct(result.transferSet.meanTop1)}`,
      `${r ? 'student training' : 'distillation'}: ${result.distillation.lossPerEpoch.length} ${r ? 'rounds' : 'epochs'} in ${formatDuration(result.distillation.seconds)}${result.distillation.resumedFromEpoch ? ` (resumed after epoch ${result.distillation.resumedFromEpoch})` : ''}`,
      ...(ev
        ? [
            `on ${formatCount(ev.count)} test images: teacher ${pct(ev.teacher.accuracy)}, student ${pct(ev.student.accuracy)} (${pct(result.accuracyRatio ?? 0)} of the teacher), agreement ${pct(ev.student.agreementWithTeacher ?? 0)}`,
          ]
        : []),
      ...(result.holdoutAgreement !== null
        ? [
            `agreement on ${formatCount(result.spec.holdout)} held-back synthesized images: ${pct(result.holdoutAgreement)}`,
          ]
        : []),
      `student: ${formatCount(result.student.parameters)} parameters vs teacher ${formatCount(result.teacher.parameters)} (${(result.teacher.parameters / result.student.parameters).toFixed(1)}x smaller), saved in ${result.student.folder}`,
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
export class StageDisplay {
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
        // A rate or an end time the job does not know (a round's student steps, any ETA within a
        // round: the round line says how much of the budget is spent) is left out, not shown as 0.
        this.bar?.update({
          done: Math.round(event.step),
          total: event.total,
          ...(event.samplesPerSecond > 0 ? { rate: event.samplesPerSecond, unit: 'img/s' } : {}),
          ...(event.etaSeconds !== null ? { etaSeconds: event.etaSeconds } : {}),
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
          `round ${point.round}: ${formatDuration(point.seconds)} of ${formatDuration(event.budgetSeconds)}, ${formatCount(point.images)} images, ${event.metricName} ${point.metric === null ? '-' : formatPercent(point.metric)}`,
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

/** Which pipeline runs: --pipeline, else rounds unless --settings paper. */
function pipelineOption(
  args: Parameters<typeof stringOption>[0],
  settingsName: string | undefined,
): Pipeline {
  const pipeline = stringOption(args, 'pipeline') ?? (settingsName === 'paper' ? 'two-stage' : 'rounds');
  if (pipeline !== 'rounds' && pipeline !== 'two-stage') {
    throw new UserError(
      'USAGE',
      `--pipeline must be rounds or two-stage, got "${pipeline}"`,
      'Pass --pipeline rounds (with --budget) or --pipeline two-stage (with --samples and --epochs)',
    );
  }
  return pipeline;
}
