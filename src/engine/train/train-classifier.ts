import { toInputTensor } from '../data/preprocess.js';
import type { ImageShape, LabeledImages, Preprocessing } from '../data/types.js';
import { tf, type tfl } from '../tf.js';
import { Rng } from '../util/rng.js';
import { augmentBatch, type AugmentOptions } from './augment.js';
import { predictClasses } from '../eval/predict.js';
import { RateMeter } from './progress.js';
import { cosineRate, ScheduledAdam } from './schedule.js';
import { optimizeStep } from './step.js';

/** Settings of supervised training on labelled images (example teachers, baselines). */
export interface TrainSettings {
  epochs: number;
  batchSize: number;
  /** Peak Adam learning rate; decays along a cosine to 1% of it. */
  learningRate: number;
  seed: number;
  /** Light augmentation, or null for none. */
  augment: AugmentOptions | null;
}

/** One progress report, emitted about every `reportEvery` steps and at each epoch end. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number;
  samplesPerSecond: number;
  etaSeconds: number;
  /** Accuracy on the validation set, at epoch ends when one was given. */
  validationAccuracy?: number;
}

/** What training did, for the model card and the report. */
export interface TrainResult {
  epochs: number;
  steps: number;
  seconds: number;
  finalLoss: number;
  lossPerEpoch: number[];
  validationAccuracyPerEpoch: number[];
}

export interface TrainOptions {
  settings: TrainSettings;
  preprocessing: Preprocessing;
  inputShape: ImageShape;
  validation?: LabeledImages;
  onProgress?: (progress: TrainProgress) => void;
  signal?: AbortSignal;
}

/**
 * Trains a logits classifier with softmax cross-entropy, Adam and cosine
 * decay, shuffling with a seeded generator so that a seed reproduces a run
 * on the same backend. Only `model`'s own weights are updated.
 */
export async function trainClassifier(
  model: tfl.LayersModel,
  data: LabeledImages,
  options: TrainOptions,
): Promise<TrainResult> {
  const { settings, preprocessing, inputShape } = options;
  const rng = new Rng(settings.seed);
  const stepsPerEpoch = Math.ceil(data.count / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  const optimizer = new ScheduledAdam(settings.learningRate);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const meter = new RateMeter(totalSteps * settings.batchSize);
  const lossPerEpoch: number[] = [];
  const validationAccuracyPerEpoch: number[] = [];
  let step = 0;
  let lastLoss = NaN;
  try {
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      const order = rng.permutation(data.count);
      let epochLoss = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
        const indices = order.subarray(b * settings.batchSize, (b + 1) * settings.batchSize);
        optimizer.setLearningRate(cosineRate(settings.learningRate, step, totalSteps));
        const batch = settings.augment ? augmentBatch(data, indices, settings.augment, rng) : undefined;
        const x = batch
          ? toInputTensor(batch, { start: 0, end: batch.count }, preprocessing, inputShape)
          : toInputTensor(data, indices, preprocessing, inputShape);
        const labels = batch ? batch.labels : Uint8Array.from(indices, (i) => data.labels[i] ?? 0);
        const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), data.numClasses));
        lastLoss = await optimizeStep(
          optimizer,
          variables,
          () =>
            tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          `training step ${step + 1}`,
        ).finally(() => tf.dispose([x, y]));
        epochLoss += lastLoss;
        step++;
        if (step % 10 === 0) report();
      }
      lossPerEpoch.push(epochLoss / stepsPerEpoch);
      const validationAccuracy = options.validation
        ? await accuracyOf(model, options.validation, preprocessing, inputShape)
        : undefined;
      if (validationAccuracy !== undefined) validationAccuracyPerEpoch.push(validationAccuracy);
      report(validationAccuracy, epoch);
    }
  } finally {
    optimizer.dispose();
  }
  return {
    epochs: settings.epochs,
    steps: step,
    seconds: meter.elapsedSeconds(),
    finalLoss: lastLoss,
    lossPerEpoch,
    validationAccuracyPerEpoch,
  };

  function report(validationAccuracy?: number, epochDone?: number): void {
    const done = step * settings.batchSize;
    options.onProgress?.({
      epoch: epochDone ?? Math.min(settings.epochs, Math.floor(step / stepsPerEpoch) + 1),
      epochs: settings.epochs,
      step,
      totalSteps,
      loss: lastLoss,
      samplesPerSecond: meter.rate(done),
      etaSeconds: meter.etaSeconds(done),
      ...(validationAccuracy !== undefined ? { validationAccuracy } : {}),
    });
  }
}

/** Top-1 accuracy of a logits model on labelled images, in batches. */
export async function accuracyOf(
  model: tfl.LayersModel,
  data: LabeledImages,
  preprocessing: Preprocessing,
  inputShape: ImageShape,
  batchSize = 500,
): Promise<number> {
  let correct = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const end = Math.min(data.count, start + batchSize);
    const values = await predictClasses({ model, inputShape, preprocessing }, data, start, end);
    for (let i = 0; i < values.length; i++) if (values[i] === data.labels[start + i]) correct++;
  }
  return data.count > 0 ? correct / data.count : 0;
}
