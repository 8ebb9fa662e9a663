import { checkCompatible } from '../data/preprocess.js';
import type { ImageShape, LabeledImages } from '../data/types.js';
import type { Classifier } from '../models/classifier.js';
import { modelStats } from '../models/stats.js';
import { tf } from '../tf.js';
import { measureLatency, type Latency } from './latency.js';
import { predictClasses } from './predict.js';

/** Everything measured about one model on one labelled set; serialised as JSON. */
export interface Evaluation {
  dataset: { source: string; count: number; shape: ImageShape; numClasses: number; classNames?: string[] };
  accuracy: number;
  perClassAccuracy: (number | null)[];
  /** confusion[trueClass][predictedClass] = count. */
  confusion: number[][];
  /** Fraction of images where the model and the reference teacher predict the same class. */
  agreementWithTeacher?: number;
  parameters: number;
  flopsPerImage: number;
  fileBytes?: number;
  latency: Latency;
  backend: string;
}

/**
 * Evaluates a classifier on labelled images: accuracy, per-class accuracy,
 * confusion matrix, optional agreement with a teacher, size and latency on
 * the running backend. The dataset is checked against the model first.
 */
export async function evaluate(
  subject: Classifier,
  data: LabeledImages,
  options: {
    teacher?: Classifier;
    batchSize?: number;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<Evaluation> {
  checkCompatible(data, subject);
  if (options.teacher) checkCompatible(data, options.teacher);
  const batchSize = options.batchSize ?? 500;
  const k = subject.numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  let agree = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const end = Math.min(data.count, start + batchSize);
    const predicted = await predictClasses(subject, data, start, end);
    const reference = options.teacher ? await predictClasses(options.teacher, data, start, end) : undefined;
    for (let i = 0; i < predicted.length; i++) {
      const truth = data.labels[start + i] ?? 0;
      const guess = predicted[i] ?? 0;
      const row = confusion[truth];
      if (row) row[guess] = (row[guess] ?? 0) + 1;
      if (truth === guess) correct++;
      if (reference && reference[i] === guess) agree++;
    }
    options.onProgress?.(end, data.count);
  }
  const stats = modelStats(subject.model);
  return {
    dataset: {
      source: data.source,
      count: data.count,
      shape: data.shape,
      numClasses: data.numClasses,
      ...(data.classNames ? { classNames: data.classNames } : {}),
    },
    accuracy: correct / data.count,
    perClassAccuracy: confusion.map((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      return total > 0 ? (row[c] ?? 0) / total : null;
    }),
    confusion,
    ...(options.teacher ? { agreementWithTeacher: agree / data.count } : {}),
    parameters: stats.parameters,
    flopsPerImage: stats.flopsPerImage,
    ...(subject.fileBytes !== undefined ? { fileBytes: subject.fileBytes } : {}),
    latency: await measureLatency(subject.model, subject.inputShape),
    backend: tf.getBackend(),
  };
}
