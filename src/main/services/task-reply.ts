import { UserError } from '../../shared/errors.js';
import type { FromTaskWorker, Task } from '../../shared/task-protocol.js';
import type { WorkerLauncher } from '../../engine/job/launcher.js';
import { startTask } from './tasks.js';

/**
 * Runs a short task in a worker and returns its one reply of type `kind`;
 * `onBackend` learns which tfjs backend the worker used.
 */
export async function runTask<K extends FromTaskWorker['type']>(
  launch: WorkerLauncher,
  taskEntry: string,
  task: Task,
  kind: K,
  onBackend: (name: string, note: string) => void,
): Promise<Extract<FromTaskWorker, { type: K }>> {
  let reply: Extract<FromTaskWorker, { type: K }> | undefined;
  const running = startTask(launch, taskEntry, task, (message) => {
    if (message.type === kind) reply = message as Extract<FromTaskWorker, { type: K }>;
  });
  const outcome = await running.outcome;
  if (outcome.kind === 'failed') throw UserError.fromInfo(outcome.error); // worded by the worker, passed on as it is
  onBackend(outcome.backend, outcome.backendNote);
  if (!reply) throw new Error(`worker finished ${task.type} without a ${kind} reply`);
  return reply;
}
