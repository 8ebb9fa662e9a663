import type { API, ApiMethod, ApiResult, AppEvent, Catalog } from '../../shared/api.js';
import type { Project, ProjectSetup, RunRecord } from '../../shared/project.js';
import { resolveSettings, type SettingFields } from '../../shared/settings.js';
import type { FromTaskWorker, Task } from '../../shared/task-protocol.js';
import { CatalogCache, DEFAULT_SHAPE } from './catalog-cache.js';
import type { ServiceDeps } from './deps.js';
import type { ProjectStore } from './project-store.js';
import type { RunManager } from './runs.js';
import { UserError } from '../../shared/errors.js';
import { runTask } from './task-reply.js';
import type { Workspace } from './workspace.js';

/**
 * What the request modules (projects, teachers, runs, exports) share: the
 * stores, the catalog, task workers, and the lookups that turn an unknown id
 * into an error the user can act on.
 */
export class ServiceContext {
  readonly catalogs: CatalogCache;
  backend: { name: string; note: string } | undefined;

  constructor(
    readonly deps: ServiceDeps,
    readonly projects: ProjectStore,
    readonly workspace: Workspace,
    readonly runs: RunManager,
    readonly emit: (event: AppEvent) => void,
  ) {
    this.catalogs = new CatalogCache((inputShape, numClasses) =>
      this.runTask({ type: 'catalog', inputShape, numClasses }, 'catalog').then((r) => r.catalog),
    );
  }

  catalog(inputShape: [number, number, number], numClasses: number): Promise<Catalog> {
    return this.catalogs.get(inputShape, numClasses);
  }

  /** Runs a short task in a worker and returns its one reply of type `kind`. */
  runTask<K extends FromTaskWorker['type']>(
    task: Task,
    kind: K,
  ): Promise<Extract<FromTaskWorker, { type: K }>> {
    return runTask(this.deps.launch, this.deps.taskEntry, task, kind, (name, note) => {
      this.backend = { name, note };
    });
  }

  /** Checks the parts of a setup only the catalog knows: student fits the teacher, method and its settings. */
  async checkSetup(project: Project, setup: ProjectSetup): Promise<void> {
    const shape = project.teacher?.summary.inputShape ?? DEFAULT_SHAPE;
    const classes = project.teacher?.summary.numClasses ?? 10;
    const catalog = await this.catalog(shape, classes);
    if (!catalog.architectures.some((a) => a.name === setup.student)) {
      throw new UserError(
        'STUDENT_INVALID',
        `The student architecture "${setup.student}" cannot take ${shape.join('x')} images`,
        `Choose one of: ${catalog.architectures.map((a) => a.name).join(', ')}`,
      );
    }
    const method = catalog.methods.find((m) => m.name === setup.method);
    if (!method) {
      throw new UserError(
        'METHOD_INVALID',
        `There is no method "${setup.method}"`,
        `Choose one of: ${catalog.methods.map((m) => m.name).join(', ')}`,
      );
    }
    const { problems } = resolveSettings(method.fields as SettingFields, setup.methodSettings);
    if (problems[0]) {
      throw new UserError(
        'SETTINGS_INVALID',
        `Setting ${problems[0].name}: ${problems[0].message}`,
        'Correct that setting (each one says its allowed range)',
      );
    }
    const dataset = setup.testData && catalog.datasets.find((d) => d.name === setup.testData);
    if (dataset && !dataset.available) {
      throw new UserError(
        'DATASET_UNAVAILABLE',
        `The test set ${dataset.name} is not installed`,
        dataset.description,
      );
    }
  }

  project(projectId: string): Project {
    const project = this.projects.get(projectId);
    if (!project) {
      throw new UserError(
        'PROJECT_NOT_FOUND',
        'This project does not exist any more',
        'Pick a project from the list',
      );
    }
    return project;
  }

  run(projectId: string, runId: string): RunRecord {
    const run = this.project(projectId).runs.find((r) => r.id === runId);
    if (!run)
      throw new UserError(
        'RUN_NOT_FOUND',
        'This run does not exist any more',
        "Pick a run from the project's history",
      );
    return run;
  }

  finishedRun(projectId: string, runId: string): RunRecord {
    const run = this.run(projectId, runId);
    if (run.status !== 'done') {
      throw new UserError(
        'RUN_NOT_FINISHED',
        'This run has no report yet: it has not finished',
        'Wait for it to finish, or resume it',
      );
    }
    return run;
  }

  save(project: Project): Project {
    const saved = this.projects.put({ ...project, updatedAt: new Date().toISOString() });
    this.emit({ type: 'projects-changed' });
    return saved;
  }
}

/** The setup fields of a project (what `projects.update` may change). */
export function pickSetup(project: Project): ProjectSetup {
  const { student, method, methodSettings, samples, distill, rounds, testData, holdout, seed } = project;
  return { student, method, methodSettings, samples, distill, rounds, testData, holdout, seed };
}

type ParamsOf<M extends ApiMethod> = ReturnType<(typeof API)[M]['params']['parse']>;

/** Handlers for the API methods `M`, each given its parsed params. */
export type Handlers<M extends ApiMethod = ApiMethod> = {
  [K in M]: (params: ParamsOf<K>) => Promise<ApiResult<K>>;
};
