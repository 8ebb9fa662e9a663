import type { SettingField } from '../../shared/settings.js';

/**
 * Settings several methods share. Each has ONE meaning in every method that
 * declares it, so a comparison at equal settings is a fair one.
 */
export const SHARED_FIELDS = {
  batchSize: {
    kind: 'number',
    default: 200,
    min: 1,
    max: 4096,
    integer: true,
    advanced: true,
    description: 'Images optimised together in one batch (memory vs speed).',
  },
  iterations: {
    kind: 'number',
    default: 200,
    min: 1,
    max: 100_000,
    integer: true,
    description: 'Optimisation steps per image: more steps fit the targets better but take longer.',
  },
  learningRate: {
    kind: 'number',
    default: 0.05,
    min: 1e-6,
    max: 10,
    advanced: true,
    description: 'Adam step size on the pixels during synthesis.',
  },
  decay: {
    kind: 'boolean',
    default: false,
    advanced: true,
    description:
      'Lower the pixel step size along a cosine curve to 1% by the last step, so images settle instead of flickering; off in the paper.',
  },
  temperature: {
    kind: 'number',
    default: 20,
    min: 0.1,
    max: 1000,
    advanced: true,
    description:
      "Temperature tau applied to the teacher's logits when matching targets (20 in ZSKD and the paper).",
  },
  init: {
    kind: 'choice',
    default: 'uniform',
    choices: ['uniform', 'normal', 'smooth', 'mean'],
    advanced: true,
    description:
      'Starting images: uniform noise over the pixel range, standard normal noise, smooth (blurred, low-resolution) noise, or a flat image at the data mean with faint noise.',
  },
  tv: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1000,
    advanced: true,
    description: 'Weight of a smoothness prior (total variation) on the images; 0 = off, as in the paper.',
  },
  l2: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1000,
    advanced: true,
    description: 'Weight of a prior keeping pixel values near the data mean; 0 = off, as in the paper.',
  },
  jitter: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 16,
    integer: true,
    advanced: true,
    description:
      'Shift the images by up to this many pixels at random at each step, so features must not depend on exact positions; 0 = off.',
  },
  mirror: {
    kind: 'boolean',
    default: false,
    advanced: true,
    description:
      "Show the teacher each step's images mirrored left to right at random (every other step on average), so they must give its answer both ways round; only for teachers trained with mirrored images (clothing, photographs), not digits or text.",
  },
  dark: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 100_000,
    advanced: true,
    description:
      'Weight of a prior pulling every pixel toward black (the mean distance above a black pixel), so what the teacher does not need stays dark background, as in digit and clothing photographs; 0 = off.',
  },
  background: {
    kind: 'choice',
    default: 'auto',
    choices: ['auto', 'dark', 'any'],
    advanced: true,
    description:
      "Where the pull toward black (dark) applies: auto when the pixel mean the teacher's preprocessing records says its training images were mostly black (below 0.35 in every channel, as for handwritten digits and clothing photographed on black), dark always, any never.",
  },
  pixelStats: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1000,
    advanced: true,
    description:
      "Weight of a prior pulling each batch's pixel mean and spread toward those of the teacher's training data, as its preprocessing records them; only for teachers whose preprocessing normalises with such statistics, 0 = off.",
  },
  blur: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1,
    advanced: true,
    description:
      'After each pixel step, mix this fraction of a slightly blurred copy into every image, so synthesis cannot paint fine stripes; 0 = off.',
  },
  frame: {
    kind: 'boolean',
    default: false,
    advanced: true,
    description:
      "When the teacher's images are smaller than its input and padded (28x28 in 32x32), keep the padding of every synthesized image black, as in every real input, instead of letting synthesis paint it.",
  },
  coarse: {
    kind: 'number',
    default: 1,
    min: 1,
    max: 8,
    integer: true,
    advanced: true,
    description:
      'Coarse-to-fine synthesis: optimise the images at 1/coarse of the input resolution (shown to the teacher enlarged) for the first part of the steps, so they take shapes before details; 1 = off.',
  },
  coarseShare: {
    kind: 'number',
    default: 0.5,
    min: 0,
    max: 1,
    advanced: true,
    description: 'Share of the steps spent at the coarse resolution when coarse > 1 (1 = all of them).',
  },
  pyramid: {
    kind: 'number',
    default: 1,
    min: 1,
    max: 6,
    integer: true,
    advanced: true,
    description:
      'Optimise each image as a sum of this many layers, each at half the resolution of the one before, so broad shapes form faster than fine stripes; 1 = the pixels alone.',
  },
} as const satisfies Record<string, SettingField>;
