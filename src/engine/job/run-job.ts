import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { JobSpecSchema, type JobEvent, type JobResult, type JobSpec } from '../../shared/job.js';
import type { ModelCard } from '../../shared/model-card.js';
import { resolveSettings, type SettingFields, type SettingValues } from '../../shared/settings.js';
import { APP_VERSION } from '../app-info.js';
import { currentBackend, initBackend } from '../backend/select.js';
import { resolveDataset } from '../data/datasets.js';
import type { LabeledImages } from '../data/types.js';
import { UserError } from '../../shared/errors.js';
import { evaluate } from '../eval/evaluate.js';
import { loadClassifier, type LoadedClassifier } from '../models/classifier.js';
import { saveModel } from '../models/io.js';
import { getPreset } from '../models/presets.js';
import { modelStats } from '../models/stats.js';
import type { SynthesisMethod } from '../synthesis/method.js';
import { getSynthesisMethod } from '../synthesis/registry.js';
import { writeFileAtomic } from '../util/atomic-fs.js';
import { agreementOn } from './agreement.js';
import { EventThrottle } from './events.js';
import { PIPELINE_FILES, twoStagePipeline, type PipelineContext } from './pipelines.js';
import { roundPipeline } from './round-pipeline.js';
import type { ShardRunner } from './shards.js';

/** What runs a job needs from its host (the CLI, a worker process, a test). */
export interface JobHost {
  emit(event: JobEvent): void;
  /** Aborts the job: it throws, and what is saved stays for a resumption. */
  signal?: AbortSignal;
  /** Ends the round pipeline early and keeps the student as it is ("Stop and keep"). */
  stop?: AbortSignal;
  /** Least time between sample grids drawn while the set grows (default 3 s; 0: after every shard). */
  samplesEveryMs?: number;
  /** Chooses where shards run; default: in this process. */
  shardRunner?: (context: ShardRunnerContext) => ShardRunner;
}

/** What a shard runner needs to set up workers of its own. */
export interface ShardRunnerContext {
  spec: JobSpec;
  method: SynthesisMethod;
  settings: SettingValues<SettingFields>;
  teacher: LoadedClassifier;
  transferDir: string;
}

/** The files of a run folder. */
export const RUN_FILES = {
  spec: 'job.json',
  ...PIPELINE_FILES,
  student: 'student',
  grid: 'samples.png',
  result: 'result.json',
} as const;

/**
 * Runs a job: the round pipeline when spec.rounds is given (rounds of
 * synthesis and student steps until the time budget is spent), else the
 * paper's two stages (the whole transfer set, then distillation epochs);
 * then evaluates the final student and writes result.json. Everything goes
 * to spec.runDir; started again on the same folder with the same spec, it
 * continues from what is there.
 */
