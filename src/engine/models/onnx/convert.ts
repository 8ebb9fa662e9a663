import { UserError } from '../../errors.js';
import { tf, tfl } from '../../tf.js';
import type { OnnxConstant, OnnxGraph, OnnxNode } from './graph.js';
import { describeNode } from './graph.js';
import { OPERATORS } from './operators.js';
import type { ShapeValue } from './shapes.js';

/**
 * Turns an ONNX graph into a TensorFlow.js LayersModel built with the
 * functional API, so that everything downstream (distillation, fingerprint,
 * saving as a model folder, export) works on it as on any imported teacher.
 *
 * ONNX image tensors are NCHW; the engine's are NHWC. Every value keeps a
 * layout saying what its tfjs tensor stands for (see Layout), and the
 * operators (operators.ts) transpose weights and axes accordingly.
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

/** The converted model and what the conversion learnt about the graph. */
export interface ConvertedOnnx {
  /** Outputs the graph's output, or its input when the graph ends in a Softmax (removed). */
  model: tfl.LayersModel;
  /** True when the graph's last node was a Softmax, which the model leaves out. */
  outputWasSoftmax: boolean;
  /** Name of the ONNX tensor the model computes (the Softmax's input when it was removed). */
  outputName: string;
  inputName: string;
  /** The batch size the graph's input is fixed to, if it is (PyTorch's default export fixes it to 1). */
  fixedBatch?: number;
  /** The order of the graph's input: NCHW (PyTorch), or NHWC followed by a Transpose (Keras via tf2onnx). */
  inputLayout: 'nchw' | 'nhwc';
  /** Height, width, channels of one input image. */
  inputShape: [number, number, number];
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
    if (name && this.constants.has(name)) {
      throw this.unsupported(
        node,
        `its input ${index + 1} ("${name}") is a constant, where a computed tensor was expected`,
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

  /** An attribute of `node` as a number, or `fallback` when absent. */
  int(node: OnnxNode, name: string, fallback: number): number {
    const attribute = node.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.kind !== 'int' && attribute.kind !== 'float')
      throw this.invalid(node, `its attribute "${name}" is not a number`);
    return attribute.value;
  }

  float(node: OnnxNode, name: string, fallback: number): number {
    return this.int(node, name, fallback);
  }

  ints(node: OnnxNode, name: string): number[] | undefined {
    const attribute = node.attributes.get(name);
    if (!attribute) return undefined;
    if (attribute.kind !== 'ints')
      throw this.invalid(node, `its attribute "${name}" is not a list of integers`);
    return attribute.value;
  }

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

/**
 * Converts `graph` (read from `file`) to a LayersModel. Only the nodes the
 * output depends on are converted; any other node is ignored. On failure
 * every variable created so far is disposed.
 */
export function convertOnnx(graph: OnnxGraph, file: string): ConvertedOnnx {
  const input = checkInput(graph, file);
  const outputName = checkOutput(graph, file);
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    const [channels, height, width] = input.chw;
    const conversion = new Conversion(graph, file, input.fixedBatch);
    const tensor = tfl.input({ shape: [height, width, channels], name: 'input' });
    conversion.values.set(input.name, {
      tensor,
      layout: input.layout === 'nhwc' ? 'channels-last' : 'image',
      nonNegative: false,
    });
    for (const node of neededNodes(graph, outputName)) convertNode(conversion, node);
    const softmaxInput = conversion.finalSoftmaxInput;
    const modelOutput = softmaxInput ?? outputName;
    const output = conversion.values.get(modelOutput);
    if (!output) throw new Error(`convertOnnx: the output "${modelOutput}" was not computed`);
    const model = tfl.model({ inputs: tensor, outputs: output.tensor, name: 'onnx' });
    tf.tidy(() => {
      for (const { layer, weights } of conversion.layers) {
        layer.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
      }
    });
    return {
      model,
      outputWasSoftmax: softmaxInput !== undefined,
      outputName: modelOutput,
      inputName: input.name,
      inputLayout: input.layout,
      ...(input.fixedBatch !== undefined ? { fixedBatch: input.fixedBatch } : {}),
      inputShape: [height, width, channels],
    };
  } catch (error) {
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!before.has(name)) variable.dispose();
    }
    throw error;
  }
}

