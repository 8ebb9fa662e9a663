import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/shared/errors.js';
import { buildPreset, getPreset, listPresets, PRESETS } from '../../../src/engine/models/presets.js';
import { LOGITS_LAYER } from '../../../src/engine/models/architectures/common.js';
import { modelStats } from '../../../src/engine/models/stats.js';
import { tf, tfl } from '../../../src/engine/tf.js';
import { guardTensorLeaks } from '../leak-guard.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks();

/** Builds, runs `check`, and always disposes, so a failing assertion does not leak into the memory check. */
function withPreset(
  name: string,
  options: { numClasses?: number; seed?: number; inputShape?: [number, number, number] },
  check: (model: tfl.LayersModel) => void,
): void {
  const model = buildPreset(name, { seed: 1, ...options });
  try {
    check(model);
  } finally {
    model.dispose();
  }
}

/** Shape of the model's output on a random batch of the given shape. */
function outputShape(model: tfl.LayersModel, inputShape: number[]): number[] {
  return tf.tidy(() => {
    const y = model.predict(tf.randomUniform(inputShape, 0, 1, 'float32', 7));
    if (!(y instanceof tf.Tensor)) throw new Error('expected one output tensor');
    return y.shape;
  });
}

function expectUserError(fn: () => unknown, code: string): UserError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    const userError = error as UserError;
    expect(userError.code).toBe(code);
    return userError;
  }
  throw new Error(`expected a UserError ${code}`);
}

// Hand counts from the layer sizes: a conv has k*k*cin*cout weights + cout
// biases, a dense layer in*out + out, a batch norm 4 per channel (gamma,
// beta, moving mean, moving variance; the last two not trainable).
const conv = (k: number, cin: number, cout: number, bias = true) => k * k * cin * cout + (bias ? cout : 0);
const dense = (units: number, input: number) => input * units + units;

const SMALL = ['lenet5', 'lenet5-half', 'alexnet', 'alexnet-half'];

