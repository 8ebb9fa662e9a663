import { promises as fs } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { Rng } from '../../../../src/engine/util/rng.js';

/**
 * Writes small ONNX models for the tests, with the same protobuf definition
 * the engine reads them with (onnx-proto): no PyTorch needed, and every
 * operator, attribute and layout is spelled out in the test that uses it.
 */

const { onnx } = onnxProto;
type Attribute = onnxProto.onnx.IAttributeProto;
type Dim = number | string;

/** Attribute values, typed as ONNX types them. */
export const attr = {
  int: (i: number): Attribute => ({ type: onnx.AttributeProto.AttributeType.INT, i }),
  float: (f: number): Attribute => ({ type: onnx.AttributeProto.AttributeType.FLOAT, f }),
  ints: (ints: number[]): Attribute => ({ type: onnx.AttributeProto.AttributeType.INTS, ints }),
  string: (s: string): Attribute => ({ type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from(s) }),
};

export interface BuilderOptions {
  /** [batch, channels, height, width]; a string dimension is symbolic. */
  input: Dim[];
  opset?: number;
  seed?: number;
}

/** Builds one graph node by node; `encode` gives the .onnx bytes. */
export class OnnxBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly extraInputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly rng: Rng;
  private count = 0;

  constructor(readonly options: BuilderOptions) {
    this.rng = new Rng(options.seed ?? 1);
  }

  /** A float32 initializer with the given values (raw little-endian bytes, as exporters write). */
  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    const data = Float32Array.from(values);
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  /** An int64 initializer (shapes, pads), in int64_data. */
  int64s(name: string, values: number[]): string {
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      int64Data: values,
    });
    return name;
  }

  /** A float32 initializer of uniform random values in [-scale, scale]. */
  random(name: string, dims: number[], scale = 0.5): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.floats(
      name,
      dims,
      Array.from({ length: n }, () => (this.rng.next() * 2 - 1) * scale),
    );
  }

  /** Positive random values in [low, high] (BatchNorm variances and scales). */
  positive(name: string, dims: number[], low = 0.5, high = 1.5): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.floats(
      name,
      dims,
      Array.from({ length: n }, () => low + this.rng.next() * (high - low)),
    );
  }

  /** Adds a node; returns its (first) output's name. */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    options: { name?: string; outputs?: string[]; domain?: string } = {},
  ): string {
    const index = this.count++;
    const outputs = options.outputs ?? [`t${index}`];
    this.nodes.push({
      name: options.name ?? `${opType.toLowerCase()}_${index}`,
      opType,
      input: inputs,
      output: outputs,
      domain: options.domain ?? '',
      attribute: Object.entries(attributes).map(([name, a]) => ({ ...a, name })),
    });
    return outputs[0] ?? '';
  }

  /** Conv + BatchNormalization (+ Relu) with random weights: a common block. */
  convBn(
    input: string,
    inChannels: number,
    outChannels: number,
    kernel: number,
    attrs: Record<string, Attribute> = {},
    relu = true,
  ): string {
    const i = this.count;
    const w = this.random(`conv${i}_w`, [outChannels, inChannels, kernel, kernel]);
    const conv = this.node('Conv', [input, w], { kernel_shape: attr.ints([kernel, kernel]), ...attrs });
    const bn = this.batchNorm(conv, outChannels);
    return relu ? this.node('Relu', [bn]) : bn;
  }

  batchNorm(input: string, channels: number): string {
    const i = this.count;
    return this.node(
      'BatchNormalization',
      [
        input,
        this.positive(`bn${i}_scale`, [channels]),
        this.random(`bn${i}_bias`, [channels]),
        this.random(`bn${i}_mean`, [channels], 0.2),
        this.positive(`bn${i}_var`, [channels]),
      ],
      { epsilon: attr.float(1e-5) },
    );
  }

  /** The model with `output` as its graph output. */
  model(output: string): onnxProto.onnx.ModelProto {
    const elem = onnx.TensorProto.DataType.FLOAT;
    const dims = this.options.input.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
    return onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'distill-studio-test',
      opsetImport: [{ domain: '', version: this.options.opset ?? 13 }],
      graph: {
        name: 'test',
        node: this.nodes,
        initializer: this.initializers,
        input: [
          { name: 'x', type: { tensorType: { elemType: elem, shape: { dim: dims } } } },
          ...this.extraInputs,
        ],
        output: [{ name: output, type: { tensorType: { elemType: elem } } }],
      },
    });
  }

  encode(output: string): Uint8Array {
    return onnx.ModelProto.encode(this.model(output)).finish();
  }

  /** Writes the model to `dir`/`name` and returns the path. */
  async write(dir: string, output: string, name = 'model.onnx'): Promise<string> {
    const file = path.join(dir, name);
    await fs.writeFile(file, this.encode(output));
    return file;
  }
}

/** Encodes an edited model. */
export function encodeModel(model: onnxProto.onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export { onnx };
