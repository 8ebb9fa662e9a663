import { describe, expect, it } from 'vitest';
import {
  memoryStore,
  migrateStore,
  ProjectStore,
  STORE_FORMAT,
  StoreTooNewError,
} from '../../src/main/services/project-store.js';
import { DEFAULT_SETUP } from '../../src/main/services/projects.js';
import { recommendedRounds, type Project } from '../../src/shared/project.js';

function project(id: string, name = 'A'): Project {
  const now = new Date().toISOString();
  return { ...DEFAULT_SETUP, id, name, createdAt: now, updatedAt: now, teacher: null, runs: [] };
}

describe('project store', () => {
  it('starts empty at the current format and keeps what it is given', () => {
    const kv = memoryStore();
    const store = new ProjectStore(kv);
    expect(kv.get('format')).toBe(STORE_FORMAT);
    store.put(project('p-000001', 'First'));
    expect(new ProjectStore(kv).get('p-000001')?.name).toBe('First');
  });

  it('migrates the format-1 array of projects to projects by id', () => {
    const kv = memoryStore({ projects: [project('p-aaaaaa', 'Old one'), project('p-bbbbbb', 'Old two')] });
    const store = new ProjectStore(kv);
    expect(kv.get('format')).toBe(STORE_FORMAT);
    expect(
      store
        .list()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['Old one', 'Old two']);
  });

  it('loads projects saved before the round pipeline as two-stage projects, every setting kept', () => {
    // A format-2 project as 0.1 saved it: no `rounds`, the paper's images-then-epochs settings.
    const { rounds: _none, ...legacy } = {
      ...project('p-ffffff', 'Saved in 0.1'),
      samples: 1234,
      methodSettings: { iterations: 150, tv: 50 },
      distill: { ...DEFAULT_SETUP.distill, epochs: 40, batchSize: 64 },
    };
    expect('rounds' in legacy).toBe(false);
    const kv = memoryStore({ format: 2, projects: { 'p-ffffff': legacy } });
    const store = new ProjectStore(kv);
    expect(kv.get('format')).toBe(STORE_FORMAT);
    expect(store.unreadable()).toEqual({});
    const loaded = store.get('p-ffffff');
    expect(loaded?.rounds).toBeNull();
    expect(loaded).toEqual({ ...legacy, rounds: null });
  });

  it('brings a format-1 store through every migration', () => {
    const { rounds: _none, ...legacy } = project('p-gggggg', 'Oldest');
    const store = new ProjectStore(memoryStore({ projects: [legacy] }));
    expect(store.get('p-gggggg')).toEqual({ ...legacy, rounds: null });
  });

  it('keeps the round settings of projects saved with them', () => {
    const kv = memoryStore();
    const rounds = { ...recommendedRounds(), budgetSeconds: 42, maxRounds: 3 };
    new ProjectStore(kv).put({ ...project('p-hhhhhh'), rounds });
    migrateStore(kv); // a second start runs no migration again
    expect(new ProjectStore(kv).get('p-hhhhhh')?.rounds).toEqual(rounds);
  });

  it('sets aside a project that does not validate instead of dropping it', () => {
    const broken = { ...project('p-cccccc'), samples: 'many' };
    const kv = memoryStore({
      format: STORE_FORMAT,
      projects: { 'p-cccccc': broken, 'p-dddddd': project('p-dddddd') },
    });
    const store = new ProjectStore(kv);
    expect(store.list().map((p) => p.id)).toEqual(['p-dddddd']);
    const aside = Object.values(store.unreadable());
    expect(aside).toHaveLength(1);
    expect(aside[0]?.data).toEqual(broken);
    expect(aside[0]?.reason).toMatch(/samples/);
  });

  it('refuses a store written by a newer app without touching it', () => {
    const kv = memoryStore({ format: STORE_FORMAT + 1, projects: { x: 1 } });
    expect(() => migrateStore(kv)).toThrow(StoreTooNewError);
    expect(kv.get('projects')).toEqual({ x: 1 });
  });

  it('refuses to save an invalid project', () => {
    const store = new ProjectStore(memoryStore());
    expect(() => store.put({ ...project('p-eeeeee'), name: '' })).toThrow();
    expect(store.list()).toEqual([]);
  });
});
