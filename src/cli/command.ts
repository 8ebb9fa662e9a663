import type { BackendInfo } from '../engine/backend/select.js';
import type { ProgressBar } from './progress-bar.js';

/** One command-line option: its type and the one line `--help` shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. "FOLDER". */
  value?: string;
  description: string;
  /** Default shown in help (and used when the option is absent). */
  default?: string;
  /** May be given several times (values arrive as a string array). */
  multiple?: boolean;
}

/** Parsed arguments of one command. */
export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

/** What a command hands back: JSON for `--json`, text for people. */
export interface CommandOutput {
  json: unknown;
  text: string;
}

/** Services a command may use; the entry point provides them. */
export interface CommandContext {
  args: ParsedArgs;
  /** Starts (once) and reports the tfjs backend. */
  backend(): Promise<BackendInfo>;
  /** A progress bar on stderr (silent with --quiet). */
  progress(label: string): ProgressBar;
  /** A status line on stderr (silent with --quiet). */
  log(line: string): void;
}

/** A subcommand: name, help text and what it does. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Positional arguments as shown in the usage line, e.g. "<model-folder>". */
  usage: string;
  /** Paragraphs shown by `--help` after the usage line: what it does, examples. */
  help: string;
  options: Record<string, OptionSpec>;
  run(context: CommandContext): Promise<CommandOutput>;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  backend: {
    type: 'string',
    value: 'NAME',
    description:
      'Compute backend: auto (fastest that loads), node-gpu, node, wasm or cpu. Also set by DISTILL_BACKEND.',
    default: 'auto',
  },
  json: { type: 'boolean', description: 'Print the result as JSON on stdout (for scripts).' },
  quiet: { type: 'boolean', short: 'q', description: 'No progress bars or status lines on stderr.' },
  verbose: { type: 'boolean', description: 'On errors, also print technical details.' },
  help: { type: 'boolean', short: 'h', description: 'Show help for this command.' },
};
