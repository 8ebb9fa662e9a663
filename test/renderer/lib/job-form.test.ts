import { describe, expect, it } from 'vitest';
import {
  advancedSettings,
  readSetting,
  settingTestId,
  setupPipeline,
  withPipelineDefaults,
  writeSetting,
} from '../../../src/renderer/src/lib/job-form.js';
import { DistillSettingsSchema } from '../../../src/shared/job.js';
import { groupDefaults, jobSetting } from '../../../src/shared/job-settings.js';
import { recommendedRounds, type ProjectSetup } from '../../../src/shared/project.js';

const BATCH = jobSetting('distill', 'batchSize');
const HOLDOUT = jobSetting('job', 'holdout');
const ROUND_IMAGES = jobSetting('rounds', 'imagesPerRound');
const SHARD_SIZE = jobSetting('job', 'shardSize');
const AUGMENT = jobSetting('distill', 'augment');

/** A new project's setup as the app makes it: every job setting at its default in rounds. */
const ROUNDS: ProjectSetup = {
  student: 'lenet5-half',
  method: 'soft-target',
  methodSettings: {},
  samples: 4000,
  distill: DistillSettingsSchema.parse(groupDefaults('distill', 'rounds')),
  rounds: recommendedRounds(),
  testData: null,
  holdout: 500,
  seed: 1,
};
const TWO_STAGE: ProjectSetup = { ...structuredClone(ROUNDS), rounds: null };

describe('the setup form (job settings in a project setup)', () => {
  it('a setup with rounds runs the round pipeline, one without runs two stages', () => {
    expect(ROUNDS.rounds).not.toBeNull();
    expect(setupPipeline(ROUNDS)).toBe('rounds');
    expect(setupPipeline(TWO_STAGE)).toBe('two-stage');
  });

  it('shows under Advanced settings only the advanced settings of the pipeline', () => {
    const rounds = advancedSettings('rounds').map((s) => s.flag);
    const twoStage = advancedSettings('two-stage').map((s) => s.flag);
    expect(rounds).toContain('round-images');
    expect(rounds).not.toContain('shard-size');
    expect(twoStage).toContain('shard-size');
    expect(twoStage).not.toContain('round-images');
    // Chosen up front, not under Advanced settings.
    for (const flag of ['budget', 'samples', 'epochs']) {
      expect(rounds).not.toContain(flag);
      expect(twoStage).not.toContain(flag);
    }
    expect(settingTestId(ROUND_IMAGES)).toBe('job-round-images');
  });

  it('reads and writes a setting in its group without changing the setup it was given', () => {
    const before = structuredClone(ROUNDS);
    const written = writeSetting(ROUNDS, BATCH, 32);
    expect(readSetting(written, BATCH)).toBe(32);
    expect(ROUNDS).toEqual(before);
    expect(readSetting(writeSetting(ROUNDS, HOLDOUT, 0), HOLDOUT)).toBe(0);
    expect(readSetting(writeSetting(ROUNDS, ROUND_IMAGES, 24), ROUND_IMAGES)).toBe(24);
    expect(readSetting(writeSetting(ROUNDS, AUGMENT, false), AUGMENT)).toBe(false);
  });

  it('shows a round setting a setup saved before it existed lacks as the job runs it: off', () => {
    const { learningRateSpanSeconds, averaging, pipelined, ...older } = recommendedRounds();
    expect([learningRateSpanSeconds, averaging, pipelined]).toEqual([600, 0.9995, true]);
    const saved: ProjectSetup = { ...ROUNDS, rounds: older };
    expect(readSetting(saved, jobSetting('rounds', 'learningRateSpanSeconds'))).toBe(0);
    expect(readSetting(saved, jobSetting('rounds', 'averaging'))).toBe(0);
    expect(readSetting(saved, jobSetting('rounds', 'pipelined'))).toBe(false);
    expect(readSetting(saved, ROUND_IMAGES)).toBe(800);
  });

  it('leaves round settings alone in a two-stage setup, which has none', () => {
    expect(readSetting(TWO_STAGE, ROUND_IMAGES)).toBeUndefined();
    expect(writeSetting(TWO_STAGE, ROUND_IMAGES, 24)).toBe(TWO_STAGE);
  });

  it('moves settings still at their defaults to the other pipeline, and keeps the ones the user chose', () => {
    const fromRounds = { ...ROUNDS, rounds: null };
    const moved = withPipelineDefaults(fromRounds, 'rounds', 'two-stage');
    expect(readSetting(moved, BATCH)).toBe(64);
    expect(readSetting(moved, AUGMENT)).toBe(false);
    expect(readSetting(moved, SHARD_SIZE)).toBe(readSetting(fromRounds, SHARD_SIZE));

    const chosen = writeSetting(fromRounds, BATCH, 200);
    expect(readSetting(withPipelineDefaults(chosen, 'rounds', 'two-stage'), BATCH)).toBe(200);

    const back = withPipelineDefaults({ ...moved, rounds: ROUNDS.rounds }, 'two-stage', 'rounds');
    expect(readSetting(back, BATCH)).toBe(128);
    expect(readSetting(back, AUGMENT)).toBe(true);
  });
});
