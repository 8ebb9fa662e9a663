import { parseArgs } from 'node:util';
import { UserError } from '../shared/errors.js';
import type { OptionSpec, ParsedArgs } from './command.js';

/** Parses argv for one command; unknown or malformed options become a UserError. */
export function parseCommandArgs(
  argv: string[],
  options: Record<string, OptionSpec>,
  command: string,
): ParsedArgs {
  const config = Object.fromEntries(
    Object.entries(options).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.short ? { short: spec.short } : {}),
        ...(spec.multiple ? { multiple: true } : {}),
      },
    ]),
  );
  try {
    const parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
    return { positionals: parsed.positionals, values: parsed.values as ParsedArgs['values'] };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserError(
      'USAGE',
      `Invalid arguments for "${command}": ${reason}`,
      `Run "distill-studio ${command} --help" to see the accepted options`,
    );
  }
}

/** A string option's value, its default, or undefined. */
export function stringOption(args: ParsedArgs, name: string, spec?: OptionSpec): string | undefined {
  const value = args.values[name];
  if (typeof value === 'string') return value;
  return spec?.default;
}

/** A required string option; absent -> UserError saying which flag to add. */
export function requiredOption(args: ParsedArgs, name: string, command: string, hint: string): string {
  const value = args.values[name];
  if (typeof value === 'string' && value.length > 0) return value;
  throw new UserError('USAGE', `"${command}" needs --${name}`, `Add --${name} ${hint}`);
}

/** Parses a numeric option within bounds, with a message naming the flag. */
export function numberOption(
  args: ParsedArgs,
  name: string,
  fallback: number,
  bounds: { min: number; max: number; integer?: boolean },
): number {
  const raw = args.values[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? Number(raw) : NaN;
  const ok =
    Number.isFinite(value) &&
    value >= bounds.min &&
    value <= bounds.max &&
    (!bounds.integer || Number.isInteger(value));
  if (!ok) {
    const kind = bounds.integer ? 'a whole number' : 'a number';
    throw new UserError(
      'USAGE',
      `--${name} must be ${kind} from ${bounds.min} to ${bounds.max}, got "${String(raw)}"`,
      `Pass e.g. --${name} ${fallback}`,
    );
  }
  return value;
}

/** Exactly one positional argument; otherwise a UserError showing the usage. */
export function onePositional(args: ParsedArgs, command: string, what: string): string {
  if (args.positionals.length === 1 && args.positionals[0]) return args.positionals[0];
  const got = args.positionals.length === 0 ? 'nothing' : args.positionals.join(' ');
  throw new UserError(
    'USAGE',
    `"${command}" takes one ${what}, got ${got}`,
    `Run "distill-studio ${command} ${what}" (see --help)`,
  );
}
