/**
 * Reading the Keras topology of a model.json (its layers, nested models and
 * how they are connected) without tfjs, for the checks tfjs does not make
 * before building a model and for naming layers in messages. Every reader
 * here tolerates shapes it does not know (Keras 3 configs, say): it then
 * checks nothing and leaves the verdict to tfjs.
 */

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
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

/** The model described by `modelConfig`, or undefined when it lists no layers (a plain layer). */
function modelView(modelConfig: Json, label: string): ModelView | undefined {
  const config = modelConfig['config'];
  // Old Sequential configs are the bare list of layers.
  const list = Array.isArray(config) ? config : isRecord(config) ? config['layers'] : undefined;
  if (!Array.isArray(list)) return undefined;
  const layers = list.filter(isRecord).map((raw): LayerEntry => {
    const inner = raw['config'];
    const name = raw['name'] ?? (isRecord(inner) ? inner['name'] : undefined);
    const className = raw['class_name'];
    return {
      name: typeof name === 'string' ? name : undefined,
      className: typeof className === 'string' ? className : undefined,
      config: inner,
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
