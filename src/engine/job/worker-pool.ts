import {
  FromShardWorkerSchema,
  type FromShardWorker,
  type ToShardWorker,
} from '../../shared/shard-protocol.js';
import { UserError } from '../../shared/errors.js';
import { forkLauncher, shardWorkerEntry, type WorkerHandle, type WorkerLauncher } from './launcher.js';
import type { ShardRunnerContext } from './run-job.js';
import type { ShardCallbacks, ShardRunner, ShardRunOptions, ShardTask } from './shards.js';

/** What a pool worker is doing for the run in progress (undefined: idle). */
interface Assignment {
  onMessage(message: FromShardWorker): void;
  onError(error: Error): void;
}

interface PoolWorker {
  handle: WorkerHandle;
  assignment?: Assignment;
}

/**
 * Runs shards in parallel worker processes (default one per core): each
 * process loads the teacher once, takes the next shard from a queue, writes
 * the shard file and reports its entry; this process records it. Workers
 * stay up between runs (the round pipeline runs one per round) until
 * close(). A worker that fails or dies fails the run and the pool starts
 * fresh ones next time; finished shards stay on disk, so the job resumes
 * from them.
 */
export class WorkerPool implements ShardRunner {
  readonly parallel = true;
  private workers: PoolWorker[] = [];

  constructor(
    private readonly context: ShardRunnerContext,
    private readonly backend: string,
    private readonly launch: WorkerLauncher = forkLauncher,
    private readonly entry: string = shardWorkerEntry(),
  ) {}

  run(tasks: ShardTask[], callbacks: ShardCallbacks, options: ShardRunOptions = {}): Promise<void> {
    const queue = [...tasks];
    const size = Math.min(this.context.spec.workers, queue.length);
    if (size === 0) return Promise.resolve();
    while (this.workers.length < size) this.workers.push(this.start());
    const busy = this.workers.slice(0, size);
    return new Promise<void>((resolve, reject) => {
      let active = size;
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        this.killAll();
        reject(error);
      };
      const signal = callbacks.signal;
      if (signal?.aborted) return fail(signal.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', () => fail(signal.reason ?? new Error('aborted')), { once: true });
      const next = (worker: PoolWorker): void => {
        const task = queue.shift();
        if (!task) {
          worker.assignment = undefined;
          active -= 1;
          if (active === 0 && !settled) {
            settled = true;
            resolve();
          }
          return;
        }
        worker.handle.send({
          type: 'shard',
          task,
          teacher: this.context.teacher.folder,
          method: this.context.method.name,
          settings: this.context.settings as Record<string, number | string | boolean>,
          transferDir: this.context.transferDir,
          backend: this.backend,
          ...(options.student ? { student: options.student } : {}),
          ...(options.shiftLabels ? { shiftLabels: options.shiftLabels } : {}),
        } satisfies ToShardWorker);
      };
      for (const worker of busy) {
        worker.assignment = {
          onMessage: (message) => {
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
                callbacks.onShard(message.entry).then(() => next(worker), fail);
                return;
            }
          },
          onError: fail,
        };
        next(worker);
      }
    });
  }

  /** Stops the workers (they exit once idle). */
  close(): void {
    for (const worker of this.workers) worker.handle.send({ type: 'stop' } satisfies ToShardWorker);
    this.workers = [];
  }

  private start(): PoolWorker {
    const worker: PoolWorker = { handle: this.launch(this.entry) };
    worker.handle.onMessage((raw) => {
      const parsed = FromShardWorkerSchema.safeParse(raw);
      if (parsed.success) worker.assignment?.onMessage(parsed.data);
      else
        worker.assignment?.onError(
          new Error(`a synthesis worker sent an invalid message: ${parsed.error.message}`),
        );
    });
    worker.handle.onExit((code) => {
      this.workers = this.workers.filter((w) => w !== worker);
      worker.assignment?.onError(
        new UserError(
          'WORKER_CRASHED',
          `A synthesis worker stopped unexpectedly (exit code ${code})`,
          'Run the same command again: finished shards are kept and the job resumes',
        ),
      );
    });
    return worker;
  }

  private killAll(): void {
    for (const worker of this.workers) {
      worker.assignment = undefined;
      worker.handle.kill();
    }
    this.workers = [];
  }
}
