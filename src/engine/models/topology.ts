import { UserError } from '../../shared/errors.js';

/**
 * Reading the Keras topology of a model.json (its layers, nested models and
 * how they are connected) without tfjs, for the checks tfjs does not make
 * before building a model and for naming layers in messages. Every reader
 * here tolerates shapes it does not know (Keras 3 configs, say): it then
 * checks nothing and leaves the verdict to tfjs.
 */

type Json = Record<string, unknown>;

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One layer as listed in a model's config. */
export interface LayerEntry {
  /** The name tfjs files the layer under: the entry's own (functional) or its config's (Sequential). */
  name: string | undefined;
  className: string | undefined;
  /** The layer's config object, as stored. */
  config: unknown;
  /** The entry as stored, including inbound_nodes for a functional model's layers. */
  raw: Json;
}

/** A model (the outer one or a nested one) and the layers it lists. */
export interface ModelView {
  /** Words for messages: 'the model' or 'the nested model "name"'. */
  label: string;
  /** True for functional models (layers wired by name), false for Sequential (layers in order). */
  functional: boolean;
  /** The model's config, which holds input_layers and output_layers when functional. */
  config: Json;
  layers: LayerEntry[];
}

/** The model's own { class_name, config }, unwrapping the Python converter's { model_config, training_config }. */
export function modelConfigOf(topology: object): Json {
  const wrapped = (topology as Json)['model_config'];
  return isRecord(wrapped) ? wrapped : (topology as Json);
}

/** The layers a model config lists, or undefined when it lists none (it is a plain layer's). */
export function layerListOf(modelConfig: Json): unknown[] | undefined {
  const config = modelConfig['config'];
  // Old Sequential configs are the bare list of layers.
  const list = Array.isArray(config) ? config : isRecord(config) ? config['layers'] : undefined;
  return Array.isArray(list) ? list : undefined;
}

/** The name tfjs files a listed layer under: the entry's own (functional) or its config's (Sequential). */
export function layerNameOf(layer: unknown): string | undefined {
  if (!isRecord(layer)) return undefined;
  const config = layer['config'];
  const name = layer['name'] ?? (isRecord(config) ? config['name'] : undefined);
  return typeof name === 'string' ? name : undefined;
}

/** The model described by `modelConfig`, or undefined when it lists no layers (a plain layer). */
function modelView(modelConfig: Json, label: string): ModelView | undefined {
  const list = layerListOf(modelConfig);
  if (!list) return undefined;
  const config = modelConfig['config'];
  const layers = list.filter(isRecord).map((raw): LayerEntry => {
    const className = raw['class_name'];
    return {
      name: layerNameOf(raw),
      className: typeof className === 'string' ? className : undefined,
      config: raw['config'],
      raw,
    };
  });
  return {
    label,
    functional: modelConfig['class_name'] !== 'Sequential',
    config: isRecord(config) ? config : {},
    layers,
  };
}

/** Calls `visit` for the model in `topology` and every model nested in it, outermost first. */
export function forEachModel(topology: object, visit: (model: ModelView) => void): void {
  const walk = (modelConfig: Json, label: string): void => {
    const model = modelView(modelConfig, label);
    if (!model) return;
    visit(model);
    for (const layer of model.layers) walk(layer.raw, `the nested model "${layer.name ?? '?'}"`);
  };
  walk(modelConfigOf(topology), 'the model');
}

/**
 * Names of the layers that are of class `className`, or whose settings use
 * it (an initializer, a constraint, an activation): what to name when tfjs
 * says only "Unknown layer: X" or "Unknown initializer: X".
 */
export function layersUsing(topology: object, className: string): string[] {
  const found: string[] = [];
  const mentions = (value: unknown): boolean =>
    value === className ||
    (Array.isArray(value) ? value.some(mentions) : isRecord(value) && Object.values(value).some(mentions));
  forEachModel(topology, (model) => {
    for (const layer of model.layers) {
      const nested = modelView(layer.raw, '') !== undefined;
      if (layer.className === className || (!nested && mentions(layer.config)))
        found.push(layer.name ?? '(unnamed)');
    }
  });
  return found;
}

/** One input of a layer call, as stored: [layer name, call index, output index, kwargs]. */
interface Ref {
  layer: string;
  node: number;
}

/**
 * Refuses a topology tfjs would build wrongly, forever, or with no reason:
 * two layers of one model with the same name (tfjs files them under one
 * name and wires or fills the wrong one), and a functional model whose
 * output, input or a layer's input names a layer or call that does not
 * exist (tfjs asserts with an empty message, or loops forever waiting for it).
 */
export function checkTopology(topology: object, file: string): void {
  forEachModel(topology, (model) => {
    checkUniqueNames(model, file);
    if (model.functional) checkWiring(model, file);
  });
}

const REEXPORT_FIX =
  'model.json was edited by hand or comes from a damaged export: export the model again from Keras with tensorflowjs_converter';

function checkUniqueNames(model: ModelView, file: string): void {
  const seen = new Map<string, number>();
  model.layers.forEach((layer, i) => {
    if (layer.name === undefined) return;
    const first = seen.get(layer.name);
    if (first !== undefined) {
      throw new UserError(
        'MODEL_LAYER_NAME_DUPLICATE',
        `${file}: layers ${first + 1} and ${i + 1} of ${model.label} are both named "${layer.name}"; layer names must be unique, since TensorFlow.js connects layers and loads their weights by name`,
        `Give every layer a unique name (the name= argument in Keras) and export the model again; if model.json was edited by hand, rename one of the two "${layer.name}" layers there`,
      );
    }
    seen.set(layer.name, i);
  });
}

