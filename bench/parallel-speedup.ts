/**
 * Measures synthesis speed with 1 worker process (in-process) against N
 * parallel worker processes on the same shards (a benchmark, not a test).
 * Writes bench/results/parallel-speedup.json.
 *
 *   node --import tsx bench/parallel-speedup.ts [--samples 1200] [--iterations 60] [--workers 2]
 */
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { APP_VERSION } from '../src/engine/app-info.js';
import { initBackend } from '../src/engine/backend/select.js';
import { runJob } from '../src/engine/job/run-job.js';
import { WorkerPool } from '../src/engine/job/worker-pool.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '1200' },
    iterations: { type: 'string', default: '60' },
    workers: { type: 'string', default: String(cpus().length) },
  },
});
const backend = await initBackend({});
const work = mkdtempSync(path.join(tmpdir(), 'distill-speedup-'));
const samples = Number(values.samples);
const iterations = Number(values.iterations);
const runs: { workers: number; synthesisSeconds: number; samplesPerSecond: number }[] = [];
try {
  for (const workers of [1, Number(values.workers)]) {
    const result = await runJob(
      {
        teacher: 'builtin:mnist-lenet5',
        student: 'lenet5-half',
        method: 'soft-target',
        methodSettings: { iterations },
        samples,
        holdout: 0,
        shardSize: Math.ceil(samples / 8),
        seed: 1,
        workers,
        runDir: path.join(work, `w${workers}`),
        distill: { epochs: 1, batchSize: 64, learningRate: 0.001, temperature: 20, augment: false },
      },
      {
        emit: () => undefined,
        ...(workers > 1 ? { shardRunner: (ctx) => new WorkerPool(ctx, backend.name) } : {}),
      },
    );
    runs.push({
      workers,
      synthesisSeconds: result.transferSet.synthesisSeconds,
      samplesPerSecond: result.transferSet.samplesPerSecond,
    });
    console.error(
      `${workers} worker(s): ${result.transferSet.synthesisSeconds.toFixed(1)} s, ${result.transferSet.samplesPerSecond.toFixed(1)} img/s`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const speedup = (runs[0]?.synthesisSeconds ?? NaN) / (runs[1]?.synthesisSeconds ?? NaN);
console.error(`speed-up: ${speedup.toFixed(2)}x`);
await writeFileAtomic(
  path.resolve('bench/results/parallel-speedup.json'),
  JSON.stringify(
    {
      benchmark: 'parallel-speedup',
      method: 'soft-target',
      samples,
      iterations,
      cores: cpus().length,
      backend: backend.name,
      appVersion: APP_VERSION,
      date: new Date().toISOString(),
      runs,
      speedup,
    },
    null,
    2,
  ) + '\n',
);
