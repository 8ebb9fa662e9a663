import '@tensorflow/tfjs-backend-cpu';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/engine/models/io.js';
import { tf, tfl } from '../../../src/engine/tf.js';
import {
  editModelJson,
  expectUserError,
  firstGroup,
  functionalCnn,
  images,
  makeCard,
  predictValues,
  removeTempDirs,
  sequentialCnn,
  tempDir,
} from './fixtures.js';
import { guardTensorLeaks } from '../leak-guard.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Every test disposes what it made; failed loads must not leak either.
guardTensorLeaks({ cleanup: removeTempDirs });

/** Saves a fresh seeded Sequential CNN into a new temp folder and disposes it. */
async function savedFolder(
  options: { shardBytes?: number } = {},
): Promise<{ folder: string; fingerprint: string }> {
  const folder = path.join(await tempDir(), 'model');
  const model = sequentialCnn();
  const saved = await saveModel(model, folder, makeCard(), options);
  model.dispose();
  return { folder, fingerprint: saved.fingerprint };
}

describe('saveModel / loadModel round trip', () => {
  it('gives identical predictions, fingerprint, size and card', async () => {
    const folder = path.join(await tempDir(), 'model');
    const model = sequentialCnn();
    const card = makeCard();
    const saved = await saveModel(model, folder, card);
    const loaded = await loadModel(folder);
    const x = images([8, 8, 1]);
    expect(Array.from(predictValues(loaded.model, x))).toEqual(Array.from(predictValues(model, x)));
    expect(loaded.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.fingerprint).toBe(saved.fingerprint);
    expect(loaded.card).toEqual(card);
    expect(loaded.folder).toBe(path.resolve(folder));
    const sizes = await Promise.all(
      ['model.json', 'weights.bin'].map(async (f) => (await stat(path.join(folder, f))).size),
    );
    expect(loaded.fileBytes).toBe(sizes[0]! + sizes[1]!);
    expect(saved.fileBytes).toBe(loaded.fileBytes);
    // Loading twice gives the same fingerprint: it depends on the files only.
    const again = await loadModel(folder);
    expect(again.fingerprint).toBe(saved.fingerprint);
    for (const m of [model, loaded.model, again.model]) m.dispose();
    x.dispose();
  });

  it('writes a standard TensorFlow.js Layers folder', async () => {
    const { folder } = await savedFolder();
    expect((await readdir(folder)).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(json['format']).toBe('layers-model');
    expect((json['modelTopology'] as Record<string, unknown>)['class_name']).toBe('Sequential');
    const group = firstGroup(json);
    expect(group.paths).toEqual(['weights.bin']);
    expect(group.weights.map((w) => w.dtype)).toEqual(['float32', 'float32', 'float32', 'float32']);
    expect((json['userDefinedMetadata'] as Record<string, unknown>)['distillStudio']).toEqual(makeCard());
    // tfjs's own in-memory loader accepts the same artifacts.
    const weightData = new Uint8Array(await readFile(path.join(folder, 'weights.bin'))).buffer;
    const viaTfjs = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json['modelTopology'] as object,
        weightSpecs: group.weights as tf.io.WeightsManifestEntry[],
        weightData,
      }),
    );
    viaTfjs.dispose();
  });

  it('round-trips a functional model', async () => {
    const folder = path.join(await tempDir(), 'functional');
    const model = functionalCnn({ ending: 'dense-softmax' });
    await saveModel(model, folder, makeCard([8, 8, 3], 4));
    const loaded = await loadModel(folder);
    const x = images([8, 8, 3]);
    expect(Array.from(predictValues(loaded.model, x))).toEqual(Array.from(predictValues(model, x)));
    model.dispose();
    loaded.model.dispose();
    x.dispose();
  });

  it('loads the Python converter layout (topology wrapped in model_config, with training_config)', async () => {
    const { folder, fingerprint } = await savedFolder();
    await editModelJson(folder, (json) => {
      json['modelTopology'] = {
        keras_version: '2.15.0',
        backend: 'tensorflow',
        model_config: json['modelTopology'],
        training_config: { loss: 'categorical_crossentropy', metrics: ['accuracy'] },
      };
      json['convertedBy'] = 'TensorFlow.js Converter v4.22.0';
    });
    const loaded = await loadModel(folder);
    expect(loaded.fingerprint).toBe(fingerprint);
    loaded.model.dispose();
  });

  it('loads a model without a card (card undefined)', async () => {
    const { folder } = await savedFolder();
    await editModelJson(folder, (json) => delete json['userDefinedMetadata']);
    const loaded = await loadModel(folder);
    expect(loaded.card).toBeUndefined();
    loaded.model.dispose();
  });

  it('loads weights split across two shards, like the Python converter writes them', async () => {
    const single = await savedFolder();
    // 100-byte shards cut through weights (the conv kernel is 72 bytes, the
    // dense kernel 864), the case that needs byte-level concatenation.
    const sharded = await savedFolder({ shardBytes: 100 });
    const files = (await readdir(sharded.folder)).sort();
    expect(files.filter((f) => f.endsWith('.bin')).length).toBeGreaterThanOrEqual(2);
    const json = JSON.parse(await readFile(path.join(sharded.folder, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(firstGroup(json).paths[0]).toMatch(/^group1-shard1of\d+\.bin$/);
    const a = await loadModel(single.folder);
    const b = await loadModel(sharded.folder);
    expect(b.fingerprint).toBe(a.fingerprint);
    const x = images([8, 8, 1]);
    expect(Array.from(predictValues(b.model, x))).toEqual(Array.from(predictValues(a.model, x)));
    a.model.dispose();
    b.model.dispose();
    x.dispose();
  });

  it('loads exactly two shards group1-shard1of2.bin and group1-shard2of2.bin', async () => {
    const { folder } = await savedFolder();
    const bytes = await readFile(path.join(folder, 'weights.bin'));
    const cut = Math.floor(bytes.byteLength / 2) + 1; // odd cut: inside a float
    await writeFile(path.join(folder, 'group1-shard1of2.bin'), bytes.subarray(0, cut));
    await writeFile(path.join(folder, 'group1-shard2of2.bin'), bytes.subarray(cut));
    await editModelJson(
      folder,
      (json) => (firstGroup(json).paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin']),
    );
    const original = await savedFolder();
    const loaded = await loadModel(folder);
    expect(loaded.fingerprint).toBe(original.fingerprint);
    loaded.model.dispose();
  });

  it('loads uint8-quantized weights, dequantized within one quantization step', async () => {
    const { folder } = await savedFolder();
    const reference = await loadModel(folder);
    const raw = new Uint8Array(await readFile(path.join(folder, 'weights.bin')));
    const floats = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const quantized: number[] = [];
    const steps: number[] = [];
    await editModelJson(folder, (json) => {
      let offset = 0;
      for (const spec of firstGroup(json).weights) {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const values = floats.subarray(offset, offset + size);
        offset += size;
        const min = Math.min(...values);
        const scale = (Math.max(...values) - min) / 255 || 1;
        steps.push(scale);
        for (const v of values) quantized.push(Math.round((v - min) / scale));
        spec.quantization = { dtype: 'uint8', min, scale };
      }
    });
    await writeFile(path.join(folder, 'weights.bin'), Uint8Array.from(quantized));
    const loaded = await loadModel(folder);
    const worstStep = Math.max(...steps);
    loaded.model.weights.forEach((w, i) => {
      const diff = tf.tidy(
        () => tf.max(tf.abs(tf.sub(w.read(), reference.model.weights[i]!.read()))).dataSync()[0]!,
      );
      expect(diff).toBeLessThanOrEqual(worstStep / 2 + 1e-6);
    });
    reference.model.dispose();
    loaded.model.dispose();
  });
});

describe('loadModel reads half-float (float16) weights as float32', () => {
  /** Half-float bits of `x`, for values exactly representable in float16 (zero or normal). */
  function float16Bits(x: number): number {
    if (x === 0) return 0;
    const exponent = Math.floor(Math.log2(Math.abs(x)));
    const mantissa = Math.abs(x) / 2 ** exponent - 1;
    return ((x < 0 ? 1 : 0) << 15) | ((exponent + 15) << 10) | Math.round(mantissa * 1024);
  }

  /** A saved model whose weights are multiples of 1/64 in [-1, 1] (exact in float16), and its bytes as float16. */
  async function halfFloatFolder(): Promise<{ folder: string; model: tfl.Sequential; half: Uint8Array }> {
    const model = sequentialCnn();
    for (const w of model.weights) {
      tf.tidy(() => {
        w.write(tf.div(tf.round(tf.mul(tf.clipByValue(w.read(), -1, 1), 64)), 64));
      });
    }
    const folder = path.join(await tempDir(), 'model');
    await saveModel(model, folder, makeCard());
    const raw = new Uint8Array(await readFile(path.join(folder, 'weights.bin')));
    const floats = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const half = new Uint8Array(new Uint16Array(Array.from(floats, float16Bits)).buffer);
    return { folder, model, half };
  }

  it('weights stored as dtype float16, which the supported list names', async () => {
    const { folder, model, half } = await halfFloatFolder();
    await writeFile(path.join(folder, 'weights.bin'), half);
    await editModelJson(folder, (json) => {
      for (const spec of firstGroup(json).weights) spec.dtype = 'float16';
    });
    // It was refused with a message that listed float16 as supported.
    const loaded = await loadModel(folder);
    expect(loaded.model.weights.every((w) => w.dtype === 'float32')).toBe(true);
    const x = images([8, 8, 1]);
    expect(Array.from(predictValues(loaded.model, x))).toEqual(Array.from(predictValues(model, x)));
    for (const m of [model, loaded.model]) m.dispose();
    x.dispose();
  });

  it('float32 weights quantized to float16, as tensorflowjs_converter --quantize_float16 writes them', async () => {
    const { folder, model, half } = await halfFloatFolder();
    await writeFile(path.join(folder, 'weights.bin'), half);
    await editModelJson(folder, (json) => {
      for (const spec of firstGroup(json).weights)
        spec.quantization = { dtype: 'float16', original_dtype: 'float32' };
    });
    const loaded = await loadModel(folder);
    const x = images([8, 8, 1]);
    expect(Array.from(predictValues(loaded.model, x))).toEqual(Array.from(predictValues(model, x)));
    for (const m of [model, loaded.model]) m.dispose();
    x.dispose();
  });

  it('refuses int32 quantized to float16, with a supported list that says float16 is for float32', async () => {
    const { folder, model } = await halfFloatFolder();
    model.dispose();
    await editModelJson(folder, (json) => {
      const spec = firstGroup(json).weights[1]!;
      spec.dtype = 'int32';
      spec.quantization = { dtype: 'float16' };
    });
    const error = await expectUserError(() => loadModel(folder), 'MODEL_WEIGHT_DTYPE_UNSUPPORTED');
    expect(error.message).toContain('int32 quantized to float16');
    expect(error.message).toContain('float16 for float32 weights');
  });
});

describe('saveModel safety', () => {
  it('keeps the previous model when saving fails (invalid card)', async () => {
    const { folder, fingerprint } = await savedFolder();
    const other = sequentialCnn({ seed: 99 });
    const bad = { ...makeCard(), numClasses: 1 };
    await expectUserError(() => saveModel(other, folder, bad), 'MODEL_CARD_INVALID');
    other.dispose();
    const loaded = await loadModel(folder);
    expect(loaded.fingerprint).toBe(fingerprint);
    loaded.model.dispose();
    // No half-written temporary folder is left next to it.
    expect(await readdir(path.dirname(folder))).toEqual(['model']);
  });

  it('replaces the previous model once the new one is complete', async () => {
    const { folder, fingerprint } = await savedFolder();
    const other = sequentialCnn({ seed: 99 });
    const saved = await saveModel(other, folder, makeCard());
    other.dispose();
    expect(saved.fingerprint).not.toBe(fingerprint);
    const loaded = await loadModel(folder);
    expect(loaded.fingerprint).toBe(saved.fingerprint);
    loaded.model.dispose();
  });

  it('refuses weights with NaN and keeps the previous model', async () => {
    const { folder, fingerprint } = await savedFolder();
    const broken = sequentialCnn();
    const kernel = broken.weights[0]!;
    tf.tidy(() => {
      kernel.write(tf.fill(kernel.shape as number[], Number.NaN));
    });
    const error = await expectUserError(() => saveModel(broken, folder, makeCard()), 'MODEL_SAVE_NOT_FINITE');
    expect(error.message).toContain(kernel.originalName);
    broken.dispose();
    const loaded = await loadModel(folder);
    expect(loaded.fingerprint).toBe(fingerprint);
    loaded.model.dispose();
  });

  it('refuses to replace a folder that holds other files', async () => {
    const folder = await tempDir();
    await writeFile(path.join(folder, 'notes.txt'), 'mine');
    const model = sequentialCnn();
    await expectUserError(() => saveModel(model, folder, makeCard()), 'MODEL_SAVE_TARGET_NOT_MODEL');
    model.dispose();
    expect(await readFile(path.join(folder, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('loadModel refuses bad folders with a UserError and a fix', () => {
  it('missing folder', async () => {
    const missingParent = path.join(await tempDir(), 'absent');
    await expectUserError(() => loadModel(path.join(missingParent, 'nope')), 'MODEL_FOLDER_MISSING');
  });

  it('a file instead of a folder', async () => {
    const { folder } = await savedFolder();
    const error = await expectUserError(
      () => loadModel(path.join(folder, 'model.json')),
      'MODEL_NOT_A_FOLDER',
    );
    expect(error.fix).toContain(folder);
  });

  it('missing model.json, with a hint for a TF SavedModel', async () => {
    const folder = await tempDir();
    await expectUserError(() => loadModel(folder), 'MODEL_JSON_MISSING');
    await writeFile(path.join(folder, 'saved_model.pb'), '');
    const error = await expectUserError(() => loadModel(folder), 'MODEL_JSON_MISSING');
    expect(error.fix).toContain('keras_saved_model');
  });

  it('model.json that cannot be read', async () => {
    const folder = await tempDir();
    await mkdir(path.join(folder, 'model.json'));
    await expectUserError(() => loadModel(folder), 'MODEL_JSON_UNREADABLE');
  });

  it('model.json that is not JSON', async () => {
    const folder = await tempDir();
    await writeFile(path.join(folder, 'model.json'), '{"modelTopology": ');
    await expectUserError(() => loadModel(folder), 'MODEL_JSON_INVALID');
  });

  it('JSON that is not a Layers model', async () => {
    const folder = await tempDir();
    await writeFile(path.join(folder, 'model.json'), JSON.stringify({ hello: 'world' }));
    await expectUserError(() => loadModel(folder), 'MODEL_NOT_LAYERS');
    await writeFile(path.join(folder, 'model.json'), '[1, 2, 3]');
    await expectUserError(() => loadModel(folder), 'MODEL_NOT_LAYERS');
  });

  it('a graph model (from a TF SavedModel)', async () => {
    const folder = await tempDir();
    const graph = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      modelTopology: { node: [], versions: {} },
      weightsManifest: [],
    };
    await writeFile(path.join(folder, 'model.json'), JSON.stringify(graph));
    const error = await expectUserError(() => loadModel(folder), 'MODEL_GRAPH_UNSUPPORTED');
    expect(error.message).toMatch(/graph model/);
    expect(error.fix).toMatch(/Keras|Layers/);
  });

  it('no or a malformed weights manifest', async () => {
    const { folder } = await savedFolder();
    await editModelJson(folder, (json) => delete json['weightsManifest']);
    await expectUserError(() => loadModel(folder), 'MODEL_MANIFEST_INVALID');
    await editModelJson(
      folder,
      (json) => (json['weightsManifest'] = [{ paths: 'weights.bin', weights: [] }]),
    );
    await expectUserError(() => loadModel(folder), 'MODEL_MANIFEST_INVALID');
  });

  it('a weight path outside the folder, even when that file exists', async () => {
    const { folder } = await savedFolder();
    const outside = path.join(path.dirname(folder), 'outside.bin');
    await writeFile(outside, await readFile(path.join(folder, 'weights.bin')));
    await editModelJson(folder, (json) => (firstGroup(json).paths = ['../outside.bin']));
    const error = await expectUserError(() => loadModel(folder), 'MODEL_WEIGHT_PATH_UNSAFE');
    expect(error.message).toContain('security');
  });

  it('an absolute weight path', async () => {
    const { folder } = await savedFolder();
    const absolute = path.join(folder, 'weights.bin');
    await editModelJson(folder, (json) => (firstGroup(json).paths = [absolute]));
    await expectUserError(() => loadModel(folder), 'MODEL_WEIGHT_PATH_UNSAFE');
    await editModelJson(folder, (json) => (firstGroup(json).paths = ['file:///etc/passwd']));
    await expectUserError(() => loadModel(folder), 'MODEL_WEIGHT_PATH_UNSAFE');
  });

  it('a weight file that is a link to a file outside the folder', async () => {
    const { folder } = await savedFolder();
    const outside = path.join(path.dirname(folder), 'real.bin');
    await writeFile(outside, await readFile(path.join(folder, 'weights.bin')));
    await symlink(outside, path.join(folder, 'linked.bin'));
    await editModelJson(folder, (json) => (firstGroup(json).paths = ['linked.bin']));
    await expectUserError(() => loadModel(folder), 'MODEL_WEIGHT_PATH_UNSAFE');
  });

  it('a missing weight file', async () => {
    const { folder } = await savedFolder();
    await editModelJson(folder, (json) => (firstGroup(json).paths = ['group1-shard1of1.bin']));
    await expectUserError(() => loadModel(folder), 'MODEL_WEIGHT_FILE_MISSING');
  });

  it('weight files too short or too long', async () => {
    const { folder } = await savedFolder();
    const file = path.join(folder, 'weights.bin');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.byteLength - 4));
    expect((await expectUserError(() => loadModel(folder), 'MODEL_WEIGHTS_SIZE_MISMATCH')).message).toContain(
      'too short',
    );
    await writeFile(file, Buffer.concat([bytes, Buffer.alloc(8)]));
    expect((await expectUserError(() => loadModel(folder), 'MODEL_WEIGHTS_SIZE_MISMATCH')).message).toContain(
      'too long',
    );
  });

  it('an unsupported weight dtype', async () => {
    const { folder } = await savedFolder();
    await editModelJson(folder, (json) => (firstGroup(json).weights[0]!.dtype = 'string'));
    await expectUserError(() => loadModel(folder), 'MODEL_WEIGHT_DTYPE_UNSUPPORTED');
  });

  it('NaN and infinite weights, naming the weight', async () => {
    const { folder } = await savedFolder();
    const json = JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const specs = firstGroup(json).weights;
    const file = path.join(folder, 'weights.bin');
    const clean = await readFile(file);
    const poison = async (value: number, weightIndex: number): Promise<void> => {
      const bytes = Buffer.from(clean);
      const offset = specs
        .slice(0, weightIndex)
        .reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
      bytes.writeFloatLE(value, offset + 4);
      await writeFile(file, bytes);
    };
    await poison(Number.NaN, 0);
    expect((await expectUserError(() => loadModel(folder), 'MODEL_WEIGHTS_NOT_FINITE')).message).toContain(
      specs[0]!.name,
    );
    await poison(Number.POSITIVE_INFINITY, 2);
    expect((await expectUserError(() => loadModel(folder), 'MODEL_WEIGHTS_NOT_FINITE')).message).toContain(
      specs[2]!.name,
    );
  });

  it('weights whose names or shapes do not match the layers', async () => {
    const { folder } = await savedFolder();
    const shape = (await loadModelJsonWeights(folder))[2]!.shape; // dense kernel [72, 3]
    await editModelJson(folder, (json) => (firstGroup(json).weights[2]!.shape = [shape[1]!, shape[0]!]));
    expect((await expectUserError(() => loadModel(folder), 'MODEL_WEIGHTS_MISMATCH')).message).toContain(
      'shape',
    );
    await editModelJson(folder, (json) => {
      firstGroup(json).weights[2]!.shape = shape;
      firstGroup(json).weights[2]!.name = 'some_other_layer/kernel';
    });
    await expectUserError(() => loadModel(folder), 'MODEL_WEIGHTS_MISMATCH');
  });

  it('a layer class tfjs does not know (Lambda), naming the class and the layer', async () => {
    const { folder } = await savedFolder();
    let layerName = '';
    await editModelJson(folder, (json) => {
      const topology = json['modelTopology'] as {
        config: { layers: { class_name: string; config: { name: string } }[] };
      };
      topology.config.layers[1]!.class_name = 'Lambda';
      layerName = topology.config.layers[1]!.config.name;
    });
    const error = await expectUserError(() => loadModel(folder), 'MODEL_LAYER_UNSUPPORTED');
    // tfjs's own text ("Unknown layer: Lambda. This may be ...") once leaked a stray period: "Lambda.".
    expect(error.message).toContain('class "Lambda",');
    expect(error.message).toContain(`"${layerName}"`);
    expect(error.fix).toContain(`"${layerName}"`);
    expect(error.fix).toMatch(/built-in Keras layers/);
  });

  it('an initializer class tfjs does not know, naming the layer that uses it', async () => {
    const { folder } = await savedFolder();
    let layerName = '';
    await editModelJson(folder, (json) => {
      const topology = json['modelTopology'] as {
        config: { layers: { config: { name: string; kernel_initializer: unknown } }[] };
      };
      const conv = topology.config.layers[0]!.config;
      conv.kernel_initializer = { class_name: 'Custom>MyInit', config: {} };
      layerName = conv.name;
    });
    const error = await expectUserError(() => loadModel(folder), 'MODEL_LAYER_UNSUPPORTED');
    expect(error.message).toContain(`"${layerName}" uses the initializer "Custom>MyInit",`);
  });

  it('an invalid Distill Studio card', async () => {
    const { folder } = await savedFolder();
    await editModelJson(
      folder,
      (json) =>
        (json['userDefinedMetadata'] = { distillStudio: { format: 'distill-studio/model', version: 2 } }),
    );
    await expectUserError(() => loadModel(folder), 'MODEL_CARD_INVALID');
  });
});

async function loadModelJsonWeights(folder: string): Promise<{ name: string; shape: number[] }[]> {
  return firstGroup(
    JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')) as Record<string, unknown>,
  ).weights;
}
