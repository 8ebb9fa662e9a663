import { existsSync } from 'node:fs';
import path from 'node:path';
import { formatBytes, formatCount, formatDuration } from '../../shared/format.js';
import { APP_VERSION } from '../../engine/app-info.js';
import { resolveDataset } from '../../engine/data/datasets.js';
import { computeChannelStats, defaultPreprocessing } from '../../engine/data/preprocess.js';
import type { LabeledImages } from '../../engine/data/types.js';
import { UserError } from '../../shared/errors.js';
import { evaluate } from '../../engine/eval/evaluate.js';
import { saveModel } from '../../engine/models/io.js';
import { getPreset } from '../../engine/models/presets.js';
import type { AugmentOptions } from '../../engine/train/augment.js';
import { trainClassifier } from '../../engine/train/train-classifier.js';
import { numberOption, requiredOption, stringOption } from '../args.js';
import type { Command } from '../command.js';

const AUGMENTATIONS: Record<string, AugmentOptions | null> = {
  none: null,
  shift: { maxShift: 2, flip: false },
  'shift-flip': { maxShift: 2, flip: true },
};

const options = {
  data: {
    type: 'string',
    value: 'DATASET',
    description:
      'Labelled training data: mnist-digits, fashion-mnist, or a path (IDX folder, CIFAR-10 .bin, image folder per class).',
  },
  'test-data': {
    type: 'string',
    value: 'DATASET',
    description: 'Labelled test data (default: the test split of --data, if it has one).',
  },
  arch: {
    type: 'string',
    value: 'PRESET',
    description: 'Architecture preset (see "distill-studio presets").',
    default: 'lenet5',
  },
  out: {
    type: 'string',
    value: 'FOLDER',
    description: 'Folder to save the trained model in (TensorFlow.js format).',
  },
  epochs: { type: 'string', value: 'N', description: 'Passes over the training data.', default: '20' },
  batch: { type: 'string', value: 'N', description: 'Images per training step.', default: '128' },
  lr: {
    type: 'string',
    value: 'RATE',
    description: 'Peak Adam learning rate (decays along a cosine).',
    default: '0.002',
  },
  seed: {
    type: 'string',
    value: 'N',
    description: 'Random seed: the same seed reproduces the same model on the same backend.',
    default: '1',
  },
  augment: {
    type: 'string',
    value: 'KIND',
    description:
      'Training augmentation: none, shift (up to 2 px) or shift-flip (also mirror; not for digits).',
    default: 'shift',
  },
  limit: { type: 'string', value: 'N', description: 'Use only the first N training images (quick trials).' },
  overwrite: { type: 'boolean', description: 'Replace a model already saved in --out.' },
} as const satisfies Command['options'];