/** [name, node, tensor, ...] as a Ref; undefined for any other shape. */
function toRef(value: unknown): Ref | undefined {
  if (!Array.isArray(value)) return undefined;
  const [layer, node] = value as unknown[];
  return typeof layer === 'string' && typeof node === 'number' ? { layer, node } : undefined;
}

/** A list of [name, node, tensor] entries as Refs; undefined when any entry has another shape. */
function toRefs(value: unknown): Ref[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const refs = value.map(toRef);
  return refs.every((ref) => ref !== undefined) ? (refs as Ref[]) : undefined;
}

/** Each layer's calls, as Refs, with its inputs checked to be layers of the model; undefined for an unknown format. */
function layerCalls(
  model: ModelView,
  file: string,
  among: string,
): { layer: string; calls: Ref[][] }[] | undefined {
  const names = new Set(model.layers.map((layer) => layer.name));
  const result: { layer: string; calls: Ref[][] }[] = [];
  for (const layer of model.layers) {
    const raw = layer.raw['inbound_nodes'];
    if (layer.name === undefined || !Array.isArray(raw)) return undefined;
    const calls = raw.map(toRefs);
    if (!calls.every((call) => call !== undefined)) return undefined;
    const missing = calls.flat().find((ref) => !names.has(ref.layer));
    if (missing) {
      throw new UserError(
        'MODEL_WIRING_INVALID',
        `${file}: layer "${layer.name}" of ${model.label} takes its input from a layer "${missing.layer}", which is not one of its layers (${among})`,
        REEXPORT_FIX,
      );
    }
    // An empty call takes no inputs, and tfjs skips it.
    result.push({ layer: layer.name, calls: calls.filter((call) => call.length > 0) });
  }
  return result;
}

/**
 * Replays how tfjs builds a functional model: every layer starts with no
 * calls (an InputLayer with one, a nested model with its own internal one),
 * and a call happens once each of its inputs' calls has. Returns how many
 * calls each layer gets, and the first call that never happens: tfjs would
 * loop forever waiting for it.
 */
function replay(
  model: ModelView,
  pending: { layer: string; calls: Ref[][] }[],
): { ready: (ref: Ref) => boolean; stuck?: { layer: string; waitsFor: Ref } } {
  const called = new Map<string, number>();
  for (const layer of model.layers) {
    // Nested models are never waited on: how many calls tfjs gives them is not checked here.
    const nested = modelView(layer.raw, '') !== undefined;
    const start = nested ? Infinity : layer.className === 'InputLayer' ? 1 : 0;
    if (layer.name !== undefined) called.set(layer.name, start);
  }
  const ready = (ref: Ref): boolean => (called.get(ref.layer) ?? 0) > ref.node;
  for (let progress = true; progress;) {
    progress = false;
    for (const entry of pending) {
      const waiting = entry.calls;
      entry.calls = [];
      for (const call of waiting) {
        if (call.every(ready)) {
          called.set(entry.layer, (called.get(entry.layer) ?? 0) + 1);
          progress = true;
        } else entry.calls.push(call);
      }
    }
  }
  for (const entry of pending) {
    const waitsFor = entry.calls[0]?.find((ref) => !ready(ref));
    if (waitsFor) return { ready, stuck: { layer: entry.layer, waitsFor } };
  }
  return { ready };
}

function checkWiring(model: ModelView, file: string): void {
  const names = model.layers.flatMap((layer) => (layer.name === undefined ? [] : [layer.name]));
  const among = `its layers are ${names
    .slice(0, 8)
    .map((name) => `"${name}"`)
    .join(', ')}${names.length > 8 ? ', ...' : ''}`;
  const pending = layerCalls(model, file, among);
  if (!pending) return;
  const { ready, stuck } = replay(model, pending);
  if (stuck) {
    throw new UserError(
      'MODEL_WIRING_INVALID',
      `${file}: layer "${stuck.layer}" of ${model.label} takes its input from call ${stuck.waitsFor.node + 1} of layer "${stuck.waitsFor.layer}", which never happens (the layers are connected in a loop, or to a call that does not exist), so the model cannot be built`,
      REEXPORT_FIX,
    );
  }
  for (const [key, role] of [
    ['output_layers', 'output'],
    ['input_layers', 'input'],
  ] as const) {
    // tfjs builds a model of no layers from an empty list (and leaks their variables).
    if (toRefs(model.config[key])?.length === 0) {
      throw new UserError(
        role === 'output' ? 'MODEL_OUTPUT_LAYER_MISSING' : 'MODEL_INPUT_LAYER_MISSING',
        `${file}: ${model.label} names no ${role} layer ("${key}" is empty)`,
        `${REEXPORT_FIX} ("${key}" must name layers of the model)`,
      );
    }
    const bad = toRefs(model.config[key])?.find((ref) => !ready(ref));
    if (!bad) continue;
    throw new UserError(
      role === 'output' ? 'MODEL_OUTPUT_LAYER_MISSING' : 'MODEL_INPUT_LAYER_MISSING',
      names.includes(bad.layer)
        ? `${file}: the ${role} of ${model.label} is call ${bad.node + 1} of layer "${bad.layer}", which never happens`
        : `${file}: the ${role} layer "${bad.layer}" of ${model.label} is not one of its layers (${among})`,
      `${REEXPORT_FIX} ("${key}" must name layers of the model)`,
    );
  }
}
