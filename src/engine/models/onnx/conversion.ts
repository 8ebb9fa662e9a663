import { UserError } from '../../../shared/errors.js';
import { tfl } from '../../tf.js';
import type { OnnxConstant, OnnxGraph, OnnxNode } from './graph.js';
import { describeNode } from './graph.js';
import type { ShapeValue } from './shapes.js';

/**
 * What the operators (operators.ts, spatial.ts, shapes.ts) work with while a
 * graph is converted: the values computed so far with their layouts, the
 * constants, the layers made and the weights they get, and the words of
 * every refusal.
 */

type Layer = InstanceType<typeof tfl.layers.Layer>;

/**
 * What a tfjs tensor stands for: 'image' is tfjs [N, H, W, C] for ONNX
 * [N, C, H, W]; 'pooled' is tfjs [N, C] for ONNX [N, C, 1, 1] (after a
 * global pooling, so that a following Flatten costs nothing); 'features' is
 * [N, F] in both; 'channels-last' is [N, H, W, C] in both (an image the graph
 * transposed to NHWC, as Keras models converted by tf2onnx take their input
 * and as a flatten in NHWC order needs it).
 */
export type Layout = 'image' | 'pooled' | 'features' | 'channels-last';

/** A tensor computed by the graph, as a symbolic tfjs tensor. */
export interface Value {
  tensor: tfl.SymbolicTensor;
  layout: Layout;
  /** True when every element is >= 0 (after Relu, Sigmoid, ...): zero padding then acts like -inf padding for MaxPool. */
  nonNegative: boolean;
  /** The layer that computed it, when its bias can still take a following Add of a constant. */
  biasOwner?: LayerWeights;
}

/** A layer created for a node and the weight values it gets once the model is built. */
export interface LayerWeights {
  layer: Layer;
  /** In the order layer.getWeights() lists them. */
  weights: { shape: number[]; values: Float32Array }[];
  /** Index in `weights` of the bias, when the layer has one. */
  biasIndex?: number;
}

/** State of one conversion, handed to each operator. */
export class Conversion {
  readonly values = new Map<string, Value>();
  readonly constants: Map<string, OnnxConstant>;
  /** Shapes computed at conversion time (Shape, Gather, Unsqueeze, Concat), see shapes.ts. */
  readonly shapes = new Map<string, ShapeValue>();
  readonly layers: LayerWeights[] = [];
  /** How many node inputs (and graph outputs) read each tensor. */
  readonly readers = new Map<string, number>();
  /** Set by Softmax when it is the graph's last node. */
  finalSoftmaxInput: string | undefined;
  private readonly names = new Set<string>();

  constructor(
    readonly graph: OnnxGraph,
    readonly file: string,
    readonly fixedBatch: number | undefined,
  ) {
    this.constants = new Map(graph.constants);
    for (const node of graph.nodes) {
      for (const name of node.inputs) if (name) this.readers.set(name, (this.readers.get(name) ?? 0) + 1);
    }
    for (const name of graph.outputs) this.readers.set(name, (this.readers.get(name) ?? 0) + 1);
  }

  /** The computed (not constant) input `index` of `node`. */
  value(node: OnnxNode, index: number): Value {
    const name = node.inputs[index];
    const value = name ? this.values.get(name) : undefined;
    if (value) return value;
    if (name && (this.constants.has(name) || this.shapes.has(name))) {
      const what = this.shapes.has(name) ? 'a shape' : 'a constant';
      throw this.unsupported(
        node,
        `its input ${index + 1} ("${name}") is ${what}, where a computed tensor was expected`,
      );
    }
    throw this.invalid(
      node,
      name ? `its input "${name}" is not computed by any earlier node` : `it lacks input ${index + 1}`,
    );
  }

  /** The constant input `index` of `node`, or undefined when the input is left out. */
  optionalConstant(node: OnnxNode, index: number): OnnxConstant | undefined {
    const name = node.inputs[index];
    if (!name) return undefined;
    const constant = this.constants.get(name);
    if (constant) return constant;
    throw this.unsupported(
      node,
      `its input ${index + 1} ("${name}") is computed by the graph, but only constant ${index === 1 ? 'weights' : 'parameters'} are supported there`,
    );
  }

  /** The constant input `index` of `node`, required. */
  constant(node: OnnxNode, index: number): OnnxConstant {
    const constant = this.optionalConstant(node, index);
    if (!constant) throw this.invalid(node, `it lacks input ${index + 1}`);
    return constant;
  }

  /** A float constant with exactly `count` values, for messages named `what`. */
  floats(node: OnnxNode, index: number, count: number, what: string): Float32Array {
    const constant = this.constant(node, index);
    if (!(constant.values instanceof Float32Array) || constant.values.length !== count) {
      throw this.invalid(node, `its ${what} has ${constant.values.length} values where ${count} are needed`);
    }
    return constant.values;
  }

