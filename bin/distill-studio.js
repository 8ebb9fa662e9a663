#!/usr/bin/env node
// Command-line entry. Runs the bundle electron-vite builds (out/main/cli.js, `npm run build`;
// `make install` builds it) while it matches the sources, as the app runs its processes: a
// process then needs about 60 MB less memory than one compiling the TypeScript sources through
// tsx, which it falls back to otherwise (or with DISTILL_STUDIO_FROM_SOURCE=1).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { STAMP_FILE, sourceStamp } from './source-stamp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'out', 'main');

/** Whether out/main holds a build of the sources as they are now. */
function builtIsCurrent() {
  if (process.env.DISTILL_STUDIO_FROM_SOURCE === '1') return false;
  const stamp = path.join(built, STAMP_FILE);
  if (!existsSync(stamp) || !existsSync(path.join(built, 'cli.js'))) return false;
  return readFileSync(stamp, 'utf8').trim() === sourceStamp(root);
}

let main;
if (builtIsCurrent()) {
  // Where the bundle's workers and the built-in examples are (the app sets the same two).
  process.env.DISTILL_STUDIO_ROOT ??= root;
  process.env.DISTILL_SHARD_WORKER ??= path.join(built, 'shard-worker.js');
  ({ main } = await import(pathToFileURL(path.join(built, 'cli.js')).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
