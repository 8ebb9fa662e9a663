import type { tfl } from '../../tf.js';
import {
  float,
  int,
  ints,
  unsupported,
  type Attribute,
  type Exported,
  type GraphWriter,
  type Layer,
} from './export-writer.js';
import { transpose } from './layout.js';

/**
 * Each layer of a LayersModel as ONNX operators (opset 13), with kernels
 * transposed from tfjs's layouts to ONNX's and 'same' padding written out
 * as explicit pads. Any layer not handled here is refused by name.
 */

/** The layer's config as a plain record. */
function configOf(layer: Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

/** [top, bottom] padding of tfjs's 'same' along one side. */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + effective - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/** ONNX pads [top, left, bottom, right] for a tfjs window layer on `input` (NHWC). */
function padsFor(
  layer: Layer,
  input: tfl.SymbolicTensor,
  kernel: number[],
  strides: number[],
  dilations: number[],
): number[] {
  const padding = configOf(layer)['padding'];
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') throw unsupported(layer, `its padding "${String(padding)}" is not valid or same`);
  const [, h, w] = input.shape;
  const [top, bottom] = samePads(h ?? 0, kernel[0] ?? 1, strides[0] ?? 1, dilations[0] ?? 1);
  const [left, right] = samePads(w ?? 0, kernel[1] ?? 1, strides[1] ?? 1, dilations[1] ?? 1);
  return [top, left, bottom, right];
}

function pairOf(value: unknown): number[] {
  return Array.isArray(value) ? (value as number[]) : [value as number, value as number];
}

/** Appends the nodes of one activation by tfjs name; unknown names are refused. */
function activation(
  writer: GraphWriter,
  layer: Layer,
  name: string,
  x: Exported,
  options: { maxValue?: number; alpha?: number } = {},
): Exported {
  const node = (op: string, attributes: Record<string, Attribute> = {}): Exported => ({
    name: writer.node(op, `${layer.name}/${op}`, [x.name], attributes),
    layout: x.layout,
  });
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      if (options.maxValue === undefined) return node('Relu');
      return {
        name: writer.node('Clip', `${layer.name}/Clip`, [
          x.name,
          writer.scalar(`${layer.name}.min`, 0),
          writer.scalar(`${layer.name}.max`, options.maxValue),
        ]),
        layout: x.layout,
      };
    case 'relu6':
      return activation(writer, layer, 'relu', x, { maxValue: 6 });
    case 'leakyRelu':
      return node('LeakyRelu', { alpha: float(options.alpha ?? 0.2) });
    case 'sigmoid':
      return node('Sigmoid');
    case 'tanh':
      return node('Tanh');
    case 'elu':
      return node('Elu');
    case 'softplus':
      return node('Softplus');
    case 'softmax':
      if (x.layout !== 'same') throw unsupported(layer, 'a softmax over image channels is not supported');
      return node('Softmax', { axis: int(-1) });
    default:
      throw unsupported(layer, `its activation "${name}" has no ONNX counterpart here`);
  }
}

