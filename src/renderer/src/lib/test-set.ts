import type { Catalog } from '../../../shared/api.js';

/**
 * The setup form's test set, read from the project's `testData` (a built-in
 * dataset's name, a path, or null) and the catalog's datasets, so the app
 * never lists dataset names of its own.
 */

/** Where the test images come from, as the form offers it. */
export type TestSetKind = 'none' | 'builtin' | 'path';

type Datasets = Catalog['datasets'];

/** What `testData` names: nothing, one of the catalog's built-in datasets, or a file or folder. */
export function testSetKind(testData: string | null, datasets: Datasets): TestSetKind {
  if (testData === null) return 'none';
  return datasets.some((d) => d.name === testData) ? 'builtin' : 'path';
}

/** The built-in dataset offered first: the first one installed, else the first listed ('' when none). */
export function firstDataset(datasets: Datasets): string {
  return (datasets.find((d) => d.available) ?? datasets[0])?.name ?? '';
}

/** The test set to save: null for none or for a path left empty, else the name or path trimmed. */
export function testDataToSave(testData: string | null): string | null {
  return testData?.trim() || null;
}
