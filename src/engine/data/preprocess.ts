import { UserError } from '../../shared/errors.js';
import { tf } from '../tf.js';
import type { ImageShape, LabeledImages, Preprocessing } from './types.js';

/** "28x28x1", the way shapes appear in messages. */
export function formatShape(shape: readonly number[]): string {
  return shape.join('x');
}

/**
 * Checks that images of `source` fit a model input of `input`: the same
 * channels, and no larger (images are only ever padded, never cropped).
 */
function checkFits(source: ImageShape, input: ImageShape, what: string): void {
  if (source[2] !== input[2] || source[0] > input[0] || source[1] > input[1]) {
    throw new UserError(
      'DATASET_SHAPE_MISMATCH',
      `${what} ${formatShape(source)} images cannot feed a model whose input is ${formatShape(input)} (images are zero-padded to the input size, never cropped or converted)`,
      `Use images with ${input[2]} channel(s) of at most ${input[0]}x${input[1]} pixels, or a model made for ${formatShape(source)} images`,
    );
  }
}

/** Per-channel values: one value stands for every channel. */
function perChannel(values: number[], channels: number, name: string): number[] {
  if (values.length === 1) return new Array<number>(channels).fill(values[0] ?? 0);
  if (values.length !== channels) {
    throw new UserError(
      'NORMALISATION_INVALID',
      `The normalisation ${name} has ${values.length} values for ${channels}-channel images`,
      `Give one value, or ${channels} (one per channel)`,
    );
  }
  return values;
}

/**
 * The preprocessing a new model records for data of `shape`: pad centrally
 * to `modelInput`, then normalise with `stats` (usually the training set's
 * computeChannelStats) or, without stats, just scale pixels to [0, 1].
 */
export function defaultPreprocessing(
  shape: ImageShape,
  modelInput: ImageShape,
  stats?: { mean: number[]; std: number[] },
): Preprocessing {
  checkFits(shape, modelInput, 'Dataset');
  const channels = shape[2];
  return {
    sourceShape: [...shape],
    mean: stats ? perChannel(stats.mean, channels, 'mean') : new Array<number>(channels).fill(0),
    std: stats ? perChannel(stats.std, channels, 'std') : new Array<number>(channels).fill(1),
  };
}

/**
 * Mean and standard deviation (population) of each channel over all images,
 * in [0, 1] units. Counted with a 256-bin histogram per channel, which is
 * exact and avoids float error over millions of pixels. A constant channel
 * gets std 1/255 rather than 0, so normalising it never divides by zero.
 */
export function computeChannelStats(data: LabeledImages): { mean: number[]; std: number[] } {
  checkNotEmpty(data);
  const channels = data.shape[2];
  const total = data.count * data.shape[0] * data.shape[1] * channels;
  const histograms = Array.from({ length: channels }, () => new Float64Array(256));
  for (let i = 0; i < total; i++) {
    const histogram = histograms[i % channels] as Float64Array;
    const v = data.pixels[i] ?? 0;
    histogram[v] = (histogram[v] ?? 0) + 1;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (const histogram of histograms) {
    let n = 0;
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      n += histogram[v] ?? 0;
      sum += (histogram[v] ?? 0) * v;
    }
    const m = sum / n;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += (histogram[v] ?? 0) * (v - m) ** 2;
    mean.push(m / 255);
    std.push(Math.max(Math.sqrt(squares / n), 1) / 255);
  }
  return { mean, std };
}

function checkNotEmpty(data: LabeledImages): void {
  if (data.count === 0) {
    throw new UserError(
      'DATASET_EMPTY',
      `The dataset ${data.source} has no images`,
      'Pass a dataset with at least one labelled image',
    );
  }
}

/**
 * Checks that a dataset can be fed to a model and scored against it: same
 * image shape as the model's recorded source shape, the same number of
 * classes, and labels within them. Each mismatch is a UserError naming both
 * sides, so users see at once whether the data or the model is the odd one.
 */
export function checkCompatible(
  data: LabeledImages,
  model: { inputShape: ImageShape; numClasses: number; preprocessing: Preprocessing },
): void {
  checkNotEmpty(data);
  const expected = model.preprocessing.sourceShape;
  if (formatShape(data.shape) !== formatShape(expected)) {
    throw new UserError(
      'DATASET_SHAPE_MISMATCH',
      `The images of ${data.source} are ${formatShape(data.shape)} but the model expects ${formatShape(expected)} images (padded to its ${formatShape(model.inputShape)} input)`,
      `Use a dataset of ${formatShape(expected)} images (like the one the model was trained on), or a model made for ${formatShape(data.shape)} images`,
    );
  }
  if (data.numClasses !== model.numClasses) {
    throw new UserError(
      'DATASET_CLASSES_MISMATCH',
      `The dataset ${data.source} has ${data.numClasses} classes but the model predicts ${model.numClasses}`,
      `Use a dataset with the model's ${model.numClasses} classes, in the same order as during training`,
    );
  }
  const labels = data.labels.subarray(0, data.count);
  const bad = labels.findIndex((label) => label >= model.numClasses);
  if (bad >= 0) {
    throw new UserError(
      'DATASET_CLASSES_MISMATCH',
      `Image ${bad} of ${data.source} has label ${labels[bad]}, beyond the model's ${model.numClasses} classes (0..${model.numClasses - 1})`,
      `Use a dataset whose labels are 0..${model.numClasses - 1}`,
    );
  }
}

