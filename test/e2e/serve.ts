import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** The app in browser mode, started as a user would (src/main/browser/serve.ts), on a temporary workspace. */
export interface ServedApp {
  url: string;
  workspace: string;
  stop(): Promise<void>;
}

export async function serveApp(): Promise<ServedApp> {
  const workspace = mkdtempSync(path.join(tmpdir(), 'ds-e2e-ws-'));
  const store = mkdtempSync(path.join(tmpdir(), 'ds-e2e-store-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main/browser/serve.ts', '--workspace', workspace, '--store', store, '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve.ts exited with ${code}`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    workspace,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(workspace, { recursive: true, force: true });
      rmSync(store, { recursive: true, force: true });
    },
  };
}
