import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCifar10Binary } from '../../src/engine/data/cifar.js';
import { Rng } from '../../src/engine/util/rng.js';
import { attr, OnnxBuilder } from '../engine/models/onnx/builder.js';
import { runCli } from './helpers.js';

/**
 * The command line with ONNX files: inspect and evaluate an .onnx teacher,
 * distill from one (converted into the run folder with its normalisation),
 * and export a model as .onnx checked in ONNX Runtime.
 */

const work = mkdtempSync(path.join(tmpdir(), 'distill-cli-onnx-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const teacherFile = path.join(work, 'teacher.onnx');
const grayTeacher = path.join(work, 'gray.onnx');
const cifarFile = path.join(work, 'test_batch.bin');

beforeAll(async () => {
  // A small colour classifier as PyTorch exports it (batch fixed to 1, softmax at the end).
  const b = new OnnxBuilder({ input: [1, 3, 32, 32], seed: 11 });
  const stem = b.convBn('x', 3, 4, 3, { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) });
  const pooled = b.node('Flatten', [b.node('GlobalAveragePool', [stem])]);
  const logits = b.node('Gemm', [pooled, b.random('fc', [10, 4], 2), b.random('fb', [10])], {
    transB: attr.int(1),
  });
  await b.write(work, b.node('Softmax', [logits]), 'teacher.onnx');
  // A grayscale one for the distillation (the lenet5-half student takes 32x32x1).
  const g = new OnnxBuilder({ input: ['N', 1, 32, 32], seed: 12 });
  const conv = g.node('Relu', [
    g.node('Conv', ['x', g.random('w', [4, 1, 5, 5]), g.random('b', [4])], {
      kernel_shape: attr.ints([5, 5]),
      strides: attr.ints([4, 4]),
    }),
  ]);
  const flat = g.node('Flatten', [conv]);
  await g.write(
    work,
    g.node('Gemm', [flat, g.random('fc', [4 * 7 * 7, 10], 0.5), g.random('fb', [10])]),
    'gray.onnx',
  );
  const rng = new Rng(4);
  const count = 50;
  await writeCifar10Binary(
    {
      source: 'test',
      shape: [32, 32, 3],
      count,
      pixels: Uint8Array.from({ length: count * 3072 }, () => rng.int(256)),
      labels: Uint8Array.from({ length: count }, () => rng.int(10)),
      numClasses: 10,
    },
    cifarFile,
  );
});

describe('command line with ONNX models', () => {
  it('inspects an .onnx teacher: conversion, check against ONNX Runtime, normalisation', async () => {
    const run = await runCli('inspect', teacherFile, '--backend', 'cpu', '--quiet', '--std', '0.5');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('input: 32x32x3 image; output: 10 classes');
    expect(run.stdout).toMatch(
      /ONNX: opset 13, made by distill-studio-test; converted and checked against ONNX Runtime [\d.]+ on 8 random images: max difference \d/,
    );
    expect(run.stdout).toContain('output: the last layer applies softmax');
    expect(run.stdout).toContain('std 0.5,0.5,0.5');
    const json = await runCli('inspect', teacherFile, '--backend', 'cpu', '--json');
    const parsed = JSON.parse(json.stdout) as {
      onnx: { check: { maxAbsDifference: number; tolerance: number } };
    };
    expect(parsed.onnx.check.maxAbsDifference).toBeLessThanOrEqual(parsed.onnx.check.tolerance);
  });

  it('evaluates an .onnx teacher on labelled images', async () => {
    const run = await runCli(
      'evaluate',
      teacherFile,
      '--data',
      cifarFile,
      '--backend',
      'cpu',
      '--quiet',
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { dataset: { count: number }; accuracy: number };
    expect(result.dataset.count).toBe(50);
    expect(result.accuracy).toBeGreaterThanOrEqual(0);
  });

  it('exports a model as .onnx, checked on the test images, and refuses unknown formats', async () => {
    const out = path.join(work, 'exported.onnx');
    const run = await runCli(
      'export',
      teacherFile,
      '--out',
      out,
      '--test-data',
      cifarFile,
      '--backend',
      'cpu',
      '--quiet',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/wrote .*exported\.onnx \([\d.]+ KiB, ONNX opset 13\)/);
    expect(run.stdout).toMatch(
      /on 50 images of .*test_batch\.bin: same predicted class on 50\/50 \(100\.00%\)/,
    );
    expect(run.stdout).toMatch(/accuracy: engine ([\d.]+%), ONNX Runtime \1/);
    expect(existsSync(out)).toBe(true);
    const bad = await runCli('export', teacherFile, '--out', out, '--format', 'tflite');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: Unknown --format "tflite"\. Fix: Use --format onnx/);
    const missing = await runCli('export', teacherFile);
    expect(missing.code).toBe(2);
  });

  it('distills from an .onnx teacher saved into the run folder with its normalisation, then exports the student', async () => {
    const runDir = path.join(work, 'run');
    const args = [
      '--student',
      'lenet5-half',
      '--pipeline',
      'two-stage',
      '--samples',
      '40',
      '--holdout',
      '0',
      '--shard-size',
      '20',
    ];
    const small = [
      ...args,
      '--set',
      'iterations=2',
      '--epochs',
      '1',
      '--batch',
      '20',
      '--workers',
      '1',
      '--backend',
      'cpu',
      '--quiet',
    ];
    const refused = await runCli(
      'distill',
      '--teacher',
      'builtin:mnist-lenet5',
      '--mean',
      '0.5',
      '--run',
      runDir,
      ...small,
    );
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('--mean and --std apply to an .onnx teacher');
    const run = await runCli(
      'distill',
      '--teacher',
      grayTeacher,
      '--mean',
      '0.25',
      '--std',
      '0.5',
      '--run',
      runDir,
      ...small,
    );
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    const teacherJson = JSON.parse(readFileSync(path.join(runDir, 'teacher', 'model.json'), 'utf8')) as {
      userDefinedMetadata: {
        distillStudio: {
          preprocessing: { mean: number[]; std: number[] };
          provenance: { producedBy: string };
        };
      };
    };
    const card = teacherJson.userDefinedMetadata.distillStudio;
    expect(card.preprocessing.mean).toEqual([0.25]);
    expect(card.preprocessing.std).toEqual([0.5]);
    expect(card.provenance.producedBy).toMatch(/^import of gray\.onnx \(ONNX opset 13/);
    const job = JSON.parse(readFileSync(path.join(runDir, 'job.json'), 'utf8')) as { teacher: string };
    expect(job.teacher).toBe(path.join(runDir, 'teacher'));

    const student = path.join(work, 'student.onnx');
    const exported = await runCli(
      'export',
      path.join(runDir, 'student'),
      '--out',
      student,
      '--backend',
      'cpu',
      '--quiet',
    );
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('mean 0.25 std 0.5');
    expect(exported.stdout).toContain("recorded in the run's report");
    expect(readFileSync(path.join(runDir, 'report.html'), 'utf8')).toContain('student.onnx');
    // The exported student reads back with the normalisation its card recorded.
    const inspected = await runCli('inspect', student, '--backend', 'cpu');
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toContain('normalisation: mean 0.25 std 0.5');
  });
});
