import path from 'node:path';
import type { Diagnostics, JobResult, JobSpec } from '../../shared/job.js';
import type { ModelCard } from '../../shared/model-card.js';
import type { SettingFields, SettingValues } from '../../shared/settings.js';
import type { LabeledImages } from '../data/types.js';
import { distill } from '../distill/distill.js';
import type { TransferData } from '../distill/student-batch.js';
import type { LoadedClassifier } from '../models/classifier.js';
import { inputSpace } from '../synthesis/init.js';
import type { SynthesisMethod } from '../synthesis/method.js';
import type { tf, tfl } from '../tf.js';
import { accuracyOf } from '../train/train-classifier.js';
import { RateMeter } from '../train/progress.js';
import { diagnoseTransferSet, type TransferSetInfo as SetInfo } from '../transfer/diagnostics.js';
import { heldSet, type HeldSet } from '../transfer/held-set.js';
import { shardSeed, TransferSetStore } from '../transfer/store.js';
import { agreementOn } from './agreement.js';
import type { EventThrottle } from './events.js';
import type { JobHost } from './run-job.js';
import { ShardsInProcess, type ShardRunner } from './shards.js';

/** Least time between two sample grids drawn while the transfer set grows. */
export const GRID_EVERY_MS = 3000;

/** The most rounds a job can plan (the rounds' transfer set is planned as this many shards). */
export const MAX_ROUNDS = 100_000;

/** The folders of a run that the pipelines write. */
export const PIPELINE_FILES = {
  transfer: 'transfer',
  holdout: 'holdout',
  checkpoint: 'checkpoint',
  students: 'students',
  starts: 'starts',
} as const;

/** What both pipelines get from runJob. */
export interface PipelineContext {
  spec: JobSpec;
  host: JobHost;
  events: EventThrottle;
  warn: (message: string) => void;
  backend: string;
  runDir: string;
  method: SynthesisMethod;
  settings: SettingValues<SettingFields>;
  teacher: LoadedClassifier;
  student: tfl.LayersModel;
  setInfo: SetInfo;
  gridFile: string;
  card: ModelCard;
  metricName: string;
  test?: LabeledImages;
}

/** What a pipeline hands back for evaluation and the result. */
export interface PipelineOutcome {
  /** Held-back synthesized images with the teacher's logits (count 0 if none). */
  held: TransferData;
  diagnostics: Diagnostics;
  synthesis: Omit<JobResult['transferSet'], keyof Diagnostics>;
  distillation: Omit<JobResult['distillation'], 'metricName'>;
  rounds?: Omit<NonNullable<JobResult['rounds']>, 'metricName'>;
}

/**
 * The paper's two stages: the whole transfer set in shards (finished shards
 * on disk are skipped), then distill.epochs epochs over it with a checkpoint
 * per epoch.
 */
export async function twoStagePipeline(context: PipelineContext): Promise<PipelineOutcome> {
  const { spec, host, events, method, settings, teacher, student } = context;
  const total = spec.samples + spec.holdout;
  const store = await openStore(context, PIPELINE_FILES.transfer, total, spec.shardSize, spec.seed);
  const pending = await store.pendingShards();
  const already = total - pending.reduce((n, s) => n + s.count, 0);
  events.emit({
    type: 'stage',
    stage: 'synthesize',
    message: `Synthesizing ${total} images with ${method.title}${already ? ` (${already} already on disk)` : ''}`,
  });
  const meter = new RateMeter(total - already);
  let lastGrid = -Infinity;
  const inFlight = new Map<number, number>();
  let recorded = already;
  const synthesisStarted = performance.now();
  const runner: ShardRunner =
    host.shardRunner?.({ spec, method, settings, teacher, transferDir: store.dir }) ??
    new ShardsInProcess(method, teacher, settings, store.dir);
  await runner
    .run(pending, {
      ...(host.signal ? { signal: host.signal } : {}),
      onProgress: (index, p) => {
        inFlight.set(index, p.done + (p.iteration / Math.max(1, p.iterations)) * p.batch);
        const fresh = recorded - already + [...inFlight.values()].reduce((a, b) => a + b, 0);
        events.emit({
          type: 'progress',
          stage: 'synthesize',
          step: already + fresh,
          total,
          losses: p.losses,
          samplesPerSecond: meter.rate(fresh),
          etaSeconds: finite(meter.etaSeconds(fresh)),
        });
      },
      onShard: async (entry) => {
        await store.recordShard(entry);
        inFlight.delete(entry.index);
        recorded += entry.count;
        events.emit({
          type: 'checkpoint',
          stage: 'synthesize',
          message: `shard ${entry.index + 1} saved (${recorded}/${total} images)`,
        });
        // The sample grid grows with the set (from the teacher's stored answers: no extra inference).
        if (performance.now() - lastGrid >= (host.samplesEveryMs ?? GRID_EVERY_MS) && recorded < total) {
          lastGrid = performance.now();
          // Not pendingShards(): it removes temporary files, i.e. shards other workers are writing.
          await drawGrid(context, await store.readAll({ exclude: store.unrecordedIndices() }));
        }
      },
    })
    .finally(() => runner.close?.());
  const synthesisSeconds = (performance.now() - synthesisStarted) / 1000;
  const set = await store.readAll();
  const diagnostics = await drawGrid(context, set);

  // Distillation on the first spec.samples images; the rest are held back.
  const size = teacher.inputShape[0] * teacher.inputShape[1] * teacher.inputShape[2];
  const k = teacher.numClasses;
  const trainSet = {
    count: spec.samples,
    inputs: set.inputs.subarray(0, spec.samples * size),
    logits: set.logits.subarray(0, spec.samples * k),
  };
  const held = {
    count: spec.holdout,
    inputs: set.inputs.subarray(spec.samples * size),
    logits: set.logits.subarray(spec.samples * k),
  };
  const metricName = context.metricName;
  events.emit({
    type: 'stage',
    stage: 'distill',
    message: `Distilling into ${context.card.architecture} for ${spec.distill.epochs} epochs`,
  });
  const distilled = await distill(student, trainSet, {
    settings: spec.distill,
    space: inputSpace(teacher),
    numClasses: k,
    seed: spec.seed,
    checkpointDir: path.join(context.runDir, PIPELINE_FILES.checkpoint),
    card: context.card,
    teacher: (x) => teacher.model.apply(x, { training: false }) as tf.Tensor2D,
    epochMetric: studentMetric(context, held),
    ...(host.signal ? { signal: host.signal } : {}),
    onProgress: (p) =>
      events.emit({
        type: 'progress',
        stage: 'distill',
        step: p.step,
        total: p.totalSteps,
        losses: { distillation: p.loss, ...(p.metric !== undefined ? { [metricName]: p.metric } : {}) },
        samplesPerSecond: p.samplesPerSecond,
        etaSeconds: finite(p.etaSeconds),
      }),
    onCheckpoint: (epoch) =>
      events.emit({ type: 'checkpoint', stage: 'distill', message: `epoch ${epoch} saved` }),
  });
  return {
    held,
    diagnostics,
    synthesis: {
      synthesisSeconds,
      samplesPerSecond: (total - already) / Math.max(synthesisSeconds, 1e-9),
      metrics: averageMetrics(store),
    },
    distillation: {
      seconds: distilled.seconds,
      resumedFromEpoch: distilled.resumedFromEpoch,
      lossPerEpoch: distilled.lossPerEpoch,
      metricPerEpoch: distilled.metricPerEpoch,
    },
  };
}

