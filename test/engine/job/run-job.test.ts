import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEventSchema, JobResultSchema, type JobEvent, type JobSpec } from '../../../src/shared/job.js';
import { initBackend } from '../../../src/engine/backend/select.js';
import { runJob } from '../../../src/engine/job/run-job.js';
import { WorkerPool } from '../../../src/engine/job/worker-pool.js';
import { loadModel } from '../../../src/engine/models/io.js';
import { tf } from '../../../src/engine/tf.js';

const work = mkdtempSync(path.join(tmpdir(), 'distill-job-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

function spec(runDir: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    teacher: 'builtin:mnist-lenet5',
    student: 'lenet5-half',
    method: 'soft-target',
    methodSettings: { iterations: 8, batchSize: 40 },
    samples: 120,
    holdout: 40,
    shardSize: 40,
    distill: {
      epochs: 3,
      batchSize: 32,
      learningRate: 0.002,
      temperature: 20,
      augment: true,
      relabel: false,
      mixup: 0,
      flip: 0,
      fade: 0,
      soften: 0,
    },
    testData: 'mnist-digits',
    seed: 3,
    workers: 1,
    runDir: path.join(work, runDir),
    ...overrides,
  };
}

describe('a job: synthesize -> distill -> evaluate', () => {
  it('runs end to end with typed events, writes its artifacts and leaks no tensors', async () => {
    const events: JobEvent[] = [];
    const before = tf.memory().numTensors;
    const result = await runJob(spec('full'), {
      emit: (e) => events.push(JobEventSchema.parse(e)),
      samplesEveryMs: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(events.filter((e) => e.type === 'stage').map((e) => e.type === 'stage' && e.stage)).toEqual([
      'prepare',
      'synthesize',
      'distill',
      'evaluate',
    ]);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.some((e) => e.stage === 'synthesize' && 'kl' in e.losses)).toBe(true);
    expect(progress.some((e) => e.stage === 'distill' && 'distillation' in e.losses)).toBe(true);
    expect(events.filter((e) => e.type === 'checkpoint' && e.stage === 'synthesize')).toHaveLength(4);
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    // The sample grid grows shard by shard (3 partial grids of 4 shards), then the final one.
    const grids = events.filter((e) => e.type === 'samples').map((e) => e.type === 'samples' && e.count);
    expect(grids).toEqual([40, 80, 120, 160]);
    const saved = JobResultSchema.parse(
      JSON.parse(readFileSync(path.join(work, 'full', 'result.json'), 'utf8')),
    );
    expect(saved.student.fingerprint).toBe(result.student.fingerprint);
    expect(result.transferSet.count).toBe(160);
    expect(result.transferSet.classHistogram.reduce((a, b) => a + b, 0)).toBe(160);
    expect(result.distillation.lossPerEpoch).toHaveLength(3);
    expect(result.distillation.metricName).toBe('test accuracy');
    expect(result.evaluation?.count).toBe(2000);
    expect(result.evaluation?.teacher.accuracy).toBeGreaterThan(0.97);
    // Quality needs a real budget (bench/paper-table.ts); here: the measurements are consistent.
    expect(result.evaluation!.student.confusion.flat().reduce((a, b) => a + b, 0)).toBe(2000);
    expect(result.holdoutAgreement).toBeGreaterThanOrEqual(0);
    expect(result.holdoutAgreement).toBeLessThanOrEqual(1);
    expect(result.accuracyRatio).toBeCloseTo(
      result.evaluation!.student.accuracy / result.evaluation!.teacher.accuracy,
      10,
    );
    expect(existsSync(path.join(work, 'full', 'samples.png'))).toBe(true);
    const student = await loadModel(path.join(work, 'full', 'student'));
    expect(student.card?.provenance.teacherFingerprint).toBe(result.teacher.fingerprint);
    student.model.dispose();
  });

  it('started again on a finished run folder, redoes nothing and gives the same student', async () => {
    const events: JobEvent[] = [];
    const first = JobResultSchema.parse(
      JSON.parse(readFileSync(path.join(work, 'full', 'result.json'), 'utf8')),
    );
    const again = await runJob(spec('full'), { emit: (e) => events.push(e) });
    expect(events.some((e) => e.type === 'checkpoint')).toBe(false);
    expect(again.distillation.resumedFromEpoch).toBe(3);
    expect(again.student.fingerprint).toBe(first.student.fingerprint);
  });

  it('refuses to mix settings in one run folder', async () => {
    await expect(runJob(spec('full', { seed: 4 }), { emit: () => undefined })).rejects.toMatchObject({
      code: 'RUN_SETTINGS_CHANGED',
    });
    await expect(
      runJob(spec('bad', { methodSettings: { sigma: -2 } }), { emit: () => undefined }),
    ).rejects.toMatchObject({ code: 'SETTINGS_INVALID' });
    await expect(runJob({ ...spec('bad2'), samples: 0 }, { emit: () => undefined })).rejects.toMatchObject({
      code: 'JOB_INVALID',
    });
  });

  it('makes the same transfer set in parallel worker processes as in one process', async () => {
    const base = spec('serial', {
      testData: undefined,
      distill: {
        epochs: 1,
        batchSize: 32,
        learningRate: 0.002,
        temperature: 20,
        augment: false,
        relabel: false,
        mixup: 0,
        flip: 0,
        fade: 0,
        soften: 0,
      },
    });
    const serial = await runJob(base, { emit: () => undefined });
    const parallelSpec = { ...base, workers: 2, runDir: path.join(work, 'parallel') };
    const grids: number[] = [];
    const parallel = await runJob(parallelSpec, {
      emit: (e) => {
        if (e.type === 'samples') grids.push(e.count);
      },
      // Growing grids are drawn while other workers write their shards: that must not disturb them.
      samplesEveryMs: 0,
      shardRunner: (ctx) => new WorkerPool(ctx, 'wasm'),
    });
    const shards = (dir: string) =>
      (
        JSON.parse(readFileSync(path.join(dir, 'transfer', 'manifest.json'), 'utf8')) as {
          shards: { index: number; sha256: string }[];
        }
      ).shards
        .sort((a, b) => a.index - b.index)
        .map((s) => s.sha256);
    expect(shards(parallelSpec.runDir)).toEqual(shards(base.runDir));
    expect(parallel.student.fingerprint).toBe(serial.student.fingerprint);
    expect(grids.at(-1)).toBe(parallel.transferSet.count);
    expect(grids.length).toBeGreaterThan(1);
    expect(parallel.distillation.metricName).toBe('hold-out agreement');
  });
});
