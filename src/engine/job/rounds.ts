import { promises as fs } from 'node:fs';
import type { DistillSettings, RoundPoint, RoundsSettings } from '../../shared/job.js';
import { scheduleFraction } from '../../shared/learning-rate.js';
import type { ModelCard } from '../../shared/model-card.js';
import { restoreCheckpoint, saveCheckpoint } from '../distill/checkpoint.js';
import { shiftCount } from '../distill/batch-transforms.js';
import {
  BatchScratch,
  MAX_SHIFT,
  needsTeacher,
  relabelsShiftsOnly,
  studentBatch,
  teacherMissing,
  type TransferData,
} from '../distill/student-batch.js';
import type { InputSpace } from '../synthesis/init.js';
import { distillationLoss } from '../synthesis/losses.js';
import type { SynthesisProgress } from '../synthesis/method.js';
import { tf, type tfl } from '../tf.js';
import { cosineRate, ScheduledAdam } from '../train/schedule.js';
import { optimizeStep } from '../train/step.js';
import { WeightAverage } from '../train/weight-average.js';
import { UserError } from '../../shared/errors.js';
import type { PlannedShard, ShardEntry, TransferSetStore } from '../transfer/store.js';
import { Rng } from '../util/rng.js';
import { ImagePool } from './image-pool.js';
import { labelShifts, type ShiftLabelling } from './shift-labelling.js';
import type { ShardRunner, ShardTask, StudentRef } from './shards.js';
import { startImagesFor } from './start-images.js';
import { StudentSnapshots } from './student-snapshots.js';

export interface RoundsOptions {
  rounds: RoundsSettings;
  /** Batch size, peak learning rate, temperature and augmentation of the student's steps. */
  distill: Pick<
    DistillSettings,
    | 'batchSize'
    | 'learningRate'
    | 'temperature'
    | 'augment'
    | 'relabel'
    | 'mixup'
    | 'flip'
    | 'fade'
    | 'soften'
  >;
  /** The input space of the images (shape, and the value of a black pixel for shifts). */
  space: InputSpace;
  /** The teacher's logits, for the augmented images that need its answer. */
  teacher?: (x: tf.Tensor4D) => tf.Tensor2D;
  seed: number;
  /** Synthesizes a round's shards (in this process or in worker processes). */
  runner: ShardRunner;
  /** The rounds' transfer set: round r's images are shards (r - 1) * shardsPerRound onwards. */
  store: TransferSetStore;
  shardsPerRound: number;
  /** Folder of the per-round checkpoint; an existing one is resumed from. */
  checkpointDir: string;
  /** Folder for copies of the student that later rounds' synthesis needs. */
  snapshotDir: string;
  /** Folder for the starting images picked from earlier rounds (rounds.restart > 0). */
  startsDir?: string;
  card: ModelCard;
  /** Measured after every round (test accuracy or hold-out agreement). */
  metric: (student: tfl.LayersModel) => Promise<number>;
  /** Aborts the job (an error is thrown; what is saved stays). */
  signal?: AbortSignal;
  /** Ends the job early, keeping the student as it is ("Stop and keep"). */
  stop?: AbortSignal;
  /** Progress of shard `index` of the round being made. */
  onSynthesis?: (index: number, progress: SynthesisProgress) => void;
  onShard?: (round: number, entry: ShardEntry) => Promise<void> | void;
  onTraining?: (round: number, step: number, steps: number, loss: number) => void;
  onRound?: (point: RoundPoint, pool: ImagePool) => Promise<void> | void;
}

export interface RoundsResult {
  rounds: number;
  /** Rounds already done by an earlier run of the job. */
  resumedFromRound: number;
  /** Wall time over all sessions of the job. */
  seconds: number;
  trainingSeconds: number;
  stoppedEarly: boolean;
  curve: RoundPoint[];
  pool: ImagePool;
}

