import '@tensorflow/tfjs-backend-cpu';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/engine/models/io.js';
import { tf, tfl } from '../../../src/engine/tf.js';
import {
  editModelJson,
  expectUserError,
  functionalCnn,
  images,
  makeCard,
  predictValues,
  removeTempDirs,
  sequentialCnn,
  tempDir,
} from './fixtures.js';
import { guardTensorLeaks } from '../leak-guard.js';

/** The functional layer list of a model.json as tfjs writes it. */
interface FunctionalLayer {
  name: string;
  class_name: string;
  config: { name: string };
  inbound_nodes: [string, number, number, object][][];
}
interface FunctionalConfig {
  layers: FunctionalLayer[];
  input_layers: [string, number, number][];
  output_layers: [string, number, number][];
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

guardTensorLeaks({ cleanup: removeTempDirs });

async function saved(model: tfl.LayersModel, card = makeCard([8, 8, 3], 4)): Promise<string> {
  const folder = path.join(await tempDir(), 'model');
  await saveModel(model, folder, card);
  model.dispose();
  return folder;
}

/** Saves functionalCnn (input -> conv -> pooling -> dense) and edits its layer config. */
async function editedFunctional(edit: (config: FunctionalConfig) => void): Promise<string> {
  const folder = await saved(functionalCnn());
  await editModelJson(folder, (json) => edit((json['modelTopology'] as { config: FunctionalConfig }).config));
  return folder;
}

function rename(layer: FunctionalLayer, name: string): void {
  layer.name = name;
  layer.config.name = name;
}

describe('loadModel checks layer names and wiring before tfjs builds the model', () => {
  it('refuses two layers of a Sequential model with one name, naming it', async () => {
    const folder = await saved(sequentialCnn(), makeCard());
    let duplicate = '';
    await editModelJson(folder, (json) => {
      const layers = (json['modelTopology'] as { config: { layers: { config: { name: string } }[] } }).config
        .layers;
      duplicate = layers[0]!.config.name;
      layers[2]!.config.name = duplicate;
    });
    const error = await expectUserError(() => loadModel(folder), 'MODEL_LAYER_NAME_DUPLICATE');
    expect(error.message).toContain(`layers 1 and 3 of the model are both named "${duplicate}"`);
    expect(error.fix).toMatch(/unique name/);
  });

  it('refuses a functional model whose layer has the input layer name, naming it', async () => {
    // tfjs itself answered "Cannot pass any input to an InputLayer's apply() method".
    let duplicate = '';
    const folder = await editedFunctional((config) => {
      const [input, conv, pooling] = config.layers;
      duplicate = input!.name;
      rename(conv!, duplicate);
      pooling!.inbound_nodes[0]![0]![0] = duplicate;
      config.layers.splice(0, 2, conv!, input!);
    });
    const error = await expectUserError(() => loadModel(folder), 'MODEL_LAYER_NAME_DUPLICATE');
    expect(error.message).toContain(`layers 1 and 2 of the model are both named "${duplicate}"`);
  });

  it('names a missing output layer', async () => {
    // tfjs asserts with an empty message: "cannot build: ."
    const folder = await editedFunctional((config) => (config.output_layers[0]![0] = 'logits_gone'));
    const error = await expectUserError(() => loadModel(folder), 'MODEL_OUTPUT_LAYER_MISSING');
    expect(error.message).toContain('the output layer "logits_gone" of the model is not one of its layers');
  });

  it('names a missing input layer', async () => {
    const folder = await editedFunctional((config) => (config.input_layers[0]![0] = 'pixels'));
    const error = await expectUserError(() => loadModel(folder), 'MODEL_INPUT_LAYER_MISSING');
    expect(error.message).toContain('"pixels"');
  });

  it('refuses a layer fed by a layer that does not exist (tfjs loops forever on it)', async () => {
    let conv = '';
    const folder = await editedFunctional((config) => {
      conv = config.layers[1]!.name;
      config.layers[2]!.inbound_nodes[0]![0]![0] = 'conv_gone';
    });
    const error = await expectUserError(() => loadModel(folder), 'MODEL_WIRING_INVALID');
    expect(error.message).toContain('takes its input from a layer "conv_gone"');
    expect(error.message).toContain(`"${conv}"`);
  });

  it('refuses layers connected in a loop (tfjs loops forever on it)', async () => {
    let dense = '';
    const folder = await editedFunctional((config) => {
      dense = config.layers[3]!.name;
      config.layers[1]!.inbound_nodes[0]![0]![0] = dense;
    });
    const error = await expectUserError(() => loadModel(folder), 'MODEL_WIRING_INVALID');
    expect(error.message).toMatch(/connected in a loop/);
  });

  it('still loads a model with a nested Sequential model', async () => {
    const head = tfl.sequential({
      name: 'head',
      layers: [
        tfl.layers.dense({
          inputShape: [3],
          units: 4,
          name: 'dense',
          kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }),
        }),
      ],
    });
    const input = tfl.input({ shape: [8, 8, 3], name: 'image' });
    const conv = tfl.layers
      .conv2d({ filters: 3, kernelSize: 3, name: 'conv', kernelInitializer: tfl.initializers.ones() })
      .apply(input) as tfl.SymbolicTensor;
    const pooled = tfl.layers
      .globalAveragePooling2d({ name: 'dense_pool' })
      .apply(conv) as tfl.SymbolicTensor;
    const out = head.apply(pooled) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const x = images([8, 8, 3]);
    const expected = predictValues(model, x);
    const loaded = await loadModel(await saved(model));
    expect(Array.from(predictValues(loaded.model, x))).toEqual(Array.from(expected));
    loaded.model.dispose();
    x.dispose();
  });
});
