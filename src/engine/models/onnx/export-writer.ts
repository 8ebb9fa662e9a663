import onnxProto from 'onnx-proto';
import { UserError } from '../../../shared/errors.js';
import type { tfl } from '../../tf.js';

/**
 * The pieces the ONNX export is written with: the graph being built (nodes
 * and initializers), attribute values, and the refusal for a layer that has
 * no ONNX counterpart.
 */

const { onnx } = onnxProto;
export type Layer = InstanceType<typeof tfl.layers.Layer>;
export type Attribute = onnxProto.onnx.IAttributeProto;

/**
 * What an ONNX tensor holds for a tfjs tensor: 'nchw' is a 4-D tfjs tensor
 * [N, H, W, C] stored as [N, C, H, W]; 'same' has the tfjs shape as it is.
 */
export interface Exported {
  name: string;
  layout: 'nchw' | 'same';
}

const ATTRIBUTE = onnx.AttributeProto.AttributeType;
export const ints = (values: number[]): Attribute => ({ type: ATTRIBUTE.INTS, ints: values });
export const int = (value: number): Attribute => ({ type: ATTRIBUTE.INT, i: value });
export const float = (value: number): Attribute => ({ type: ATTRIBUTE.FLOAT, f: value });

/** Collects nodes and initializers as the layers are walked. */
export class GraphWriter {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private count = 0;

  /** Every layer's weight values (getWeights() order), read once up front. */
  constructor(private readonly values: Map<Layer, Float32Array[]>) {}

  /** The weight values of `layer`, in getWeights() order. */
  weightsOf(layer: Layer): Float32Array[] {
    return [...(this.values.get(layer) ?? [])];
  }

  /** A float32 scalar initializer. */
  scalar(name: string, value: number): string {
    this.initializers.push({ name, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [value] });
    return name;
  }

  /** A float32 initializer named after `layer`. */
  weight(layer: Layer, what: string, dims: number[], values: Float32Array): string {
    const name = `${layer.name}.${what}`;
    const copy = Float32Array.from(values);
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(copy.buffer),
    });
    return name;
  }

  ints(name: string, values: number[]): string {
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      int64Data: values,
    });
    return name;
  }

  /** Adds a node named `name`; returns its output's name (`output`, or a fresh one). */
  node(
    opType: string,
    name: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    output?: string,
  ): string {
    const out = output ?? `${name}:${this.count++}`;
    this.nodes.push({
      name,
      opType,
      input: inputs,
      output: [out],
      attribute: Object.entries(attributes).map(([key, value]) => ({ ...value, name: key })),
    });
    return out;
  }
}

/** The refusal for `layer`, saying `why`. */
export function unsupported(layer: Layer, why: string): UserError {
  return new UserError(
    'ONNX_EXPORT_UNSUPPORTED',
    `Layer "${layer.name}" (${layer.getClassName()}) cannot be exported as ONNX: ${why}`,
    'Export the model as a TensorFlow.js folder instead, or use a student architecture from the presets',
  );
}