/** Held-back synthesized images for the agreement measure: none when a test set measures the student. */
export async function heldBackImages(context: PipelineContext): Promise<TransferData> {
  const { spec, method, teacher, settings } = context;
  if (context.test || spec.holdout === 0)
    return { count: 0, inputs: new Float32Array(0), logits: new Float32Array(0) };
  // Its own seed, so held-back images are never the ones a round makes.
  const store = await openStore(
    context,
    PIPELINE_FILES.holdout,
    spec.holdout,
    spec.holdout,
    shardSeed(spec.seed, -1),
  );
  const pending = await store.pendingShards();
  if (pending.length > 0) {
    context.events.emit({
      type: 'stage',
      stage: 'synthesize',
      message: `Synthesizing ${spec.holdout} held-back images`,
    });
    await new ShardsInProcess(method, teacher, settings, store.dir).run(pending, {
      ...(context.host.signal ? { signal: context.host.signal } : {}),
      onProgress: () => undefined,
      onShard: (entry) => store.recordShard(entry),
    });
  }
  return store.readAll();
}

export function openStore(
  context: PipelineContext,
  folder: string,
  totalSamples: number,
  shardSize: number,
  seed: number,
): Promise<TransferSetStore> {
  const { teacher, method, settings } = context;
  return TransferSetStore.open(
    path.join(context.runDir, folder),
    {
      inputShape: [...teacher.inputShape],
      numClasses: teacher.numClasses,
      totalSamples,
      shardSize,
      method: method.name,
      settings,
      seed,
      teacherFingerprint: teacher.fingerprint,
    },
    context.backend,
  );
}

/** The student's measure: accuracy on the test set, else agreement on the held-back images. */
export function studentMetric(
  context: PipelineContext,
  held: TransferData,
): (s: tfl.LayersModel) => Promise<number> {
  const { teacher, test } = context;
  return (s) =>
    test
      ? accuracyOf(s, test, teacher.preprocessing, teacher.inputShape)
      : agreementOn(s, held.inputs, held.logits, held.count, teacher.inputShape, teacher.numClasses);
}

/** Diagnoses the set (as read, or as the round pipeline's pool holds it) and redraws its sample grid; tells the host. */
export async function drawGrid(context: PipelineContext, set: TransferData | HeldSet): Promise<Diagnostics> {
  const [h, w, c] = context.setInfo.inputShape;
  const held = 'images' in set ? set : heldSet(set, h * w * c);
  const diagnostics = await diagnoseTransferSet(held, context.setInfo, context.gridFile);
  context.events.emit({ type: 'samples', grid: diagnostics.grid, count: set.count });
  return diagnostics;
}

export function averageMetrics(store: TransferSetStore): Record<string, number> {
  const shards = store.manifest().shards;
  const sums: Record<string, number> = {};
  let count = 0;
  for (const shard of shards) {
    count += shard.count;
    for (const [name, value] of Object.entries(shard.metrics))
      sums[name] = (sums[name] ?? 0) + value * shard.count;
  }
  return Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, sum / Math.max(1, count)]));
}

export function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
