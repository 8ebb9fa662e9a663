import { JOB_SETTINGS } from '../../../shared/job-settings.js';
import { settingDefault, type JobSetting, type Pipeline } from '../../../shared/setting-declaration.js';
import type { ProjectSetup } from '../../../shared/project.js';

/**
 * The app's side of src/shared/job-settings.ts: which declared job settings
 * the setup form shows, and reading and writing each one in a project's
 * setup, so a setting declared there gets a field here with no code of its own.
 */

/** The pipeline a setup runs. */
export function setupPipeline(setup: Pick<ProjectSetup, 'rounds'>): Pipeline {
  return setup.rounds ? 'rounds' : 'two-stage';
}

/** The settings the form shows under "Advanced settings" for `pipeline` (the others are chosen up front). */
export function advancedSettings(
  pipeline: Pipeline,
  settings: readonly JobSetting[] = JOB_SETTINGS,
): JobSetting[] {
  return settings.filter((s) => s.advanced && s.pipelines.includes(pipeline));
}

/** The test id of a setting's field: the command line's flag, so both name it the same. */
export function settingTestId(setting: JobSetting): string {
  return `job-${setting.flag}`;
}

type Group = Record<string, unknown>;

function groupOf(setup: ProjectSetup, setting: JobSetting): Group | null {
  if (setting.group === 'job') return setup as unknown as Group;
  if (setting.group === 'distill') return setup.distill as unknown as Group;
  return (setup.rounds as unknown as Group | null) ?? null;
}

/** A setting's value in a setup (undefined when its group is absent, e.g. rounds in two stages). */
export function readSetting(setup: ProjectSetup, setting: JobSetting): number | boolean | undefined {
  const group = groupOf(setup, setting);
  const value = group?.[setting.key];
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  // A round setting absent from a setup saved before it existed: the job runs it as off
  // (RoundsSettingsSchema's optional fields), so the form shows off rather than an empty field.
  if (group && setting.group === 'rounds') return setting.kind === 'boolean' ? false : 0;
  return undefined;
}

/** A copy of `setup` with one setting changed (unchanged when its group is absent). */
export function writeSetting(
  setup: ProjectSetup,
  setting: JobSetting,
  value: number | boolean,
): ProjectSetup {
  if (setting.group === 'job') return { ...setup, [setting.key]: value };
  if (setting.group === 'distill') return { ...setup, distill: { ...setup.distill, [setting.key]: value } };
  return setup.rounds ? { ...setup, rounds: { ...setup.rounds, [setting.key]: value } } : setup;
}

/**
 * The setup after its pipeline changed from `from` to `to`: every job
 * setting still at its default for `from` takes its default for `to`
 * (e.g. the student's batch, shifts); values the user chose are kept.
 */
export function withPipelineDefaults(
  setup: ProjectSetup,
  from: Pipeline,
  to: Pipeline,
  settings: readonly JobSetting[] = JOB_SETTINGS,
): ProjectSetup {
  let next = setup;
  for (const setting of settings) {
    const current = readSetting(next, setting);
    if (current !== undefined && current === settingDefault(setting, from)) {
      next = writeSetting(next, setting, settingDefault(setting, to));
    }
  }
  return next;
}
