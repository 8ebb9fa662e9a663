import { ProjectSchema, type Project } from '../../shared/project.js';

/**
 * The few calls the app makes on its settings store. electron-store in the
 * desktop app and `conf` (the library electron-store is built on) in browser
 * mode and tests both provide them, with the same schema version and
 * migrations (STORE_OPTIONS), so a store written by one is read by the other.
 */
export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

/** Bumped whenever the stored shape changes; each bump adds a migration below. */
export const STORE_FORMAT = 3;

/**
 * Migrations of the stored data, oldest first. Each takes the store at
 * format N-1 and leaves it at format N; they run when the app starts, on
 * data written by an older version.
 */
export const STORE_MIGRATIONS: readonly { to: number; migrate: (store: KeyValueStore) => void }[] = [
  {
    // Format 1 (0.1 previews) kept projects as an array; format 2 keys them by id.
    to: 2,
    migrate(store) {
      const projects = store.get('projects');
      if (Array.isArray(projects)) {
        const byId: Record<string, unknown> = {};
        for (const p of projects) {
          if (p && typeof p === 'object' && 'id' in p && typeof p.id === 'string') byId[p.id] = p;
        }
        store.set('projects', byId);
      }
    },
  },
  {
    // Format 3 added the round pipeline. Projects saved before it keep the paper's two
    // stages (rounds: null), so their settings mean what they meant when they were saved.
    to: 3,
    migrate(store) {
      const projects = store.get('projects');
      if (!projects || typeof projects !== 'object' || Array.isArray(projects)) return;
      const migrated: Record<string, unknown> = {};
      for (const [id, p] of Object.entries(projects as Record<string, unknown>)) {
        migrated[id] = p && typeof p === 'object' && !('rounds' in p) ? { ...p, rounds: null } : p;
      }
      store.set('projects', migrated);
    },
  },
];

/** Brings a store to STORE_FORMAT; a store newer than this app is refused, not touched. */
export function migrateStore(store: KeyValueStore): void {
  const raw = store.get('format');
  const format = typeof raw === 'number' ? raw : store.get('projects') === undefined ? STORE_FORMAT : 1;
  if (format > STORE_FORMAT) {
    throw new StoreTooNewError(format);
  }
  for (const step of STORE_MIGRATIONS) {
    if (step.to > format) step.migrate(store);
  }
  store.set('format', STORE_FORMAT);
  if (store.get('projects') === undefined) store.set('projects', {});
}

export class StoreTooNewError extends Error {
  constructor(readonly format: number) {
    super(
      `The project list was written by a newer Distill Studio (format ${format}; this app reads ${STORE_FORMAT})`,
    );
  }
}

/**
 * The project list. Every project is validated when read; one that does not
 * validate (edited by hand, written by a buggy version) is set aside under
 * `unreadableProjects` with the reason, never silently dropped.
 */
export class ProjectStore {
  constructor(private readonly store: KeyValueStore) {
    migrateStore(store);
    this.setAsideUnreadable();
  }

  list(): Project[] {
    return Object.values(this.all()).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  get(id: string): Project | undefined {
    return this.all()[id];
  }

  put(project: Project): Project {
    const checked = ProjectSchema.parse(project);
    this.store.set('projects', { ...this.rawProjects(), [checked.id]: checked });
    return checked;
  }

  delete(id: string): void {
    const rest = { ...this.rawProjects() };
    delete rest[id];
    this.store.set('projects', rest);
  }

  /** Projects that could not be read, with why (kept for recovery). */
  unreadable(): Record<string, { reason: string; data: unknown }> {
    const raw = this.store.get('unreadableProjects');
    return raw && typeof raw === 'object' ? (raw as Record<string, { reason: string; data: unknown }>) : {};
  }

  private all(): Record<string, Project> {
    const out: Record<string, Project> = {};
    for (const [id, value] of Object.entries(this.rawProjects())) {
      const parsed = ProjectSchema.safeParse(value);
      if (parsed.success) out[id] = parsed.data;
    }
    return out;
  }

  private rawProjects(): Record<string, unknown> {
    const raw = this.store.get('projects');
    return raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  }

  private setAsideUnreadable(): void {
    const good: Record<string, unknown> = {};
    const bad = { ...this.unreadable() };
    let found = false;
    for (const [id, value] of Object.entries(this.rawProjects())) {
      const parsed = ProjectSchema.safeParse(value);
      if (parsed.success) good[id] = value;
      else {
        found = true;
        bad[`${id}@${new Date().toISOString()}`] = { reason: parsed.error.message, data: value };
      }
    }
    if (found) {
      this.store.set('unreadableProjects', bad);
      this.store.set('projects', good);
    }
  }
}

/** A store in memory (tests). */
export function memoryStore(initial: Record<string, unknown> = {}): KeyValueStore {
  const data = structuredClone(initial);
  return {
    get: (key) => structuredClone(data[key]),
    set: (key, value) => {
      data[key] = structuredClone(value);
    },
  };
}
