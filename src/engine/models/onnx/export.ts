import onnxProto from 'onnx-proto';
import { UserError } from '../../../shared/errors.js';
import type { tfl } from '../../tf.js';
import { exportLayer } from './export-layers.js';
import { GraphWriter, unsupported, type Exported, type Layer } from './export-writer.js';

/**
 * Writing a LayersModel as an ONNX graph (opset EXPORT_OPSET) that other
 * runtimes read: ONNX Runtime on servers and phones, the browser, C#, Java.
 * The graph takes NCHW images, as PyTorch models do, and returns the
 * model's own output (logits for a student). Layers are mapped one by one
 * to ONNX operators, kernels transposed from tfjs's layouts to ONNX's, 'same'
 * padding written out as explicit pads. export-file.ts runs the result in
 * ONNX Runtime against the engine before anything is written.
 */

const { onnx } = onnxProto;

/** The ONNX operator set exported files use (ONNX Runtime 1.8 and later, PyTorch's long-time default). */
export const EXPORT_OPSET = 13;
/** Name of the exported graph's input: float32 [batch, channels, height, width]. */
export const EXPORT_INPUT = 'input';
/** Name of the exported graph's output: float32 [batch, classes]. */
export const EXPORT_OUTPUT = 'logits';

/** The exported model and what it needs to be run. */
export interface OnnxExport {
  bytes: Uint8Array;
  inputShape: [number, number, number];
  opset: number;
}

/**
 * Converts `model` (one image input [h, w, c], one output) to ONNX bytes.
 * `metadata` is stored as the model's metadata_props (e.g. the model card).
 * Layers without an ONNX counterpart here are refused, naming the layer.
 */
export async function exportOnnx(
  model: tfl.LayersModel,
  metadata: Record<string, string> = {},
): Promise<OnnxExport> {
  const input = model.inputs[0];
  const output = model.outputs[0];
  const [, h, w, c] = input?.shape ?? [];
  if (
    !input ||
    !output ||
    model.inputs.length !== 1 ||
    model.outputs.length !== 1 ||
    typeof h !== 'number' ||
    typeof w !== 'number' ||
    typeof c !== 'number'
  ) {
    throw new UserError(
      'ONNX_EXPORT_UNSUPPORTED',
      'Only models with one image input of fixed size and one output can be exported as ONNX',
      'Export a Distill Studio student or an imported image classifier',
    );
  }
  const values = new Map<Layer, Float32Array[]>();
  for (const layer of model.layers) {
    values.set(
      layer,
      await Promise.all(layer.getWeights().map(async (t) => Float32Array.from(await t.data()))),
    );
  }
  const writer = new GraphWriter(values);
  const tensors = new Map<number, Exported>([[input.id, { name: EXPORT_INPUT, layout: 'nchw' }]]);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes.find((n) => n.inputTensors.every((t) => tensors.has(t.id)));
    const [out] = node?.outputTensors ?? [];
    if (!node || !out || node.outputTensors.length !== 1) {
      throw unsupported(
        layer,
        'it is not connected as a single layer of the model (a nested or shared model)',
      );
    }
    const inputs = node.inputTensors.map((t) => tensors.get(t.id) as Exported);
    tensors.set(out.id, exportLayer(writer, layer, inputs, node.inputTensors));
  }
  const result = tensors.get(output.id);
  if (!result) throw new Error('exportOnnx: the output was not computed');
  writer.node('Identity', 'output', [result.name], {}, EXPORT_OUTPUT);
  const outputDims = output.shape.slice(1).map((d) => ({ dimValue: d ?? 0 }));
  const model_ = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'distill-studio',
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: writer.nodes,
      initializer: writer.initializers,
      input: [
        tensorInfo(EXPORT_INPUT, [{ dimParam: 'batch' }, { dimValue: c }, { dimValue: h }, { dimValue: w }]),
      ],
      output: [tensorInfo(EXPORT_OUTPUT, [{ dimParam: 'batch' }, ...outputDims])],
    },
  });
  return { bytes: onnx.ModelProto.encode(model_).finish(), inputShape: [h, w, c], opset: EXPORT_OPSET };
}

function tensorInfo(
  name: string,
  dim: onnxProto.onnx.TensorShapeProto.IDimension[],
): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}
