import { describe, expect, it } from 'vitest';
import { firstDataset, testDataToSave, testSetKind } from '../../../src/renderer/src/lib/test-set.js';

// Dataset names come from the catalog: these are made up, so nothing here depends on the real list.
const DATASETS = [
  { name: 'not-installed', description: 'needs a package', available: false },
  { name: 'digits', description: 'built in', available: true },
  { name: 'clothes', description: 'built in', available: true },
];

describe('the test set in the setup form', () => {
  it('reads a saved test set as none, one of the catalog datasets, or a path', () => {
    expect(testSetKind(null, DATASETS)).toBe('none');
    expect(testSetKind('digits', DATASETS)).toBe('builtin');
    expect(testSetKind('clothes', DATASETS)).toBe('builtin');
    expect(testSetKind('/data/test-images', DATASETS)).toBe('path');
    expect(testSetKind('', DATASETS)).toBe('path'); // a path not typed yet
    expect(testSetKind('mnist-digits', [])).toBe('path'); // a name the catalog does not list
  });

  it('offers the first installed dataset first', () => {
    expect(firstDataset(DATASETS)).toBe('digits');
    expect(firstDataset(DATASETS.slice(0, 1))).toBe('not-installed');
    expect(firstDataset([])).toBe('');
  });

  it('saves none for an empty path, and names and paths trimmed', () => {
    expect(testDataToSave(null)).toBeNull();
    expect(testDataToSave('')).toBeNull();
    expect(testDataToSave('   ')).toBeNull();
    expect(testDataToSave(' /data/test ')).toBe('/data/test');
    expect(testDataToSave('digits')).toBe('digits');
  });
});
