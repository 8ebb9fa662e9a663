import type { Conversion, Value } from './conversion.js';
import type { OnnxNode } from './graph.js';

/**
 * The small shape computations exporters write around a flatten, such as
 * PyTorch's x.view(x.size(0), -1) with a variable batch: Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape. They are evaluated at conversion time, with
 * the batch size kept as a symbol, so the Reshape sees a constant target in
 * which the batch is 0 ("copy the input's"). Shape arithmetic beyond picking
 * and joining dimensions is refused.
 */

/** A shape (or one of its entries) known at conversion time; 'batch' is the variable batch size. */
export interface ShapeValue {
  values: (number | 'batch')[];
  /** True for a single entry (Gather with a scalar index), false for a list. */
  scalar: boolean;
}

/** The ONNX dimensions of a computed value, by its layout. */
function dimsOf(value: Value): (number | 'batch')[] {
  const shape = value.tensor.shape.slice(1).map((d) => d ?? Number.NaN);
  switch (value.layout) {
    case 'image': {
      const [h, w, ch] = shape;
      return ['batch', ch ?? Number.NaN, h ?? Number.NaN, w ?? Number.NaN];
    }
    case 'pooled':
      return ['batch', shape[0] ?? Number.NaN, 1, 1];
    case 'features':
    case 'channels-last':
      return ['batch', ...shape];
  }
}

/** Input `index` of `node` as a shape: a shape computed here, or an integer constant. */
export function shapeInput(c: Conversion, node: OnnxNode, index: number): ShapeValue | undefined {
  const name = node.inputs[index];
  if (!name) return undefined;
  const computed = c.shapes.get(name);
  if (computed) return computed;
  const constant = c.constants.get(name);
  if (!constant || constant.values instanceof Float32Array) return undefined;
  return { values: [...constant.values], scalar: constant.dims.length === 0 };
}

function define(c: Conversion, node: OnnxNode, shape: ShapeValue): void {
  c.shapes.set(node.outputs[0] ?? '', shape);
}

/** Shape: the dimensions of a computed value (optionally from start to end, opset 15). */
export function shapeOp(node: OnnxNode, c: Conversion): void {
  const dims = dimsOf(c.value(node, 0));
  const start = c.int(node, 'start', 0);
  const end = c.int(node, 'end', dims.length);
  define(c, node, { values: dims.slice(start, end), scalar: false });
}

/** Gather along axis 0 of a shape: picks dimensions by index. */
export function gatherOp(node: OnnxNode, c: Conversion): void {
  const data = shapeInput(c, node, 0);
  const indices = shapeInput(c, node, 1);
  if (!data || !indices || c.int(node, 'axis', 0) !== 0 || indices.values.includes('batch')) {
    throw c.unsupported(node, 'Gather is only supported on shapes, as in x.view(x.size(0), -1)');
  }
  const picked = indices.values.map((i) => data.values.at(i as number));
  if (picked.some((v) => v === undefined)) throw c.invalid(node, 'an index is outside the shape');
  define(c, node, { values: picked as (number | 'batch')[], scalar: indices.scalar });
}

/** Unsqueeze of a shape entry into a one-entry list (axes [0], as an attribute or, from opset 13, an input). */
export function unsqueezeOp(node: OnnxNode, c: Conversion): void {
  const data = shapeInput(c, node, 0);
  const axes = c.ints(node, 'axes') ?? shapeInput(c, node, 1)?.values;
  if (!data || !data.scalar || !axes || axes.join() !== '0') {
    throw c.unsupported(node, 'Unsqueeze is only supported on a shape entry, as in x.view(x.size(0), -1)');
  }
  define(c, node, { values: data.values, scalar: false });
}

/** Concat along axis 0 of shapes and integer constants: a Reshape target. */
export function concatShapes(node: OnnxNode, c: Conversion): boolean {
  const parts = node.inputs.map((_, i) => shapeInput(c, node, i));
  if (!node.inputs.some((name) => c.shapes.has(name))) return false;
  if (parts.some((p) => !p) || c.int(node, 'axis', 0) !== 0) {
    throw c.unsupported(node, 'joining a shape with something that is not a shape is not supported');
  }
  define(c, node, { values: parts.flatMap((p) => p?.values ?? []), scalar: false });
  return true;
}

/** Cast of a shape (exporters cast int64 shapes around): the same shape. */
export function castOp(node: OnnxNode, c: Conversion): void {
  const data = shapeInput(c, node, 0);
  if (!data) throw c.unsupported(node, 'Cast is only supported on shapes');
  define(c, node, data);
}

/** A Reshape target: the constant, or the computed shape with the batch as 0 (copy the input's). */
export function reshapeTarget(c: Conversion, node: OnnxNode): number[] {
  const target = shapeInput(c, node, 1);
  if (!target) {
    throw c.unsupported(
      node,
      'its target shape is computed in a way the engine cannot follow (only picking and joining dimensions)',
    );
  }
  return target.values.map((v) => (v === 'batch' ? 0 : v));
}