/**
 * The round pipeline: synthesize a round of images (from round 2 pushed
 * toward where the student still disagrees with the teacher, if
 * `disagreement` > 0), then train the student for `studentSteps` steps on
 * batches drawn uniformly from every image made so far; repeat until the
 * budget (or `maxRounds`) is spent, ending within one round of the budget.
 * With `averaging` > 0 the student measured after every round, and left in
 * `student` at the end, is the moving average of its weights (train/weight-average.ts).
 * Each round's batches come from a generator seeded by (seed, round) and
 * the student and its optimizer are checkpointed after every round, so a
 * job killed at any moment resumes to the same student as long as the same
 * rounds run (always so with `maxRounds`; with a budget alone, the number
 * of rounds depends on the machine's speed).
 */
export async function runRounds(student: tfl.LayersModel, options: RoundsOptions): Promise<RoundsResult> {
  const { rounds: plan, distill, store } = options;
  const k = store.manifest().numClasses;
  if (needsTeacher(distill) && !options.teacher) {
    throw teacherMissing('runRounds');
  }
  // Shifted, relabelled batches and nothing else that changes an image: the teacher answers for
  // every shift of each image once, as it joins the pool, instead of once per student step. The
  // synthesis runner labels each shard as it makes it (in worker processes, off the student's
  // path); a shard without its labels (made before, or its file lost) is labelled here, alike.
  const teacher = options.teacher;
  const labelling: ShiftLabelling | undefined =
    teacher && relabelsShiftsOnly(distill)
      ? { space: options.space, teacher, numClasses: k, maxShift: MAX_SHIFT }
      : undefined;
  const shifts = shiftCount(MAX_SHIFT);
  const pool = new ImagePool(options.space, k, labelling ? shifts : 0);
  const addToPool = async (shards: readonly PlannedShard[]): Promise<void> => {
    const batch = await store.readShards(shards);
    // Without the lookup the stored answers are for the images as made, at most half a pixel
    // level from what the pool keeps; with it, the teacher answers for the images as kept (the
    // pool keeps the nearest pixel levels, so it takes the images as read).
    if (!labelling) return pool.add(batch);
    const shiftLogits = new Float32Array(batch.count * shifts * k);
    const pixels = batch.inputs.length / batch.count;
    let at = 0;
    for (const shard of shards) {
      const labels =
        (await store.readShiftLabels(shard.index, MAX_SHIFT, shifts)) ??
        (await labelShifts(
          batch.inputs.subarray(at * pixels, (at + shard.count) * pixels),
          shard.count,
          labelling,
        ));
      shiftLogits.set(labels, at * shifts * k);
      at += shard.count;
    }
    pool.add({ ...batch, shiftLogits });
  };
  const optimizer = new ScheduledAdam(distill.learningRate);
  const variables = student.trainableWeights.map((v) => v.read() as tf.Variable);
  // The student measured and kept: the average of its weights, or its last weights.
  const average = (plan.averaging ?? 0) > 0 ? new WeightAverage(student, plan.averaging ?? 0) : undefined;
  const measure = (): Promise<number> =>
    average ? average.withAverage(() => options.metric(student)) : options.metric(student);
  try {
    const restored = await restoreCheckpoint(options.checkpointDir, student, optimizer, average);
    const done = restored?.epoch ?? 0;
    const lossPerRound = restored?.lossPerEpoch ?? [];
    const metricPerRound = restored?.metricPerEpoch ?? [];
    const curve = restored?.curve ?? [];
    const earlierSeconds = curve.at(-1)?.seconds ?? 0;
    const pending = new Set((await store.pendingShards()).map((s) => s.index));
    if (done > 0) {
      const made = Array.from({ length: done }, (_, r) =>
        roundShards(store, r + 1, options.shardsPerRound),
      ).flat();
      const lost = made.find((s) => pending.has(s.index));
      if (lost) {
        throw new UserError(
          'CHECKPOINT_DAMAGED',
          `The checkpoint says ${done} rounds are done, but images of round ${Math.floor(lost.index / options.shardsPerRound) + 1} are missing`,
          'Delete the checkpoint folder of the run; the job will restart its rounds from the images on disk',
        );
      }
      // Round by round, as they were added when made.
      for (let r = 1; r <= done; r++) await addToPool(roundShards(store, r, options.shardsPerRound));
    }
    const started = performance.now();
    const elapsed = (): number => earlierSeconds + (performance.now() - started) / 1000;
    let trainingSeconds = 0;
    let stoppedEarly = false;
    // Round r's images are made with the student after round r - lag: lag 1 waits for the
    // previous round's student; lag 2 (pipelined) lets workers make round r + 1 while this
    // process trains on round r. Either way the result does not depend on who runs what.
    const lag = plan.pipelined ? 2 : 1;
    const students = new StudentSnapshots(options.snapshotDir, options.checkpointDir);
    // A kill between the last checkpoint and its copy leaves the copy to make now.
    if (done > 0) await students.folder(done, done);
    const ending = new AbortController();
    const signals = [options.signal, options.stop, ending.signal].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    // restart > 0: some of round r's images start from images of rounds 1..r - lag (in the pool
    // whenever round r is made, pipelined or not), picked by seed and shard.
    const restart = plan.restart ?? 0;
    const withStartImages = async (shards: PlannedShard[], lastRound: number): Promise<ShardTask[]> => {
      if (!options.startsDir || restart <= 0) return shards;
      let eligible = 0;
      for (let q = 1; q <= lastRound; q++) {
        for (const s of roundShards(store, q, options.shardsPerRound)) eligible += s.count;
      }
      return startImagesFor(shards, pool, eligible, restart, options.seed, options.startsDir);
    };
    const making = new Map<number, Promise<void>>();
    const makeRound = (r: number): Promise<void> => {
      const existing = making.get(r);
      if (existing) return existing;
      const missing = roundShards(store, r, options.shardsPerRound).filter((s) => pending.has(s.index));
      const made = (async () => {
        if (missing.length === 0) return;
        const source = r - lag;
        const tasks = await withStartImages(missing, source);
        const student =
          source >= 1 && plan.disagreement > 0
            ? studentRef(await students.folder(source, checkpointed), plan)
            : undefined;
        await options.runner.run(
          tasks,
          {
            onProgress: (index, p) => options.onSynthesis?.(index, p),
            onShard: async (entry) => {
              await store.recordShard(entry);
              pending.delete(entry.index);
              await options.onShard?.(r, entry);
            },
            signal: AbortSignal.any(signals),
          },
          { ...(student ? { student } : {}), ...(labelling ? { shiftLabels: labelling.maxShift } : {}) },
        );
        await students.release(source);
        await Promise.all(tasks.map((t) => (t.starts ? fs.rm(t.starts, { force: true }) : undefined)));
      })();
      made.catch(() => undefined); // awaited where it is needed; never an unhandled rejection
      making.set(r, made);
      return made;
    };
    const inBackground = options.runner.parallel === true;
    let round = done + 1;
    let checkpointed = done;
    let lastRoundSeconds = 0;
    // The student batches' arrays, the same every step (each step's tensors are disposed before the next).
    const scratch = new BatchScratch();
    try {
      for (; ; round++) {
        if (!shouldStartRound(round, done, elapsed(), earlierSeconds, plan)) break;
        if (options.stop?.aborted) {
          stoppedEarly = true;
          break;
        }
        options.signal?.throwIfAborted();
        const startOfRound = elapsed();
        // 1. This round's images (those an earlier run made before it stopped are on disk).
        const shards = roundShards(store, round, options.shardsPerRound);
        if (shards.length === 0) break;
        try {
          await makeRound(round);
        } catch (error) {
          if (options.stop?.aborted && !options.signal?.aborted) {
            stoppedEarly = true;
            break;
          }
          throw error;
        }
        await addToPool(shards);
        // Pipelined: the next round's images are made while this one trains.
        const next = (): boolean =>
          lag === 2 &&
          shouldStartRound(round + 1, done, startOfRound + lastRoundSeconds, earlierSeconds, plan);
        if (inBackground && next()) void makeRound(round + 1);

        // 2. The student's steps on batches drawn from everything made so far.
        const trainingStarted = performance.now();
        const rng = new Rng((options.seed * 1_000_003 + round * 7_919) % 2_147_483_647);
        // Each batch is drawn as a set of its own: image b of it is pool image indices[b].
        const positions = Array.from({ length: distill.batchSize }, (_, b) => b);
        let drawn: TransferData | undefined;
        let lossSum = 0;
        let steps = 0;
        for (let step = 0; step < plan.studentSteps; step++) {
          if (options.stop?.aborted) {
            stoppedEarly = true;
            break;
          }
          options.signal?.throwIfAborted();
          const fraction = scheduleFraction(round, step, plan, startOfRound);
          optimizer.setLearningRate(cosineRate(distill.learningRate, fraction, 1, plan.learningRateFloor));
          const indices = Array.from({ length: distill.batchSize }, () => rng.int(pool.count));
          // Reuses the last batch's arrays (studentBatch copies out of them into the scratch's).
          drawn = pool.gather(indices, drawn);
          const { x, t } = studentBatch(
            drawn,
            positions,
            distill,
            options.space,
            k,
            rng,
            options.teacher,
            scratch,
          );
          const loss = await optimizeStep(
            optimizer,
            variables,
            () =>
              distillationLoss(t, student.apply(x, { training: true }) as tf.Tensor2D, distill.temperature),
            `round ${round}, student step ${step + 1}`,
          ).finally(() => tf.dispose([x, t]));
          average?.step();
          lossSum += loss;
          steps += 1;
          options.onTraining?.(round, step + 1, plan.studentSteps, loss);
        }
        trainingSeconds += (performance.now() - trainingStarted) / 1000;
        if (stoppedEarly) break;

        // 3. Measure, checkpoint, report.
        const metric = await measure();
        const point: RoundPoint = {
          round,
          seconds: elapsed(),
          images: pool.count,
          metric: Number.isFinite(metric) ? metric : null,
          loss: lossSum / Math.max(1, steps),
        };
        curve.push(point);
        lossPerRound.push(point.loss);
        metricPerRound.push(point.metric);
        await saveCheckpoint(
          options.checkpointDir,
          student,
          options.card,
          optimizer,
          { epoch: round, lossPerEpoch: lossPerRound, metricPerEpoch: metricPerRound, curve },
          average,
        );
        checkpointed = round;
        await students.keep(round);
        lastRoundSeconds = point.seconds - startOfRound;
        await options.onRound?.(point, pool);
        if (!inBackground && next()) {
          try {
            await makeRound(round + 1);
          } catch (error) {
            if (!(options.stop?.aborted && !options.signal?.aborted)) throw error;
          }
        }
      }
    } finally {
      // A next round still being made is not needed any more.
      ending.abort(new Error('the rounds ended'));
      await Promise.allSettled(making.values());
      // Starting images left by a kill between a shard and the removal of its file.
      if (options.startsDir) await fs.rm(options.startsDir, { recursive: true, force: true });
    }
    // The student handed back (evaluated and saved) is the one measured after every round.
    average?.applyToModel();
    return {
      rounds: curve.length,
      resumedFromRound: done,
      seconds: elapsed(),
      trainingSeconds,
      stoppedEarly,
      curve,
      pool,
    };
  } finally {
    optimizer.dispose();
    average?.dispose();
  }
}