/** ONNX nodes for one layer applied to `inputs` (whose tfjs tensors are `symbolic`). */
export function exportLayer(
  writer: GraphWriter,
  layer: Layer,
  inputs: Exported[],
  symbolic: tfl.SymbolicTensor[],
): Exported {
  const config = configOf(layer);
  const [x] = inputs;
  const [xs] = symbolic;
  if (!x || !xs) throw unsupported(layer, 'it has no input');
  const className = layer.getClassName();
  const fused = (result: Exported): Exported =>
    typeof config['activation'] === 'string'
      ? activation(writer, layer, config['activation'], result)
      : result;
  const image = (): void => {
    if (x.layout !== 'nchw') throw unsupported(layer, 'its input is not an image');
  };
  switch (className) {
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      image();
      if (config['dataFormat'] === 'channelsFirst')
        throw unsupported(layer, 'channels-first data is not supported');
      const kernelSize = pairOf(config['kernelSize']);
      const strides = pairOf(config['strides']);
      const dilations = pairOf(config['dilationRate']);
      const [kernel, bias] = writer.weightsOf(layer);
      const shape = layer.getWeights()[0]?.shape ?? [];
      const [kh, kw, cin, last] = shape as [number, number, number, number];
      if (!kernel) throw unsupported(layer, 'it has no kernel');
      const depthwise = className === 'DepthwiseConv2D';
      // tfjs [kh, kw, in, out] -> ONNX [out, in, kh, kw]; depthwise [kh, kw, c, k] -> [c * k, 1, kh, kw].
      const dims = depthwise ? [cin * last, 1, kh, kw] : [last, cin, kh, kw];
      const values = transpose(kernel, shape, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
      const conv = writer.node(
        'Conv',
        layer.name,
        [
          x.name,
          writer.weight(layer, 'weight', dims, values),
          ...(bias ? [writer.weight(layer, 'bias', [bias.length], bias)] : []),
        ],
        {
          kernel_shape: ints(kernelSize),
          strides: ints(strides),
          dilations: ints(dilations),
          pads: ints(padsFor(layer, xs, kernelSize, strides, dilations)),
          group: int(depthwise ? cin : 1),
        },
      );
      return fused({ name: conv, layout: 'nchw' });
    }
    case 'Dense': {
      if (x.layout !== 'same' || xs.shape.length !== 2)
        throw unsupported(layer, 'only a Dense layer on a flat vector is supported');
      const [kernel, bias] = writer.weightsOf(layer);
      const shape = layer.getWeights()[0]?.shape ?? [];
      if (!kernel) throw unsupported(layer, 'it has no kernel');
      const gemm = writer.node('Gemm', layer.name, [
        x.name,
        writer.weight(layer, 'weight', shape, kernel),
        ...(bias ? [writer.weight(layer, 'bias', [bias.length], bias)] : []),
      ]);
      return fused({ name: gemm, layout: 'same' });
    }
    case 'Activation':
      return activation(writer, layer, String(config['activation']), x);
    case 'ReLU':
      return activation(
        writer,
        layer,
        'relu',
        x,
        typeof config['maxValue'] === 'number' ? { maxValue: config['maxValue'] } : {},
      );
    case 'LeakyReLU':
      return activation(writer, layer, 'leakyRelu', x, { alpha: Number(config['alpha'] ?? 0.3) });
    case 'Softmax':
      return activation(writer, layer, 'softmax', x);
    case 'BatchNormalization': {
      const axis = Number(config['axis'] ?? -1);
      const rank = xs.shape.length;
      if (axis !== -1 && axis !== rank - 1)
        throw unsupported(layer, `it normalises axis ${axis}, not the channels`);
      const channels = xs.shape[rank - 1] ?? 0;
      const values = writer.weightsOf(layer);
      const scale = config['scale'] !== false ? values.shift() : new Float32Array(channels).fill(1);
      const center = config['center'] !== false ? values.shift() : new Float32Array(channels);
      const [mean, variance] = values;
      if (!scale || !center || !mean || !variance) throw unsupported(layer, 'its statistics are missing');
      const named = (what: string, v: Float32Array): string => writer.weight(layer, what, [channels], v);
      const bn = writer.node(
        'BatchNormalization',
        layer.name,
        [x.name, named('scale', scale), named('bias', center), named('mean', mean), named('var', variance)],
        { epsilon: float(Number(config['epsilon'] ?? 1e-3)) },
      );
      return { name: bn, layout: x.layout };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      image();
      const kernelSize = pairOf(config['poolSize']);
      const strides = pairOf(config['strides'] ?? config['poolSize']);
      const pads = padsFor(layer, xs, kernelSize, strides, [1, 1]);
      const op = className === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
      // tfjs leaves 'same' padding out of averages, as count_include_pad=0 does.
      return {
        name: writer.node(op, layer.name, [x.name], {
          kernel_shape: ints(kernelSize),
          strides: ints(strides),
          pads: ints(pads),
        }),
        layout: 'nchw',
      };
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      image();
      const op = className === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
      const pooled = writer.node(op, layer.name, [x.name]);
      return {
        name: writer.node('Flatten', `${layer.name}/Flatten`, [pooled], { axis: int(1) }),
        layout: 'same',
      };
    }
    case 'Flatten': {
      const [, h, w] = xs.shape;
      // tfjs flattens (H, W, C): go back to that order unless the map is 1x1.
      const ordered =
        x.layout === 'nchw' && (h !== 1 || w !== 1)
          ? writer.node('Transpose', `${layer.name}/nhwc`, [x.name], { perm: ints([0, 2, 3, 1]) })
          : x.name;
      return { name: writer.node('Flatten', layer.name, [ordered], { axis: int(1) }), layout: 'same' };
    }
    case 'Permute': {
      // Only the NHWC -> NCHW permutation the ONNX importer adds before a flatten.
      const dims = config['dims'];
      if (x.layout !== 'nchw' || !Array.isArray(dims) || dims.join() !== '3,1,2')
        throw unsupported(layer, `its permutation [${String(dims)}] is not supported`);
      return { name: x.name, layout: 'same' };
    }
    case 'Reshape': {
      // Only [N, C] -> [N, 1, 1, C] (a pooled vector as an image again).
      const target = config['targetShape'];
      if (
        x.layout !== 'same' ||
        !Array.isArray(target) ||
        target.length !== 3 ||
        target[0] !== 1 ||
        target[1] !== 1
      ) {
        throw unsupported(layer, `reshaping to [${String(target)}] is not supported`);
      }
      const shape = writer.ints(`${layer.name}.shape`, [0, Number(target[2]), 1, 1]);
      return { name: writer.node('Reshape', layer.name, [x.name, shape]), layout: 'nchw' };
    }
    case 'ZeroPadding2D': {
      image();
      const padding = config['padding'] as [[number, number], [number, number]];
      const [[top, bottom], [left, right]] = padding;
      const pads = writer.ints(`${layer.name}.pads`, [0, 0, top, left, 0, 0, bottom, right]);
      return { name: writer.node('Pad', layer.name, [x.name, pads]), layout: 'nchw' };
    }
    case 'Add':
    case 'Multiply':
    case 'Concatenate': {
      if (inputs.some((i) => i.layout !== x.layout))
        throw unsupported(layer, 'its inputs have different layouts');
      if (className !== 'Concatenate') {
        // ONNX Add and Mul broadcast as tfjs does between same-layout tensors ([N, C, 1, 1] over [N, C, H, W]).
        const op = className === 'Add' ? 'Add' : 'Mul';
        if (inputs.length !== 2) throw unsupported(layer, 'only two inputs are supported');
        return {
          name: writer.node(
            op,
            layer.name,
            inputs.map((i) => i.name),
          ),
          layout: x.layout,
        };
      }
      const axis = Number(config['axis'] ?? -1);
      if (axis !== -1 && axis !== xs.shape.length - 1)
        throw unsupported(layer, `it joins along axis ${axis}, not the channels`);
      return {
        name: writer.node(
          'Concat',
          layer.name,
          inputs.map((i) => i.name),
          { axis: int(1) },
        ),
        layout: x.layout,
      };
    }
    case 'Dropout':
      return x;
    default:
      throw unsupported(layer, 'this kind of layer has no ONNX counterpart here');
  }
}
