import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A running worker process, whatever started it. */
export interface WorkerHandle {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

/**
 * Starts a worker process running `entry` (a module path). The one seam
 * between the engine and the process model: child_process here and in the
 * command line, Electron's utilityProcess in the app (src/main supplies it).
 */
export type WorkerLauncher = (entry: string) => WorkerHandle;

/** Launches workers with Node's child_process; TypeScript entries run through tsx. */
export const forkLauncher: WorkerLauncher = (entry) => {
  const execArgv = entry.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  const child = fork(entry, [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    send: (message) => child.send(message as object),
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => child.on('exit', (code) => listener(code)),
    kill: () => child.kill(),
  };
};

/** Set by the desktop app: the built synthesis worker entry (bundling moves this file). */
export const SHARD_WORKER_ENV = 'DISTILL_SHARD_WORKER';

/** Path of the synthesis worker entry next to this engine (source or built). */
export function shardWorkerEntry(): string {
  const fromEnv = process.env[SHARD_WORKER_ENV];
  if (fromEnv) return fromEnv;
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts')
    ? fileURLToPath(new URL('../../worker/shard-worker.ts', import.meta.url))
    : fileURLToPath(new URL('./shard-worker.js', import.meta.url));
}
