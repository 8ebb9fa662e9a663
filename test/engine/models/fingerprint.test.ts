import '@tensorflow/tfjs-backend-cpu';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/engine/models/io.js';
import { tf, tfl } from '../../../src/engine/tf.js';
import {
  editModelJson,
  images,
  makeCard,
  predictValues,
  removeTempDirs,
  sequentialCnn,
  tempDir,
} from './fixtures.js';
import { guardTensorLeaks } from '../leak-guard.js';

interface FunctionalLayer {
  name: string;
  inbound_nodes: [string, number, number, object][][];
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks({ cleanup: removeTempDirs });

/** Saves `model` into a new folder and disposes it; returns the folder and saveModel's fingerprint. */
async function saved(
  model: tfl.LayersModel,
  card = makeCard(),
): Promise<{ folder: string; fingerprint: string }> {
  const folder = path.join(await tempDir(), 'model');
  const { fingerprint } = await saveModel(model, folder, card);
  model.dispose();
  return { folder, fingerprint };
}

async function fingerprintOf(folder: string): Promise<string> {
  const loaded = await loadModel(folder);
  loaded.model.dispose();
  return loaded.fingerprint;
}

/** input -> convA -> convB -> pooling -> dense, where convA and convB have the same shapes. */
function twoConvs(): tfl.LayersModel {
  const conv = (name: string, seed: number): tfl.layers.Layer =>
    tfl.layers.conv2d({
      name,
      filters: 3,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      biasInitializer: tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed }),
    });
  const input = tfl.input({ shape: [8, 8, 3], name: 'image' });
  const a = conv('conv_a', 1).apply(input) as tfl.SymbolicTensor;
  const b = conv('conv_b', 2).apply(a) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(b) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ name: 'logits', units: 4 }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits });
}

describe('model fingerprint', () => {
  it('differs for the same weights with another activation, and is stable when loaded again', async () => {
    const { folder, fingerprint } = await saved(sequentialCnn());
    const weightsBefore = await readFile(path.join(folder, 'weights.bin'));
    await editModelJson(folder, (json) => {
      const layers = (json['modelTopology'] as { config: { layers: { config: { activation: string } }[] } })
        .config.layers;
      expect(layers[0]!.config.activation).toBe('relu');
      layers[0]!.config.activation = 'tanh';
    });
    expect(await readFile(path.join(folder, 'weights.bin'))).toEqual(weightsBefore);
    const rewired = await fingerprintOf(folder);
    expect(rewired).toMatch(/^[0-9a-f]{64}$/);
    expect(rewired).not.toBe(fingerprint);
    expect(await fingerprintOf(folder)).toBe(rewired);
  });

  it('differs for the same layers and weights connected in another order', async () => {
    const { folder, fingerprint } = await saved(twoConvs(), makeCard([8, 8, 3], 4));
    const x = images([8, 8, 3]);
    const before = await loadModel(folder);
    // image -> conv_b -> conv_a -> pool instead of image -> conv_a -> conv_b -> pool.
    await editModelJson(folder, (json) => {
      const layers = (json['modelTopology'] as { config: { layers: FunctionalLayer[] } }).config.layers;
      const byName = new Map(layers.map((layer) => [layer.name, layer]));
      byName.get('conv_b')!.inbound_nodes[0]![0]![0] = 'image';
      byName.get('conv_a')!.inbound_nodes[0]![0]![0] = 'conv_b';
      byName.get('pool')!.inbound_nodes[0]![0]![0] = 'conv_a';
    });
    const after = await loadModel(folder);
    // The edit changed what the model computes, not its weights.
    expect(Array.from(predictValues(after.model, x))).not.toEqual(Array.from(predictValues(before.model, x)));
    expect(before.fingerprint).toBe(fingerprint);
    expect(after.fingerprint).not.toBe(fingerprint);
    for (const m of [before.model, after.model]) m.dispose();
    x.dispose();
  });

  it('is the same for the same network built twice, whose layers tfjs numbers differently', async () => {
    const first = sequentialCnn();
    const second = sequentialCnn();
    expect(second.layers[0]!.name).not.toBe(first.layers[0]!.name);
    const a = await saved(first);
    const b = await saved(second);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(await fingerprintOf(b.folder)).toBe(a.fingerprint);
  });
});