/**
 * Whether round `round` starts: always the first round of a job; with
 * `maxRounds`, up to that many; and only while the budget leaves at least
 * half of a round (the mean round so far), so the job ends within one round
 * of its budget.
 */
export function shouldStartRound(
  round: number,
  doneBefore: number,
  elapsedSeconds: number,
  earlierSeconds: number,
  plan: Pick<RoundsSettings, 'maxRounds' | 'budgetSeconds'>,
): boolean {
  if (round === 1) return true;
  if (plan.maxRounds > 0 && round > plan.maxRounds) return false;
  const thisSession = round - 1 - doneBefore;
  const perRound =
    thisSession > 0
      ? (elapsedSeconds - earlierSeconds) / thisSession
      : earlierSeconds / Math.max(1, doneBefore);
  return elapsedSeconds + perRound / 2 < plan.budgetSeconds;
}

/** The planned shards of round `round`. */
function roundShards(store: TransferSetStore, round: number, perRound: number): PlannedShard[] {
  return Array.from({ length: perRound }, (_, i) => store.plannedShard((round - 1) * perRound + i)).filter(
    (s): s is PlannedShard => s !== undefined,
  );
}

/** A saved student for student-aware synthesis, with the disagreement term's settings. */
function studentRef(folder: string, plan: RoundsSettings): StudentRef {
  return { folder, weight: plan.disagreement, temperature: plan.disagreementTemperature };
}
