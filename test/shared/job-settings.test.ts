import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../src/cli/args.js';
import { distillCommand } from '../../src/cli/commands/distill.js';
import { jobSettingOptions, readJobSettings } from '../../src/cli/job-options.js';
import { DEFAULT_SETUP } from '../../src/main/services/projects.js';
import {
  advancedSettings,
  readSetting,
  settingTestId,
  withPipelineDefaults,
  writeSetting,
} from '../../src/renderer/src/lib/job-form.js';
import { DistillSettingsSchema, JobSpecSchema, RoundsSettingsSchema } from '../../src/shared/job.js';
import { JOB_SETTINGS } from '../../src/shared/job-settings.js';
import { settingDefault, type JobSetting } from '../../src/shared/setting-declaration.js';

/** A setting that does not exist, declared the way a new one would be. */
const WARMUP: JobSetting = {
  group: 'distill',
  key: 'warmup',
  flag: 'warmup-steps',
  label: 'Warm-up steps',
  description: 'Steps of rising learning rate before the peak.',
  pipelines: ['rounds', 'two-stage'],
  advanced: true,
  kind: 'number',
  min: 0,
  max: 1000,
  integer: true,
  default: { rounds: 50, 'two-stage': 0 },
};
const WITH_WARMUP = [...JOB_SETTINGS, WARMUP];

const args = (argv: string[], settings: readonly JobSetting[] = JOB_SETTINGS) =>
  parseCommandArgs(argv, jobSettingOptions(settings), 'distill');

describe('job settings, declared once', () => {
  it('a setting added to the declaration is a command-line option and a field of the app, with nothing else written', () => {
    const options = jobSettingOptions(WITH_WARMUP);
    expect(options['warmup-steps']?.description).toContain('Steps of rising learning rate');
    expect(options['warmup-steps']?.description).toContain('Default: 50 in rounds, 0 in two stages');
    expect(
      readJobSettings(args(['--warmup-steps', '7'], WITH_WARMUP), 'distill', 'rounds', WITH_WARMUP)['warmup'],
    ).toBe(7);
    expect(readJobSettings(args([], WITH_WARMUP), 'distill', 'two-stage', WITH_WARMUP)['warmup']).toBe(0);
    expect(() =>
      readJobSettings(args(['--warmup-steps', '2000'], WITH_WARMUP), 'distill', 'rounds', WITH_WARMUP),
    ).toThrow(/--warmup-steps must be a whole number from 0 to 1000/);
    const form = advancedSettings('rounds', WITH_WARMUP);
    expect(form).toContain(WARMUP);
    expect(settingTestId(WARMUP)).toBe('job-warmup-steps');
    const written = writeSetting(DEFAULT_SETUP, WARMUP, 9);
    expect(readSetting(written, WARMUP)).toBe(9);
    expect(DEFAULT_SETUP.distill).not.toHaveProperty('warmup');
  });

  it('every declared setting is an option of `distill` and, in its pipelines, a field of the app', () => {
    for (const setting of JOB_SETTINGS) {
      expect(distillCommand.options[setting.flag], setting.flag).toBeDefined();
      for (const pipeline of setting.pipelines) {
        const inForm = advancedSettings(pipeline).includes(setting);
        // The others are chosen up front: the budget (rounds), samples and epochs (two stages).
        expect(inForm || ['budget', 'samples', 'epochs'].includes(setting.flag), setting.flag).toBe(true);
      }
    }
    const flags = JOB_SETTINGS.map((s) => s.flag);
    expect(new Set(flags).size).toBe(flags.length);
  });

  it('the command line and the app start from the same values', () => {
    const none = args([]);
    expect(DEFAULT_SETUP.distill).toEqual(readJobSettings(none, 'distill', 'rounds'));
    expect(DEFAULT_SETUP.rounds).toEqual(readJobSettings(none, 'rounds', 'rounds'));
    const job = readJobSettings(none, 'job', 'rounds');
    expect({
      samples: DEFAULT_SETUP.samples,
      holdout: DEFAULT_SETUP.holdout,
      seed: DEFAULT_SETUP.seed,
    }).toEqual({
      samples: job['samples'],
      holdout: job['holdout'],
      seed: job['seed'],
    });
    for (const setting of advancedSettings('rounds')) {
      expect(readSetting(DEFAULT_SETUP, setting), setting.flag).toBe(settingDefault(setting, 'rounds'));
    }
  });

  it("the job schema's bounds are the declared ones", () => {
    const schemaFor = (s: JobSetting) =>
      s.group === 'distill'
        ? DistillSettingsSchema.shape[s.key as keyof typeof DistillSettingsSchema.shape]
        : s.group === 'rounds'
          ? RoundsSettingsSchema.shape[s.key as keyof typeof RoundsSettingsSchema.shape]
          : JobSpecSchema.shape[s.key as keyof typeof JobSpecSchema.shape];
    for (const setting of JOB_SETTINGS) {
      const schema = schemaFor(setting);
      if (setting.kind === 'boolean') {
        expect(schema.safeParse(true).success, setting.key).toBe(true);
        continue;
      }
      expect(schema.safeParse(setting.min).success, setting.key).toBe(true);
      expect(schema.safeParse(setting.max).success, setting.key).toBe(true);
      const below = schema.safeParse(setting.min - (setting.integer ? 1 : 1e-9));
      expect(below.success, setting.key).toBe(false);
      expect(below.error?.issues[0]?.message).toBe(`must be at least ${setting.min}`);
      expect(schema.safeParse(setting.max + 1).success, setting.key).toBe(false);
      if (setting.integer) expect(schema.safeParse(setting.min + 0.5).success, setting.key).toBe(false);
    }
  });

  it('reads durations, on/off and numbers, and names the flag when a value is wrong', () => {
    const rounds = readJobSettings(
      args(['--budget', '1h30m', '--pipelined', 'off', '--round-steps', '40']),
      'rounds',
      'rounds',
    );
    expect(rounds).toMatchObject({ budgetSeconds: 5400, pipelined: false, studentSteps: 40 });
    expect(() => readJobSettings(args(['--budget', '15 minutes']), 'rounds', 'rounds')).toThrow(
      /--budget must be a duration/,
    );
    expect(() => readJobSettings(args(['--augment', 'yes']), 'distill', 'rounds')).toThrow(
      /--augment must be on or off/,
    );
    expect(readJobSettings(args([]), 'distill', 'two-stage')['batchSize']).toBe(64);
    expect(readJobSettings(args([]), 'distill', 'rounds')['batchSize']).toBe(128);
  });
});

describe('switching pipelines in the app', () => {
  it("moves the settings still at their defaults to the other pipeline's, and keeps chosen ones", () => {
    const twoStage = withPipelineDefaults({ ...DEFAULT_SETUP, rounds: null }, 'rounds', 'two-stage');
    expect(twoStage.distill).toMatchObject({ batchSize: 64, augment: false, relabel: false });
    const chosen = { ...DEFAULT_SETUP, rounds: null, distill: { ...DEFAULT_SETUP.distill, batchSize: 100 } };
    const kept = withPipelineDefaults(chosen, 'rounds', 'two-stage');
    expect(kept.distill.batchSize).toBe(100);
    expect(kept.distill.augment).toBe(false);
    const back = withPipelineDefaults({ ...twoStage, rounds: DEFAULT_SETUP.rounds }, 'two-stage', 'rounds');
    expect(back).toEqual(DEFAULT_SETUP);
  });
});