  /** A numeric attribute of `node` (ONNX INT or FLOAT), or `fallback` when absent. */
  int(node: OnnxNode, name: string, fallback: number): number {
    const attribute = node.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.kind !== 'int' && attribute.kind !== 'float')
      throw this.invalid(node, `its attribute "${name}" is not a number`);
    return attribute.value;
  }

  /** The same as `int`, named for attributes ONNX declares as floats (alpha, epsilon). */
  float(node: OnnxNode, name: string, fallback: number): number {
    return this.int(node, name, fallback);
  }

  /** An attribute of `node` that is a list of integers, or undefined when absent. */
  ints(node: OnnxNode, name: string): number[] | undefined {
    const attribute = node.attributes.get(name);
    if (!attribute) return undefined;
    if (attribute.kind !== 'ints')
      throw this.invalid(node, `its attribute "${name}" is not a list of integers`);
    return attribute.value;
  }

  /** A string attribute of `node`, or `fallback` when absent. */
  string(node: OnnxNode, name: string, fallback: string): string {
    const attribute = node.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.kind !== 'string') throw this.invalid(node, `its attribute "${name}" is not a string`);
    return attribute.value;
  }

  /** Records `value` as output `index` of `node`. */
  define(node: OnnxNode, value: Value, index = 0): void {
    const name = node.outputs[index];
    if (!name) throw this.invalid(node, 'it has no output');
    this.values.set(name, value);
  }

  /** Applies a new layer without weights (or with initial ones that need no setting) for `node` to `inputs`. */
  apply(node: OnnxNode, layer: Layer, inputs: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor {
    const output = layer.apply(inputs);
    if (!(output instanceof tfl.SymbolicTensor)) {
      throw this.invalid(node, `layer ${layer.name} did not return one tensor`);
    }
    return output;
  }

  /** Applies a new layer for `node` whose `weights` are set once the model is built. */
  applyWeighted(
    node: OnnxNode,
    layer: Layer,
    inputs: tfl.SymbolicTensor | tfl.SymbolicTensor[],
    weights: Omit<LayerWeights, 'layer'>,
  ): { tensor: tfl.SymbolicTensor; owner: LayerWeights } {
    const tensor = this.apply(node, layer, inputs);
    const owner: LayerWeights = { layer, ...weights };
    this.layers.push(owner);
    return { tensor, owner };
  }

  /** `value` as an image: a pooled [N, C] value becomes [N, 1, 1, C] again. */
  asImage(node: OnnxNode, value: Value): Value {
    if (value.layout === 'image') return value;
    if (value.layout === 'channels-last') {
      throw this.unsupported(node, 'its input is an image in channels-last order (after a Transpose)');
    }
    if (value.layout === 'features')
      throw this.unsupported(node, 'its input is a feature vector, not an image');
    const channels = value.tensor.shape[1];
    if (typeof channels !== 'number') throw this.invalid(node, 'its input has no fixed size');
    const layer = tfl.layers.reshape({
      name: this.layerName(node, '_unpool'),
      targetShape: [1, 1, channels],
    });
    return { ...value, tensor: this.apply(node, layer, value.tensor), layout: 'image', biasOwner: undefined };
  }

  /** True when the only reader of `node`'s output is an Add of a constant, which becomes its bias. */
  constantAddFollows(node: OnnxNode): boolean {
    const reader = this.onlyReader(node.outputs[0] ?? '');
    if (!reader || reader.opType !== 'Add') return false;
    return reader.inputs.some((name) => this.constants.has(name));
  }

  /** A unique, valid tfjs layer name derived from the node's name. */
  layerName(node: OnnxNode, suffix = ''): string {
    const cleaned = `${node.name}${suffix}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '');
    const base = cleaned || node.opType.toLowerCase();
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** The one node that reads tensor `name`, if exactly one does. */
  onlyReader(name: string): OnnxNode | undefined {
    if (this.readers.get(name) !== 1) return undefined;
    return this.graph.nodes.find((n) => n.inputs.includes(name));
  }

  /** A refusal for an operator or a use of it the engine does not support. */
  unsupported(node: OnnxNode, why: string): UserError {
    return new UserError(
      'ONNX_OPERATOR_UNSUPPORTED',
      `${this.file}: ${describeNode(node)} cannot be converted: ${why}`,
      'Export the model without it (see the README for the supported operators), or use a model built from standard layers',
    );
  }

  /** A refusal for a node that breaks the ONNX rules. */
  invalid(node: OnnxNode, why: string): UserError {
    return new UserError(
      'ONNX_NODE_INVALID',
      `${this.file}: ${describeNode(node)} is invalid: ${why}`,
      'The file is damaged or was written by a faulty exporter: export the model again',
    );
  }
}
