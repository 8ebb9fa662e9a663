import path from 'node:path';
import type { Diagnostics } from '../../shared/job.js';
import type { ImageShape, Preprocessing } from '../data/types.js';
import { writeFileAtomic } from '../util/atomic-fs.js';
import type { HeldSet } from './held-set.js';
import { drawImageGrid, encodePng } from './png-grid.js';

/** Share of the set above which one class means the set has collapsed. */
export const COLLAPSE_FRACTION = 0.5;

/** The teacher's verdict on one image: its argmax class and top-1 probability at temperature 1. */
export interface TeacherVerdict {
  argmax: number;
  top1: number;
}

/**
 * Argmax and top-1 softmax probability of one row of logits, computed with
 * the max subtracted first so large logits cannot overflow exp(). NaN logits
 * count as -Infinity, so one bad value does not poison the whole set's mean.
 */
export function teacherVerdict(logits: Float32Array, offset: number, k: number): TeacherVerdict {
  let argmax = 0;
  let max = -Infinity;
  for (let j = 0; j < k; j++) {
    const v = logits[offset + j] ?? NaN;
    if (v > max) {
      max = v;
      argmax = j;
    }
  }
  if (max === -Infinity) return { argmax: 0, top1: 1 / k };
  if (max === Infinity) {
    // The +Infinity entries share all the probability.
    let ties = 0;
    for (let j = 0; j < k; j++) if (logits[offset + j] === Infinity) ties++;
    return { argmax, top1: 1 / ties };
  }
  let sum = 0;
  for (let j = 0; j < k; j++) {
    const v = logits[offset + j] ?? NaN;
    if (!Number.isNaN(v)) sum += Math.exp(v - max);
  }
  // exp(max - max) = 1 is the top class's term.
  return { argmax, top1: 1 / sum };
}

/** What diagnoseTransferSet needs to know about the teacher's inputs and outputs. */
export interface TransferSetInfo {
  inputShape: ImageShape | readonly [number, number, number];
  numClasses: number;
  preprocessing: Preprocessing;
  /** Not drawn (the grid has no text); rows are in class index order, and the report labels them. */
  classNames?: string[];
}

/**
 * Describes a finished transfer set as the teacher sees it: images per
 * argmax class, mean top-1 probability, the dominant class and whether it
 * holds more than half the set (a collapse). Writes `gridFile` (a PNG,
 * atomically): one row per class holding the first `perClass` images the
 * teacher assigns to it, de-normalised to pixels and upscaled `scale` times;
 * cells of classes with fewer images stay dark grey. The returned `grid` is
 * the file's base name, i.e. relative to the folder it was written in.
 */
export async function diagnoseTransferSet(
  set: HeldSet,
  info: TransferSetInfo,
  gridFile: string,
  options: { perClass?: number; scale?: number } = {},
): Promise<Diagnostics> {
  const perClass = options.perClass ?? 10;
  const scale = options.scale ?? 2;
  const k = info.numClasses;
  if (set.logits.length !== set.count * k) {
    throw new Error(
      `${set.count} images with ${k} classes need ${set.count * k} logits, not ${set.logits.length}`,
    );
  }
  const classHistogram = new Array<number>(k).fill(0);
  const cells: (number | null)[][] = Array.from({ length: k }, () => []);
  let top1Sum = 0;
  for (let i = 0; i < set.count; i++) {
    const { argmax, top1 } = teacherVerdict(set.logits, i * k, k);
    classHistogram[argmax] = (classHistogram[argmax] ?? 0) + 1;
    top1Sum += top1;
    const row = cells[argmax];
    if (row !== undefined && row.length < perClass) row.push(i);
  }
  for (const row of cells) while (row.length < perClass) row.push(null);

  let dominantClass = 0;
  for (let j = 1; j < k; j++) {
    if ((classHistogram[j] ?? 0) > (classHistogram[dominantClass] ?? 0)) dominantClass = j;
  }
  const dominantFraction = set.count > 0 ? (classHistogram[dominantClass] ?? 0) / set.count : 0;

  const shape: ImageShape = [info.inputShape[0], info.inputShape[1], info.inputShape[2]];
  // Only the images the grid shows are read, renumbered in the order they are asked for.
  const shown = cells.flat().filter((i): i is number => i !== null);
  const position = new Map(shown.map((i, at) => [i, at]));
  const local = cells.map((row) => row.map((i) => (i === null ? null : (position.get(i) ?? null))));
  const image = drawImageGrid(set.images(shown), shape, info.preprocessing, local, scale);
  await writeFileAtomic(gridFile, encodePng(image));

  return {
    count: set.count,
    classHistogram,
    meanTop1: set.count > 0 ? top1Sum / set.count : 0,
    dominantClass,
    dominantFraction,
    collapsed: dominantFraction > COLLAPSE_FRACTION,
    grid: path.basename(gridFile),
  };
}
