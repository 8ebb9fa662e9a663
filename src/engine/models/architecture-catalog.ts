import type { ArchitectureInfo } from '../../shared/api.js';
import { UserError } from '../../shared/errors.js';
import { listPresets } from './presets.js';
import { modelStats } from './stats.js';

/**
 * Every preset measured as it would be built for a teacher's input shape and
 * class count: parameters, FLOPs per image and saved size (float32 weights
 * plus model.json). Presets that cannot take that input are left out.
 */
export function architectureCatalog(
  inputShape: [number, number, number],
  numClasses: number,
): ArchitectureInfo[] {
  const rows: ArchitectureInfo[] = [];
  for (const preset of listPresets()) {
    let model;
    try {
      model = preset.build({ numClasses, seed: 0, inputShape });
    } catch (error) {
      if (error instanceof UserError) continue; // input too small for this family
      throw error;
    }
    try {
      const stats = modelStats(model);
      const topologyBytes = JSON.stringify(model.toJSON(null, false)).length;
      rows.push({
        name: preset.name,
        description: preset.description,
        inputShape,
        parameters: stats.parameters,
        flopsPerImage: stats.flopsPerImage,
        fileBytes: stats.parameters * 4 + topologyBytes,
      });
    } finally {
      model.dispose();
    }
  }
  return rows;
}
