import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobResultSchema } from '../../../src/shared/job.js';

const work = mkdtempSync(path.join(tmpdir(), 'distill-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = path.resolve('bin/distill-studio.js');

interface Run {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** The paper's two stages, small: 300 images (+60 held back) in shards of 60, then 6 epochs. */
const TWO_STAGE = [
  '--pipeline',
  'two-stage',
  '--samples',
  '300',
  '--holdout',
  '60',
  '--shard-size',
  '60',
  '--set',
  'iterations=15',
  '--epochs',
  '6',
];

/**
 * The round pipeline, small: 5 rounds of 40 images x 10 steps and 25 student steps, student-aware,
 * half of each round's images started from earlier ones.
 */
const ROUNDS = [
  '--pipeline',
  'rounds',
  '--rounds',
  '5',
  '--budget',
  '1h',
  '--round-images',
  '40',
  '--round-steps',
  '25',
  '--disagreement',
  '30',
  '--restart',
  '0.5',
  '--holdout',
  '60',
  '--set',
  'iterations=10',
];

/** Starts the real command line as a separate process on a small job. */
function startDistill(runDir: string, pipeline = TWO_STAGE): Run {
  const args = [
    cli,
    'distill',
    ...pipeline,
    '--batch',
    '32',
    '--seed',
    '7',
    '--workers',
    '1',
    '--backend',
    'wasm',
    '--quiet',
    '--run',
    runDir,
  ];
  const started = Date.now();
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
  return { child, exit };
}

const result = (runDir: string) =>
  JobResultSchema.parse(JSON.parse(readFileSync(path.join(runDir, 'result.json'), 'utf8')));
const shards = (dir: string) =>
  (
    JSON.parse(readFileSync(path.join(dir, 'transfer', 'manifest.json'), 'utf8')) as {
      shards: { index: number; sha256: string }[];
    }
  ).shards
    .sort((x, y) => x.index - y.index)
    .map((s) => s.sha256);

/** Resolves once the distillation checkpoint of `runDir` has reached `epoch`. */
async function checkpointReached(runDir: string, epoch: number): Promise<void> {
  const file = path.join(runDir, 'checkpoint', 'state.json');
  for (;;) {
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { epoch: number }).epoch >= epoch) return;
      } catch {
        // being replaced at this instant: look again
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a job killed at a random moment', () => {
  it('continues from what is on disk and reaches exactly the same student', async () => {
    const clean = path.join(work, 'clean');
    const reference = await startDistill(clean).exit;
    expect(reference.code).toBe(0);

    const killed = path.join(work, 'killed');
    // Anywhere between start-up and well before the end of the job; logged so a failure can be replayed.
    const delay = Math.round(1500 + Math.random() * Math.max(1, reference.ms * 0.75 - 1500));
    console.info(`killing the job after ${delay} ms of ${reference.ms} ms`);
    const run = startDistill(killed);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
    const interrupted = await run.exit;
    clearTimeout(timer);
    // The kill must land while the job runs; a job that ended first would prove nothing.
    expect(interrupted.signal).toBe('SIGKILL');
    expect(existsSync(path.join(killed, 'result.json'))).toBe(false);
    expect((await startDistill(killed).exit).code).toBe(0);

    expect(result(killed).student.fingerprint).toBe(result(clean).student.fingerprint);
    expect(result(killed).holdoutAgreement).toBe(result(clean).holdoutAgreement);
    expect(shards(killed)).toEqual(shards(clean));
  });

  it('killed during distillation, resumes from the last epoch checkpoint', async () => {
    const reference = path.join(work, 'late-reference');
    expect((await startDistill(reference).exit).code).toBe(0);
    const runDir = path.join(work, 'late');
    const run = startDistill(runDir);
    await checkpointReached(runDir, 2);
    run.child.kill('SIGKILL');
    expect((await run.exit).signal).toBe('SIGKILL');
    expect(existsSync(path.join(runDir, 'result.json'))).toBe(false);

    expect((await startDistill(runDir).exit).code).toBe(0);
    const resumed = result(runDir);
    expect(resumed.distillation.resumedFromEpoch).toBeGreaterThanOrEqual(2);
    expect(resumed.distillation.resumedFromEpoch).toBeLessThan(6);
    expect(resumed.student.fingerprint).toBe(result(reference).student.fingerprint);
  });

  it('in rounds: killed at a random moment, resumes to exactly the same student', async () => {
    const clean = path.join(work, 'rounds-clean');
    const reference = await startDistill(clean, ROUNDS).exit;
    expect(reference.code).toBe(0);
    expect(result(clean).rounds?.count).toBe(5);

    const killed = path.join(work, 'rounds-killed');
    const delay = Math.round(1500 + Math.random() * Math.max(1, reference.ms * 0.75 - 1500));
    console.info(`killing the round job after ${delay} ms of ${reference.ms} ms`);
    const run = startDistill(killed, ROUNDS);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
    const interrupted = await run.exit;
    clearTimeout(timer);
    expect(interrupted.signal).toBe('SIGKILL');
    expect(existsSync(path.join(killed, 'result.json'))).toBe(false);
    expect((await startDistill(killed, ROUNDS).exit).code).toBe(0);

    expect(result(killed).student.fingerprint).toBe(result(clean).student.fingerprint);
    expect(result(killed).rounds?.curve.map((p) => p.metric)).toEqual(
      result(clean).rounds?.curve.map((p) => p.metric),
    );
    expect(shards(killed)).toEqual(shards(clean));
  });

  it('in rounds: killed after round 2, resumes from that round', async () => {
    const reference = path.join(work, 'rounds-late-reference');
    expect((await startDistill(reference, ROUNDS).exit).code).toBe(0);
    const runDir = path.join(work, 'rounds-late');
    const run = startDistill(runDir, ROUNDS);
    await checkpointReached(runDir, 2);
    run.child.kill('SIGKILL');
    expect((await run.exit).signal).toBe('SIGKILL');
    expect(existsSync(path.join(runDir, 'result.json'))).toBe(false);

    expect((await startDistill(runDir, ROUNDS).exit).code).toBe(0);
    const resumed = result(runDir);
    expect(resumed.distillation.resumedFromEpoch).toBeGreaterThanOrEqual(2);
    expect(resumed.distillation.resumedFromEpoch).toBeLessThan(5);
    expect(resumed.student.fingerprint).toBe(result(reference).student.fingerprint);
  });
});