/** A range of images [start, end) or a list of image indices. */
export type ImageSelection = ArrayLike<number> | { start: number; end: number };

function selectedIndices(data: LabeledImages, selection: ImageSelection): ArrayLike<number> {
  const indices: ArrayLike<number> =
    'start' in selection
      ? Int32Array.from(
          { length: Math.max(0, selection.end - selection.start) },
          (_, i) => selection.start + i,
        )
      : selection;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] ?? -1;
    if (!Number.isInteger(index) || index < 0 || index >= data.count)
      throw new RangeError(`Image index ${index} is outside 0..${data.count - 1}`);
  }
  return indices;
}

/**
 * The model inputs for some images: float32 [n, H, W, C]. Raw pixels are
 * first zero-padded from `pre.sourceShape` to `inputShape`, centred (an odd
 * difference puts the extra row at the bottom and the extra column at the
 * right, like tf.pad with floor/ceil splits), and then every value, padding
 * included, becomes (p/255 - mean[c]) / std[c]. Built in one typed array
 * with a lookup table, so it creates a single tensor and is safe in tf.tidy.
 */
export function toInputTensor(
  data: LabeledImages,
  indices: ImageSelection,
  pre: Preprocessing,
  inputShape: ImageShape,
): tf.Tensor4D {
  if (formatShape(data.shape) !== formatShape(pre.sourceShape)) {
    throw new UserError(
      'DATASET_SHAPE_MISMATCH',
      `The images of ${data.source} are ${formatShape(data.shape)} but the model expects ${formatShape(pre.sourceShape)} images`,
      `Use a dataset of ${formatShape(pre.sourceShape)} images, or a model made for ${formatShape(data.shape)} images`,
    );
  }
  checkFits(pre.sourceShape, inputShape, 'Recorded preprocessing for');
  const [h, w, c] = pre.sourceShape;
  const [outH, outW] = inputShape;
  const mean = perChannel(pre.mean, c, 'mean');
  const std = perChannel(pre.std, c, 'std');
  // lut[ch * 256 + p] is the model input for raw value p in channel ch.
  const lut = Float32Array.from(
    { length: c * 256 },
    (_, i) => ((i % 256) / 255 - (mean[Math.floor(i / 256)] ?? 0)) / (std[Math.floor(i / 256)] ?? 1),
  );
  const top = Math.floor((outH - h) / 2);
  const left = Math.floor((outW - w) / 2);
  const selected = selectedIndices(data, indices);
  const imageSize = h * w * c;
  const outSize = outH * outW * c;
  const out = new Float32Array(selected.length * outSize);
  // Fill everything with the normalised value of a zero pixel (the padding), then copy the images in.
  for (let i = 0; i < out.length; i++) out[i] = lut[(i % c) * 256] ?? 0;
  for (let b = 0; b < selected.length; b++) {
    const src = (selected[b] ?? 0) * imageSize;
    for (let y = 0; y < h; y++) {
      const rowIn = src + y * w * c;
      const rowOut = b * outSize + ((y + top) * outW + left) * c;
      for (let k = 0; k < w * c; k++)
        out[rowOut + k] = lut[(k % c) * 256 + (data.pixels[rowIn + k] ?? 0)] ?? 0;
    }
  }
  return tf.tensor4d(out, [selected.length, outH, outW, c], 'float32');
}

/** The labels of some images as an int32 tensor [n]. */
export function labelsTensor(data: LabeledImages, indices: ImageSelection): tf.Tensor1D {
  const selected = selectedIndices(data, indices);
  return tf.tensor1d(
    Int32Array.from(selected, (i) => data.labels[i] ?? 0),
    'int32',
  );
}

/** The labels of some images one-hot encoded as float32 [n, numClasses]. */
export function oneHotLabels(data: LabeledImages, indices: ImageSelection): tf.Tensor2D {
  return tf.tidy(
    () => tf.oneHot(labelsTensor(data, indices), data.numClasses, 1, 0, 'float32') as tf.Tensor2D,
  );
}
