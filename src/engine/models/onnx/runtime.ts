import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { Preprocessing } from '../../../shared/model-card.js';
import { UserError } from '../../../shared/errors.js';
import { tf, type tfl } from '../../tf.js';
import { Rng } from '../../util/rng.js';
import { transpose } from './layout.js';

/**
 * Checking a model against ONNX Runtime, the reference implementation of
 * ONNX: both run the same images, and the largest difference between their
 * outputs must stay within ONNX_TOLERANCE. Used at import (the converted
 * teacher against the user's file) and at export (the written file against
 * the student it came from).
 */

/**
 * The stated tolerance: outputs agree when the largest absolute difference
 * is at most 1e-4 times the largest output magnitude (or 1e-4, for outputs
 * below 1). Float32 sums in another order differ by about 1e-6 relative in
 * models of this size; a wrong transpose or padding differs by far more.
 */
export const ONNX_TOLERANCE = 1e-4;

/** How a model's outputs compared with ONNX Runtime's. */
export interface OnnxRuntimeCheck {
  /** Images both ran. */
  images: number;
  /** Largest |engine - ONNX Runtime| over every output value. */
  maxAbsDifference: number;
  /** Largest |ONNX Runtime output|, the scale the tolerance is relative to. */
  maxAbsOutput: number;
  /** The difference allowed: ONNX_TOLERANCE * max(1, maxAbsOutput). */
  tolerance: number;
  /** Images where the engine and ONNX Runtime pick the same class. */
  sameTopClass: number;
  /** ONNX Runtime's version. */
  runtimeVersion: string;
  /** With labels: images each side classifies correctly. */
  correct?: { engine: number; onnxRuntime: number };
}

/** What to run: an .onnx file's bytes and the tensors to feed and read. */
export interface OnnxRun {
  bytes: Uint8Array;
  inputName: string;
  /** The tensor to read; when it is not the graph's output, it is made one. */
  outputName: string;
  /** The batch size the graph requires, when fixed. */
  fixedBatch?: number;
  /** The graph's input order; NCHW unless it says NHWC (Keras via tf2onnx). */
  inputLayout?: 'nchw' | 'nhwc';
  /** For messages. */
  file: string;
}

/** `bytes` with `output` as the graph's only output (e.g. the logits before a final Softmax). */
function withOutput(bytes: Uint8Array, output: string): Uint8Array {
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  const outputs = graph?.output ?? [];
  if (!graph || (outputs.length === 1 && outputs[0]?.name === output)) return bytes;
  graph.output = [onnx.ValueInfoProto.create({ name: output, type: { tensorType: { elemType: 1 } } })];
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Runs `run` in ONNX Runtime on `nchw` images ([count, c, h, w], or NHWC
 * when the graph takes that) and returns
 * the outputs, one row per image. One thread: it is a check, and the
 * machine may be busy with a distillation.
 */
export async function runOnnxRuntime(
  run: OnnxRun,
  nchw: Float32Array,
  dims: [number, number, number, number],
): Promise<Float32Array> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(withOutput(run.bytes, run.outputName), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      // Its failures become UserErrors here; its own log would repeat them on stderr.
      logSeverityLevel: 4,
    });
  } catch (error) {
    throw new UserError(
      'ONNX_RUNTIME_REFUSED',
      `ONNX Runtime cannot load ${run.file}: ${firstLine(error)}`,
      'The file is damaged or not valid ONNX: export the model again (and check it with onnx.checker.check_model in Python)',
      { cause: error },
    );
  }
  try {
    const [count, c, h, w] = dims;
    const batch = run.fixedBatch ?? count;
    const rows: Float32Array[] = [];
    for (let start = 0; start < count; start += batch) {
      const slice = nchw.subarray(start * c * h * w, (start + batch) * c * h * w);
      const feeds = { [run.inputName]: new ort.Tensor('float32', slice, [batch, c, h, w]) };
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run(feeds);
      } catch (error) {
        throw new UserError(
          'ONNX_RUNTIME_REFUSED',
          `ONNX Runtime cannot run ${run.file} on ${batch} image(s) of ${c}x${h}x${w}: ${firstLine(error)}`,
          'Export the model again with a fixed image input of shape (batch, channels, height, width)',
          { cause: error },
        );
      }
      const output = results[run.outputName];
      if (!output || !(output.data instanceof Float32Array)) {
        throw new UserError(
          'ONNX_RUNTIME_REFUSED',
          `ONNX Runtime did not return float32 values for "${run.outputName}" of ${run.file}`,
          'Export the model with a float32 output of class scores',
        );
      }
      rows.push(output.data);
    }
    const out = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    let offset = 0;
    for (const r of rows) {
      out.set(r, offset);
      offset += r.length;
    }
    return out;
  } finally {
    await session.release();
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n').find((line) => line.trim()) ?? message).trim();
}

