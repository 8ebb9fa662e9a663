import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JobEventSchema,
  JobResultSchema,
  type JobEvent,
  type JobSpec,
  type RoundsSettings,
} from '../../../src/shared/job.js';
import { initBackend } from '../../../src/engine/backend/select.js';
import { shouldStartRound } from '../../../src/engine/job/rounds.js';
import { ShardsInProcess } from '../../../src/engine/job/shards.js';
import { WorkerPool } from '../../../src/engine/job/worker-pool.js';
import { runJob } from '../../../src/engine/job/run-job.js';
import { loadModel } from '../../../src/engine/models/io.js';
import { tf } from '../../../src/engine/tf.js';

const work = mkdtempSync(path.join(tmpdir(), 'distill-rounds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

function spec(
  runDir: string,
  rounds: Partial<RoundsSettings> = {},
  overrides: Partial<JobSpec> = {},
): JobSpec {
  return {
    teacher: 'builtin:mnist-lenet5',
    student: 'lenet5-half',
    method: 'soft-target',
    methodSettings: { iterations: 6, batchSize: 30, tv: 50, l2: 5, jitter: 2, init: 'smooth' },
    samples: 10,
    holdout: 30,
    shardSize: 1,
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
    seed: 5,
    workers: 1,
    runDir: path.join(work, runDir),
    rounds: {
      budgetSeconds: 3600,
      maxRounds: 3,
      imagesPerRound: 30,
      studentSteps: 8,
      disagreement: 30,
      disagreementTemperature: 1,
      learningRateFloor: 0.05,
      ...rounds,
    },
    ...overrides,
  };
}

/** The recorded shards of a run's transfer set, in index order. */
interface RecordedShard {
  index: number;
  sha256: string;
  metrics: Record<string, number>;
  shifts?: { file: string; maxShift: number };
}

function shards(dir: string): RecordedShard[] {
  return (
    JSON.parse(readFileSync(path.join(work, dir, 'transfer', 'manifest.json'), 'utf8')) as {
      shards: RecordedShard[];
    }
  ).shards.sort((a, b) => a.index - b.index);
}

describe('the round pipeline', () => {
  it('grows the set every round, trains the student between rounds and measures it after each', async () => {
    const events: JobEvent[] = [];
    const before = tf.memory().numTensors;
    const result = await runJob(spec('grow'), {
      emit: (e) => events.push(JobEventSchema.parse(e)),
      samplesEveryMs: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    const rounds = events.filter((e) => e.type === 'round').map((e) => (e.type === 'round' ? e.point : null));
    expect(rounds.map((p) => p?.round)).toEqual([1, 2, 3]);
    expect(rounds.map((p) => p?.images)).toEqual([30, 60, 90]);
    // Without a test set the measure is agreement on the 30 held-back images, after every round.
    expect(rounds.every((p) => p?.metric !== null && p!.metric! >= 0 && p!.metric! <= 1)).toBe(true);
    expect(result.distillation.metricName).toBe('hold-out agreement');
    expect(result.rounds).toMatchObject({ count: 3, stoppedEarly: false });
    expect(result.transferSet.count).toBe(90);
    // Synthesis and student steps alternate: each round's images land before its steps.
    const order = events
      .filter((e) => e.type === 'checkpoint' || e.type === 'round')
      .map((e) => (e.type === 'round' ? 'round' : 'shard'));
    expect(order).toEqual(['shard', 'round', 'shard', 'round', 'shard', 'round']);
    // From round 2 synthesis also rewards disagreement with the current student.
    const byIndex = shards('grow');
    expect(byIndex).toHaveLength(3);
    expect(byIndex[0]!.metrics.disagreement).toBeUndefined();
    expect(byIndex[1]!.metrics.disagreement).toBeGreaterThan(0);
    expect(byIndex[2]!.metrics.disagreement).toBeGreaterThan(0);
    // The checkpoint holds the student of the last round, which is the saved student.
    const saved = JobResultSchema.parse(
      JSON.parse(readFileSync(path.join(work, 'grow', 'result.json'), 'utf8')),
    );
    expect(saved.rounds?.curve).toHaveLength(3);
    const student = await loadModel(path.join(work, 'grow', 'student'));
    const checkpoint = await loadModel(path.join(work, 'grow', 'checkpoint', 'student'));
    const same = student.model.getWeights().every((w, i) => {
      const a = w.dataSync();
      const b = checkpoint.model.getWeights()[i]!.dataSync();
      return a.length === b.length && a.every((v, j) => v === b[j]);
    });
    student.model.dispose();
    checkpoint.model.dispose();
    expect(same).toBe(true);
  });

  it('splits rounds into shards that worker processes make with the current student, as one process would', async () => {
    // 60 images per round in synthesis batches of 30: two shards per round, whatever the workers.
    const rounds = { maxRounds: 2, imagesPerRound: 60 };
    const one = await runJob(spec('one-process', rounds), { emit: () => undefined });
    const two = await runJob(spec('two-processes', rounds, { workers: 2 }), {
      emit: () => undefined,
      shardRunner: (ctx) => new WorkerPool(ctx, 'wasm'),
    });
    expect(shards('one-process').map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(shards('two-processes').map((s) => s.sha256)).toEqual(shards('one-process').map((s) => s.sha256));
    // Round 2's shards were pushed away from the student of round 1 in the workers too.
    expect(shards('two-processes')[2]!.metrics.disagreement).toBeGreaterThan(0);
    expect(two.student.fingerprint).toBe(one.student.fingerprint);
  });

  it('restart: from round 2 half the images start from earlier ones, as one process would in workers, files removed', async () => {
    const rounds = { maxRounds: 2, imagesPerRound: 60, restart: 0.5 };
    const fresh = await runJob(spec('restart-off', { ...rounds, restart: 0 }), { emit: () => undefined });
    const one = await runJob(spec('restart-one', rounds), { emit: () => undefined });
    const two = await runJob(spec('restart-two', rounds, { workers: 2 }), {
      emit: () => undefined,
      shardRunner: (ctx) => new WorkerPool(ctx, 'wasm'),
    });
    const off = shards('restart-off').map((s) => s.sha256);
    const on = shards('restart-one').map((s) => s.sha256);
    // Round 1 has no earlier images; round 2's shards start half of their images from round 1's.
    expect(on.slice(0, 2)).toEqual(off.slice(0, 2));
    expect(on[2]).not.toBe(off[2]);
    expect(on[3]).not.toBe(off[3]);
    expect(shards('restart-two').map((s) => s.sha256)).toEqual(on);
    expect(two.student.fingerprint).toBe(one.student.fingerprint);
    expect(one.student.fingerprint).not.toBe(fresh.student.fingerprint);
    // The starting images are written for a round and removed once the job ends.
    expect(existsSync(path.join(work, 'restart-two', 'starts'))).toBe(false);
  });

  it('pipelined: workers make round r + 1 with the student of round r - 1 while this process trains, as one process would', async () => {
    const rounds = { maxRounds: 3, imagesPerRound: 60, pipelined: true };
    const one = await runJob(spec('pipelined-one', rounds), { emit: () => undefined });
    const two = await runJob(spec('pipelined-two', rounds, { workers: 2 }), {
      emit: () => undefined,
      shardRunner: (ctx) => new WorkerPool(ctx, 'wasm'),
    });
    expect(shards('pipelined-one').map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(shards('pipelined-two').map((s) => s.sha256)).toEqual(
      shards('pipelined-one').map((s) => s.sha256),
    );
    // Rounds 1 and 2 come before any trained student; round 3 is pushed away from round 1's.
    expect(shards('pipelined-one')[2]!.metrics.disagreement).toBeUndefined();
    expect(shards('pipelined-one')[4]!.metrics.disagreement).toBeGreaterThan(0);
    expect(two.student.fingerprint).toBe(one.student.fingerprint);
    expect(one.rounds?.curve.map((p) => p.images)).toEqual([60, 120, 180]);
    // The student copies kept for later rounds are dropped once used: only the last ones remain.
    expect(readdirSync(path.join(work, 'pipelined-two', 'students')).sort()).toEqual(['round-2', 'round-3']);
  });

  it('shifted batches: workers label every shift of the shards they make, and the student learns as if this process had', async () => {
    const rounds = { maxRounds: 2, imagesPerRound: 60 };
    const shifted = (name: string, workers = 1): JobSpec => {
      const s = spec(name, rounds, { workers });
      s.distill = { ...s.distill, augment: true, relabel: true };
      return s;
    };
    const inWorkers = await runJob(shifted('shift-labels-workers', 2), {
      emit: () => undefined,
      shardRunner: (ctx) => new WorkerPool(ctx, 'wasm'),
    });
    // This process labelling every shard itself: a runner that is never asked to.
    const here = await runJob(shifted('shift-labels-here'), {
      emit: () => undefined,
      shardRunner: (ctx) => {
        const inner = new ShardsInProcess(ctx.method, ctx.teacher, ctx.settings, ctx.transferDir);
        return {
          run: (tasks, callbacks, options) =>
            inner.run(tasks, callbacks, { ...options, shiftLabels: undefined }),
        };
      },
    });
    const made = shards('shift-labels-workers');
    expect(made).toHaveLength(4);
    for (const shard of made) {
      expect(shard.shifts?.maxShift).toBe(2);
      expect(existsSync(path.join(work, 'shift-labels-workers', 'transfer', shard.shifts!.file))).toBe(true);
    }
    expect(shards('shift-labels-here').every((s) => s.shifts === undefined)).toBe(true);
    expect(inWorkers.student.fingerprint).toBe(here.student.fingerprint);
  });

  it('the student changes in every round', async () => {
    const result = await runJob(spec('changes', { maxRounds: 3, disagreement: 0 }), {
      emit: () => undefined,
    });
    const losses = result.rounds!.curve.map((p) => p.loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    // The KD loss falls as the student learns the teacher's answers on the growing set.
    expect(losses[2]!).toBeLessThan(losses[0]!);
    expect(result.resolvedMethodSettings.iterations).toBe(6);
  });

  it("augments the student's batches inside the loop, labelled by the teacher, without leaking tensors", async () => {
    const plain = spec('plain-1', { maxRounds: 1, disagreement: 0 });
    const augmented = spec('augmented-1', { maxRounds: 1, disagreement: 0 });
    augmented.distill = { ...augmented.distill, augment: true, relabel: true, mixup: 0.5, fade: 0.25 };
    const a = await runJob(plain, { emit: () => undefined });
    const before = tf.memory().numTensors;
    const b = await runJob(augmented, { emit: () => undefined });
    expect(tf.memory().numTensors).toBe(before);
    // The same images (same seed, no student yet): only the batches the student saw differ.
    expect(shards('augmented-1').map((s) => s.sha256)).toEqual(shards('plain-1').map((s) => s.sha256));
    expect(Number.isFinite(b.rounds!.curve[0]!.loss)).toBe(true);
    expect(b.rounds!.curve[0]!.loss).not.toBe(a.rounds!.curve[0]!.loss);
  });

  it('keeps its time budget to within one round', async () => {
    const budgetSeconds = 6;
    const started = performance.now();
    const result = await runJob(spec('budget', { maxRounds: 0, budgetSeconds }), { emit: () => undefined });
    const curve = result.rounds!.curve;
    const perRound = curve[0]!.seconds;
    expect(curve.length).toBeGreaterThanOrEqual(2);
    // The last round started before the budget ran out, and ended within one round of it.
    expect(curve.at(-1)!.seconds).toBeLessThanOrEqual(budgetSeconds + 1.5 * perRound);
    expect(curve.at(-2)!.seconds).toBeLessThan(budgetSeconds);
    expect((performance.now() - started) / 1000).toBeLessThan(budgetSeconds + 2 * perRound + 10);
  });

  it('stop and keep: between rounds or mid-synthesis, ends with the student as it was, evaluated and saved', async () => {
    for (const when of ['after round 2', 'during round 3 synthesis'] as const) {
      const stop = new AbortController();
      let rounds = 0;
      const runDir = `stop-${when.replace(/ /g, '-')}`;
      const result = await runJob(spec(runDir, { maxRounds: 50 }, { testData: 'mnist-digits' }), {
        emit: (e) => {
          if (e.type === 'round') rounds = e.point.round;
          if (when === 'after round 2' && e.type === 'round' && rounds === 2) stop.abort();
          if (when !== 'after round 2' && rounds === 2 && e.type === 'progress' && e.stage === 'synthesize')
            stop.abort();
        },
        stop: stop.signal,
      });
      expect(result.rounds, when).toMatchObject({ stoppedEarly: true, count: 2 });
      // The student kept is the one measured after round 2: the same test accuracy.
      expect(result.evaluation?.count).toBe(2000);
      expect(result.evaluation!.student.accuracy, when).toBe(result.rounds!.curve[1]!.metric);
      const student = await loadModel(path.join(work, runDir, 'student'));
      expect(student.model.outputs[0]!.shape).toEqual([null, 10]);
      student.model.dispose();
    }
  });

  it('averaging: the student measured after every round and saved is the average of its weights, checkpointed', async () => {
    const runDir = 'averaged';
    const result = await runJob(spec(runDir, { averaging: 0.9 }, { testData: 'mnist-digits' }), {
      emit: () => undefined,
    });
    // The saved student is the one the last round measured (on the test set, as the final report does).
    expect(result.evaluation!.student.accuracy).toBe(result.rounds!.curve.at(-1)!.metric);
    const flat = async (folder: string): Promise<Float32Array> => {
      const saved = await loadModel(path.join(work, runDir, folder));
      const values = (await Promise.all(saved.model.getWeights().map((w) => w.data()))).flatMap((d) =>
        Array.from(d),
      );
      saved.model.dispose();
      return Float32Array.from(values);
    };
    const student = await flat('student');
    // The checkpoint holds the trained weights, and beside them the average, which the student is.
    const bytes = readFileSync(path.join(work, runDir, 'checkpoint', 'average.bin'));
    const average = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(Array.from(average)).toEqual(Array.from(student));
    expect(Array.from(await flat('checkpoint/student'))).not.toEqual(Array.from(student));
    // Run again on the same folder: nothing left to do, the same student from the checkpoint.
    const again = await runJob(spec(runDir, { averaging: 0.9 }, { testData: 'mnist-digits' }), {
      emit: () => undefined,
    });
    expect(again.student.fingerprint).toBe(result.student.fingerprint);
  });

  it('decides rounds from the budget: the first always, then while half a mean round still fits', () => {
    const plan = { maxRounds: 0, budgetSeconds: 100 };
    expect(shouldStartRound(1, 0, 500, 0, plan)).toBe(true);
    // 3 rounds of 30 s took 90 s: a fourth starts only if 90 + 15 s is still inside the budget.
    expect(shouldStartRound(4, 0, 90, 0, plan)).toBe(false);
    expect(shouldStartRound(4, 0, 90, 0, { ...plan, budgetSeconds: 105 })).toBe(false);
    expect(shouldStartRound(4, 0, 90, 0, { ...plan, budgetSeconds: 106 })).toBe(true);
    // Resumed after 2 rounds (60 s): the rate comes from the earlier session until this one has a round.
    expect(shouldStartRound(3, 2, 60, 60, plan)).toBe(true);
    expect(shouldStartRound(3, 2, 90, 60, plan)).toBe(false);
    expect(shouldStartRound(4, 0, 10, 0, { maxRounds: 3, budgetSeconds: 1000 })).toBe(false);
    expect(shouldStartRound(3, 0, 10, 0, { maxRounds: 3, budgetSeconds: 1000 })).toBe(true);
  });
});
