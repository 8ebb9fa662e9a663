import { FromShardWorkerSchema, type ToShardWorker } from '../../../shared/worker-protocol.js';
import { UserError } from '../errors.js';
import { forkLauncher, shardWorkerEntry, type WorkerHandle, type WorkerLauncher } from './launcher.js';
import type { ShardRunnerContext } from './run-job.js';
import type { ShardCallbacks, ShardRunner, ShardTask } from './shards.js';

/**
 * Runs shards in parallel worker processes (default one per core): each
 * process loads the teacher once, takes the next shard from a queue, writes
 * the shard file and reports its entry; this process records it. A worker
 * that fails or dies stops the pool; finished shards stay on disk, so the
 * job resumes from them.
 */
export class WorkerPool implements ShardRunner {
  constructor(
    private readonly context: ShardRunnerContext,
    private readonly backend: string,
    private readonly launch: WorkerLauncher = forkLauncher,
    private readonly entry: string = shardWorkerEntry(),
  ) {}

  run(tasks: ShardTask[], callbacks: ShardCallbacks): Promise<void> {
    const queue = [...tasks];
    const size = Math.min(this.context.spec.workers, queue.length);
    if (size === 0) return Promise.resolve();
    const workers: WorkerHandle[] = [];
    return new Promise<void>((resolve, reject) => {
      let active = size;
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        for (const w of workers) w.kill();
        reject(error);
      };
      callbacks.signal?.addEventListener(
        'abort',
        () => fail(callbacks.signal?.reason ?? new Error('aborted')),
        { once: true },
      );
      const next = (worker: WorkerHandle): void => {
        const task = queue.shift();
        if (!task) {
          worker.send({ type: 'stop' } satisfies ToShardWorker);
          return;
        }
        worker.send({
          type: 'shard',
          task,
          teacher: this.context.teacher.folder,
          method: this.context.method.name,
          settings: this.context.settings as Record<string, number | string | boolean>,
          transferDir: this.context.transferDir,
          backend: this.backend,
        } satisfies ToShardWorker);
      };
      for (let i = 0; i < size; i++) {
        const worker = this.launch(this.entry);
        workers.push(worker);
        let stopping = false;
        worker.onMessage((raw) => {
          const parsed = FromShardWorkerSchema.safeParse(raw);
          if (!parsed.success)
            return fail(new Error(`a synthesis worker sent an invalid message: ${parsed.error.message}`));
          const message = parsed.data;
          switch (message.type) {
            case 'progress':
              callbacks.onProgress(message.index, message.progress);
              return;
            case 'failed':
              return fail(new UserError(message.error.code, message.error.message, message.error.fix));
            case 'shard-done':
              if (message.backend !== this.backend) {
                return fail(
                  new UserError(
                    'WORKER_BACKEND_MISMATCH',
                    `A synthesis worker ran on ${message.backend} instead of ${this.backend}`,
                    'Run with --workers 1, or force one backend with --backend',
                  ),
                );
              }
              callbacks.onShard(message.entry).then(() => {
                if (queue.length === 0) stopping = true;
                next(worker);
              }, fail);
              return;
          }
        });
        worker.onExit((code) => {
          if (settled) return;
          if (!stopping || code !== 0) {
            return fail(
              new UserError(
                'WORKER_CRASHED',
                `A synthesis worker stopped unexpectedly (exit code ${code})`,
                'Run the same command again: finished shards are kept and the job resumes',
              ),
            );
          }
          active -= 1;
          if (active === 0) {
            settled = true;
            resolve();
          }
        });
        next(worker);
      }
    });
  }
}
