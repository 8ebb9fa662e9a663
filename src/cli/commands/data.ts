import { describeDataset, resolveDataset } from '../../engine/data/datasets.js';
import { UserError } from '../../shared/errors.js';
import { onePositional, stringOption } from '../args.js';
import type { Command } from '../command.js';

const options = {
  split: { type: 'string', value: 'SPLIT', description: 'Which split: train or test.', default: 'test' },
} as const satisfies Command['options'];

/** `data`: checks that a dataset reads and summarises it. */
export const dataCommand: Command = {
  name: 'data',
  summary: 'Check and summarise a labelled dataset (image size, classes, counts).',
  usage: '<dataset>',
  help: [
    'Reads a dataset the way training and evaluation would and prints its size, image shape and images per class.',
    'A dataset is: mnist-digits (built in), fashion-mnist (Debian package dataset-fashion-mnist), a folder of IDX',
    'files, a CIFAR-10 binary file or folder, or a folder with one sub-folder of PNG/JPEG images per class.',
  ].join('\n'),
  options,
  async run({ args }) {
    const spec = onePositional(args, 'data', '<dataset>');
    const split = stringOption(args, 'split', options.split) ?? 'test';
    if (split !== 'test' && split !== 'train')
      throw new UserError('USAGE', `Unknown --split "${split}"`, 'Use --split test or --split train');
    const summary = describeDataset(await resolveDataset(spec, split));
    const text = [
      `${summary.source}: ${summary.count} images of ${summary.shape.join('x')}, ${summary.numClasses} classes`,
      `per class: ${summary.classCounts.join(', ')}`,
    ].join('\n');
    return { json: summary, text };
  },
};
