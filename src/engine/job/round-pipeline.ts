import path from 'node:path';
import type { RoundsSettings } from '../../shared/job.js';
import { inputSpace } from '../synthesis/init.js';
import { RateMeter } from '../train/progress.js';
import {
  averageMetrics,
  drawGrid,
  GRID_EVERY_MS,
  heldBackImages,
  MAX_ROUNDS,
  openStore,
  PIPELINE_FILES,
  studentMetric,
  type PipelineContext,
  type PipelineOutcome,
} from './pipelines.js';
import { runRounds } from './rounds.js';
import { RoundProgress } from './round-progress.js';
import { inferenceLogits } from './shift-labelling.js';
import { ShardsInProcess, type ShardRunner } from './shards.js';

/**
 * The round pipeline (rounds.ts) with a time budget: held-back images first
 * when there is no test set (agreement on them is the student's measure),
 * then rounds of synthesis and student steps until the budget is spent.
 */
export async function roundPipeline(
  context: PipelineContext,
  plan: RoundsSettings,
): Promise<PipelineOutcome> {
  const { spec, host, events, method, settings, teacher, student } = context;
  const held = await heldBackImages(context);
  // A round is split into shards of at most one synthesis batch, so worker processes can share
  // it; the split depends on the settings only, never on the number of workers.
  const batch = typeof settings.batchSize === 'number' ? settings.batchSize : plan.imagesPerRound;
  const shardsPerRound = Math.ceil(plan.imagesPerRound / Math.max(1, batch));
  const shardSize = Math.ceil(plan.imagesPerRound / shardsPerRound);
  const store = await openStore(
    context,
    PIPELINE_FILES.transfer,
    shardSize * shardsPerRound * MAX_ROUNDS,
    shardSize,
    spec.seed,
  );
  const runner: ShardRunner =
    host.shardRunner?.({ spec, method, settings, teacher, transferDir: store.dir }) ??
    new ShardsInProcess(method, teacher, settings, store.dir);
  const budget = plan.maxRounds > 0 ? `${plan.maxRounds} rounds` : `${Math.round(plan.budgetSeconds)} s`;
  events.emit({
    type: 'stage',
    stage: 'rounds',
    message: `Rounds of ${plan.imagesPerRound} images by ${method.title} and ${plan.studentSteps} student steps, for ${budget}`,
  });
  const meter = new RateMeter(0);
  const made = new RoundProgress(shardsPerRound);
  // Synthesis overlaps training (pipelined, in workers): its time is the shards' own, summed.
  let shardSeconds = 0;
  const started = performance.now();
  let lastGrid = -Infinity;
  const outcome = await runRounds(student, {
    rounds: plan,
    distill: spec.distill,
    space: inputSpace(teacher),
    teacher: inferenceLogits(teacher),
    seed: spec.seed,
    runner,
    store,
    shardsPerRound,
    checkpointDir: path.join(context.runDir, PIPELINE_FILES.checkpoint),
    snapshotDir: path.join(context.runDir, PIPELINE_FILES.students),
    startsDir: path.join(context.runDir, PIPELINE_FILES.starts),
    card: context.card,
    metric: studentMetric(context, held),
    ...(host.signal ? { signal: host.signal } : {}),
    ...(host.stop ? { stop: host.stop } : {}),
    onSynthesis: (index, p) => {
      made.progress(index, p.done + (p.iteration / Math.max(1, p.iterations)) * p.batch);
      events.emit({
        type: 'progress',
        stage: 'synthesize',
        step: made.roundImages,
        total: shardSize * shardsPerRound,
        losses: p.losses,
        samplesPerSecond: meter.rate(made.totalImages),
        etaSeconds: null,
      });
    },
    onShard: (round, entry) => {
      made.finished(entry.index, entry.count);
      shardSeconds += entry.seconds;
      events.emit({
        type: 'checkpoint',
        stage: 'synthesize',
        message: `round ${round}: ${entry.count} images saved`,
      });
    },
    onTraining: (_round, step, steps, loss) =>
      events.emit({
        type: 'progress',
        stage: 'distill',
        step,
        total: steps,
        losses: { distillation: loss },
        samplesPerSecond: 0,
        etaSeconds: null,
      }),
    onRound: async (point, pool) => {
      events.emit({
        type: 'round',
        point,
        metricName: context.metricName,
        budgetSeconds: plan.budgetSeconds,
      });
      if (performance.now() - lastGrid >= (host.samplesEveryMs ?? GRID_EVERY_MS)) {
        lastGrid = performance.now();
        await drawGrid(context, pool);
      }
    },
  }).finally(() => runner.close?.());
  const diagnostics = await drawGrid(context, outcome.pool);
  const last = outcome.curve.at(-1);
  return {
    held,
    diagnostics,
    synthesis: {
      synthesisSeconds: shardSeconds,
      // Images made per second of this run's wall time.
      samplesPerSecond: made.finishedImages / Math.max(1e-9, (performance.now() - started) / 1000),
      metrics: averageMetrics(store),
    },
    distillation: {
      seconds: outcome.trainingSeconds,
      resumedFromEpoch: outcome.resumedFromRound,
      lossPerEpoch: outcome.curve.map((p) => p.loss),
      metricPerEpoch: outcome.curve.map((p) => p.metric),
    },
    rounds: {
      count: outcome.rounds,
      budgetSeconds: plan.budgetSeconds,
      seconds: last?.seconds ?? outcome.seconds,
      stoppedEarly: outcome.stoppedEarly,
      curve: outcome.curve,
    },
  };
}
