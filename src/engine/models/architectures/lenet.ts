import { tfl } from '../../tf.js';
import type { ArchitectureSpec } from './common.js';
import { applyLayer, logitsLayer, requireMinimumSize, SeededInitializers } from './common.js';

/** Filters of the two convolutions and units of the two hidden dense layers. */
export interface LeNetWidths {
  conv: [number, number];
  dense: [number, number];
}

/** LeNet-5 as in LeCun et al. 1998 and the data-free KD papers (DAFL, ZSKD). */
export const LENET5: LeNetWidths = { conv: [6, 16], dense: [120, 84] };
/** LeNet-5-half: the usual student of LeNet-5 (DAFL, ZSKD): half of every width. */
export const LENET5_HALF: LeNetWidths = { conv: [3, 8], dense: [60, 42] };

/**
 * Two valid 5x5 convolutions each followed by a 2x2 max-pool need 16 pixels
 * to leave a 1x1 map: 16 -> 12 -> 6 -> 2 -> 1.
 */
export const LENET_MIN_SIZE = 16;

/**
 * Builds LeNet-5: conv 5x5 relu, maxpool 2, conv 5x5 relu, maxpool 2,
 * flatten, dense relu, dense relu, dense logits.
 *
 * The designed input is 32x32 (MNIST's 28x28 digits padded by 2, as in the
 * paper), where the second pool leaves 5x5 maps. Other sizes work too: a
 * 28x28 input leaves 4x4 maps, so only the first dense layer changes size
 * (400 -> 256 inputs for LeNet-5). The 120-unit layer is a dense layer on the
 * flattened maps, which equals the paper's "conv 120@5x5" only at 32x32, and
 * keeps working at other sizes.
 */
export function buildLeNet(spec: ArchitectureSpec, widths: LeNetWidths): tfl.LayersModel {
  requireMinimumSize(spec, LENET_MIN_SIZE);
  const init = new SeededInitializers(spec.seed);
  const input = tfl.input({ shape: spec.inputShape, name: 'input' });
  let x = input;
  widths.conv.forEach((filters, i) => {
    const n = i + 1;
    const conv = tfl.layers.conv2d({
      name: `conv${n}`,
      filters,
      kernelSize: 5,
      padding: 'valid',
      activation: 'relu',
      kernelInitializer: init.kernel(),
    });
    x = applyLayer(conv, x);
    x = applyLayer(tfl.layers.maxPooling2d({ name: `pool${n}`, poolSize: 2, strides: 2 }), x);
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
  });
  const logits = applyLayer(logitsLayer(spec.numClasses, init), x);
  return tfl.model({ inputs: input, outputs: logits, name: spec.name });
}
