import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETUP } from '../../src/main/services/projects.js';
import { specFor } from '../../src/main/services/run-requests.js';
import { JobSpecSchema } from '../../src/shared/job.js';
import { recommendedRounds, type Project } from '../../src/shared/project.js';
import {
  RECOMMENDED_DISTILL,
  RECOMMENDED_ROUND_DISTILL,
  RECOMMENDED_METHOD_SETTINGS,
  RECOMMENDED_ROUND_METHOD_SETTINGS,
  RECOMMENDED_ROUNDS,
} from '../../src/shared/recommended.js';
import { call, makeServices, refused, TINY_ROUNDS } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(options: Parameters<typeof makeServices>[0] = {}): ReturnType<typeof makeServices> {
  const made = makeServices(options);
  cleanups.push(made.cleanup);
  return made;
}

describe('services: projects', () => {
  it('creates, renames, duplicates, lists and deletes projects, each with its own folder', async () => {
    const { services, workspace } = setup();
    const a = await call(services, 'projects.create', { name: 'Chest X-rays' });
    expect(existsSync(path.join(workspace, a.id))).toBe(true);
    expect((await call(services, 'projects.rename', { projectId: a.id, name: 'Renamed' })).name).toBe(
      'Renamed',
    );
    const b = await call(services, 'projects.duplicate', { projectId: a.id });
    expect(b.name).toBe('Renamed (copy)');
    expect(b.id).not.toBe(a.id);
    expect((await call(services, 'projects.list', {})).map((p) => p.name).sort()).toEqual([
      'Renamed',
      'Renamed (copy)',
    ]);
    await call(services, 'projects.delete', { projectId: a.id });
    expect(existsSync(path.join(workspace, a.id))).toBe(false);
    expect((await call(services, 'projects.list', {})).map((p) => p.id)).toEqual([b.id]);
    const gone = await refused(services, 'projects.get', { projectId: a.id });
    expect(gone.code).toBe('PROJECT_NOT_FOUND');
  });

  it('answers malformed requests with an error naming the problem, and keeps serving', async () => {
    const { services } = setup();
    for (const bad of [
      null,
      42,
      'x',
      {},
      { method: 'projects.explode' },
      { method: 'projects.create', params: 'x' },
    ]) {
      const reply = await services.handle(bad);
      expect(reply.ok).toBe(false);
    }
    const blank = await refused(services, 'projects.create', { name: '   ' });
    expect(blank.code).toBe('INPUT_INVALID');
    expect(blank.message).toMatch(/name/);
    const badId = await refused(services, 'projects.get', { projectId: '../../etc' });
    expect(badId.code).toBe('INPUT_INVALID');
    expect((await call(services, 'projects.create', { name: 'Still fine' })).name).toBe('Still fine');
  });

  it('validates setups against the catalog: student, method settings, unknown settings', async () => {
    const { services } = setup();
    const p = await call(services, 'projects.create', { name: 'P' });
    const student = await refused(services, 'projects.update', {
      projectId: p.id,
      setup: { student: 'vgg99' },
    });
    expect(student.code).toBe('STUDENT_INVALID');
    expect(student.fix).toMatch(/lenet5-half/);
    const setting = await refused(services, 'projects.update', {
      projectId: p.id,
      setup: { methodSettings: { sigma: -1 } },
    });
    expect(setting.code).toBe('SETTINGS_INVALID');
    const typo = await refused(services, 'projects.update', {
      projectId: p.id,
      setup: { methodSettings: { sigmaa: 1 } },
    });
    expect(typo.message).toMatch(/unknown setting "sigmaa"/);
    const ok = await call(services, 'projects.update', {
      projectId: p.id,
      setup: { method: 'zskd', samples: 500 },
    });
    expect([ok.method, ok.samples]).toEqual(['zskd', 500]);
    // A new method without settings of its own starts from its recommended ones (soft-target's
    // BatchNorm weight does not exist in zskd).
    expect(ok.methodSettings).toEqual({
      ...RECOMMENDED_METHOD_SETTINGS['zskd'],
      ...RECOMMENDED_ROUND_METHOD_SETTINGS['zskd'],
    });
    // Nothing already saved was lost by the refused updates.
    expect((await call(services, 'projects.get', { projectId: p.id })).student).toBe('lenet5-half');
  });

  it('measures architectures for the teacher shape in the catalog', async () => {
    const { services } = setup();
    const catalog = await call(services, 'catalog.get', { inputShape: [28, 28, 1], numClasses: 10 });
    const half = catalog.architectures.find((a) => a.name === 'lenet5-half');
    const full = catalog.architectures.find((a) => a.name === 'lenet5');
    expect(half && full && half.parameters < full.parameters).toBe(true);
    expect(half!.fileBytes).toBeGreaterThan(half!.parameters * 4);
    expect(catalog.methods.map((m) => m.name)).toEqual(
      expect.arrayContaining(['soft-target', 'zskd', 'noise']),
    );
    // New projects start from the recommended settings, which the method's own declaration accepts.
    const recommended = catalog.methods.find((m) => m.name === 'soft-target')?.recommended;
    expect(recommended).toEqual(RECOMMENDED_METHOD_SETTINGS['soft-target']);
    expect(Object.keys(recommended ?? {}).length).toBeGreaterThan(0);
    const fresh = await call(services, 'projects.create', { name: 'Defaults' });
    // New projects run in rounds: the method's recommended settings with the rounds' own over them.
    expect(fresh.methodSettings).toEqual({
      ...recommended,
      ...RECOMMENDED_ROUND_METHOD_SETTINGS['soft-target'],
    });
    expect(fresh.distill).toMatchObject({ ...RECOMMENDED_DISTILL, ...RECOMMENDED_ROUND_DISTILL });
    expect(
      (await call(services, 'projects.update', { projectId: fresh.id, setup: {} })).methodSettings,
    ).toEqual(fresh.methodSettings);
    const info = await call(services, 'app.info', {});
    expect(['wasm', 'cpu', 'node', 'node-gpu']).toContain(info.backend);
  });
});

