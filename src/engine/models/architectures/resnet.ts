import { tfl } from '../../tf.js';
import type { ArchitectureSpec } from './common.js';
import { applyLayer, logitsLayer, requireMinimumSize, SeededInitializers } from './common.js';

/** BasicBlocks per stage; the four stages have 64, 128, 256 and 512 channels. */
export type ResNetDepths = [number, number, number, number];

/** ResNet-18: 2 BasicBlocks per stage. */
export const RESNET18: ResNetDepths = [2, 2, 2, 2];
/** ResNet-34: 3, 4, 6, 3 BasicBlocks per stage. */
export const RESNET34: ResNetDepths = [3, 4, 6, 3];

const STAGE_CHANNELS = [64, 128, 256, 512] as const;

/**
 * Every convolution is 'same' padded, so any size works; below 8x8 the last
 * stage would run on 1x1 maps, which only makes sense for toy inputs.
 */
export const RESNET_MIN_SIZE = 8;

/** Momentum and epsilon of PyTorch's BatchNorm2d, which the CIFAR ResNet recipes were tuned with. */
const BN = { momentum: 0.9, epsilon: 1e-5 } as const;

/**
 * Builds the CIFAR variant of ResNet (He et al. 2016) used across the
 * data-free distillation literature (DAFL, DeepInversion, CMI, the
 * kuangliu/pytorch-cifar models): a 3x3 stride-1 stem with 64 channels and
 * no max-pool (32x32 images are too small for ImageNet's 7x7/2 stem and
 * pool), four stages of BasicBlocks, global average pooling, logits.
 *
 * Each BasicBlock is conv3x3-BN-ReLU-conv3x3-BN plus the shortcut, then ReLU.
 * The first block of stages 2-4 halves the size with stride 2, and its
 * shortcut is a 1x1 stride-2 convolution with BN (projection, "option B");
 * other shortcuts are identities. Convolutions have no bias since a BN
 * follows each. With 10 classes this has 11,173,962 (ResNet-18) and
 * 21,282,122 (ResNet-34) trainable parameters, as in the PyTorch models.
 *
 * Layer names: conv1/bn1/relu1 (stem), stage{s}_block{b}_{conv1,bn1,relu1,
 * conv2,bn2,shortcut_conv,shortcut_bn,add,out}, avgpool, logits.
 */
export function buildResNet(spec: ArchitectureSpec, depths: ResNetDepths): tfl.LayersModel {
  requireMinimumSize(spec, RESNET_MIN_SIZE);
  const init = new SeededInitializers(spec.seed);
  const conv = (name: string, filters: number, kernelSize: number, strides: number) =>
    tfl.layers.conv2d({
      name,
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: init.kernel(),
    });
  const norm = (name: string) => tfl.layers.batchNormalization({ name, ...BN });
  const relu = (name: string) => tfl.layers.activation({ name, activation: 'relu' });

  const input = tfl.input({ shape: spec.inputShape, name: 'input' });
  let x = applyLayer(conv('conv1', STAGE_CHANNELS[0], 3, 1), input);
  x = applyLayer(relu('relu1'), applyLayer(norm('bn1'), x));
  let channels: number = STAGE_CHANNELS[0];

  depths.forEach((blocks, s) => {
    const filters = STAGE_CHANNELS[s] ?? STAGE_CHANNELS[3];
    for (let b = 0; b < blocks; b++) {
      const p = `stage${s + 1}_block${b + 1}_`;
      const strides = b === 0 && s > 0 ? 2 : 1;
      let y = applyLayer(conv(`${p}conv1`, filters, 3, strides), x);
      y = applyLayer(relu(`${p}relu1`), applyLayer(norm(`${p}bn1`), y));
      y = applyLayer(norm(`${p}bn2`), applyLayer(conv(`${p}conv2`, filters, 3, 1), y));
      const needsProjection = strides !== 1 || channels !== filters;
      const shortcut = needsProjection
        ? applyLayer(norm(`${p}shortcut_bn`), applyLayer(conv(`${p}shortcut_conv`, filters, 1, strides), x))
        : x;
      x = applyLayer(relu(`${p}out`), applyLayer(tfl.layers.add({ name: `${p}add` }), [y, shortcut]));
      channels = filters;
    }
  });

  x = applyLayer(tfl.layers.globalAveragePooling2d({ name: 'avgpool' }), x);
  const logits = applyLayer(logitsLayer(spec.numClasses, init), x);
  return tfl.model({ inputs: input, outputs: logits, name: spec.name });
}
