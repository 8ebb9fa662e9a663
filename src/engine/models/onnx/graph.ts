/**
 * An ONNX model as the converter sees it: plain data, decoded once from the
 * protobuf (file.ts) so that the operator code never touches protobufjs
 * types, Long integers or byte buffers.
 */

/** A constant tensor (an initializer or a Constant node's value), in ONNX's own layout. */
export interface OnnxConstant {
  dims: number[];
  /** float32 for floating-point data, plain numbers for integer data (shapes, axes, pads). */
  values: Float32Array | number[];
}

/** An attribute value, as far as the supported operators use them. */
export type OnnxAttribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'tensor'; value: OnnxConstant }
  | { kind: 'other'; type: number };

/** One node of the graph. */
export interface OnnxNode {
  /** The node's name, or a made-up "#index (OpType)" when the file leaves it empty. */
  name: string;
  opType: string;
  /** '' for the default (ai.onnx) operator set. */
  domain: string;
  /** Input tensor names; '' marks an optional input left out. */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

/** A dimension: a number when fixed, a name or null when not. */
export type OnnxDim = number | string | null;

/** The graph's image input. */
export interface OnnxInput {
  name: string;
  /** Element type as ONNX numbers it (1 = float32). */
  elemType: number;
  dims: OnnxDim[];
}

/** Everything the converter needs from a model file. */
export interface OnnxGraph {
  /** The default operator set's version (opset). */
  opset: number;
  /** Who wrote the file, e.g. "pytorch 2.5", for messages and the card. */
  producer: string;
  /** Inputs that are not initializers (normally exactly one). */
  inputs: OnnxInput[];
  /** Names of the graph outputs. */
  outputs: string[];
  /** Nodes in file order (ONNX requires them topologically sorted). */
  nodes: OnnxNode[];
  /** Initializers by name. */
  constants: Map<string, OnnxConstant>;
  /** The model's metadata_props (Distill Studio's exports store their model card there). */
  metadata: Map<string, string>;
}

/** Words for a node in messages: 'node "conv1" (Conv)'. */
export function describeNode(node: OnnxNode): string {
  return `node "${node.name}" (${node.opType})`;
}

/** Number of elements of a tensor of `dims`. */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
