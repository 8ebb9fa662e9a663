import { z } from 'zod';

/**
 * The largest inputs the app accepts, so that a wrong or hostile file is
 * refused with a message before it is read into memory, not after it has
 * taken gigabytes. Image classifiers this app distills are far inside them.
 */
export const LIMITS = {
  /** model.json holds the topology and weight manifest only (weights are in .bin files). */
  modelJsonBytes: 32 * 1024 * 1024,
  /** All weight files of one model together: 128 million float32 parameters. */
  weightBytes: 512 * 1024 * 1024,
  /** One .onnx file: the weights (as above) plus room for the graph. */
  onnxFileBytes: 544 * 1024 * 1024,
  /** Nodes of one ONNX graph; image classifiers have hundreds, a few thousand at most. */
  onnxNodes: 20_000,
  /** One data file (IDX, CIFAR binary, labels), after decompression. */
  dataFileBytes: 1024 * 1024 * 1024,
  /** One decoded image of an image folder, width x height. */
  imagePixels: 4096 * 4096,
  /** Height and width of a model's input. */
  inputSide: 256,
  /** Channels of a model's input (gray, RGB, or RGBA-like). */
  inputChannels: 4,
} as const;

const side = z
  .number()
  .int()
  .min(1)
  .max(LIMITS.inputSide, `Image sides are at most ${LIMITS.inputSide} pixels`);

/** Height, width, channels of a model's input (or of one image), within LIMITS. */
export const ImageShapeSchema = z.tuple([
  side,
  side,
  z.number().int().min(1).max(LIMITS.inputChannels, `Images have at most ${LIMITS.inputChannels} channels`),
]);

export type ImageShape = z.infer<typeof ImageShapeSchema>;
