import { existsSync } from 'node:fs';
import type { Catalog } from '../shared/api.js';
import { DATASET_NAMES, FASHION_MNIST_FOLDER } from './data/datasets.js';
import { BUILTIN_MODELS } from './models/builtin.js';
import { architectureCatalog } from './models/architecture-catalog.js';
import { SYNTHESIS_METHODS } from './synthesis/registry.js';

/** Everything the app offers to choose from, measured for one teacher shape. */
export function buildCatalog(inputShape: [number, number, number], numClasses: number): Catalog {
  return {
    architectures: architectureCatalog(inputShape, numClasses),
    methods: [...SYNTHESIS_METHODS.values()].map((m) => ({
      name: m.name,
      title: m.title,
      description: m.description,
      fields: structuredClone(m.fields) as Catalog['methods'][number]['fields'],
      recommended: { ...m.recommended } as Catalog['methods'][number]['recommended'],
    })),
    builtinTeachers: Object.entries(BUILTIN_MODELS).map(([name, entry]) => ({
      name,
      description: entry.description,
    })),
    datasets: [
      {
        name: DATASET_NAMES.mnistDigits,
        description: '2,000 real handwritten digits held out from the built-in example (built in)',
        available: true,
      },
      {
        name: DATASET_NAMES.fashionMnist,
        description: existsSync(FASHION_MNIST_FOLDER)
          ? 'Fashion-MNIST test split, 10,000 clothing images'
          : `Fashion-MNIST test split: not installed (on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist)`,
        available: existsSync(FASHION_MNIST_FOLDER),
      },
    ],
  };
}
