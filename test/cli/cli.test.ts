import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCifar10Binary } from '../../src/engine/data/cifar.js';
import { runCli } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'distill-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('command line', () => {
  it('explains itself to a newcomer', async () => {
    const overview = await runCli('--help');
    expect(overview.code).toBe(0);
    for (const name of ['inspect', 'train-teacher', 'evaluate', 'presets', 'backends', 'data']) {
      expect(overview.stdout).toContain(name);
    }
    const help = await runCli('train-teacher', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--epochs N\s+Passes over the training data\. \(default: 20\)/);
    expect(help.stdout).toContain('Examples:');
  });

  it('refuses bad usage with one line naming the problem and the fix, exit code 2', async () => {
    const unknown = await runCli('distil');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^error: Unknown command "distil"\. Fix: Use one of: .*train-teacher/);
    const badFlag = await runCli('evaluate', 'x', '--epochz', '3');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/Fix: Run "distill-studio evaluate --help"/);
    const badNumber = await runCli(
      'train-teacher',
      '--data',
      'mnist-digits',
      '--out',
      path.join(work, 'never'),
      '--epochs',
      'ten',
    );
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain('--epochs must be a whole number');
    const badBackend = await runCli('backends', '--backend', 'tpu');
    expect(badBackend.code).toBe(2);
    expect(badBackend.stderr).toMatch(/wasm/);
    const runDir = path.join(work, 'never-run');
    const badSettings = await runCli('distill', '--settings', 'best', '--run', runDir);
    expect(badSettings.code).toBe(2);
    expect(badSettings.stderr).toContain('--settings must be recommended or paper');
    const badMixup = await runCli('distill', '--mixup', '2', '--run', runDir);
    expect(badMixup.code).toBe(2);
    expect(badMixup.stderr).toContain('--mixup must be a number from 0 to 1');
    const badRelabel = await runCli('distill', '--relabel', 'yes', '--run', runDir);
    expect(badRelabel.code).toBe(2);
    expect(badRelabel.stderr).toContain('--relabel must be on or off');
    const badBudget = await runCli('distill', '--budget', '15 minutes', '--run', runDir);
    expect(badBudget.code).toBe(2);
    expect(badBudget.stderr).toMatch(
      /--budget must be a duration such as 90s, 15m or 1h.*"15 minutes".*Fix: Pass e\.g\. --budget 15m/s,
    );
    const badPipeline = await runCli('distill', '--pipeline', 'three-stage', '--run', runDir);
    expect(badPipeline.code).toBe(2);
    expect(badPipeline.stderr).toContain('--pipeline must be rounds or two-stage');
    expect(existsSync(runDir)).toBe(false);
  });

  it('lists the synthesis methods with every setting, and refuses bad ones', async () => {
    const methods = await runCli('methods');
    expect(methods.code).toBe(0);
    expect(methods.stdout).toMatch(/soft-target: Soft-targeted synthesis \(Wang 2021\)/);
    expect(methods.stdout).toMatch(
      /sigma\s+Spread of the feature-space normal distribution.*\(default: 1\.5 \[0\.01\.\.100\]\)/,
    );
    const badSet = await runCli('distill', '--set', 'sigma', '--run', path.join(work, 'never'));
    expect(badSet.code).toBe(2);
    expect(badSet.stderr).toMatch(/--set "sigma" is not NAME=VALUE\. Fix: /);
    const badMethod = await runCli('distill', '--method', 'dafl', '--run', path.join(work, 'never'));
    expect(badMethod.code).toBe(1);
    expect(badMethod.stderr).toContain('Use one of: soft-target, zskd, noise');
    const badValue = await runCli(
      'distill',
      '--set',
      'sigma=-1',
      '--workers',
      '1',
      '--backend',
      'wasm',
      '--quiet',
      '--run',
      path.join(work, 'bad-sigma'),
    );
    expect(badValue.code).toBe(1);
    expect(badValue.stderr).toMatch(
      /Setting sigma of soft-target: must be a number from 0\.01 to 100, got "-1"/,
    );
  });

  it('reports the backend it runs on', async () => {
    const run = await runCli('backends', '--json', '--backend', 'cpu');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: 'cpu' });
  });

  it('trains a teacher on real digits, saves it safely, and evaluates it the same way', async () => {
    const out = path.join(work, 'teacher');
    const train = await runCli(
      'train-teacher',
      '--data',
      'mnist-digits',
      '--arch',
      'lenet5-half',
      '--limit',
      '1500',
      '--epochs',
      '2',
      '--batch',
      '64',
      '--seed',
      '3',
      '--out',
      out,
      '--json',
      '--quiet',
      '--backend',
      'wasm',
    );
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    const trained = JSON.parse(train.stdout) as {
      evaluation: { accuracy: number; dataset: { count: number } };
      backend: string;
    };
    expect(trained.evaluation.dataset.count).toBe(2000);
    expect(trained.evaluation.accuracy).toBeGreaterThan(0.6);
    const modelJson = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')) as {
      userDefinedMetadata: {
        distillStudio: { architecture: string; provenance: { seed: number; backend: string } };
      };
    };
    expect(modelJson.userDefinedMetadata.distillStudio).toMatchObject({
      architecture: 'lenet5-half',
      provenance: { seed: 3, backend: trained.backend },
    });

    const before = statSync(path.join(out, 'weights.bin')).mtimeMs;
    const again = await runCli('train-teacher', '--data', 'mnist-digits', '--out', out, '--quiet');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/A model is already saved in .*Fix: .*--overwrite/);
    expect(statSync(path.join(out, 'weights.bin')).mtimeMs).toBe(before);

    const evaluation = await runCli(
      'evaluate',
      out,
      '--data',
      'mnist-digits',
      '--json',
      '--quiet',
      '--backend',
      'wasm',
    );
    expect(evaluation.code).toBe(0);
    const result = JSON.parse(evaluation.stdout) as {
      accuracy: number;
      confusion: number[][];
      latency: { msPerImageBatch1: number };
    };
    expect(result.accuracy).toBeCloseTo(trained.evaluation.accuracy, 10);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(2000);
    expect(result.latency.msPerImageBatch1).toBeGreaterThan(0);

    const inspect = await runCli('inspect', out);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain('input: 32x32x1 image; output: 10 classes');
    expect(inspect.stdout).toContain('made by: train-teacher --data mnist-digits --arch lenet5-half');
  });

  it('refuses a dataset that does not fit the model', async () => {
    const cifarFile = path.join(work, 'tiny_test_batch.bin');
    const count = 4;
    await writeCifar10Binary(
      {
        source: 'test',
        shape: [32, 32, 3],
        count,
        pixels: new Uint8Array(count * 32 * 32 * 3).fill(7),
        labels: Uint8Array.from([0, 1, 2, 3]),
        numClasses: 10,
      },
      cifarFile,
    );
    const run = await runCli('evaluate', 'builtin:mnist-lenet5', '--data', cifarFile, '--quiet');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/32x32x3/);
    expect(run.stderr).toMatch(/28x28x1/);
    expect(run.stderr).toContain('Fix:');
  });

  it('names a missing model folder and what to do', async () => {
    const run = await runCli('inspect', path.join(work, 'no-such-model'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .*no-such-model.*Fix: /);
  });
});