describe('services: the round pipeline', () => {
  const now = '2025-03-14T10:00:00.000Z';
  const project: Project = {
    ...DEFAULT_SETUP,
    id: 'p-rounds',
    name: 'Rounds',
    createdAt: now,
    updatedAt: now,
    runs: [],
    testData: 'mnist-digits',
    teacher: {
      choice: { kind: 'builtin', name: 'mnist-lenet5' },
      ref: 'builtin:mnist-lenet5',
      summary: {
        label: 'LeNet-5',
        architecture: 'lenet5',
        inputShape: [32, 32, 1],
        numClasses: 10,
        parameters: 61_706,
        flopsPerImage: 846_000,
        fileBytes: 250_000,
        warnings: [],
      },
    },
  };

  it('starts new projects in rounds at the recommended settings and a 15-minute budget', () => {
    expect(DEFAULT_SETUP.rounds).toEqual(recommendedRounds());
    expect(DEFAULT_SETUP.rounds?.budgetSeconds).toBe(15 * 60);
    expect(DEFAULT_SETUP.rounds).toMatchObject({
      imagesPerRound: RECOMMENDED_ROUNDS.imagesPerRound,
      studentSteps: RECOMMENDED_ROUNDS.studentSteps,
      disagreement: RECOMMENDED_ROUNDS.disagreement,
      maxRounds: 0,
    });
    expect(DEFAULT_SETUP.distill.batchSize).toBe(RECOMMENDED_ROUNDS.batchSize);
    expect(DEFAULT_SETUP.distill.learningRate).toBe(RECOMMENDED_ROUNDS.learningRate);
    expect(DEFAULT_SETUP.methodSettings['iterations']).toBe(
      RECOMMENDED_ROUND_METHOD_SETTINGS['soft-target']?.['iterations'],
    );
  });

  it('specFor passes the round settings into the job, and leaves them out for the two stages', () => {
    const rounds = { ...TINY_ROUNDS };
    const spec = specFor({ ...project, rounds }, '/ws/p-rounds/runs/r-1', 2);
    expect(spec.rounds).toEqual(rounds);
    expect(spec).toMatchObject({
      teacher: 'builtin:mnist-lenet5',
      testData: 'mnist-digits',
      runDir: '/ws/p-rounds/runs/r-1',
      workers: 2,
      distill: DEFAULT_SETUP.distill,
    });
    expect(JobSpecSchema.parse(spec)).toEqual(spec);
    const twoStage = specFor({ ...project, rounds: null }, '/ws/p-rounds/runs/r-2', 2);
    expect('rounds' in twoStage).toBe(false);
    expect(twoStage.samples).toBe(DEFAULT_SETUP.samples);
    expect(JobSpecSchema.parse(twoStage)).toEqual(twoStage);
  });

  it('saves a switch between the pipelines and refuses a budget that is not one', async () => {
    const { services } = setup();
    const p = await call(services, 'projects.create', { name: 'P' });
    expect(p.rounds).toEqual(recommendedRounds());
    const twoStage = await call(services, 'projects.update', { projectId: p.id, setup: { rounds: null } });
    expect(twoStage.rounds).toBeNull();
    const custom = { ...recommendedRounds(), budgetSeconds: 6 };
    const back = await call(services, 'projects.update', { projectId: p.id, setup: { rounds: custom } });
    expect(back.rounds).toEqual(custom);
    const zero = await refused(services, 'projects.update', {
      projectId: p.id,
      setup: { rounds: { ...custom, budgetSeconds: 0 } },
    });
    expect(zero.code).toBe('INPUT_INVALID');
    expect(zero.message).toMatch(/rounds\.budgetSeconds/);
    expect((await call(services, 'projects.get', { projectId: p.id })).rounds).toEqual(custom);
  });
});