describe('architecture presets', () => {
  it('lists the six presets in a fixed order, each with a one-line description', () => {
    expect(listPresets().map((p) => p.name)).toEqual([
      'lenet5',
      'lenet5-half',
      'alexnet',
      'alexnet-half',
      'resnet18',
      'resnet34',
    ]);
    for (const preset of PRESETS.values()) {
      expect(preset.description).toMatch(/^\S.{10,120}$/);
      expect(preset.defaultClasses).toBe(10);
    }
  });

  it.each(listPresets().map((p) => p.name))('%s outputs logits of shape [batch, classes]', (name) => {
    const preset = getPreset(name);
    // ResNets get one image: a 32x32 forward pass of ResNet-34 is over 1 GMAC on the cpu backend.
    const batch = name.startsWith('resnet') ? 1 : 2;
    withPreset(name, {}, (model) => {
      expect(model.name).toBe(name);
      expect(model.inputs[0]?.shape).toEqual([null, ...preset.inputShape]);
      const last = model.layers.at(-1);
      expect(last?.name).toBe(LOGITS_LAYER);
      expect(last?.getClassName()).toBe('Dense');
      expect(last?.getConfig().activation).toBe('linear');
      // Distillation splits the teacher at the input of the logits layer: it must be a plain feature vector.
      const features = model.getLayer(LOGITS_LAYER).input;
      expect(features).toBeInstanceOf(tfl.SymbolicTensor);
      expect(features instanceof tfl.SymbolicTensor && features.shape.length).toBe(2);
      expect(outputShape(model, [batch, ...preset.inputShape])).toEqual([batch, 10]);
    });
  });

  it('lenet5 has 61,706 parameters with 10 classes', () => {
    const byHand = conv(5, 1, 6) + conv(5, 6, 16) + dense(120, 5 * 5 * 16) + dense(84, 120) + dense(10, 84);
    expect(byHand).toBe(61_706);
    withPreset('lenet5', {}, (model) => {
      expect(model.countParams()).toBe(byHand);
      expect(modelStats(model).trainableParameters).toBe(byHand);
    });
  });

  it('lenet5-half has 3, 8, 60, 42 units and the matching parameter count', () => {
    const byHand = conv(5, 1, 3) + conv(5, 3, 8) + dense(60, 5 * 5 * 8) + dense(42, 60) + dense(10, 42);
    expect(byHand).toBe(15_738);
    withPreset('lenet5-half', {}, (model) => expect(model.countParams()).toBe(byHand));
  });

  it.each([
    ['alexnet', [48, 128, 192, 192, 128], [512, 256]],
    ['alexnet-half', [24, 64, 96, 96, 64], [256, 128]],
  ] as const)('%s matches the ZSKD layer sizes', (name, f, units) => {
    const convs =
      conv(5, 3, f[0]) +
      conv(5, f[0], f[1]) +
      conv(3, f[1], f[2]) +
      conv(3, f[2], f[3]) +
      conv(3, f[3], f[4]);
    // Three 3x3/2 valid pools: 32 -> 15 -> 7 -> 3.
    const denses = dense(units[0], 3 * 3 * f[4]) + dense(units[1], units[0]) + dense(10, units[1]);
    const bnChannels = [...f, ...units].reduce((a, b) => a + b, 0);
    withPreset(name, {}, (model) => {
      const stats = modelStats(model);
      expect(stats.parameters).toBe(convs + denses + 4 * bnChannels);
      expect(stats.trainableParameters).toBe(convs + denses + 2 * bnChannels);
    });
  });

  it.each([
    ['resnet18', 11_173_962, [2, 2, 2, 2]],
    ['resnet34', 21_282_122, [3, 4, 6, 3]],
  ] as const)('%s (CIFAR) has %i trainable parameters, as the PyTorch model', (name, published, depths) => {
    // By hand: stem, then per block two 3x3 convs + 2 BNs, a 1x1 projection + BN at stages 2-4.
    const channels = [64, 128, 256, 512];
    let trainable = conv(3, 3, 64, false) + 2 * 64;
    let bnChannels = 64;
    depths.forEach((blocks, s) => {
      const c = channels[s] ?? 0;
      const cin = s === 0 ? 64 : (channels[s - 1] ?? 0);
      for (let b = 0; b < blocks; b++) {
        trainable += conv(3, b === 0 ? cin : c, c, false) + conv(3, c, c, false) + 4 * c;
        bnChannels += 2 * c;
        if (b === 0 && s > 0) {
          trainable += conv(1, cin, c, false) + 2 * c;
          bnChannels += c;
        }
      }
    });
    trainable += dense(10, 512);
    expect(trainable).toBe(published);
    withPreset(name, {}, (model) => {
      const stats = modelStats(model);
      expect(stats.trainableParameters).toBe(published);
      expect(stats.parameters).toBe(published + 2 * bnChannels);
    });
  });

  it('names every layer deterministically, the same in every build', () => {
    for (const name of [...SMALL, 'resnet18']) {
      const names: string[][] = [];
      for (let i = 0; i < 2; i++)
        withPreset(name, { seed: i }, (model) => names.push(model.layers.map((l) => l.name)));
      expect(names[0]).toEqual(names[1]);
      // tfjs's automatic names look like "conv2d_Conv2D3"; none may appear.
      expect(names[0]?.filter((n) => /[A-Z]/.test(n))).toEqual([]);
    }
    withPreset('resnet18', {}, (model) => {
      for (const layer of ['conv1', 'bn1', 'stage2_block1_shortcut_conv', 'stage4_block2_add', 'avgpool']) {
        expect(model.getLayer(layer).name).toBe(layer);
      }
    });
  });

  it('gives identical weights for the same seed and different weights for another seed', () => {
    const weightsOf = (name: string, seed: number): Float32Array[] => {
      let values: Float32Array[] = [];
      withPreset(name, { seed }, (model) => {
        values = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
      });
      return values;
    };
    for (const name of ['lenet5', 'alexnet-half']) {
      const a = weightsOf(name, 42);
      const b = weightsOf(name, 42);
      const c = weightsOf(name, 43);
      expect(a.length).toBeGreaterThan(0);
      a.forEach((w, i) => expect(w).toEqual(b[i]));
      // Every kernel differs with another seed (biases and BN parameters start at constants).
      const kernelsDiffer = a.map((w, i) => w.some((v, j) => v !== c[i]?.[j]));
      expect(kernelsDiffer.filter(Boolean).length).toBe(
        name === 'lenet5' ? 5 : 8, // kernels: lenet5 2 conv + 3 dense; alexnet 5 conv + 3 dense
      );
    }
  });

  it('an unknown name is a UserError listing the valid presets', () => {
    const error = expectUserError(() => getPreset('resnet50'), 'PRESET_UNKNOWN');
    for (const name of PRESETS.keys()) expect(error.message).toContain(name);
    expectUserError(() => buildPreset('LeNet5', { seed: 1 }), 'PRESET_UNKNOWN');
  });

  it('numClasses changes only the logits layer', () => {
    withPreset('lenet5', { numClasses: 3 }, (model) => {
      const logits = model.getLayer(LOGITS_LAYER);
      expect(logits.getConfig().units).toBe(3);
      expect(model.outputs[0]?.shape).toEqual([null, 3]);
      expect(model.countParams()).toBe(61_706 - dense(10, 84) + dense(3, 84));
    });
    withPreset('resnet18', { numClasses: 100 }, (model) =>
      expect(model.outputs[0]?.shape).toEqual([null, 100]),
    );
  });

  it('takes another input shape when asked, and refuses one too small', () => {
    // 28x28 leaves 4x4x16 maps: only the first dense layer shrinks (400 -> 256 inputs).
    withPreset('lenet5', { inputShape: [28, 28, 1] }, (model) => {
      expect(model.countParams()).toBe(61_706 - dense(120, 400) + dense(120, 256));
      expect(outputShape(model, [1, 28, 28, 1])).toEqual([1, 10]);
    });
    withPreset('alexnet-half', { inputShape: [15, 15, 1] }, (model) =>
      expect(model.outputs[0]?.shape).toEqual([null, 10]),
    );
    expectUserError(
      () => buildPreset('lenet5', { seed: 1, inputShape: [12, 12, 1] }),
      'PRESET_INPUT_TOO_SMALL',
    );
    expectUserError(
      () => buildPreset('alexnet', { seed: 1, inputShape: [14, 32, 3] }),
      'PRESET_INPUT_TOO_SMALL',
    );
    expectUserError(
      () => buildPreset('lenet5', { seed: 1, inputShape: [32, 32, 0] }),
      'PRESET_INPUT_INVALID',
    );
    expectUserError(() => buildPreset('lenet5', { seed: 1, numClasses: 1 }), 'PRESET_CLASSES_INVALID');
    expectUserError(() => buildPreset('lenet5', { seed: 1, numClasses: 2.5 }), 'PRESET_CLASSES_INVALID');
  });
});
