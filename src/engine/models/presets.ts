import { UserError } from '../../shared/errors.js';
import type { tfl } from '../tf.js';
import { ALEXNET, ALEXNET_HALF, buildAlexNet } from './architectures/alexnet.js';
import type { ArchitectureSpec } from './architectures/common.js';
import { buildLeNet, LENET5, LENET5_HALF } from './architectures/lenet.js';
import { buildResNet, RESNET18, RESNET34 } from './architectures/resnet.js';

/** How a preset is built: the class count and seed are the caller's, the input shape optional. */
export interface PresetBuildOptions {
  /** Length of the logits output (at least 2). */
  numClasses: number;
  /** Seeds every kernel initializer: the same seed gives identical weights. */
  seed: number;
  /**
   * Height, width, channels of one input; defaults to the preset's own.
   * Convolutional parts adapt (e.g. lenet5 at 28x28x1 leaves 4x4 maps and a
   * smaller first dense layer); sizes too small for a family's poolings are
   * refused with a UserError giving the minimum.
   */
  inputShape?: [number, number, number];
}

/**
 * A named architecture a teacher or student can be built from (timm-style
 * registry). Every preset outputs logits (no softmax) from a last Dense
 * layer named LOGITS_LAYER ('logits'), whose input is the penultimate
 * feature vector distillation can split at; every layer has a fixed name.
 */
export interface ArchitecturePreset {
  /** The name users type, e.g. "resnet18". */
  name: string;
  /** One line in the user's words: what it is and where it comes from. */
  description: string;
  /** Height, width, channels the architecture was designed for. */
  inputShape: [number, number, number];
  /** Classes of the dataset it is usually used with (10 for all current presets). */
  defaultClasses: number;
  /** Builds a fresh, untrained model; the caller owns it and must dispose it. */
  build(options: PresetBuildOptions): tfl.LayersModel;
}

type Family = (spec: ArchitectureSpec) => tfl.LayersModel;

/** Wraps a family builder with the checks every preset shares, so each builder can trust its spec. */
function preset(
  name: string,
  description: string,
  inputShape: [number, number, number],
  family: Family,
): ArchitecturePreset {
  return {
    name,
    description,
    inputShape,
    defaultClasses: 10,
    build(options) {
      const shape = options.inputShape ?? inputShape;
      checkShape(name, shape);
      checkClasses(name, options.numClasses);
      return family({
        name,
        inputShape: [shape[0], shape[1], shape[2]],
        numClasses: options.numClasses,
        seed: options.seed,
      });
    },
  };
}

function checkShape(name: string, shape: readonly number[]): void {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UserError(
      'PRESET_INPUT_INVALID',
      `${name} needs an input shape of three positive whole numbers (height, width, channels), not [${shape.join(', ')}]`,
      'Give the input shape as height x width x channels, e.g. 32x32x3',
    );
  }
}

function checkClasses(name: string, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new UserError(
      'PRESET_CLASSES_INVALID',
      `${name} needs at least 2 classes, as a whole number, but was asked for ${numClasses}`,
      'Give the number of classes of your dataset (2 or more)',
    );
  }
}

const ALL: readonly ArchitecturePreset[] = [
  preset(
    'lenet5',
    'LeNet-5 for 32x32 grayscale digits (LeCun et al. 1998): the classic small teacher',
    [32, 32, 1],
    (s) => buildLeNet(s, LENET5),
  ),
  preset(
    'lenet5-half',
    'LeNet-5 with half the filters and units (3, 8, 60, 42): the student of lenet5',
    [32, 32, 1],
    (s) => buildLeNet(s, LENET5_HALF),
  ),
  preset(
    'alexnet',
    'AlexNet for 32x32 colour images with batch norm, as in ZSKD (Nayak et al. 2019)',
    [32, 32, 3],
    (s) => buildAlexNet(s, ALEXNET),
  ),
  preset(
    'alexnet-half',
    'AlexNet with half the filters and hidden units: the ZSKD student of alexnet',
    [32, 32, 3],
    (s) => buildAlexNet(s, ALEXNET_HALF),
  ),
  preset(
    'resnet18',
    'ResNet-18, CIFAR variant (3x3 stem, no max-pool): the usual student of resnet34',
    [32, 32, 3],
    (s) => buildResNet(s, RESNET18),
  ),
  preset(
    'resnet34',
    'ResNet-34, CIFAR variant: the usual large teacher in data-free distillation papers',
    [32, 32, 3],
    (s) => buildResNet(s, RESNET34),
  ),
];

/** Every architecture preset by name, in the order they are listed to users (small to large). */
export const PRESETS: ReadonlyMap<string, ArchitecturePreset> = new Map(ALL.map((p) => [p.name, p]));

/** The preset called `name`; an unknown name is a UserError that lists the valid ones. */
export function getPreset(name: string): ArchitecturePreset {
  const found = PRESETS.get(name);
  if (!found) {
    throw new UserError(
      'PRESET_UNKNOWN',
      `There is no architecture preset "${name}"; the presets are: ${[...PRESETS.keys()].join(', ')}`,
      'Use one of the listed names (see "distill-studio presets")',
    );
  }
  return found;
}

/** All presets, small to large. */
export function listPresets(): ArchitecturePreset[] {
  return [...PRESETS.values()];
}

/**
 * Builds preset `name` with its default class count unless `numClasses` is
 * given. The caller owns the returned model and must dispose it.
 */
export function buildPreset(
  name: string,
  options: { numClasses?: number; seed: number; inputShape?: [number, number, number] },
): tfl.LayersModel {
  const found = getPreset(name);
  return found.build({
    numClasses: options.numClasses ?? found.defaultClasses,
    seed: options.seed,
    ...(options.inputShape ? { inputShape: options.inputShape } : {}),
  });
}
