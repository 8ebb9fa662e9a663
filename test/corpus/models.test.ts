import '@tensorflow/tfjs-backend-cpu';
import { cp, mkdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../src/engine/models/io.js';
import { importTeacher } from '../../src/engine/models/teacher.js';
import { tf, tfl } from '../../src/engine/tf.js';
import {
  editModelJson,
  firstGroup,
  makeCard,
  removeTempDirs,
  sequentialCnn,
  tempDir,
} from '../engine/models/fixtures.js';
import { guardTensorLeaks } from '../engine/leak-guard.js';
import { expectRefused } from './helpers.js';

/**
 * A corpus of broken TensorFlow.js model folders (issue 11). Each case starts
 * from a small valid model, breaks one thing, and checks that importing it as
 * a teacher (importTeacher, what the app's import uses) is refused with the
 * expected code and a one-line message with a fix, without leaking tensors.
 */

type Json = Record<string, unknown>;
type Layer = { class_name: string; config: Json; name?: string; inbound_nodes?: unknown[] };

/** The valid Sequential model every case copies: [8, 8, 1] -> conv -> flatten -> dense(3). */
let template = '';
/** The same kind of model as a functional (tfl.model) graph, for wiring cases. */
let functionalTemplate = '';

/** A functional model: input -> conv(1x1) -> global pooling -> dense(classes). */
function tinyFunctional(shape: (number | null)[], classes = 3): tfl.LayersModel {
  const input = tfl.input({ shape: shape as number[] });
  const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(conv) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: classes }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** Saves `model` (then disposes it) in a new folder and returns the folder. */
async function saved(model: tfl.LayersModel): Promise<string> {
  const folder = path.join(await tempDir(), 'model');
  await saveModel(model, folder, makeCard());
  model.dispose();
  return folder;
}

/** A fresh copy of a template folder. */
async function copyOf(source: string): Promise<string> {
  const folder = path.join(await tempDir(), 'model');
  await cp(source, folder, { recursive: true });
  return folder;
}

function layersOf(json: Json): Layer[] {
  return ((json['modelTopology'] as Json)['config'] as Json)['layers'] as Layer[];
}

function configOf(json: Json): Json {
  return (json['modelTopology'] as Json)['config'] as Json;
}

/** Copies the Sequential template and edits its model.json. */
async function edited(edit: (json: Json) => void, source = template): Promise<string> {
  const folder = await copyOf(source);
  await editModelJson(folder, edit);
  return folder;
}

/** Copies the template and overwrites model.json with `text`. */
async function withJsonText(text: string): Promise<string> {
  const folder = await copyOf(template);
  await writeFile(path.join(folder, 'model.json'), text);
  return folder;
}

/** Copies the template and rewrites weights.bin through `edit`. */
async function withWeights(edit: (bytes: Buffer) => Buffer): Promise<string> {
  const folder = await copyOf(template);
  const file = path.join(folder, 'weights.bin');
  await writeFile(file, edit(await readFile(file)));
  return folder;
}

/** Weight bytes with the first float32 replaced by `value`. */
function firstFloat(value: number): (bytes: Buffer) => Buffer {
  return (bytes) => {
    const copy = Buffer.from(bytes);
    copy.writeFloatLE(value, 0);
    return copy;
  };
}

interface Case {
  name: string;
  code: string;
  /** Makes the broken folder (or path) and returns what to import. */
  make: () => Promise<string>;
}

const CASES: Case[] = [
  // The folder and model.json on disk.
  {
    name: 'folder does not exist',
    code: 'MODEL_FOLDER_MISSING',
    make: async () => path.join(await tempDir(), 'nope'),
  },
  {
    name: 'path is model.json itself, not its folder',
    code: 'MODEL_NOT_A_FOLDER',
    make: async () => path.join(await copyOf(template), 'model.json'),
  },
  {
    name: 'model.json missing',
    code: 'MODEL_JSON_MISSING',
    make: async () => {
      const folder = await copyOf(template);
      await rm(path.join(folder, 'model.json'));
      return folder;
    },
  },
  {
    name: 'model.json missing beside a SavedModel',
    code: 'MODEL_JSON_MISSING',
    make: async () => {
      const folder = path.join(await tempDir(), 'saved');
      await mkdir(folder);
      await writeFile(path.join(folder, 'saved_model.pb'), 'pb');
      return folder;
    },
  },
  {
    name: 'model.json missing beside a Keras .h5',
    code: 'MODEL_JSON_MISSING',
    make: async () => {
      const folder = path.join(await tempDir(), 'keras');
      await mkdir(folder);
      await writeFile(path.join(folder, 'model.h5'), 'h5');
      return folder;
    },
  },
  {
    name: 'model.json is a folder',
    code: 'MODEL_JSON_UNREADABLE',
    make: async () => {
      const folder = await copyOf(template);
      await rm(path.join(folder, 'model.json'));
      await mkdir(path.join(folder, 'model.json'));
      return folder;
    },
  },
  { name: 'empty model.json', code: 'MODEL_JSON_INVALID', make: () => withJsonText('') },
  {
    name: 'truncated model.json',
    code: 'MODEL_JSON_INVALID',
    make: async () => {
      const text = await readFile(path.join(template, 'model.json'), 'utf8');
      return withJsonText(text.slice(0, Math.floor(text.length / 2)));
    },
  },
  {
    name: 'model.json is not JSON',
    code: 'MODEL_JSON_INVALID',
    make: () => withJsonText('<html>not found</html>'),
  },
  {
    name: 'model.json is binary junk',
    code: 'MODEL_JSON_INVALID',
    make: () => withJsonText('\u0000\u0001\u00ff'),
  },
  {
    name: 'huge (sparse) model.json',
    code: 'MODEL_TOO_LARGE',
    make: async () => {
      const folder = await copyOf(template);
      await truncate(path.join(folder, 'model.json'), 33 * 1024 * 1024);
      return folder;
    },
  },
  { name: 'model.json is a JSON array', code: 'MODEL_NOT_LAYERS', make: () => withJsonText('[1, 2, 3]') },
  { name: 'model.json is JSON null', code: 'MODEL_NOT_LAYERS', make: () => withJsonText('null') },
  // What model.json describes.
  {
    name: 'format says graph-model',
    code: 'MODEL_GRAPH_UNSUPPORTED',
    make: () => edited((json) => (json['format'] = 'graph-model')),
  },
  {
    name: 'topology is a graph of ops',
    code: 'MODEL_GRAPH_UNSUPPORTED',
    make: () => edited((json) => (json['modelTopology'] = { node: [{ name: 'x', op: 'Placeholder' }] })),
  },
  {
    name: 'modelTopology missing',
    code: 'MODEL_NOT_LAYERS',
    make: () => edited((json) => delete json['modelTopology']),
  },
  {
    name: 'modelTopology is a string',
    code: 'MODEL_NOT_LAYERS',
    make: () => edited((json) => (json['modelTopology'] = 'Sequential')),
  },
  {
    name: 'modelTopology without class_name or model_config',
    code: 'MODEL_NOT_LAYERS',
    make: () => edited((json) => (json['modelTopology'] = { keras_version: '2.15' })),
  },
  {
    name: 'unknown layer class',
    code: 'MODEL_LAYER_UNSUPPORTED',
    make: () =>
      edited((json) => {
        const flatten = layersOf(json)[1];
        if (flatten) flatten.class_name = 'Lambda';
      }),
  },
  {
    name: 'unknown activation',
    code: 'MODEL_LAYER_UNSUPPORTED',
    make: () =>
      edited((json) => {
        const conv = layersOf(json)[0];
        if (conv) conv.config['activation'] = 'swishy';
      }),
  },
  {
    name: 'duplicate layer names',
    code: 'MODEL_LAYER_NAME_DUPLICATE',
    make: () =>
      edited((json) => {
        const [conv, flatten] = layersOf(json);
        if (conv && flatten) flatten.config['name'] = conv.config['name'];
      }),
  },
  {
    name: 'output layer not in the model',
    code: 'MODEL_OUTPUT_LAYER_MISSING',
    make: () => edited((json) => (configOf(json)['output_layers'] = [['ghost', 0, 0]]), functionalTemplate),
  },
  {
    name: 'input layer not in the model',
    code: 'MODEL_INPUT_LAYER_MISSING',
    make: () => edited((json) => (configOf(json)['input_layers'] = [['ghost', 0, 0]]), functionalTemplate),
  },
  {
    name: 'layer wired to a layer that does not exist',
    code: 'MODEL_WIRING_INVALID',
    make: () =>
      edited((json) => {
        const dense = layersOf(json).at(-1);
        if (dense) dense.inbound_nodes = [[['ghost', 0, 0, {}]]];
      }, functionalTemplate),
  },
  {
    name: 'layers wired in a loop',
    code: 'MODEL_WIRING_INVALID',
    make: () =>
      edited((json) => {
        const layers = layersOf(json);
        const conv = layers[1];
        const dense = layers.at(-1);
        if (conv && dense?.name) conv.inbound_nodes = [[[dense.name, 0, 0, {}]]];
      }, functionalTemplate),
  },
  // The weights manifest.
  {
    name: 'weightsManifest missing',
    code: 'MODEL_MANIFEST_INVALID',
    make: () => edited((json) => delete json['weightsManifest']),
  },
  {
    name: 'weightsManifest empty',
    code: 'MODEL_MANIFEST_INVALID',
    make: () => edited((json) => (json['weightsManifest'] = [])),
  },
  {
    name: 'weightsManifest is an object',
    code: 'MODEL_MANIFEST_INVALID',
    make: () => edited((json) => (json['weightsManifest'] = { paths: ['weights.bin'] })),
  },
  {
    name: 'negative weight shape',
    code: 'MODEL_MANIFEST_INVALID',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) spec.shape = [-3, 3, 1, 2];
      }),
  },
  {
    name: 'quantized weight without scale',
    code: 'MODEL_MANIFEST_INVALID',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) spec.quantization = { dtype: 'uint8' };
      }),
  },
  {
    name: 'weight file listed but missing',
    code: 'MODEL_WEIGHT_FILE_MISSING',
    make: () => edited((json) => (firstGroup(json).paths = ['group1-shard1of1.bin'])),
  },
  {
    name: 'weight file listed is a folder',
    code: 'MODEL_WEIGHT_FILE_MISSING',
    make: async () => {
      const folder = await edited((json) => (firstGroup(json).paths = ['weights.bin', 'sub']));
      await mkdir(path.join(folder, 'sub'));
      return folder;
    },
  },
  {
    name: 'weight path escapes the folder (../x.bin)',
    code: 'MODEL_WEIGHT_PATH_UNSAFE',
    make: () => edited((json) => (firstGroup(json).paths = ['../weights.bin'])),
  },
  {
    name: 'weight path is absolute',
    code: 'MODEL_WEIGHT_PATH_UNSAFE',
    make: () => edited((json) => (firstGroup(json).paths = [path.join(template, 'weights.bin')])),
  },
  {
    name: 'weight path is a Windows absolute path',
    code: 'MODEL_WEIGHT_PATH_UNSAFE',
    make: () => edited((json) => (firstGroup(json).paths = ['C:\\Users\\me\\weights.bin'])),
  },
  {
    name: 'weight path is a URL',
    code: 'MODEL_WEIGHT_PATH_UNSAFE',
    make: () => edited((json) => (firstGroup(json).paths = ['https://example.com/weights.bin'])),
  },
  {
    name: 'weight path climbs out through a sub-folder (a/../../x.bin)',
    code: 'MODEL_WEIGHT_PATH_UNSAFE',
    make: () => edited((json) => (firstGroup(json).paths = ['a/../../weights.bin'])),
  },
  {
    name: 'weight file is a symlink outside the folder',
    code: 'MODEL_WEIGHT_PATH_UNSAFE',
    make: async () => {
      const folder = await copyOf(template);
      const outside = path.join(path.dirname(folder), 'outside.bin');
      await cp(path.join(folder, 'weights.bin'), outside);
      await rm(path.join(folder, 'weights.bin'));
      await symlink(outside, path.join(folder, 'weights.bin'));
      return folder;
    },
  },
  {
    name: 'weight bytes too short',
    code: 'MODEL_WEIGHTS_SIZE_MISMATCH',
    make: () => withWeights((bytes) => bytes.subarray(0, bytes.length - 4)),
  },
  {
    name: 'weight bytes too long',
    code: 'MODEL_WEIGHTS_SIZE_MISMATCH',
    make: () => withWeights((bytes) => Buffer.concat([bytes, Buffer.alloc(8)])),
  },
  {
    name: 'weight file empty',
    code: 'MODEL_WEIGHTS_SIZE_MISMATCH',
    make: () => withWeights(() => Buffer.alloc(0)),
  },
  {
    name: 'weights too large for the limits',
    code: 'MODEL_TOO_LARGE',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) spec.shape = [1024, 1024, 1024];
      }),
  },
  {
    name: 'weight dtype string',
    code: 'MODEL_WEIGHT_DTYPE_UNSUPPORTED',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) spec.dtype = 'string';
      }),
  },
  {
    name: 'weight dtype complex64',
    code: 'MODEL_WEIGHT_DTYPE_UNSUPPORTED',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) spec.dtype = 'complex64';
      }),
  },
  {
    name: 'bool weight quantized',
    code: 'MODEL_WEIGHT_DTYPE_UNSUPPORTED',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) {
          spec.dtype = 'bool';
          spec.quantization = { dtype: 'uint8', scale: 1, min: 0 };
        }
      }),
  },
  {
    name: 'float16 weight quantized to uint8',
    code: 'MODEL_WEIGHT_DTYPE_UNSUPPORTED',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) {
          spec.dtype = 'float16';
          spec.quantization = { dtype: 'uint8', scale: 1, min: 0 };
        }
      }),
  },
  { name: 'NaN weight', code: 'MODEL_WEIGHTS_NOT_FINITE', make: () => withWeights(firstFloat(NaN)) },
  {
    name: 'infinite weight',
    code: 'MODEL_WEIGHTS_NOT_FINITE',
    make: () => withWeights(firstFloat(-Infinity)),
  },
  {
    name: 'weight shape does not match its layer (same byte count)',
    code: 'MODEL_WEIGHTS_MISMATCH',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) spec.shape = [...spec.shape].reverse();
      }),
  },
  {
    name: 'weight named after no layer',
    code: 'MODEL_WEIGHTS_MISMATCH',
    make: () =>
      edited((json) => {
        const spec = firstGroup(json).weights[0];
        if (spec) spec.name = 'ghost/kernel';
      }),
  },
  {
    name: 'layer grown without its weights (dense units 3 -> 5)',
    code: 'MODEL_WEIGHTS_MISMATCH',
    make: () =>
      edited((json) => {
        const dense = layersOf(json).at(-1);
        if (dense) dense.config['units'] = 5;
      }),
  },
  // Models that load but are not image classifiers a teacher can be.
  {
    name: '0-d input (batch only) into a dense layer',
    code: 'MODEL_TOPOLOGY_INVALID',
    make: async () => {
      const input = tfl.input({ shape: [64] });
      const out = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
      const folder = await saved(tfl.model({ inputs: input, outputs: out }));
      await editModelJson(folder, (json) => {
        const first = layersOf(json)[0];
        if (first) first.config['batch_input_shape'] = [null];
      });
      return folder;
    },
  },
  {
    name: '0-d input (batch only) through an activation',
    code: 'TEACHER_INPUT_NOT_IMAGE',
    make: async () => {
      const input = tfl.input({ shape: [3] });
      const out = tfl.layers.activation({ activation: 'linear' }).apply(input) as tfl.SymbolicTensor;
      const folder = await saved(tfl.model({ inputs: input, outputs: out }));
      await editModelJson(folder, (json) => {
        const first = layersOf(json)[0];
        if (first) first.config['batch_input_shape'] = [null];
      });
      return folder;
    },
  },
  {
    name: 'flat vector input',
    code: 'TEACHER_INPUT_NOT_IMAGE',
    make: async () => {
      const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [64], units: 3 })] });
      return saved(model);
    },
  },
  {
    name: 'two inputs',
    code: 'TEACHER_INPUT_MULTIPLE',
    make: async () => {
      const a = tfl.input({ shape: [8, 8, 1] });
      const b = tfl.input({ shape: [8, 8, 1] });
      const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
      const flat = tfl.layers.flatten().apply(sum) as tfl.SymbolicTensor;
      const out = tfl.layers.dense({ units: 3 }).apply(flat) as tfl.SymbolicTensor;
      return saved(tfl.model({ inputs: [a, b], outputs: out }));
    },
  },
  {
    name: 'fixed batch size',
    code: 'TEACHER_INPUT_BATCH_FIXED',
    make: () =>
      edited((json) => {
        const conv = layersOf(json)[0];
        if (conv) conv.config['batch_input_shape'] = [4, 8, 8, 1];
      }),
  },
  {
    name: 'input of unknown size',
    code: 'TEACHER_INPUT_SIZE_UNKNOWN',
    make: () => saved(tinyFunctional([null, null, 1])),
  },
  {
    name: 'input larger than the limits (300x300)',
    code: 'TEACHER_INPUT_TOO_LARGE',
    make: () => saved(tinyFunctional([300, 300, 1])),
  },
  { name: '4-channel input', code: 'TEACHER_INPUT_CHANNELS', make: () => saved(tinyFunctional([8, 8, 4])) },
  { name: '2-channel input', code: 'TEACHER_INPUT_CHANNELS', make: () => saved(tinyFunctional([8, 8, 2])) },
  {
    name: 'two outputs',
    code: 'TEACHER_OUTPUT_MULTIPLE',
    make: async () => {
      const input = tfl.input({ shape: [8, 8, 1] });
      const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
      const a = tfl.layers.dense({ units: 3 }).apply(flat) as tfl.SymbolicTensor;
      const b = tfl.layers.dense({ units: 3 }).apply(flat) as tfl.SymbolicTensor;
      return saved(tfl.model({ inputs: input, outputs: [a, b] }));
    },
  },
  {
    name: 'output is an image, not class scores',
    code: 'TEACHER_OUTPUT_NOT_CLASSES',
    make: async () => {
      const model = tfl.sequential({
        layers: [tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 })],
      });
      return saved(model);
    },
  },
  {
    name: 'single output unit',
    code: 'TEACHER_OUTPUT_SINGLE_UNIT',
    make: () => saved(sequentialCnn({ classes: 1 })),
  },
  {
    name: 'sigmoid output (multi-label)',
    code: 'TEACHER_OUTPUT_SIGMOID',
    make: () => saved(sequentialCnn({ ending: 'sigmoid' })),
  },
  // The Distill Studio card.
  {
    name: 'card contradicts the model',
    code: 'TEACHER_CARD_MISMATCH',
    make: () =>
      edited((json) => {
        const card = (json['userDefinedMetadata'] as Json)['distillStudio'] as Json;
        card['numClasses'] = 7;
      }),
  },
  {
    name: 'card malformed',
    code: 'MODEL_CARD_INVALID',
    make: () =>
      edited((json) => {
        const card = (json['userDefinedMetadata'] as Json)['distillStudio'] as Json;
        card['inputShape'] = [8, 8, 9];
      }),
  },
];

beforeAll(async () => {
  await tf.setBackend('cpu');
  template = await saved(sequentialCnn());
  functionalTemplate = await saved(tinyFunctional([8, 8, 1]));
});

// A refused import must leave no tensors or variables behind.
guardTensorLeaks({ variables: true });

afterAll(removeTempDirs);

describe('malformed model folders are refused as teachers', () => {
  it('has at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES)('$name -> $code', async ({ make, code }) => {
    const target = await make();
    await expectRefused(() => importTeacher(target), code);
  });
});

/** Was a bug: tfjs built a model of no layers from an empty output list, and leaked their variables. */
describe('an empty list of outputs', () => {
  it('is refused as a missing output, without leaking variables', async () => {
    const folder = await edited((json) => (configOf(json)['output_layers'] = []), functionalTemplate);
    const before = new Set(Object.keys(tf.engine().registeredVariables));
    const tensors = tf.memory().numTensors;
    try {
      await expectRefused(() => importTeacher(folder), 'MODEL_OUTPUT_LAYER_MISSING');
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      // Free what the bug leaks, so that the other tests' leak checks still hold.
      for (const [name, variable] of Object.entries(tf.engine().registeredVariables))
        if (!before.has(name)) variable.dispose();
    }
  });
});