/** `train-teacher`: trains an example teacher on labelled data and saves it with its card. */
export const trainTeacherCommand: Command = {
  name: 'train-teacher',
  summary: 'Train a classifier on labelled images (to make an example teacher).',
  usage: '--data DATASET --out FOLDER [options]',
  help: [
    'Trains one of the preset architectures on a labelled dataset, evaluates it on the test split and saves it',
    'as a TensorFlow.js model folder whose model.json records how inputs are normalised, the seed and the backend.',
    'Distillation itself never needs data: this command only makes teachers to try the app with.',
    '',
    'Examples:',
    '  distill-studio train-teacher --data mnist-digits --arch lenet5 --out my-teacher',
    '  distill-studio train-teacher --data fashion-mnist --augment shift-flip --epochs 30 --out fashion-teacher',
  ].join('\n'),
  options,
  async run({ args, backend, progress, log }) {
    const dataSpec = requiredOption(args, 'data', 'train-teacher', 'mnist-digits (or a dataset path)');
    const out = path.resolve(
      requiredOption(args, 'out', 'train-teacher', 'FOLDER (where to save the model)'),
    );
    if (existsSync(path.join(out, 'model.json')) && args.values.overwrite !== true) {
      throw new UserError(
        'OUTPUT_EXISTS',
        `A model is already saved in ${out}`,
        'Choose another --out folder, or add --overwrite to replace it',
      );
    }
    const augmentName = stringOption(args, 'augment', options.augment) ?? 'shift';
    const augment = AUGMENTATIONS[augmentName];
    if (augment === undefined) {
      throw new UserError(
        'USAGE',
        `Unknown --augment "${augmentName}"`,
        `Use one of: ${Object.keys(AUGMENTATIONS).join(', ')}`,
      );
    }
    const preset = getPreset(stringOption(args, 'arch', options.arch) ?? 'lenet5');
    const settings = {
      epochs: numberOption(args, 'epochs', 20, { min: 1, max: 10_000, integer: true }),
      batchSize: numberOption(args, 'batch', 128, { min: 1, max: 65_536, integer: true }),
      learningRate: numberOption(args, 'lr', 0.002, { min: 1e-7, max: 1 }),
      seed: numberOption(args, 'seed', 1, { min: 0, max: 2 ** 31 - 1, integer: true }),
      augment,
    };
    const info = await backend();
    let train = await resolveDataset(dataSpec, 'train');
    const limit =
      args.values.limit === undefined
        ? undefined
        : numberOption(args, 'limit', train.count, { min: 1, max: train.count, integer: true });
    if (limit !== undefined) train = takeFirst(train, limit);
    const test = await loadTestSet(dataSpec, train, stringOption(args, 'test-data'), log);
    const inputShape = preset.inputShape;
    const preprocessing = defaultPreprocessing(train.shape, inputShape, computeChannelStats(train));
    const model = preset.build({ numClasses: train.numClasses, seed: settings.seed, inputShape });
    try {
      log(
        `training ${preset.name} on ${train.count} images from ${train.source} (${settings.epochs} epochs, backend ${info.name})`,
      );
      const bar = progress('train');
      const result = await trainClassifier(model, train, {
        settings,
        preprocessing,
        inputShape,
        ...(test ? { validation: test } : {}),
        onProgress: (p) =>
          bar.update({
            done: p.step,
            total: p.totalSteps,
            rate: p.samplesPerSecond,
            unit: 'img/s',
            etaSeconds: p.etaSeconds,
            detail: `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}${p.validationAccuracy !== undefined ? ` test ${(p.validationAccuracy * 100).toFixed(2)}%` : ''}`,
          }),
      });
      bar.finish();
      const classifier = { model, inputShape, numClasses: train.numClasses, preprocessing };
      const evaluation = test ? await evaluate(classifier, test) : undefined;
      const saved = await saveModel(model, out, {
        format: 'distill-studio/model',
        version: 1,
        architecture: preset.name,
        inputShape: [...inputShape],
        numClasses: train.numClasses,
        ...(train.classNames ? { classNames: train.classNames } : {}),
        preprocessing,
        provenance: {
          createdAt: new Date().toISOString(),
          appVersion: APP_VERSION,
          backend: info.name,
          seed: settings.seed,
          producedBy: `train-teacher --data ${dataSpec} --arch ${preset.name} --epochs ${settings.epochs} --batch ${settings.batchSize} --lr ${settings.learningRate} --augment ${augmentName}${limit !== undefined ? ` --limit ${limit}` : ''}`,
          trainedOn: train.source,
        },
        metrics: {
          trainSeconds: result.seconds,
          finalTrainLoss: result.finalLoss,
          ...(evaluation ? { testAccuracy: evaluation.accuracy } : {}),
        },
      });
      const json = {
        model: out,
        architecture: preset.name,
        backend: info.name,
        train: { source: train.source, count: train.count },
        settings: { ...settings, augment: augmentName },
        training: result,
        fingerprint: saved.fingerprint,
        fileBytes: saved.fileBytes,
        ...(evaluation ? { evaluation } : {}),
      };
      const lines = [
        `saved ${preset.name} to ${out} (${formatBytes(saved.fileBytes)})`,
        `trained ${result.epochs} epochs in ${formatDuration(result.seconds)} on ${info.name}, final loss ${result.finalLoss.toFixed(4)}`,
        evaluation
          ? `test accuracy ${(evaluation.accuracy * 100).toFixed(2)}% on ${formatCount(evaluation.dataset.count)} images (${evaluation.dataset.source})`
          : 'no test set: accuracy not measured',
      ];
      return { json, text: lines.join('\n') };
    } finally {
      model.dispose();
    }
  },
};

async function loadTestSet(
  dataSpec: string,
  train: LabeledImages,
  testSpec: string | undefined,
  log: (line: string) => void,
): Promise<LabeledImages | undefined> {
  if (testSpec) return resolveDataset(testSpec, 'test');
  let test: LabeledImages;
  try {
    test = await resolveDataset(dataSpec, 'test');
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    log(`no test split found for ${dataSpec} (${error.message}); pass --test-data to measure accuracy`);
    return undefined;
  }
  // A single file or a plain class folder has no separate test split: the
  // loader returns the same images, and accuracy on training data would mislead.
  if (test.source === train.source) {
    log(`${dataSpec} has no separate test split; pass --test-data to measure accuracy`);
    return undefined;
  }
  return test;
}

function takeFirst(data: LabeledImages, n: number): LabeledImages {
  const size = data.shape[0] * data.shape[1] * data.shape[2];
  return { ...data, count: n, pixels: data.pixels.subarray(0, n * size), labels: data.labels.subarray(0, n) };
}
