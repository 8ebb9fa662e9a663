import type { DistillSettings } from '../../shared/job.js';
import type { ModelCard } from '../../shared/model-card.js';
import { tf, type tfl } from '../tf.js';
import { RateMeter } from '../train/progress.js';
import { cosineRate, ScheduledAdam } from '../train/schedule.js';
import { optimizeStep } from '../train/step.js';
import { Rng } from '../util/rng.js';
import type { InputSpace } from '../synthesis/init.js';
import { distillationLoss } from '../synthesis/losses.js';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint.js';
import {
  BatchScratch,
  needsTeacher,
  studentBatch,
  teacherMissing,
  type TransferData,
} from './student-batch.js';

/** Progress of distillation, about ten times a second at most. */
export interface DistillProgress {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number;
  samplesPerSecond: number;
  etaSeconds: number;
  /** The epoch-end metric (test accuracy or hold-out agreement) when an epoch just ended. */
  metric?: number;
}

export interface DistillOptions {
  settings: DistillSettings;
  space: InputSpace;
  numClasses: number;
  seed: number;
  /** Folder of the per-epoch checkpoint; an existing checkpoint is resumed from. */
  checkpointDir: string;
  /** Card saved with every checkpoint of the student. */
  card: ModelCard;
  /**
   * The teacher's logits for a batch: needed when the settings ask it to
   * label shifted, blended or faded images (relabel, mixup, fade).
   */
  teacher?: (x: tf.Tensor4D) => tf.Tensor2D;
  /** Measured after every epoch (e.g. accuracy on a test set); recorded per epoch. */
  epochMetric?: (student: tfl.LayersModel) => Promise<number>;
  onProgress?: (progress: DistillProgress) => void;
  onCheckpoint?: (epoch: number) => void;
  signal?: AbortSignal;
}

export interface DistillResult {
  epochs: number;
  /** Epochs already done by an earlier run of the job, skipped now. */
  resumedFromEpoch: number;
  seconds: number;
  lossPerEpoch: number[];
  metricPerEpoch: (number | null)[];
}

/**
 * Trains the student on the transfer set with the distillation loss only,
 * tau^2 KL(softmax(t/tau) || softmax(s/tau)), Adam with cosine decay. Each
 * epoch's order and shifts come from a generator seeded by (seed, epoch),
 * and the optimizer's state is checkpointed with the student, so a run
 * resumed after a kill continues exactly as if it had not stopped.
 */
export async function distill(
  student: tfl.LayersModel,
  data: TransferData,
  options: DistillOptions,
): Promise<DistillResult> {
  const { settings, space, numClasses } = options;
  const stepsPerEpoch = Math.ceil(data.count / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  if (needsTeacher(settings) && !options.teacher) {
    throw teacherMissing('distill');
  }
  const optimizer = new ScheduledAdam(settings.learningRate);
  const variables = student.trainableWeights.map((v) => v.read() as tf.Variable);
  try {
    const restored = await restoreCheckpoint(options.checkpointDir, student, optimizer);
    const lossPerEpoch = restored?.lossPerEpoch ?? [];
    const metricPerEpoch = restored?.metricPerEpoch ?? [];
    const firstEpoch = (restored?.epoch ?? 0) + 1;
    const meter = new RateMeter((settings.epochs - firstEpoch + 1) * data.count);
    let done = 0;
    let lastReport = 0;
    const scratch = new BatchScratch();
    for (let epoch = firstEpoch; epoch <= settings.epochs; epoch++) {
      const rng = new Rng((options.seed * 1_000_003 + epoch * 7_919) % 2_147_483_647);
      const order = rng.permutation(data.count);
      let epochLoss = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
        const step = (epoch - 1) * stepsPerEpoch + b;
        optimizer.setLearningRate(cosineRate(settings.learningRate, step, totalSteps));
        const indices = order.subarray(b * settings.batchSize, (b + 1) * settings.batchSize);
        const { x, t } = studentBatch(
          data,
          indices,
          settings,
          space,
          numClasses,
          rng,
          options.teacher,
          scratch,
        );
        const loss = await optimizeStep(
          optimizer,
          variables,
          () =>
            distillationLoss(t, student.apply(x, { training: true }) as tf.Tensor2D, settings.temperature),
          `distillation epoch ${epoch}`,
        ).finally(() => tf.dispose([x, t]));
        epochLoss += loss;
        done += indices.length;
        const now = performance.now();
        if (now - lastReport > 100) {
          lastReport = now;
          report(epoch, step + 1, loss);
        }
      }
      lossPerEpoch.push(epochLoss / stepsPerEpoch);
      const metric = options.epochMetric ? await options.epochMetric(student) : null;
      metricPerEpoch.push(metric);
      await saveCheckpoint(options.checkpointDir, student, options.card, optimizer, {
        epoch,
        lossPerEpoch,
        metricPerEpoch,
      });
      options.onCheckpoint?.(epoch);
      report(epoch, epoch * stepsPerEpoch, lossPerEpoch[lossPerEpoch.length - 1] ?? NaN, metric ?? undefined);
    }
    return {
      epochs: settings.epochs,
      resumedFromEpoch: firstEpoch - 1,
      seconds: meter.elapsedSeconds(),
      lossPerEpoch,
      metricPerEpoch,
    };

    function report(epoch: number, step: number, loss: number, metric?: number): void {
      options.onProgress?.({
        epoch,
        epochs: settings.epochs,
        step,
        totalSteps,
        loss,
        samplesPerSecond: meter.rate(done),
        etaSeconds: meter.etaSeconds(done),
        ...(metric !== undefined ? { metric } : {}),
      });
    }
  } finally {
    optimizer.dispose();
  }
}