describe('services: teachers', () => {
  it('sets the built-in teacher with its measured summary', async () => {
    const { services } = setup();
    const p = await call(services, 'projects.create', { name: 'P' });
    const withTeacher = await call(services, 'projects.setTeacher', {
      projectId: p.id,
      teacher: { kind: 'builtin', name: 'mnist-lenet5' },
    });
    expect(withTeacher.teacher?.summary).toMatchObject({ inputShape: [32, 32, 1], numClasses: 10 });
    expect(withTeacher.teacher?.summary.parameters).toBeGreaterThan(40_000);
  });

  it('imports a model folder into the project, which keeps working after the original is gone', async () => {
    const { services, workspace } = setup();
    const original = await fs.mkdtemp(path.join(tmpdir(), 'ds-teacher-'));
    await fs.cp('examples/mnist-lenet5', original, { recursive: true });
    const p = await call(services, 'projects.create', { name: 'P' });
    const set = await call(services, 'projects.setTeacher', {
      projectId: p.id,
      teacher: { kind: 'folder', path: original },
    });
    await fs.rm(original, { recursive: true });
    expect(set.teacher?.ref).toBe(path.join(workspace, p.id, 'teacher'));
    expect(existsSync(path.join(set.teacher!.ref, 'model.json'))).toBe(true);
    const copy = await call(services, 'projects.duplicate', { projectId: p.id });
    expect(copy.teacher?.ref).toBe(path.join(workspace, copy.id, 'teacher'));
    expect(existsSync(path.join(copy.teacher!.ref, 'model.json'))).toBe(true);
  });

  it("refuses a folder that is not a model with the engine's message, keeping the previous teacher", async () => {
    const { services } = setup();
    const p = await call(services, 'projects.create', { name: 'P' });
    await call(services, 'projects.setTeacher', {
      projectId: p.id,
      teacher: { kind: 'builtin', name: 'mnist-lenet5' },
    });
    const empty = await fs.mkdtemp(path.join(tmpdir(), 'ds-empty-'));
    const error = await refused(services, 'projects.setTeacher', {
      projectId: p.id,
      teacher: { kind: 'folder', path: empty },
    });
    expect(error.message).toMatch(/model\.json/);
    expect(error.fix.length).toBeGreaterThan(10);
    expect((await call(services, 'projects.get', { projectId: p.id })).teacher?.ref).toBe(
      'builtin:mnist-lenet5',
    );
  });

  it('imports a preset with raw float32 weights of exactly the right size, and refuses a wrong size', async () => {
    const { services } = setup();
    const p = await call(services, 'projects.create', { name: 'P' });
    const catalog = await call(services, 'catalog.get', { inputShape: [28, 28, 1], numClasses: 10 });
    const params = catalog.architectures.find((a) => a.name === 'lenet5-half')!.parameters;
    const dir = await fs.mkdtemp(path.join(tmpdir(), 'ds-raw-'));
    const wrong = path.join(dir, 'wrong.bin');
    await fs.writeFile(wrong, Buffer.alloc((params - 1) * 4));
    const error = await refused(services, 'projects.setTeacher', {
      projectId: p.id,
      teacher: {
        kind: 'preset',
        preset: 'lenet5-half',
        weights: wrong,
        numClasses: 10,
        inputShape: [28, 28, 1],
      },
    });
    expect(error.code).toBe('WEIGHTS_SIZE_MISMATCH');
    expect(error.message).toContain(String(params * 4));
    const right = path.join(dir, 'right.bin');
    const values = new Float32Array(params).map((_, i) => Math.sin(i) * 0.05);
    await fs.writeFile(right, Buffer.from(values.buffer));
    const set = await call(services, 'projects.setTeacher', {
      projectId: p.id,
      teacher: {
        kind: 'preset',
        preset: 'lenet5-half',
        weights: right,
        numClasses: 10,
        inputShape: [28, 28, 1],
      },
    });
    expect(set.teacher?.summary.parameters).toBe(params);
    expect(set.teacher?.summary.architecture).toBe('lenet5-half');
  });
});
