import { formatDurationFlag, parseDuration } from '../shared/duration.js';
import { JOB_SETTINGS } from '../shared/job-settings.js';
import { settingDefault, type JobSetting, type Pipeline } from '../shared/setting-declaration.js';
import { UserError } from '../shared/errors.js';
import { numberOption } from './args.js';
import type { OptionSpec, ParsedArgs } from './command.js';

/**
 * The command-line side of src/shared/job-settings.ts: one option per
 * declared job setting, and the job's values read from the arguments, so
 * a setting declared there is an option here with no code of its own.
 */

/** A default as --help shows it: "15m", "on", "0.001". */
function shown(setting: JobSetting, value: number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return setting.kind === 'number' && setting.duration ? formatDurationFlag(value) : String(value);
}

/** The options for `settings` (default: every declared job setting). */
export function jobSettingOptions(
  settings: readonly JobSetting[] = JOB_SETTINGS,
): Record<string, OptionSpec> {
  return Object.fromEntries(
    settings.map((s) => {
      const rounds = settingDefault(s, 'rounds');
      const twoStage = settingDefault(s, 'two-stage');
      const both = s.pipelines.length === 2;
      const defaults =
        both && rounds !== twoStage
          ? ` Default: ${shown(s, rounds)} in rounds, ${shown(s, twoStage)} in two stages.`
          : '';
      const only = both ? '' : ` (${s.pipelines[0] === 'rounds' ? 'rounds' : 'two-stage pipeline'} only)`;
      const spec: OptionSpec = {
        type: 'string',
        value:
          s.kind === 'boolean'
            ? 'on|off'
            : s.kind === 'number' && s.duration
              ? 'TIME'
              : s.integer
                ? 'N'
                : 'X',
        description: `${s.description}${only}${defaults}`,
        ...(defaults ? {} : { default: shown(s, settingDefault(s, s.pipelines[0] ?? 'rounds')) }),
      };
      return [s.flag, spec];
    }),
  );
}

/** The values of a group's settings in `pipeline`: given on the command line, else their defaults. */
export function readJobSettings(
  args: ParsedArgs,
  group: JobSetting['group'],
  pipeline: Pipeline,
  settings: readonly JobSetting[] = JOB_SETTINGS,
): Record<string, number | boolean> {
  return Object.fromEntries(
    settings.filter((s) => s.group === group).map((s) => [s.key, readOne(args, s, pipeline)]),
  );
}

function readOne(args: ParsedArgs, setting: JobSetting, pipeline: Pipeline): number | boolean {
  const fallback = settingDefault(setting, pipeline);
  const raw = args.values[setting.flag];
  if (setting.kind === 'boolean') {
    if (raw === undefined) return fallback as boolean;
    if (raw !== 'on' && raw !== 'off') {
      throw new UserError(
        'USAGE',
        `--${setting.flag} must be on or off, got "${String(raw)}"`,
        `Pass --${setting.flag} on or --${setting.flag} off`,
      );
    }
    return raw === 'on';
  }
  if (!setting.duration) return numberOption(args, setting.flag, fallback as number, setting);
  if (raw === undefined) return fallback as number;
  const seconds = typeof raw === 'string' ? parseDuration(raw) : null;
  if (seconds === null || seconds < setting.min || seconds > setting.max) {
    throw new UserError(
      'USAGE',
      `--${setting.flag} must be a duration such as 90s, 15m or 1h (at most ${formatDurationFlag(setting.max)}), got "${String(raw)}"`,
      `Pass e.g. --${setting.flag} ${formatDurationFlag(fallback as number)}`,
    );
  }
  return seconds;
}
