#!/usr/bin/env node
// Command-line entry: runs the TypeScript sources through tsx, so the same
// engine code serves the CLI, the tests and the app's worker processes.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
