import { listPresets } from '../../engine/models/presets.js';
import { formatCount } from '../../shared/format.js';
import { modelStats } from '../../engine/models/stats.js';
import type { Command } from '../command.js';

/** `presets`: the architectures a teacher or student can be built from. */
export const presetsCommand: Command = {
  name: 'presets',
  summary: 'List the built-in architectures with their parameters and FLOPs.',
  usage: '',
  help: 'Lists the architecture presets (teacher or student) with input size, parameters and FLOPs per image.',
  options: {},
  async run({ backend }) {
    await backend();
    const rows = listPresets().map((preset) => {
      const model = preset.build({ numClasses: preset.defaultClasses, seed: 0 });
      const stats = modelStats(model);
      model.dispose();
      return {
        name: preset.name,
        description: preset.description,
        inputShape: preset.inputShape,
        numClasses: preset.defaultClasses,
        parameters: stats.parameters,
        flopsPerImage: stats.flopsPerImage,
      };
    });
    const text = rows
      .map(
        (r) =>
          `${r.name.padEnd(14)} ${r.inputShape.join('x').padEnd(8)} ${formatCount(r.parameters, { compact: true }).padStart(7)} params ${formatCount(r.flopsPerImage, { compact: true }).padStart(7)} FLOPs  ${r.description}`,
      )
      .join('\n');
    return { json: rows, text };
  },
};
