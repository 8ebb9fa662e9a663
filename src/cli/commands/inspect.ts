import { existsSync } from 'node:fs';
import { formatBytes, formatCount } from '../../shared/format.js';
import { loadClassifier } from '../../engine/models/classifier.js';
import { PRESETS } from '../../engine/models/presets.js';
import { modelStats, type ModelStats } from '../../engine/models/stats.js';
import type { tfl } from '../../engine/tf.js';
import { onePositional } from '../args.js';
import type { Command } from '../command.js';
import { normalisationOptions, parseNormalisation } from './normalisation.js';

const options = {
  layers: {
    type: 'boolean',
    description: 'Also list every layer with its output shape, parameters and MACs.',
  },
  ...normalisationOptions,
} as const satisfies Command['options'];

/** `inspect`: what a model is: input, classes, size, compute, provenance. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary:
    'Describe a model folder, .onnx file, built-in model or preset: input, classes, parameters, FLOPs.',
  usage: '<model | preset>',
  help: [
    'Shows what a model takes and gives, its parameter count, compute per image (FLOPs = 2 x multiply-adds),',
    'file size and, for models saved by Distill Studio, how inputs are normalised and what made it.',
    'The model is validated as a teacher would be: a model the app cannot use says why here. An .onnx file is',
    'converted and checked against ONNX Runtime on random images, as its import as a teacher would be.',
    '',
    'Examples:',
    '  distill-studio inspect builtin:mnist-lenet5',
    '  distill-studio inspect path/to/model-folder --layers',
    '  distill-studio inspect model.onnx --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225',
    '  distill-studio inspect resnet18',
  ].join('\n'),
  options,
  async run({ args, backend }) {
    const ref = onePositional(args, 'inspect', '<model | preset>');
    await backend();
    const preset = !existsSync(ref) ? PRESETS.get(ref) : undefined;
    if (preset) {
      const model = preset.build({ numClasses: preset.defaultClasses, seed: 0 });
      try {
        const stats = modelStats(model);
        const json = {
          preset: preset.name,
          description: preset.description,
          inputShape: preset.inputShape,
          numClasses: preset.defaultClasses,
          ...stats,
        };
        return {
          json,
          text: [
            `preset ${preset.name}: ${preset.description}`,
            ...describe(model, stats, preset.inputShape, preset.defaultClasses, args.values.layers === true),
          ].join('\n'),
        };
      } finally {
        model.dispose();
      }
    }
    const loaded = await loadClassifier(ref, parseNormalisation(args));
    try {
      const stats = modelStats(loaded.model);
      const json = {
        folder: loaded.folder,
        fingerprint: loaded.fingerprint,
        inputShape: loaded.inputShape,
        numClasses: loaded.numClasses,
        outputWasSoftmax: loaded.outputWasSoftmax,
        fileBytes: loaded.fileBytes,
        preprocessing: loaded.preprocessing,
        card: loaded.card ?? null,
        onnx: loaded.onnx ?? null,
        ...stats,
      };
      const card = loaded.card;
      const text = [
        `model ${loaded.folder}`,
        ...describe(loaded.model, stats, loaded.inputShape, loaded.numClasses, args.values.layers === true),
        ...(loaded.fileBytes !== undefined ? [`file size: ${formatBytes(loaded.fileBytes)}`] : []),
        `normalisation: mean ${loaded.preprocessing.mean.join(',')} std ${loaded.preprocessing.std.join(',')} (images ${loaded.preprocessing.sourceShape.join('x')})${card || loaded.onnx?.preprocessingRecorded ? '' : ' (assumed: the model records none; set --mean/--std)'}`,
        ...(loaded.outputWasSoftmax
          ? ['output: the last layer applies softmax; the app uses the logits before it']
          : []),
        ...(loaded.onnx
          ? [
              `ONNX: opset ${loaded.onnx.opset}, made by ${loaded.onnx.producer}; converted and checked against ONNX Runtime ${loaded.onnx.check.runtimeVersion} on ${loaded.onnx.check.images} random images: max difference ${loaded.onnx.check.maxAbsDifference.toExponential(2)} (allowed ${loaded.onnx.check.tolerance.toExponential(1)})`,
              ...loaded.onnx.warnings.map((w) => `warning: ${w}`),
            ]
          : []),
        ...(card
          ? [
              `architecture: ${card.architecture}${card.classNames ? `; classes: ${card.classNames.join(', ')}` : ''}`,
              `made by: ${card.provenance.producedBy ?? 'unknown'} on ${card.provenance.backend}, ${card.provenance.createdAt}, app ${card.provenance.appVersion}`,
              ...(card.metrics
                ? [
                    `metrics: ${Object.entries(card.metrics)
                      .map(([k, v]) => `${k} ${Number(v.toFixed(4))}`)
                      .join(', ')}`,
                  ]
                : []),
            ]
          : []),
        `fingerprint: ${loaded.fingerprint}`,
      ];
      return { json, text: text.join('\n') };
    } finally {
      loaded.model.dispose();
    }
  },
};

function describe(
  model: tfl.LayersModel,
  stats: ModelStats,
  input: readonly number[],
  classes: number,
  layers: boolean,
): string[] {
  const lines = [
    `input: ${input.join('x')} image; output: ${classes} classes`,
    `parameters: ${formatCount(stats.parameters)} (${formatCount(stats.parameters, { compact: true })}); compute: ${formatCount(stats.flopsPerImage, { compact: true })} FLOPs per image`,
    `layers: ${model.layers.length}`,
  ];
  if (layers) {
    for (const layer of stats.layers) {
      lines.push(
        `  ${layer.name.padEnd(24)} ${layer.className.padEnd(20)} ${JSON.stringify(layer.outputShape).padEnd(18)} params ${String(layer.parameters).padStart(9)}  MACs ${formatCount(layer.macs, { compact: true })}`,
      );
    }
  }
  return lines;
}
