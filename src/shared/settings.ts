/**
 * Typed, self-describing settings: each method or stage declares its fields
 * once, with default, bounds and a one-line explanation; the command line's
 * --help, the app's forms and validation all read the same declaration.
 */
export type SettingField =
  | {
      kind: 'number';
      default: number;
      min: number;
      max: number;
      integer?: boolean;
      description: string;
      advanced?: boolean;
    }
  | { kind: 'boolean'; default: boolean; description: string; advanced?: boolean }
  | { kind: 'choice'; default: string; choices: readonly string[]; description: string; advanced?: boolean }
  | { kind: 'text'; default: string; description: string; advanced?: boolean };

/** A declaration: setting name -> field. */
export type SettingFields = Record<string, SettingField>;

/** The values a declaration describes. */
export type SettingValues<F extends SettingFields> = {
  [K in keyof F]: F[K] extends { kind: 'number' }
    ? number
    : F[K] extends { kind: 'boolean' }
      ? boolean
      : string;
};

/** A setting problem: which one and why; callers turn it into a user-facing error. */
export interface SettingProblem {
  name: string;
  message: string;
}

/** The defaults of a declaration. */
export function defaultSettings<F extends SettingFields>(fields: F): SettingValues<F> {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.default])) as SettingValues<F>;
}

/**
 * Merges user values (strings from a command line, or typed values from the
 * app) over the defaults, checking types and bounds. Unknown names are
 * problems too, so a typo never silently falls back to a default.
 */
export function resolveSettings<F extends SettingFields>(
  fields: F,
  values: Record<string, unknown>,
): { settings: SettingValues<F>; problems: SettingProblem[] } {
  const settings: Record<string, unknown> = { ...defaultSettings(fields) };
  const problems: SettingProblem[] = [];
  for (const [name, raw] of Object.entries(values)) {
    if (raw === undefined) continue;
    const field = fields[name];
    if (!field) {
      problems.push({
        name,
        message: `unknown setting "${name}" (valid: ${Object.keys(fields).join(', ')})`,
      });
      continue;
    }
    const parsed = parseValue(field, raw);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed)
      problems.push({ name, message: parsed.error });
    else settings[name] = parsed;
  }
  return { settings: settings as SettingValues<F>, problems };
}

function parseValue(field: SettingField, raw: unknown): number | boolean | string | { error: string } {
  switch (field.kind) {
    case 'number': {
      const value =
        typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      const kind = field.integer ? 'a whole number' : 'a number';
      if (
        !Number.isFinite(value) ||
        value < field.min ||
        value > field.max ||
        (field.integer && !Number.isInteger(value))
      ) {
        return { error: `must be ${kind} from ${field.min} to ${field.max}, got "${String(raw)}"` };
      }
      return value;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'on' || raw === 'yes' || raw === '1') return true;
      if (raw === 'false' || raw === 'off' || raw === 'no' || raw === '0') return false;
      return { error: `must be true or false, got "${String(raw)}"` };
    }
    case 'choice':
      return typeof raw === 'string' && field.choices.includes(raw)
        ? raw
        : { error: `must be one of ${field.choices.join(', ')}, got "${String(raw)}"` };
    case 'text':
      return typeof raw === 'string' ? raw : { error: `must be text, got ${typeof raw}` };
  }
}
