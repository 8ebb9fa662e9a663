import { expect } from 'vitest';
import { JobResultSchema, type JobResult, type RoundPoint } from '../../../src/shared/job.js';

/** Test images per class, as in the MNIST test set. */
export const CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
/** Wrong answers per class; half go to class c+3, the rest to class c+5. */
export const TEACHER_ERRORS = [5, 7, 9, 8, 10, 9, 8, 12, 11, 14];
export const STUDENT_ERRORS = [10, 12, 20, 18, 22, 19, 15, 25, 24, 30];

/** A confusion matrix with the given wrong answers per class. */
export function confusionWith(errors: readonly number[]): number[][] {
  return CLASS_COUNTS.map((n, c) => {
    const row = new Array<number>(10).fill(0);
    const e = errors[c] ?? 0;
    row[c] = n - e;
    row[(c + 3) % 10] = Math.floor(e / 2);
    row[(c + 5) % 10] = e - Math.floor(e / 2);
    return row;
  });
}

function summaryOf(
  confusion: number[][],
  extra: {
    parameters: number;
    flopsPerImage: number;
    fileBytes: number;
    ms: [number, number];
    agreement?: number;
  },
) {
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const correct = confusion.reduce((a, row, c) => a + (row[c] ?? 0), 0);
  return {
    accuracy: correct / total,
    perClassAccuracy: confusion.map((row, c) => (row[c] ?? 0) / row.reduce((a, b) => a + b, 0)),
    confusion,
    ...(extra.agreement !== undefined ? { agreementWithTeacher: extra.agreement } : {}),
    parameters: extra.parameters,
    flopsPerImage: extra.flopsPerImage,
    fileBytes: extra.fileBytes,
    latency: { msPerImageBatch1: extra.ms[0], msPerImageBatched: extra.ms[1], batchSize: 256 },
  };
}

/** Six rounds of 400 images in a 5-minute budget: the student's course in the round pipeline. */
export const ROUND_CURVE: RoundPoint[] = [
  { round: 1, seconds: 41.5, images: 400, metric: 0.31, loss: 2.9 },
  { round: 2, seconds: 88, images: 800, metric: 0.55, loss: 1.7 },
  { round: 3, seconds: 135.2, images: 1200, metric: 0.71, loss: 1.1 },
  { round: 4, seconds: 181.9, images: 1600, metric: null, loss: 0.8 },
  { round: 5, seconds: 228.4, images: 2000, metric: 0.83, loss: 0.62 },
  { round: 6, seconds: 275, images: 2400, metric: 0.86, loss: 0.55 },
];

/**
 * A realistic result of an MNIST run (LeNet-5 teacher, half-width student,
 * 10 classes, 12 epochs), with a labelled test set unless `withEvaluation`
 * is false; checked against the schema so it cannot drift from job.ts.
 * With `rounds`, a run of the round pipeline instead (ROUND_CURVE, a 5-minute
 * budget), stopped early by the user when `stoppedEarly`.
 */
