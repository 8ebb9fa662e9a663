import type { ImageShape } from '../../shared/limits.js';

export type { ImageShape } from '../../shared/limits.js';
export type { Preprocessing } from '../../shared/model-card.js';

/**
 * A labelled image set held in memory as raw pixels (0..255, NHWC, row
 * major), exactly as read from disk. Normalisation happens later, with the
 * model's recorded Preprocessing (x = (pixel/255 - mean[c]) / std[c], after
 * zero-padding centrally from `sourceShape` to the model's input shape), so
 * the same data serves any model.
 */
export interface LabeledImages {
  /** Where the images came from (a path or a built-in name), for reports. */
  source: string;
  /** Shape of one image. */
  shape: ImageShape;
  /** Number of images. */
  count: number;
  /** count * h * w * c raw pixel values in 0..255. */
  pixels: Uint8Array;
  /** count class indices in 0..numClasses-1. */
  labels: Uint8Array;
  /** Number of classes of the task (not only those present). */
  numClasses: number;
  /** Optional human-readable class names, length numClasses. */
  classNames?: string[];
}
