import { main } from '../../src/cli/main.js';

/** Captured result of one in-process command-line run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command line in this process with buffered streams. */
export async function runCli(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}
