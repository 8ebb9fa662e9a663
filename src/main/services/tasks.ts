import { FromTaskWorkerSchema, type FromTaskWorker, type Task } from '../../shared/task-protocol.js';
import type { ErrorInfo } from '../../shared/errors.js';
import type { WorkerLauncher } from '../../engine/job/launcher.js';

/** How a task ended. */
export type TaskOutcome =
  | { kind: 'finished'; backend: string; backendNote: string }
  | { kind: 'failed'; error: ErrorInfo; cancelled: boolean };

/** A running task: its messages arrive through onMessage; `outcome` settles when the worker exits. */
export interface RunningTask {
  cancel(): void;
  /** Asks a job to end early and keep what it made (the round pipeline's "Stop and keep"). */
  stop(): void;
  kill(): void;
  outcome: Promise<TaskOutcome>;
}

/**
 * Starts one task in a fresh worker process and follows it to the end. A
 * worker that exits without reporting (killed, out of memory, a native
 * crash) ends the task as failed with a readable reason; messages that do
 * not match the protocol are refused and reported, never trusted.
 */
export function startTask(
  launch: WorkerLauncher,
  entry: string,
  task: Task,
  onMessage: (message: FromTaskWorker) => void,
): RunningTask {
  const worker = launch(entry);
  let settled: TaskOutcome | undefined;
  let cancelled = false;
  const outcome = new Promise<TaskOutcome>((resolve) => {
    worker.onMessage((raw) => {
      const parsed = FromTaskWorkerSchema.safeParse(raw);
      if (!parsed.success) {
        settled ??= {
          kind: 'failed',
          cancelled: false,
          error: {
            code: 'WORKER_PROTOCOL',
            message: 'A worker process sent a message the app does not understand, so it was stopped',
            fix: 'Press Resume to continue the run; if it happens again, report it with the details',
            details: parsed.error.message,
          },
        };
        worker.kill();
        return;
      }
      const message = parsed.data;
      if (message.type === 'finished') settled ??= { kind: 'finished', ...message };
      else if (message.type === 'failed')
        settled ??= { kind: 'failed', error: message.error, cancelled: message.cancelled };
      else onMessage(message);
    });
    worker.onExit((code) => {
      resolve(
        settled ??
          (cancelled
            ? { kind: 'failed', cancelled: true, error: cancelledError() }
            : {
                kind: 'failed',
                cancelled: false,
                error: {
                  code: 'WORKER_CRASHED',
                  message: `The worker process running this task stopped unexpectedly (exit code ${code ?? 'none'})`,
                  fix: 'Press Resume: the run continues from its last saved shard and checkpoint. If it keeps happening, lower the batch size or the number of samples',
                },
              }),
      );
    });
  });
  worker.send({ type: 'start', task });
  return {
    cancel: () => {
      cancelled = true;
      worker.send({ type: 'cancel' });
    },
    stop: () => worker.send({ type: 'stop' }),
    kill: () => {
      cancelled = true;
      worker.kill();
    },
    outcome,
  };
}

export function cancelledError(): ErrorInfo {
  return {
    code: 'CANCELLED',
    message: 'The run was cancelled',
    fix: 'Press Resume to continue it from where it stopped',
  };
}