export async function runJob(input: unknown, host: JobHost): Promise<JobResult> {
  const spec = parseSpec(input);
  const events = new EventThrottle((e) => host.emit(e));
  const startedAt = new Date().toISOString();
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    events.emit({ type: 'log', level: 'warn', message });
  };
  events.emit({ type: 'stage', stage: 'prepare', message: 'Loading the teacher and checking the settings' });
  const backend = currentBackend() ?? (await initBackend());
  const runDir = path.resolve(spec.runDir);
  const method = getSynthesisMethod(spec.method);
  const { settings, problems } = resolveSettings(method.fields, spec.methodSettings);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new UserError(
      'SETTINGS_INVALID',
      `Setting ${first.name} of ${method.name}: ${first.message}`,
      "Correct that setting (see the method's settings list)",
    );
  }
  const preset = getPreset(spec.student);
  const teacher = await loadClassifier(spec.teacher);
  let student: ReturnType<typeof preset.build>;
  try {
    // Only a job whose settings and models check out gets a run folder.
    await recordSpec(runDir, spec);
    student = preset.build({
      numClasses: teacher.numClasses,
      seed: spec.seed,
      inputShape: [...teacher.inputShape],
    });
  } catch (error) {
    teacher.model.dispose();
    throw error;
  }
  try {
    const test = spec.testData ? await resolveDataset(spec.testData, 'test') : undefined;
    const context: PipelineContext = {
      spec,
      host,
      events,
      warn,
      backend: backend.name,
      runDir,
      method,
      settings,
      teacher,
      student,
      setInfo: {
        inputShape: teacher.inputShape,
        numClasses: teacher.numClasses,
        preprocessing: teacher.preprocessing,
        ...(teacher.card?.classNames ? { classNames: teacher.card.classNames } : {}),
      },
      gridFile: path.join(runDir, RUN_FILES.grid),
      card: studentCard(preset.name, teacher, spec, backend.name, method.name),
      metricName: test ? 'test accuracy' : 'hold-out agreement',
      ...(test ? { test } : {}),
    };
    const notes = method.notes?.(teacher, settings) ?? [];
    for (const note of notes) events.emit({ type: 'log', level: 'info', message: note });
    const made = spec.rounds ? await roundPipeline(context, spec.rounds) : await twoStagePipeline(context);
    const { held, diagnostics, card, metricName } = { ...made, ...context };
    const k = teacher.numClasses;
    if (diagnostics.collapsed) {
      warn(
        `The transfer set collapsed: ${(diagnostics.dominantFraction * 100).toFixed(1)}% of the images are class ${diagnostics.dominantClass} to the teacher. The student will learn little about the other classes; try another sigma, learning rate or method.`,
      );
    }

    // Evaluation and the saved student.
    events.emit({
      type: 'stage',
      stage: 'evaluate',
      message: test
        ? `Evaluating teacher and student on ${test.count} labelled images`
        : 'Measuring agreement on held-back images',
    });
    const studentFolder = path.join(runDir, RUN_FILES.student);
    const saved = await saveModel(student, studentFolder, card);
    const studentClassifier = {
      model: student,
      inputShape: teacher.inputShape,
      numClasses: k,
      preprocessing: teacher.preprocessing,
      fileBytes: saved.fileBytes,
    };
    const evaluation = test ? await evaluateBoth(teacher, studentClassifier, test) : undefined;
    const holdoutAgreement =
      held.count > 0
        ? await agreementOn(student, held.inputs, held.logits, held.count, teacher.inputShape, k)
        : null;
    const teacherStats = modelStats(teacher.model);
    const studentStats = modelStats(student);
    const result: JobResult = {
      format: 'distill-studio/job-result',
      version: 1,
      spec,
      resolvedMethodSettings: settings,
      backend: backend.name,
      appVersion: APP_VERSION,
      startedAt,
      finishedAt: new Date().toISOString(),
      teacher: {
        folder: teacher.folder,
        fingerprint: teacher.fingerprint,
        architecture: teacher.card?.architecture ?? 'imported',
        parameters: teacherStats.parameters,
        flopsPerImage: teacherStats.flopsPerImage,
        ...(teacher.fileBytes !== undefined ? { fileBytes: teacher.fileBytes } : {}),
      },
      student: {
        folder: studentFolder,
        fingerprint: saved.fingerprint,
        architecture: preset.name,
        parameters: studentStats.parameters,
        flopsPerImage: studentStats.flopsPerImage,
        fileBytes: saved.fileBytes,
      },
      ...(teacher.card?.classNames ? { classNames: teacher.card.classNames } : {}),
      transferSet: { ...diagnostics, ...made.synthesis },
      distillation: { ...made.distillation, metricName },
      ...(made.rounds ? { rounds: { ...made.rounds, metricName } } : {}),
      ...(evaluation ? { evaluation } : {}),
      holdoutAgreement,
      accuracyRatio: evaluation ? evaluation.student.accuracy / evaluation.teacher.accuracy : null,
      warnings,
      ...(notes.length > 0 ? { notes } : {}),
    };
    const resultFile = path.join(runDir, RUN_FILES.result);
    await writeFileAtomic(resultFile, JSON.stringify(result, null, 2) + '\n');
    events.emit({ type: 'done', resultFile });
    return result;
  } finally {
    student.dispose();
    teacher.model.dispose();
  }
}

function parseSpec(input: unknown): JobSpec {
  const parsed = JobSpecSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'job';
    throw new UserError(
      'JOB_INVALID',
      `The job's ${where} is invalid: ${issue?.message ?? 'unknown problem'}`,
      `Correct ${where} and start the job again`,
    );
  }
  return parsed.data;
}

/** Saves the spec in the run folder, or checks that a resumed run uses the same one. */
async function recordSpec(runDir: string, spec: JobSpec): Promise<void> {
  const file = path.join(runDir, RUN_FILES.spec);
  // Only the number of worker processes may change between a run and its resumption.
  const comparable = (s: JobSpec): string => JSON.stringify({ ...s, workers: 0, runDir: '' });
  if (existsSync(file)) {
    const previous = JobSpecSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
    if (previous.success && comparable(previous.data) === comparable(spec)) return;
    throw new UserError(
      'RUN_SETTINGS_CHANGED',
      `The run folder ${runDir} holds a job with other settings`,
      'Choose a new run folder, or start the job with the settings saved in its job.json to resume it',
    );
  }
  await writeFileAtomic(file, JSON.stringify(spec, null, 2) + '\n');
}

function studentCard(
  architecture: string,
  teacher: LoadedClassifier,
  spec: JobSpec,
  backend: string,
  method: string,
): ModelCard {
  return {
    format: 'distill-studio/model',
    version: 1,
    architecture,
    inputShape: [...teacher.inputShape],
    numClasses: teacher.numClasses,
    ...(teacher.card?.classNames ? { classNames: teacher.card.classNames } : {}),
    preprocessing: teacher.preprocessing,
    provenance: {
      createdAt: new Date().toISOString(),
      appVersion: APP_VERSION,
      backend,
      seed: spec.seed,
      producedBy: spec.rounds
        ? `distill --method ${method} --budget ${spec.rounds.budgetSeconds}s`
        : `distill --method ${method} --samples ${spec.samples} --epochs ${spec.distill.epochs}`,
      teacherFingerprint: teacher.fingerprint,
    },
  };
}

async function evaluateBoth(
  teacher: LoadedClassifier,
  student: Parameters<typeof evaluate>[0],
  test: LabeledImages,
): Promise<NonNullable<JobResult['evaluation']>> {
  const strip = (e: Awaited<ReturnType<typeof evaluate>>) => {
    const { dataset: _dataset, backend: _backend, ...rest } = e;
    return rest;
  };
  const t = await evaluate(teacher, test);
  const s = await evaluate(student, test, { teacher });
  return { dataset: test.source, count: test.count, teacher: strip(t), student: strip(s) };
}
