import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readOnnxFile } from '../../src/engine/models/onnx/file.js';
import { attr, OnnxBuilder } from '../engine/models/onnx/builder.js';
import { call, makeServices, refused, TINY_SETUP } from './helpers.js';

/**
 * The app's services with ONNX files: a teacher imported from an .onnx file
 * in a worker process (converted, checked against ONNX Runtime, saved into
 * the project with the normalisation the user chose), a refusal naming the
 * node, and a finished run's student exported for other apps.
 */

const files = mkdtempSync(path.join(tmpdir(), 'ds-onnx-'));
afterAll(() => rmSync(files, { recursive: true, force: true }));
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function grayTeacher(
  name: string,
  extra?: (b: OnnxBuilder, logits: string) => string,
): Promise<string> {
  const b = new OnnxBuilder({ input: [1, 1, 32, 32], seed: 21 });
  const conv = b.node('Relu', [
    b.node('Conv', ['x', b.random('w', [4, 1, 5, 5]), b.random('b', [4])], {
      kernel_shape: attr.ints([5, 5]),
      strides: attr.ints([4, 4]),
    }),
  ]);
  const logits = b.node('Gemm', [
    b.node('Flatten', [conv]),
    b.random('fc', [4 * 7 * 7, 10]),
    b.random('fb', [10]),
  ]);
  return b.write(files, extra ? extra(b, logits) : b.node('Softmax', [logits]), name);
}

describe('ONNX in the app', () => {
  it('imports an .onnx teacher with the pixel normalisation the user chose', async () => {
    const made = makeServices();
    cleanups.push(made.cleanup);
    const project = await call(made.services, 'projects.create', { name: 'From PyTorch' });
    const file = await grayTeacher('teacher.onnx');
    const set = await call(made.services, 'projects.setTeacher', {
      projectId: project.id,
      teacher: { kind: 'onnx', path: file, mean: [0.1307], std: [0.3081] },
    });
    const teacher = set.teacher!;
    expect(teacher.choice.kind).toBe('onnx');
    expect(teacher.summary.label).toMatch(
      /^ONNX model from .*teacher\.onnx, checked against ONNX Runtime \(largest difference \d/,
    );
    expect(teacher.summary.inputShape).toEqual([32, 32, 1]);
    expect(teacher.summary.numClasses).toBe(10);
    const json = JSON.parse(readFileSync(path.join(teacher.ref, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { distillStudio: { preprocessing: { mean: number[]; std: number[] } } };
    };
    expect(json.userDefinedMetadata.distillStudio.preprocessing).toMatchObject({
      mean: [0.1307],
      std: [0.3081],
    });
  });

  it('refuses an .onnx teacher with an unsupported operator, naming the node, and keeps the project as it was', async () => {
    const made = makeServices();
    cleanups.push(made.cleanup);
    const project = await call(made.services, 'projects.create', { name: 'Unsupported' });
    const file = await grayTeacher('erf.onnx', (b, logits) =>
      b.node('Erf', [logits], {}, { name: '/classifier/erf' }),
    );
    const error = await refused(made.services, 'projects.setTeacher', {
      projectId: project.id,
      teacher: { kind: 'onnx', path: file },
    });
    expect(error.code).toBe('ONNX_OPERATOR_UNSUPPORTED');
    expect(error.message).toContain('node "/classifier/erf" (Erf)');
    expect((await call(made.services, 'projects.get', { projectId: project.id })).teacher).toBeNull();
  });

  it("exports a finished run's student as .onnx, checked on the run's test set", async () => {
    const made = makeServices();
    cleanups.push(made.cleanup);
    const created = await call(made.services, 'projects.create', { name: 'Digits' });
    await call(made.services, 'projects.setTeacher', {
      projectId: created.id,
      teacher: { kind: 'builtin', name: 'mnist-lenet5' },
    });
    const project = await call(made.services, 'projects.update', {
      projectId: created.id,
      setup: { ...TINY_SETUP },
    });
    const started = await call(made.services, 'runs.start', { projectId: project.id });
    await made.services.runs.idle();
    const exported = await call(made.services, 'export.onnx', { projectId: project.id, runId: started.id });
    expect(exported.path).toMatch(/student\.onnx$/);
    expect(existsSync(exported.path!)).toBe(true);
    expect(exported.note).toMatch(
      /^ONNX \(opset 13\) checked in ONNX Runtime [\d.]+ on 2000 test images of mnist-digits.*: the same predicted class as the app for (\d+) of 2000/,
    );
    const sameClass = Number(/for (\d+) of 2000/.exec(exported.note ?? '')?.[1]);
    expect(sameClass).toBe(2000);
    const { graph } = await readOnnxFile(exported.path!);
    expect(graph.metadata.get('distillStudio')).toContain('"format":"distill-studio/model"');
    // The run's report now says where the student went and how it compared.
    const report = await call(made.services, 'runs.report', { projectId: project.id, runId: started.id });
    expect(report.html).toContain('Exported for other apps');
    expect(report.html).toContain(exported.path!);
    const again = await call(made.services, 'export.onnx', { projectId: project.id, runId: started.id });
    expect(again.path).not.toBe(exported.path); // never over an earlier export
    const named = await refused(made.services, 'export.onnx', {
      projectId: project.id,
      runId: started.id,
      destination: path.join(files, 'evil.onnx'),
    });
    expect(named.code).toBe('INPUT_INVALID');
  });
});