export function makeResult(
  options: {
    withEvaluation?: boolean;
    classNames?: string[];
    warnings?: string[];
    collapsed?: boolean;
    distill?: Partial<JobResult['spec']['distill']>;
    rounds?: { stoppedEarly: boolean };
  } = {},
): JobResult {
  const curve = options.rounds ? ROUND_CURVE : undefined;
  const withEvaluation = options.withEvaluation ?? true;
  const teacherConfusion = confusionWith(TEACHER_ERRORS);
  const studentConfusion = confusionWith(STUDENT_ERRORS);
  const teacher = summaryOf(teacherConfusion, {
    parameters: 61_706,
    flopsPerImage: 846_000,
    fileBytes: 250_000,
    ms: [1.84, 0.21],
  });
  const student = summaryOf(studentConfusion, {
    parameters: 15_426,
    flopsPerImage: 212_000,
    fileBytes: 64_000,
    ms: [0.92, 0.06],
    agreement: 0.9843,
  });
  const result = {
    format: 'distill-studio/job-result',
    version: 1,
    spec: {
      teacher: 'builtin:mnist-lenet5',
      student: 'lenet5-half',
      method: 'soft-target',
      methodSettings: { sigma: 2 },
      samples: 6000,
      shardSize: 500,
      distill: {
        epochs: 12,
        batchSize: 64,
        learningRate: 0.001,
        temperature: 20,
        augment: true,
        ...options.distill,
      },
      ...(withEvaluation ? { testData: 'mnist-digits' } : {}),
      holdout: 500,
      seed: 1,
      workers: 2,
      runDir: '/home/ana/runs/demo',
      ...(options.rounds
        ? {
            rounds: {
              budgetSeconds: 300,
              maxRounds: 0,
              imagesPerRound: 400,
              studentSteps: 150,
              disagreement: 30,
              disagreementTemperature: 1,
              learningRateFloor: 0.05,
            },
          }
        : {}),
    },
    resolvedMethodSettings: { sigma: 2, iterations: 300, beta: 0.1, rank: 'full' },
    backend: 'wasm',
    appVersion: '0.1.0',
    startedAt: '2025-03-14T10:02:00.000Z',
    finishedAt: '2025-03-14T10:22:31.000Z',
    teacher: {
      folder: '/app/builtin/mnist-lenet5',
      fingerprint: 'sha256:aa11',
      architecture: 'mnist-lenet5',
      parameters: 61_706,
      flopsPerImage: 846_000,
      fileBytes: 250_000,
    },
    student: {
      folder: '/home/ana/runs/demo/student',
      fingerprint: 'sha256:bb22',
      architecture: 'lenet5-half',
      parameters: 15_426,
      flopsPerImage: 212_000,
      fileBytes: 64_000,
    },
    ...(options.classNames ? { classNames: options.classNames } : {}),
    transferSet: {
      count: 6500,
      classHistogram: options.collapsed
        ? [210, 230, 190, 4615, 200, 180, 220, 240, 205, 210]
        : [640, 700, 655, 630, 610, 590, 660, 680, 645, 690],
      meanTop1: 0.8734,
      dominantClass: options.collapsed ? 3 : 1,
      dominantFraction: options.collapsed ? 0.71 : 700 / 6500,
      collapsed: options.collapsed ?? false,
      grid: 'samples.png',
      synthesisSeconds: 95.5,
      samplesPerSecond: 68.06,
      metrics: { 'fit loss': 0.0421, entropy: 1.27 },
    },
    distillation: curve
      ? {
          seconds: 120.5,
          resumedFromEpoch: 0,
          lossPerEpoch: curve.map((p) => p.loss),
          metricPerEpoch: curve.map((p) => p.metric),
          metricName: withEvaluation ? 'test accuracy' : 'hold-out agreement',
        }
      : {
          seconds: 1040,
          resumedFromEpoch: 0,
          lossPerEpoch: [2.31, 1.2, 0.84, 0.61, 0.5, 0.43, 0.39, 0.36, 0.34, 0.33, 0.325, 0.32],
          metricPerEpoch: withEvaluation
            ? [0.62, 0.81, 0.9, 0.93, 0.95, 0.96, 0.97, 0.975, 0.978, 0.979, 0.98, 0.9805]
            : [0.58, 0.77, 0.86, 0.9, 0.92, null, 0.94, 0.95, 0.955, 0.96, 0.962, 0.964],
          metricName: withEvaluation ? 'test accuracy' : 'hold-out agreement',
        },
    ...(curve
      ? {
          rounds: {
            count: curve.length,
            budgetSeconds: 300,
            seconds: 275,
            stoppedEarly: options.rounds?.stoppedEarly ?? false,
            metricName: withEvaluation ? 'test accuracy' : 'hold-out agreement',
            curve,
          },
        }
      : {}),
    ...(withEvaluation ? { evaluation: { dataset: 'mnist-digits', count: 10_000, teacher, student } } : {}),
    holdoutAgreement: 0.964,
    accuracyRatio: withEvaluation ? student.accuracy / teacher.accuracy : null,
    warnings: options.warnings ?? [],
  };
  return JobResultSchema.parse(result);
}

/** The HTML of the section with this id, up to its closing tag (sections are not nested). */
export function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`);
  expect(start, `section ${id}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

/** How many times `needle` occurs in `text`. */
export function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}
