import { utilityProcess } from 'electron';
import type { WorkerLauncher } from '../../engine/job/launcher.js';

/**
 * Starts task workers as Electron utility processes (Node in a separate,
 * supervised process; the main process stays free for the window). Their own
 * synthesis workers are Node child processes: ELECTRON_RUN_AS_NODE makes the
 * Electron binary behave as plain Node for those.
 */
export function utilityLauncher(env: Record<string, string>): WorkerLauncher {
  return (entry) => {
    const child = utilityProcess.fork(entry, [], {
      serviceName: 'Distill Studio worker',
      stdio: 'inherit',
      env: { ...process.env, ...env, ELECTRON_RUN_AS_NODE: '1' },
    });
    return {
      send: (message) => child.postMessage(message),
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => child.on('exit', (code) => listener(code)),
      kill: () => void child.kill(),
    };
  };
}
