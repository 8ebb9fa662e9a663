import { createHash } from 'node:crypto';
import type { tfl } from '../tf.js';
import { canonicalJson } from '../util/canonical-json.js';
import { isRecord, layerListOf, layerNameOf, modelConfigOf } from './topology.js';

/**
 * What identifies a model, for reports, model cards and resuming a transfer
 * set: its architecture and its weights together. Weights alone would let a
 * model with the same weights wired differently (another activation, layers
 * connected in another order) pass for the same teacher.
 */

type Json = Record<string, unknown>;

/**
 * sha256 (hex) over the model's architecture (see architectureOf) and its
 * weight values in layer order. `topology` is the modelTopology of its
 * model.json (as written by saveModel or read by loadModel), so the same
 * model gives the same value however its weights are sharded, and whether it
 * was just saved or loaded again.
 */
export async function modelFingerprint(model: tfl.LayersModel, topology: object): Promise<string> {
  const hash = createHash('sha256')
    .update(canonicalJson(architectureOf(topology)))
    .update('\n');
  for (const weight of model.weights) {
    const values = await weight.read().data();
    if (!ArrayBuffer.isView(values)) throw new Error(`Weight ${weight.originalName} is not numeric`);
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex');
}

/**
 * The model's class and config as stored, with each layer's name replaced
 * by its position ('#3') wherever layers are named (their own names and the
 * references that wire them), and with what describes the export rather
 * than the model left out (Keras version, backend, training config). The
 * same network exported twice, with layer names numbered differently, has
 * one architecture; a changed activation, size or connection changes it.
 */
export function architectureOf(topology: object): unknown {
  const { class_name: className, config } = modelConfigOf(topology);
  return numberLayers({ class_name: className, config });
}

/** `model` with its layers (if it has any) named by position; anything else unchanged. */
function numberLayers(model: Json): Json {
  const list = layerListOf(model);
  if (!list) return model;
  const config = model['config'];
  const positions = new Map<string, string>();
  list.forEach((layer, i) => {
    const name = layerNameOf(layer);
    if (name !== undefined && !positions.has(name)) positions.set(name, `#${i}`);
  });
  const rename = (value: unknown): unknown =>
    typeof value === 'string'
      ? (positions.get(value) ?? value)
      : Array.isArray(value)
        ? value.map(rename)
        : isRecord(value)
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rename(v)]))
          : value;
  const layers = list.map((layer) => (isRecord(layer) ? numberLayer(layer, rename) : layer));
  if (!isRecord(config)) return { ...model, config: layers };
  const { name: _name, input_layers: inputs, output_layers: outputs, ...rest } = config;
  return {
    ...model,
    config: { ...rest, layers, input_layers: rename(inputs), output_layers: rename(outputs) },
  };
}

/** One listed layer without its name, its inputs renamed by `rename` and, if it is a model, its own layers numbered. */
function numberLayer(layer: Json, rename: (value: unknown) => unknown): Json {
  const { name: _name, inbound_nodes: inbound, ...rest } = numberLayers(layer);
  const config = rest['config'];
  const unnamed = isRecord(config)
    ? Object.fromEntries(Object.entries(config).filter(([k]) => k !== 'name'))
    : config;
  return { ...rest, config: unnamed, ...(inbound !== undefined ? { inbound_nodes: rename(inbound) } : {}) };
}
