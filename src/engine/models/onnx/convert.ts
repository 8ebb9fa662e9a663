import { UserError } from '../../../shared/errors.js';
import { tf, tfl } from '../../tf.js';
import { Conversion } from './conversion.js';
import type { OnnxGraph, OnnxNode } from './graph.js';
import { describeNode } from './graph.js';
import { OPERATORS } from './operators.js';

/**
 * Turns an ONNX graph into a TensorFlow.js LayersModel built with the
 * functional API, so that everything downstream (distillation, fingerprint,
 * saving as a model folder, export) works on it as on any imported teacher.
 *
 * ONNX image tensors are NCHW; the engine's are NHWC. Every value keeps a
 * layout saying what its tfjs tensor stands for (see Layout), and the
 * operators (operators.ts) transpose weights and axes accordingly.
 */

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

/** Element-wise arithmetic a model may apply to its input before the Transpose (Keras's Rescaling). */
const ELEMENTWISE = new Set(['Mul', 'Add', 'Sub', 'Div']);

/**
 * True when every path from `tensor` reaches a Transpose from NHWC to NCHW,
 * possibly through arithmetic with constants first: a Keras model converted
 * by tf2onnx, which takes NHWC images.
 */
function readAsNhwc(graph: OnnxGraph, tensor: string, depth = 0): boolean {
  const readers = graph.nodes.filter((node) => node.inputs.includes(tensor));
  return (
    readers.length > 0 &&
    depth < 8 &&
    readers.every((node) => {
      const perm = node.attributes.get('perm');
      if (node.opType === 'Transpose') return perm?.kind === 'ints' && perm.value.join() === '0,3,1,2';
      const withConstant = node.inputs.some((name) => graph.constants.has(name));
      return (
        ELEMENTWISE.has(node.opType) && withConstant && readAsNhwc(graph, node.outputs[0] ?? '', depth + 1)
      );
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
