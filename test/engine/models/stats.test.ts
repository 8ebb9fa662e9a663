import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPreset } from '../../../src/engine/models/presets.js';
import { modelStats } from '../../../src/engine/models/stats.js';
import { tf, tfl } from '../../../src/engine/tf.js';
import { guardTensorLeaks } from '../leak-guard.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks();

/** Runs `check` on `model` and always disposes it. */
function using<T extends tfl.LayersModel>(model: T, check: (model: T) => void): void {
  try {
    check(model);
  } finally {
    model.dispose();
  }
}

/** Layer.apply is typed for eager tensors too; in a graph it returns one SymbolicTensor. */
function symbolic(output: unknown): tfl.SymbolicTensor {
  if (!(output instanceof tfl.SymbolicTensor)) throw new Error('expected a symbolic tensor');
  return output;
}

const macsOf = (model: tfl.LayersModel, layer: string): number | undefined =>
  modelStats(model).layers.find((l) => l.name === layer)?.macs;

describe('modelStats', () => {
  it('counts LeNet-5 as computed by hand', () => {
    // Conv: kh*kw*cin*cout*Hout*Wout; dense: in*out; fused relu, batch norm,
    // pool comparisons: one per output element (pool: per window element).
    const conv1 = 5 * 5 * 1 * 6 * 28 * 28 + 28 * 28 * 6;
    const pool1 = 2 * 2 * 14 * 14 * 6;
    const conv2 = 5 * 5 * 6 * 16 * 10 * 10 + 10 * 10 * 16;
    const pool2 = 2 * 2 * 5 * 5 * 16;
    const dense1 = 400 * 120 + 120;
    const dense2 = 120 * 84 + 84;
    const logits = 84 * 10;
    const macs = conv1 + pool1 + conv2 + pool2 + dense1 + dense2 + logits;
    expect(macs).toBe(429_332);
    using(buildPreset('lenet5', { seed: 1 }), (model) => {
      const stats = modelStats(model);
      expect(stats.macsPerImage).toBe(macs);
      expect(stats.flopsPerImage).toBe(2 * macs);
      expect(stats.parameters).toBe(61_706);
      expect(stats.uncounted).toEqual([]);
      expect(stats.layers.map((l) => [l.name, l.className, l.outputShape, l.parameters, l.macs])).toEqual([
        ['input', 'InputLayer', [32, 32, 1], 0, 0],
        ['conv1', 'Conv2D', [28, 28, 6], 156, conv1],
        ['pool1', 'MaxPooling2D', [14, 14, 6], 0, pool1],
        ['conv2', 'Conv2D', [10, 10, 16], 2416, conv2],
        ['pool2', 'MaxPooling2D', [5, 5, 16], 0, pool2],
        ['flatten', 'Flatten', [400], 0, 0],
        ['dense_1', 'Dense', [120], 48_120, dense1],
        ['dense_2', 'Dense', [84], 10_164, dense2],
        ['logits', 'Dense', [10], 850, logits],
      ]);
    });
  });

  it('counts ResNet-18 convolutions as the published 0.56 GMACs', () => {
    using(buildPreset('resnet18', { seed: 1 }), (model) => {
      const stats = modelStats(model);
      const convAndDense = stats.layers
        .filter((l) => l.className === 'Conv2D' || l.className === 'Dense')
        .reduce((sum, l) => sum + l.macs, 0);
      // By hand: each stage (s >= 2) runs at a quarter of the previous positions with twice the
      // channels, so its first conv, its three other 3x3 convs and its projection cost the same in every stage.
      const stem = 3 * 3 * 3 * 64 * 32 * 32;
      const stage1 = 4 * (3 * 3 * 64 * 64 * 32 * 32);
      const laterStage = 3 * 3 * 64 * 128 * 16 * 16 + 3 * (3 * 3 * 128 * 128 * 16 * 16) + 64 * 128 * 16 * 16;
      expect(convAndDense).toBe(stem + stage1 + 3 * laterStage + 512 * 10);
      expect(convAndDense).toBe(555_422_720);
      expect(stats.macsPerImage).toBeGreaterThan(convAndDense);
      expect(stats.macsPerImage).toBeLessThan(convAndDense * 1.005);
      // A projection shortcut: 1x1, 64 -> 128 channels at 16x16.
      expect(macsOf(model, 'stage2_block1_shortcut_conv')).toBe(64 * 128 * 16 * 16);
      expect(macsOf(model, 'stage2_block1_add')).toBe(16 * 16 * 128);
      expect(macsOf(model, 'avgpool')).toBe(4 * 4 * 512);
    });
  });

  it('counts depthwise, separable, strided and transposed convolutions and dense layers on maps', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          name: 'strided',
          inputShape: [9, 9, 2],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
        }),
        tfl.layers.depthwiseConv2d({ name: 'depthwise', kernelSize: 3, depthMultiplier: 2, padding: 'same' }),
        tfl.layers.separableConv2d({
          name: 'separable',
          filters: 5,
          kernelSize: 3,
          padding: 'valid',
          activation: 'relu',
        }),
        tfl.layers.batchNormalization({ name: 'bn' }),
        tfl.layers.conv2dTranspose({ name: 'transposed', filters: 2, kernelSize: 2, strides: 2 }),
        tfl.layers.averagePooling2d({ name: 'avg', poolSize: [2, 3] }),
        tfl.layers.dense({ name: 'per_pixel', units: 3 }),
        tfl.layers.globalMaxPooling2d({ name: 'gmp' }),
        tfl.layers.dropout({ name: 'drop', rate: 0.5 }),
        tfl.layers.softmax({ name: 'probabilities' }),
      ],
    });
    using(model, () => {
      // strided: 9x9 'same' stride 2 -> 5x5x4.
      expect(macsOf(model, 'strided')).toBe(3 * 3 * 2 * 4 * 5 * 5);
      // depthwise: 5x5x8, each output one 3x3 window of one channel.
      expect(macsOf(model, 'depthwise')).toBe(3 * 3 * 8 * 5 * 5);
      // separable valid 3x3 -> 3x3: depthwise 3*3*8 + pointwise 8*5 per position, then relu.
      expect(macsOf(model, 'separable')).toBe((3 * 3 * 8 + 8 * 5) * 3 * 3 + 3 * 3 * 5);
      expect(macsOf(model, 'bn')).toBe(3 * 3 * 5);
      // transposed: each of the 3x3 inputs scatters a 2x2x(5->2) kernel -> 6x6x2.
      expect(macsOf(model, 'transposed')).toBe(2 * 2 * 2 * 5 * 3 * 3);
      expect(macsOf(model, 'avg')).toBe(2 * 3 * 3 * 2 * 2);
      // dense on a 3x2x2 map acts per position: 6 positions x 2*3.
      expect(macsOf(model, 'per_pixel')).toBe(3 * 2 * 2 * 3);
      expect(macsOf(model, 'gmp')).toBe(3 * 2 * 3);
      expect(macsOf(model, 'drop')).toBe(0);
      expect(macsOf(model, 'probabilities')).toBe(3);
      const stats = modelStats(model);
      expect(stats.uncounted).toEqual([]);
      expect(stats.parameters).toBe(model.countParams());
      expect(stats.layers.reduce((sum, l) => sum + l.parameters, 0)).toBe(stats.parameters);
    });
  });

  it('counts a layer shared with another model only in the model that uses it', () => {
    const input = tfl.input({ shape: [4], name: 'in' });
    const shared = tfl.layers.dense({ name: 'shared', units: 3 });
    const a = tfl.model({ inputs: input, outputs: symbolic(shared.apply(input)) });
    const before = modelStats(a).macsPerImage;
    // Applying the layer in a second model adds a node to it; a's count must not change.
    // (Applied once only: tfjs disposes a shared layer's weights after one dispose per application.)
    const other = tfl.input({ shape: [4], name: 'other_in' });
    const features = symbolic(shared.apply(other));
    const doubled = symbolic(tfl.layers.add({ name: 'sum' }).apply([features, features]));
    const b = tfl.model({ inputs: other, outputs: doubled });
    expect(before).toBe(12);
    expect(modelStats(a).macsPerImage).toBe(12);
    // b: the shared dense, then one addition per output element.
    expect(modelStats(b).macsPerImage).toBe(12 + 3);
    b.dispose();
    a.dispose();
  });

  it('expands nested models and lists layers it cannot count', () => {
    const backbone = tfl.sequential({
      name: 'backbone',
      layers: [
        tfl.layers.lstm({
          name: 'lstm',
          inputShape: [5, 3],
          units: 4,
          // The default orthogonal initializer fails on the cpu backend in tfjs 4.22.
          recurrentInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
        }),
        tfl.layers.dense({ name: 'head', units: 2 }),
      ],
    });
    const input = tfl.input({ shape: [5, 3], name: 'sequence' });
    const outer = tfl.model({ inputs: input, outputs: symbolic(backbone.apply(input)), name: 'outer' });
    using(outer, () => {
      const stats = modelStats(outer);
      expect(stats.uncounted).toEqual(['backbone/lstm']);
      expect(stats.layers.find((l) => l.name === 'backbone/head')?.macs).toBe(4 * 2);
      expect(stats.macsPerImage).toBe(8);
      expect(stats.parameters).toBe(4 * (3 + 4 + 1) * 4 + 4 * 2 + 2);
    });
  });

  it('gives the same numbers for a model saved and loaded again', async () => {
    const model = buildPreset('alexnet-half', { seed: 3 });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (saved) => {
        artifacts = saved;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts) throw new Error('model was not saved');
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    const expected = modelStats(model);
    model.dispose();
    using(loaded, () => {
      expect(modelStats(loaded)).toEqual(expected);
    });
  });
});
