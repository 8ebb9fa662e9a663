import { tfl } from '../../tf.js';
import type { ArchitectureSpec } from './common.js';
import { applyLayer, logitsLayer, requireMinimumSize, SeededInitializers } from './common.js';

/** Filters of the five convolutions and units of the two hidden dense layers. */
export interface AlexNetWidths {
  conv: [number, number, number, number, number];
  dense: [number, number];
}

/** The ZSKD CIFAR-10 teacher (Nayak et al. 2019, model_alex_full.py). */
export const ALEXNET: AlexNetWidths = { conv: [48, 128, 192, 192, 128], dense: [512, 256] };
/** The ZSKD student: half the filters and hidden units (model_alex_half.py). */
export const ALEXNET_HALF: AlexNetWidths = { conv: [24, 64, 96, 96, 64], dense: [256, 128] };

/**
 * Three 3x3/2 valid max-pools (out = floor((in - 3) / 2) + 1) need 15 pixels
 * to leave a 1x1 map: 15 -> 7 -> 3 -> 1. The convolutions are 'same'.
 */
export const ALEXNET_MIN_SIZE = 15;

const KERNELS = [5, 5, 3, 3, 3] as const;
/** The convolutions followed by a max-pool (1-based), as in ZSKD. */
const POOLED = new Set([1, 2, 5]);

/**
 * Builds the small AlexNet that ZSKD uses for 32x32 colour images, following
 * the authors' TensorFlow code layer by layer:
 *
 *   conv1 5x5 relu, pool 3/2, BN; conv2 5x5 relu, pool 3/2, BN;
 *   conv3 3x3 relu, BN; conv4 3x3 relu, BN; conv5 3x3 relu, pool 3/2, BN;
 *   flatten (3x3x128 at 32x32); dense 512 relu, BN; dense 256 relu, BN; logits.
 *
 * Choices where we differ from that code, and why:
 * - No local response normalisation after conv1 and conv2: tfjs-layers has no
 *   LRN layer (a custom one would make saved models unreadable by other
 *   tools), and the batch normalisation that follows each block already
 *   normalises the activations, which is why later work dropped LRN.
 * - No dropout (rate 0.5 after each hidden dense layer in ZSKD): tfjs dropout
 *   either draws from Math.random (unreproducible runs) or, given a seed,
 *   repeats the same mask every step. Batch normalisation and the trainer's
 *   augmentation regularise instead. Dropout is an identity at inference, so
 *   parameter counts and FLOPs are unaffected.
 * - Biases start at 0 (ZSKD sets 1.0 on conv2/4/5, an original-AlexNet trick
 *   to keep ReLUs alive), and kernels use Glorot uniform instead of
 *   N(0, 0.01): with batch normalisation neither matters much, and Glorot is
 *   the tfjs default that trains from scratch without tuning.
 */
export function buildAlexNet(spec: ArchitectureSpec, widths: AlexNetWidths): tfl.LayersModel {
  requireMinimumSize(spec, ALEXNET_MIN_SIZE);
  const init = new SeededInitializers(spec.seed);
  const input = tfl.input({ shape: spec.inputShape, name: 'input' });
  let x = input;
  let pools = 0;
  let norms = 0;
  widths.conv.forEach((filters, i) => {
    const n = i + 1;
    const conv = tfl.layers.conv2d({
      name: `conv${n}`,
      filters,
      kernelSize: KERNELS[i] ?? 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init.kernel(),
    });
    x = applyLayer(conv, x);
    if (POOLED.has(n)) {
      x = applyLayer(
        tfl.layers.maxPooling2d({ name: `pool${++pools}`, poolSize: 3, strides: 2, padding: 'valid' }),
        x,
      );
    }
    x = applyLayer(tfl.layers.batchNormalization({ name: `bn${++norms}` }), x);
  });
  x = applyLayer(tfl.layers.flatten({ name: 'flatten' }), x);
  widths.dense.forEach((units, i) => {
    const dense = tfl.layers.dense({
      name: `dense_${i + 1}`,
      units,
      activation: 'relu',
      kernelInitializer: init.kernel(),
    });
    x = applyLayer(dense, x);
    x = applyLayer(tfl.layers.batchNormalization({ name: `bn${++norms}` }), x);
  });
  const logits = applyLayer(logitsLayer(spec.numClasses, init), x);
  return tfl.model({ inputs: input, outputs: logits, name: spec.name });
}