function convertNode(conversion: Conversion, node: OnnxNode): void {
  if (node.domain !== '' && node.domain !== 'ai.onnx') {
    throw conversion.unsupported(node, `it is from the operator set "${node.domain}", not standard ONNX`);
  }
  const operator = Object.hasOwn(OPERATORS, node.opType) ? OPERATORS[node.opType] : undefined;
  if (!operator) {
    throw conversion.unsupported(
      node,
      `the operator ${node.opType} is not supported (supported: ${Object.keys(OPERATORS).sort().join(', ')})`,
    );
  }
  try {
    operator(node, conversion);
  } catch (error) {
    if (error instanceof UserError) throw error;
    // tfjs refuses shapes that do not fit (an Add of different sizes, say).
    const message = error instanceof Error ? error.message : String(error);
    throw new UserError(
      'ONNX_NODE_INVALID',
      `${conversion.file}: ${describeNode(node)} cannot be built: ${message.split('\n')[0] ?? message}`,
      'The file is damaged or was written by a faulty exporter: export the model again',
      { cause: error },
    );
  }
}

/** The nodes `output` depends on, in file order (ONNX keeps nodes topologically sorted). */
function neededNodes(graph: OnnxGraph, output: string): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  for (const node of graph.nodes) for (const name of node.outputs) if (name) producer.set(name, node);
  const needed = new Set<OnnxNode>();
  const stack = [output];
  while (stack.length > 0) {
    const node = producer.get(stack.pop() ?? '');
    if (!node || needed.has(node)) continue;
    needed.add(node);
    for (const name of node.inputs) if (name) stack.push(name);
  }
  return graph.nodes.filter((node) => needed.has(node));
}

const IMAGE_FIX =
  'Export the model for one image input of shape (batch, channels, height, width) with a fixed size, e.g. torch.onnx.export(model, torch.zeros(1, 3, 32, 32), "model.onnx")';

/** True when every node reading `input` is a Transpose from NHWC to NCHW (a Keras model converted by tf2onnx). */
function readAsNhwc(graph: OnnxGraph, input: string): boolean {
  const readers = graph.nodes.filter((node) => node.inputs.includes(input));
  return (
    readers.length > 0 &&
    readers.every((node) => {
      const perm = node.attributes.get('perm');
      return node.opType === 'Transpose' && perm?.kind === 'ints' && perm.value.join() === '0,3,1,2';
    })
  );
}

function checkInput(
  graph: OnnxGraph,
  file: string,
): { name: string; chw: [number, number, number]; fixedBatch?: number; layout: 'nchw' | 'nhwc' } {
  if (graph.inputs.length !== 1) {
    throw new UserError(
      'ONNX_INPUT_NOT_IMAGE',
      `${file} has ${graph.inputs.length} inputs (${graph.inputs.map((i) => `"${i.name}"`).join(', ') || 'none'}); a teacher takes exactly one: a batch of images`,
      IMAGE_FIX,
    );
  }
  const input = graph.inputs[0];
  if (!input) throw new Error('unreachable');
  if (input.elemType !== 1) {
    throw new UserError(
      'ONNX_INPUT_NOT_IMAGE',
      `${file}: the input "${input.name}" holds values of ONNX type ${input.elemType}, not float32 pixels`,
      IMAGE_FIX,
    );
  }
  const dims = input.dims;
  const layout = readAsNhwc(graph, input.name) ? 'nhwc' : 'nchw';
  const [batch, c, h, w] = layout === 'nhwc' ? [dims[0], dims[3], dims[1], dims[2]] : dims;
  if (dims.length !== 4) {
    throw new UserError(
      'ONNX_INPUT_NOT_IMAGE',
      `${file}: the input "${input.name}" has shape [${dims.map((d) => d ?? '?').join(', ')}], not (batch, channels, height, width)`,
      IMAGE_FIX,
    );
  }
  if (typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number' || c < 1 || h < 1 || w < 1) {
    throw new UserError(
      'ONNX_INPUT_SIZE_UNKNOWN',
      `${file}: the input "${input.name}" has shape [${dims.map((d) => d ?? '?').join(', ')}]; its channels, height and width must be fixed numbers so the engine knows which images to make`,
      IMAGE_FIX,
    );
  }
  return {
    name: input.name,
    chw: [c, h, w],
    layout,
    ...(typeof batch === 'number' && batch > 0 ? { fixedBatch: batch } : {}),
  };
}

function checkOutput(graph: OnnxGraph, file: string): string {
  const [output] = graph.outputs;
  if (graph.outputs.length !== 1 || !output) {
    throw new UserError(
      'ONNX_OUTPUT_MULTIPLE',
      `${file} has ${graph.outputs.length} outputs; a teacher has exactly one: its class scores`,
      'Export the model with only its classification output',
    );
  }
  return output;
}
