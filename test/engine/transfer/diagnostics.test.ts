import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnoseTransferSet, teacherVerdict } from '../../../src/engine/transfer/diagnostics.js';
import { heldSet } from '../../../src/engine/transfer/held-set.js';
import {
  GRID_EMPTY_LEVEL,
  GRID_SEPARATOR_LEVEL,
  gridCellOrigin,
} from '../../../src/engine/transfer/png-grid.js';
import { tempFolder } from './helpers.js';

const { next, cleanup } = tempFolder('diagnostics');
afterAll(cleanup);

/** Softmax probability of class `j` straight from its definition (fine for these small logits). */
function softmaxAt(row: number[], j: number): number {
  const exps = row.map(Math.exp);
  return exps[j]! / exps.reduce((a, b) => a + b, 0);
}

/** Reads a PNG back as RGBA and returns the pixel at (x, y). */
function pixelAt(file: string, x: number, y: number): { width: number; height: number; rgba: number[] } {
  const png = PNG.sync.read(readFileSync(file));
  const at = (y * png.width + x) * 4;
  return { width: png.width, height: png.height, rgba: Array.from(png.data.subarray(at, at + 4)) };
}

describe('diagnoseTransferSet', () => {
  // Five 2x3 grey images, three classes; image i has every pixel = 40 * (i + 1).
  const shape = [2, 3, 1] as const;
  const preprocessing = { sourceShape: [2, 3, 1] as [number, number, number], mean: [0.5], std: [0.25] };
  const rows = [
    [2, 0, 1], // class 0
    [0.5, 3, -1], // class 1
    [1, 1, 4], // class 2
    [-2, 5, 0], // class 1
    [0, 0, 0], // a tie: the first class wins
  ];
  const pixel = (i: number): number => 40 * (i + 1);
  const set = {
    count: rows.length,
    inputs: Float32Array.from(
      { length: rows.length * 6 },
      (_, v) => (pixel(Math.floor(v / 6)) / 255 - 0.5) / 0.25,
    ),
    logits: Float32Array.from(rows.flat()),
  };

  it('counts argmax classes, averages top-1 probability and draws one row per class', async () => {
    const dir = next();
    mkdirSync(dir);
    const grid = path.join(dir, 'samples.png');
    const plain = heldSet(set, 6);
    const asked: number[][] = [];
    const reading = {
      ...plain,
      images: (indices: readonly number[]) => (asked.push([...indices]), plain.images(indices)),
    };
    const result = await diagnoseTransferSet(
      reading,
      { inputShape: shape, numClasses: 3, preprocessing },
      grid,
      {
        perClass: 3,
        scale: 2,
      },
    );
    // Only the images the grid shows are read, row by row.
    expect(asked).toEqual([[0, 4, 1, 3, 2]]);
    const argmaxes = [0, 1, 2, 1, 0];
    const meanTop1 = rows.reduce((s, row, i) => s + softmaxAt(row, argmaxes[i]!), 0) / rows.length;
    expect(result.classHistogram).toEqual([2, 2, 1]);
    expect(result.meanTop1).toBeCloseTo(meanTop1, 6);
    expect(result).toMatchObject({
      count: 5,
      dominantClass: 0,
      dominantFraction: 0.4,
      collapsed: false,
      grid: 'samples.png',
    });
    expect(readdirSync(dir)).toEqual(['samples.png']);

    // 3 columns of 6-pixel-wide cells and 3 rows of 4-pixel-high cells, with 2 px lines between and around.
    const size = pixelAt(grid, 0, 0);
    expect([size.width, size.height]).toEqual([2 + 3 * (6 + 2), 2 + 3 * (4 + 2)]);
    expect(size.rgba).toEqual([GRID_SEPARATOR_LEVEL, GRID_SEPARATOR_LEVEL, GRID_SEPARATOR_LEVEL, 255]);
    // Class 1's second image is image 3; class 0's is image 4; class 2 has only one.
    const cell = (row: number, col: number, dx = 0, dy = 0): number[] => {
      const o = gridCellOrigin(row, col, [...shape], 2);
      return pixelAt(grid, o.x + dx, o.y + dy).rgba;
    };
    expect(cell(1, 1, 5, 3)).toEqual([pixel(3), pixel(3), pixel(3), 255]);
    expect(cell(0, 1)).toEqual([pixel(4), pixel(4), pixel(4), 255]);
    expect(cell(2, 0)).toEqual([pixel(2), pixel(2), pixel(2), 255]);
    expect(cell(2, 1)).toEqual([GRID_EMPTY_LEVEL, GRID_EMPTY_LEVEL, GRID_EMPTY_LEVEL, 255]);
    expect(cell(0, 2)).toEqual([GRID_EMPTY_LEVEL, GRID_EMPTY_LEVEL, GRID_EMPTY_LEVEL, 255]);
  });

  it('flags a collapse only when one class holds more than half the set', async () => {
    const dir = next();
    const k = 4;
    const logitsFor = (classes: number[]): Float32Array =>
      Float32Array.from(classes.flatMap((c) => Array.from({ length: k }, (_, j) => (j === c ? 3 : 0))));
    const info = {
      inputShape: [1, 1, 1] as const,
      numClasses: k,
      preprocessing: { ...preprocessing, mean: [0], std: [1] },
    };
    const half = await diagnoseTransferSet(
      heldSet({ count: 4, inputs: new Float32Array(4), logits: logitsFor([2, 2, 0, 1]) }, 1),
      info,
      path.join(dir, 'half.png'),
    );
    expect(half).toMatchObject({
      classHistogram: [1, 1, 2, 0],
      dominantClass: 2,
      dominantFraction: 0.5,
      collapsed: false,
    });
    const most = await diagnoseTransferSet(
      heldSet({ count: 5, inputs: new Float32Array(5), logits: logitsFor([3, 3, 0, 3, 1]) }, 1),
      info,
      path.join(dir, 'most.png'),
    );
    expect(most).toMatchObject({
      classHistogram: [1, 1, 0, 3],
      dominantClass: 3,
      dominantFraction: 0.6,
      collapsed: true,
    });
    expect(most.meanTop1).toBeCloseTo(Math.exp(3) / (Math.exp(3) + 3), 6);
    // Default layout: 10 columns, 2x upscaling.
    expect(pixelAt(path.join(dir, 'most.png'), 0, 0).width).toBe(2 + 10 * (2 + 2));
  });

  it('draws RGB inputs with per-channel mean and std', async () => {
    const dir = next();
    const mean = [0.4, 0.5, 0.6];
    const std = [0.2, 0.25, 0.3];
    const rgb = [10, 128, 250];
    const inputs = Float32Array.from(rgb.map((p, c) => (p / 255 - mean[c]!) / std[c]!));
    const grid = path.join(dir, 'rgb.png');
    await diagnoseTransferSet(
      heldSet({ count: 1, inputs, logits: Float32Array.from([0, 1]) }, 3),
      { inputShape: [1, 1, 3], numClasses: 2, preprocessing: { sourceShape: [1, 1, 3], mean, std } },
      grid,
      { perClass: 1, scale: 3 },
    );
    const o = gridCellOrigin(1, 0, [1, 1, 3], 3);
    expect(pixelAt(grid, o.x + 2, o.y + 2).rgba).toEqual([...rgb, 255]);
    expect(existsSync(grid)).toBe(true);
  });
});

describe('teacherVerdict', () => {
  it('stays exact where a naive softmax would overflow', () => {
    const row = Float32Array.from([1000, 999, 0]);
    expect(teacherVerdict(row, 0, 3).argmax).toBe(0);
    expect(teacherVerdict(row, 0, 3).top1).toBeCloseTo(1 / (1 + Math.exp(-1) + Math.exp(-1000)), 12);
  });

  it('ignores NaN logits instead of returning NaN', () => {
    const verdict = teacherVerdict(Float32Array.from([NaN, 2, 2]), 0, 3);
    expect(verdict).toEqual({ argmax: 1, top1: 0.5 });
  });
});
