import path from 'node:path';
import { formatBytes, formatCount, formatDuration } from '../../shared/format.js';
import { DATASET_NAMES, resolveDataset } from '../../engine/data/datasets.js';
import { UserError } from '../../shared/errors.js';
import { evaluate } from '../../engine/eval/evaluate.js';
import { loadClassifier } from '../../engine/models/classifier.js';
import { writeFileAtomic } from '../../engine/util/atomic-fs.js';
import { onePositional, stringOption } from '../args.js';
import type { Command } from '../command.js';
import { normalisationOptions, parseNormalisation } from './normalisation.js';

const options = {
  data: {
    type: 'string',
    value: 'DATASET',
    description: 'Labelled test data: mnist-digits, fashion-mnist, or a path.',
    default: DATASET_NAMES.mnistDigits,
  },
  split: {
    type: 'string',
    value: 'SPLIT',
    description: 'Which split of the dataset: test or train.',
    default: 'test',
  },
  teacher: {
    type: 'string',
    value: 'MODEL',
    description: 'Also measure agreement with this model (a folder, an .onnx file or builtin:NAME).',
  },
  out: { type: 'string', value: 'FILE', description: 'Also write the result as JSON to this file.' },
  ...normalisationOptions,
} as const satisfies Command['options'];

/** `evaluate`: accuracy, per-class accuracy, confusion, agreement, size and latency of a model. */
export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'Measure a model on labelled images: accuracy, confusion matrix, size, speed.',
  usage: '<model> [--data DATASET] [--teacher MODEL]',
  help: [
    'Measures a model folder, .onnx file (or builtin:NAME) on a labelled dataset: accuracy, accuracy per class, the confusion',
    'matrix, agreement with a teacher, parameter count, file size and mean latency per image on this backend.',
    '',
    'Examples:',
    '  distill-studio evaluate builtin:mnist-lenet5 --data mnist-digits',
    '  distill-studio evaluate student/ --teacher teacher/ --data fashion-mnist --json > result.json',
    '  distill-studio evaluate model.onnx --data fashion-mnist --mean 0.2860 --std 0.3530',
  ].join('\n'),
  options,
  async run({ args, backend, progress }) {
    const modelRef = onePositional(args, 'evaluate', '<model>');
    const split = stringOption(args, 'split', options.split) ?? 'test';
    if (split !== 'test' && split !== 'train') {
      throw new UserError('USAGE', `Unknown --split "${split}"`, 'Use --split test or --split train');
    }
    const info = await backend();
    const normalisation = parseNormalisation(args);
    const subject = await loadClassifier(modelRef, normalisation);
    const teacherRef = stringOption(args, 'teacher');
    const teacher = teacherRef ? await loadClassifier(teacherRef) : undefined;
    try {
      const data = await resolveDataset(
        stringOption(args, 'data', options.data) ?? DATASET_NAMES.mnistDigits,
        split,
      );
      const bar = progress('evaluate');
      const result = await evaluate(subject, data, {
        ...(teacher ? { teacher } : {}),
        onProgress: (done, total) => bar.update({ done, total }),
      });
      bar.finish();
      const json = { model: subject.folder, fingerprint: subject.fingerprint, ...result, backend: info.name };
      const out = stringOption(args, 'out');
      if (out) await writeFileAtomic(path.resolve(out), JSON.stringify(json, null, 2) + '\n');
      const names = result.dataset.classNames;
      const lines = [
        `model ${subject.folder}`,
        `data ${result.dataset.source}: ${result.dataset.count} images`,
        `accuracy ${(result.accuracy * 100).toFixed(2)}%`,
        ...(result.agreementWithTeacher !== undefined
          ? [`agreement with teacher ${(result.agreementWithTeacher * 100).toFixed(2)}%`]
          : []),
        'per class: ' +
          result.perClassAccuracy
            .map((a, c) => `${names?.[c] ?? c} ${a === null ? 'n/a' : (a * 100).toFixed(1) + '%'}`)
            .join(', '),
        `parameters ${formatCount(result.parameters)}, ${result.fileBytes !== undefined ? `file ${formatBytes(result.fileBytes)}, ` : ''}latency ${formatDuration(result.latency.msPerImageBatch1 / 1000)}/image alone, ${formatDuration(result.latency.msPerImageBatched / 1000)}/image in batches of ${result.latency.batchSize} (${info.name})`,
        ...(out ? [`wrote ${path.resolve(out)}`] : []),
      ];
      return { json, text: lines.join('\n') };
    } finally {
      subject.model.dispose();
      teacher?.model.dispose();
    }
  },
};
