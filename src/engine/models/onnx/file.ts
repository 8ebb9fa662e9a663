import { promises as fs } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { formatBytes } from '../../../shared/format.js';
import { LIMITS } from '../../../shared/limits.js';
import { UserError } from '../../../shared/errors.js';
import type { OnnxAttribute, OnnxConstant, OnnxDim, OnnxGraph, OnnxInput, OnnxNode } from './graph.js';
import { elementCount } from './graph.js';

/**
 * Reading an .onnx file: its size checked before it is read, the protobuf
 * decoded with the ONNX definition published on npm (onnx-proto, generated
 * by protobufjs from onnx.proto), and the parts the converter uses turned
 * into plain data (graph.ts). Every way the file can be wrong is a
 * UserError naming the problem and the fix.
 */

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** ONNX element types by number, for messages. */
const TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(DataType).map(([name, value]) => [value, name.toLowerCase()]),
);

const REEXPORT_FIX =
  'Export the model again: from PyTorch with torch.onnx.export(model, example_input, "model.onnx"), from Keras with tf2onnx';

/** An int64 as protobufjs hands it out: a number, or a Long when it does not fit one. */
type Int64 = number | { toNumber(): number };

function toNumber(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Reads and decodes `file` (an .onnx model), within LIMITS.onnxFileBytes; also returns its bytes. */
export async function readOnnxFile(file: string): Promise<{ graph: OnnxGraph; bytes: Uint8Array }> {
  const absolute = path.resolve(file);
  let size: number;
  try {
    const stat = await fs.stat(absolute);
    if (!stat.isFile()) {
      throw new UserError(
        'ONNX_NOT_A_FILE',
        `${absolute} is a folder, not an .onnx model file`,
        'Give the path of the .onnx file itself',
      );
    }
    size = stat.size;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError('ONNX_FILE_MISSING', `The model file ${absolute} does not exist`, 'Check the path', {
      cause: error,
    });
  }
  if (size > LIMITS.onnxFileBytes) {
    throw new UserError(
      'ONNX_TOO_LARGE',
      `${absolute} is ${formatBytes(size)}; this app distills classifiers whose .onnx file is at most ${formatBytes(LIMITS.onnxFileBytes)}`,
      'Use a smaller teacher model',
    );
  }
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(absolute);
  } catch (error) {
    throw new UserError(
      'ONNX_FILE_UNREADABLE',
      `Cannot read ${absolute} (${(error as Error).message})`,
      'Check that the file is readable (permissions)',
      { cause: error },
    );
  }
  return { graph: decodeOnnx(bytes, absolute), bytes };
}

/** Decodes the bytes of an .onnx file; `file` names it in messages. */
export function decodeOnnx(bytes: Uint8Array, file: string): OnnxGraph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new UserError(
      'ONNX_INVALID',
      `${file} is not a readable ONNX model (${error instanceof Error ? error.message : String(error)})`,
      `The file is damaged or not an ONNX model: copy it again complete, or ${REEXPORT_FIX.charAt(0).toLowerCase()}${REEXPORT_FIX.slice(1)}`,
      { cause: error },
    );
  }
  const graph = model.graph;
  const graphNodes = graph?.node ?? [];
  if (!graph || graphNodes.length === 0) {
    throw new UserError(
      'ONNX_INVALID',
      `${file} holds no ONNX graph (no nodes): it is not an ONNX model, or an empty one`,
      REEXPORT_FIX,
    );
  }
  if (graphNodes.length > LIMITS.onnxNodes) {
    throw new UserError(
      'ONNX_TOO_LARGE',
      `${file} has ${graphNodes.length} nodes; image classifiers this app distills have at most ${LIMITS.onnxNodes}`,
      'Use a smaller teacher model',
    );
  }
  const opset = (model.opsetImport ?? []).find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!opset) {
    throw new UserError(
      'ONNX_INVALID',
      `${file} does not say which ONNX operator set (opset) it uses`,
      REEXPORT_FIX,
    );
  }
  const constants = new Map<string, OnnxConstant>();
  for (const tensor of graph.initializer ?? []) {
    constants.set(tensor.name ?? '', toConstant(tensor, `initializer "${tensor.name ?? ''}"`, file));
  }
  const inputs: OnnxInput[] = (graph.input ?? [])
    .filter((input) => !constants.has(input.name ?? ''))
    .map((input) => {
      const tensorType = input.type?.tensorType;
      const dims: OnnxDim[] = (tensorType?.shape?.dim ?? []).map((dim) => {
        const which = (dim as onnxProto.onnx.TensorShapeProto.Dimension).value;
        if (which === 'dimValue') return toNumber(dim.dimValue);
        if (which === 'dimParam') return dim.dimParam ?? null;
        return null;
      });
      return { name: input.name ?? '', elemType: tensorType?.elemType ?? 0, dims };
    });
  const nodes = graphNodes.map((node, index): OnnxNode => {
    const name = node.name || `#${index}`;
    const attributes = new Map<string, OnnxAttribute>();
    for (const attribute of node.attribute ?? []) {
      attributes.set(attribute.name ?? '', toAttribute(attribute, name, file));
    }
    return {
      name,
      opType: node.opType ?? '',
      domain: node.domain ?? '',
      inputs: [...(node.input ?? [])],
      outputs: [...(node.output ?? [])],
      attributes,
    };
  });
  return {
    opset: toNumber(opset.version),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ') || 'unknown',
    inputs,
    outputs: (graph.output ?? []).map((o) => o.name ?? ''),
    nodes,
    constants,
    metadata: new Map((model.metadataProps ?? []).map((entry) => [entry.key ?? '', entry.value ?? ''])),
  };
}

