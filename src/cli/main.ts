import { APP_VERSION } from '../engine/app-info.js';
import { initBackend, parseBackendName } from '../engine/backend/select.js';
import { formatErrorLine, toErrorInfo, UserError } from '../shared/errors.js';
import { parseCommandArgs } from './args.js';
import { GLOBAL_OPTIONS, type Command, type CommandContext, type OptionSpec } from './command.js';
import { backendsCommand } from './commands/backends.js';
import { dataCommand } from './commands/data.js';
import { distillCommand } from './commands/distill.js';
import { evaluateCommand } from './commands/evaluate.js';
import { exportCommand } from './commands/export.js';
import { inspectCommand } from './commands/inspect.js';
import { methodsCommand } from './commands/methods.js';
import { presetsCommand } from './commands/presets.js';
import { trainTeacherCommand } from './commands/train-teacher.js';
import { ProgressBar, type ProgressSink } from './progress-bar.js';

/** Every subcommand, by name. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [
    distillCommand,
    methodsCommand,
    inspectCommand,
    trainTeacherCommand,
    evaluateCommand,
    exportCommand,
    dataCommand,
    presetsCommand,
    backendsCommand,
  ].map((c) => [c.name, c]),
);

/** Exit codes: documented in --help and the README. */
export const EXIT = { ok: 0, input: 1, usage: 2, internal: 70 } as const;

/** Where the command line writes; process streams in practice, buffers in tests. */
export interface Streams {
  stdout: ProgressSink;
  stderr: ProgressSink;
}

/** Runs the command line with `argv` (without node and script) and returns the exit code. */
export async function main(
  argv: string[],
  streams: Streams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' && rest[0] ? COMMANDS.get(rest[0]) : undefined;
    streams.stdout.write((target ? commandHelp(target) : overview()) + '\n');
    return EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    streams.stdout.write(`${APP_VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.get(name);
  let verbose = rest.includes('--verbose');
  try {
    if (!command) {
      throw new UserError(
        'USAGE',
        `Unknown command "${name}"`,
        `Use one of: ${[...COMMANDS.keys()].join(', ')} (see distill-studio --help)`,
      );
    }
    const args = parseCommandArgs(rest, { ...GLOBAL_OPTIONS, ...command.options }, command.name);
    verbose = args.values.verbose === true;
    if (args.values.help === true) {
      streams.stdout.write(commandHelp(command) + '\n');
      return EXIT.ok;
    }
    const quiet = args.values.quiet === true;
    const log = (line: string): void => {
      if (!quiet) streams.stderr.write(`${line}\n`);
    };
    const backendFlag =
      typeof args.values.backend === 'string' ? parseBackendName(args.values.backend) : undefined;
    const context: CommandContext = {
      args,
      backend: () => initBackend({ ...(backendFlag ? { force: backendFlag } : {}), log }),
      progress: (label) => new ProgressBar(label, quiet ? { write: () => true } : streams.stderr),
      log,
    };
    const output = await command.run(context);
    streams.stdout.write(
      (args.values.json === true ? JSON.stringify(output.json, null, 2) : output.text) + '\n',
    );
    return EXIT.ok;
  } catch (error) {
    const info = toErrorInfo(error);
    streams.stderr.write(formatErrorLine(info) + '\n');
    if (verbose && info.details) streams.stderr.write(info.details + '\n');
    if (info.code === 'USAGE') return EXIT.usage;
    return info.code === 'INTERNAL' ? EXIT.internal : EXIT.input;
  }
}

function overview(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((n) => n.length));
  return [
    `Distill Studio ${APP_VERSION}: make a small image classifier from a big one, without its training data.`,
    '',
    'Usage: distill-studio <command> [options]',
    '',
    'Commands:',
    ...[...COMMANDS.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "distill-studio <command> --help" for a command\'s options and examples.',
    'Models are TensorFlow.js folders (model.json + weights) or .onnx files; "builtin:mnist-lenet5" is the example teacher.',
    'Exit codes: 0 success, 1 bad input (a file, a dataset, a model), 2 bad command-line usage, 70 internal error.',
  ].join('\n');
}

/** The full help of one command: usage, description, options with defaults. */
export function commandHelp(command: Command): string {
  const describe = (name: string, spec: OptionSpec): string => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return `  ${flag.padEnd(28)} ${spec.description}${spec.default !== undefined ? ` (default: ${spec.default})` : ''}`;
  };
  return [
    `Usage: distill-studio ${command.name} ${command.usage}`.trimEnd(),
    '',
    command.summary,
    '',
    command.help,
    '',
    ...(Object.keys(command.options).length
      ? ['Options:', ...Object.entries(command.options).map(([n, s]) => describe(n, s)), '']
      : []),
    'General options:',
    ...Object.entries(GLOBAL_OPTIONS).map(([n, s]) => describe(n, s)),
  ].join('\n');
}

const isEntry =
  process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) {
  process.exitCode = await main(process.argv.slice(2));
}