/**
 * Random images as the model sees them: pixels uniform in [0, 1], then
 * normalised by `preprocessing` (mean, std per channel). NHWC for tfjs.
 */
export function randomInputs(
  count: number,
  shape: readonly [number, number, number],
  preprocessing: Preprocessing,
  seed: number,
): Float32Array {
  const [h, w, c] = shape;
  const rng = new Rng(seed);
  const values = new Float32Array(count * h * w * c);
  for (let i = 0; i < values.length; i++) {
    const channel = i % c;
    values[i] = (rng.next() - (preprocessing.mean[channel] ?? 0)) / (preprocessing.std[channel] ?? 1);
  }
  return values;
}

/**
 * Runs `model` (tfjs) and `run` (ONNX Runtime) on the same NHWC inputs and
 * compares their outputs (see ONNX_TOLERANCE).
 */
export async function compareWithOnnxRuntime(
  model: tfl.LayersModel,
  run: OnnxRun,
  nhwc: Float32Array,
  shape: readonly [number, number, number],
  labels?: ArrayLike<number>,
): Promise<OnnxRuntimeCheck> {
  const [h, w, c] = shape;
  const count = nhwc.length / (h * w * c);
  const expected =
    run.inputLayout === 'nhwc'
      ? await runOnnxRuntime(run, nhwc, [count, h, w, c])
      : await runOnnxRuntime(run, transpose(nhwc, [count, h, w, c], [0, 3, 1, 2]), [count, c, h, w]);
  const actual = tf.tidy(() => model.predict(tf.tensor4d(nhwc, [count, h, w, c])) as tf.Tensor);
  const values = (await actual.data()) as Float32Array;
  actual.dispose();
  if (values.length !== expected.length) {
    throw new UserError(
      'ONNX_MISMATCH',
      `${run.file}: ONNX Runtime gives ${expected.length / count} values per image, the converted model ${values.length / count}`,
      'Report this model: the conversion got its output size wrong',
    );
  }
  const classes = expected.length / count;
  let maxAbsDifference = 0;
  let maxAbsOutput = 0;
  let sameTopClass = 0;
  const correct = { engine: 0, onnxRuntime: 0 };
  for (let image = 0; image < count; image++) {
    let bestExpected = 0;
    let bestActual = 0;
    for (let k = 0; k < classes; k++) {
      const i = image * classes + k;
      const e = expected[i] ?? 0;
      const a = values[i] ?? 0;
      // NaN must fail the check, so compare with a negated test.
      const difference = Math.abs(e - a);
      if (!(difference <= maxAbsDifference))
        maxAbsDifference = Number.isNaN(difference) ? Infinity : difference;
      maxAbsOutput = Math.max(maxAbsOutput, Math.abs(e));
      if (e > (expected[image * classes + bestExpected] ?? 0)) bestExpected = k;
      if (a > (values[image * classes + bestActual] ?? 0)) bestActual = k;
    }
    if (bestExpected === bestActual) sameTopClass++;
    if (labels && labels[image] === bestActual) correct.engine++;
    if (labels && labels[image] === bestExpected) correct.onnxRuntime++;
  }
  return {
    images: count,
    maxAbsDifference,
    maxAbsOutput,
    tolerance: ONNX_TOLERANCE * Math.max(1, maxAbsOutput),
    sameTopClass,
    runtimeVersion: ort.env.versions.node ?? ort.env.versions.common,
    ...(labels ? { correct } : {}),
  };
}

/** Two checks on different images as one. */
export function mergeChecks(a: OnnxRuntimeCheck, b: OnnxRuntimeCheck): OnnxRuntimeCheck {
  const maxAbsOutput = Math.max(a.maxAbsOutput, b.maxAbsOutput);
  return {
    images: a.images + b.images,
    maxAbsDifference: Math.max(a.maxAbsDifference, b.maxAbsDifference),
    maxAbsOutput,
    tolerance: ONNX_TOLERANCE * Math.max(1, maxAbsOutput),
    sameTopClass: a.sameTopClass + b.sameTopClass,
    runtimeVersion: a.runtimeVersion,
    ...(a.correct && b.correct
      ? {
          correct: {
            engine: a.correct.engine + b.correct.engine,
            onnxRuntime: a.correct.onnxRuntime + b.correct.onnxRuntime,
          },
        }
      : {}),
  };
}