function toAttribute(attribute: AttributeProto, node: string, file: string): OnnxAttribute {
  switch (attribute.type) {
    case AttributeType.INT:
      return { kind: 'int', value: toNumber(attribute.i) };
    case AttributeType.FLOAT:
      return { kind: 'float', value: attribute.f ?? 0 };
    case AttributeType.STRING:
      return { kind: 'string', value: Buffer.from(attribute.s ?? new Uint8Array()).toString('utf8') };
    case AttributeType.INTS:
      return { kind: 'ints', value: (attribute.ints ?? []).map(toNumber) };
    case AttributeType.FLOATS:
      return { kind: 'floats', value: [...(attribute.floats ?? [])] };
    case AttributeType.TENSOR:
      return {
        kind: 'tensor',
        value: toConstant(attribute.t ?? {}, `attribute "${attribute.name ?? ''}" of node "${node}"`, file),
      };
    default:
      return { kind: 'other', type: attribute.type ?? 0 };
  }
}

/** Bytes per element of the element types whose raw data we decode. */
const RAW_BYTES: Readonly<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.INT64]: 8,
  [DataType.INT32]: 4,
};

/** A TensorProto's values as float32 (floating types) or numbers (integer types). */
function toConstant(tensor: TensorProto, what: string, file: string): OnnxConstant {
  const invalid = (why: string): UserError =>
    new UserError('ONNX_TENSOR_INVALID', `${file}: ${what} ${why}`, REEXPORT_FIX);
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new UserError(
      'ONNX_EXTERNAL_DATA',
      `${file}: ${what} keeps its values in a separate file (ONNX external data), which this app does not read`,
      'Save the model with its weights inside the .onnx file: in Python, onnx.save(onnx.load("model.onnx"), "single.onnx", save_as_external_data=False)',
    );
  }
  const dims = (tensor.dims ?? []).map(toNumber);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw invalid(`has an invalid shape [${dims.join(', ')}]`);
  const count = elementCount(dims);
  const type = tensor.dataType ?? 0;
  const raw = tensor.rawData && tensor.rawData.byteLength > 0 ? tensor.rawData : undefined;
  const per = RAW_BYTES[type];
  if (per === undefined) {
    throw new UserError(
      'ONNX_TENSOR_TYPE_UNSUPPORTED',
      `${file}: ${what} holds ${TYPE_NAMES[type] ?? `type ${type}`} values; this app reads float32 (or float64) weights and int64/int32 shapes`,
      'Export the model in float32 (in PyTorch, call model.float() before torch.onnx.export; a quantized or float16 model cannot be used)',
    );
  }
  if (raw && raw.byteLength !== count * per) {
    throw invalid(`holds ${raw.byteLength} bytes, but its shape [${dims.join(', ')}] needs ${count * per}`);
  }
  // Copies, so the values neither alias the file's buffer nor depend on its alignment.
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const listed = (values: readonly Int64[] | null | undefined): readonly Int64[] => {
    const list = values ?? [];
    if (list.length !== count)
      throw invalid(`lists ${list.length} values, but its shape [${dims.join(', ')}] needs ${count}`);
    return list;
  };
  switch (type) {
    case DataType.FLOAT: {
      if (!view) return { dims, values: Float32Array.from(listed(tensor.floatData) as number[]) };
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true);
      return { dims, values };
    }
    case DataType.DOUBLE: {
      if (!view) return { dims, values: Float32Array.from(listed(tensor.doubleData) as number[]) };
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getFloat64(i * 8, true);
      return { dims, values };
    }
    case DataType.INT64: {
      if (!view) return { dims, values: listed(tensor.int64Data).map(toNumber) };
      return { dims, values: Array.from({ length: count }, (_, i) => Number(view.getBigInt64(i * 8, true))) };
    }
    default: {
      if (!view) return { dims, values: listed(tensor.int32Data).map(toNumber) };
      return { dims, values: Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true)) };
    }
  }
}
