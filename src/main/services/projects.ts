import { promises as fs } from 'node:fs';
import { DistillSettingsSchema } from '../../shared/job.js';
import { groupDefaults } from '../../shared/job-settings.js';
import {
  ProjectSetupSchema,
  recommendedRounds,
  summarizeProject,
  type ProjectSetup,
} from '../../shared/project.js';
import { RECOMMENDED_METHOD_SETTINGS, startingMethodSettings } from '../../shared/recommended.js';
import { DEFAULT_SHAPE } from './catalog-cache.js';
import { pickSetup, type Handlers, type ServiceContext } from './context.js';
import { UserError } from '../../shared/errors.js';
import { newProjectId } from './workspace.js';

// The job-level settings (samples, holdout, seed, ...) at their declared defaults in rounds.
const JOB_DEFAULTS = groupDefaults('job', 'rounds');

/**
 * The setup a new project starts with: the paper's method with what beat its plain settings
 * here (shared/recommended.ts), in the round pipeline with a 15-minute budget. `samples` and
 * `distill.epochs` are what the paper's two stages use if the user switches to them.
 */
export const DEFAULT_SETUP: ProjectSetup = {
  student: 'lenet5-half',
  method: 'soft-target',
  methodSettings: startingMethodSettings(
    { name: 'soft-target', recommended: RECOMMENDED_METHOD_SETTINGS['soft-target'] ?? {} },
    'rounds',
  ),
  samples: Number(JOB_DEFAULTS['samples']),
  // Every job setting at its declared default in rounds (src/shared/job-settings.ts).
  distill: DistillSettingsSchema.parse(groupDefaults('distill', 'rounds')),
  rounds: recommendedRounds(),
  testData: null,
  holdout: Number(JOB_DEFAULTS['holdout']),
  seed: Number(JOB_DEFAULTS['seed']),
};

type ProjectMethod =
  | 'projects.list'
  | 'projects.create'
  | 'projects.get'
  | 'projects.rename'
  | 'projects.duplicate'
  | 'projects.delete'
  | 'projects.update';

/** The project requests: list, create, read, rename, duplicate, delete and change the setup. */
export function projectHandlers(ctx: ServiceContext): Handlers<ProjectMethod> {
  return {
    'projects.list': async () => ctx.projects.list().map(summarizeProject),
    'projects.create': async ({ name }) => {
      const now = new Date().toISOString();
      const project = ctx.projects.put({
        ...structuredClone(DEFAULT_SETUP),
        id: newProjectId(),
        name,
        createdAt: now,
        updatedAt: now,
        teacher: null,
        runs: [],
      });
      await fs.mkdir(ctx.workspace.projectDir(project.id), { recursive: true });
      ctx.emit({ type: 'projects-changed' });
      return project;
    },
    'projects.get': async ({ projectId }) => ctx.project(projectId),
    'projects.rename': async ({ projectId, name }) => ctx.save({ ...ctx.project(projectId), name }),
    'projects.duplicate': async ({ projectId, name }) => {
      const source = ctx.project(projectId);
      const now = new Date().toISOString();
      const id = newProjectId();
      let teacher = source.teacher;
      if (teacher && !teacher.ref.startsWith('builtin:')) {
        // The copy gets its own teacher files, so deleting either project leaves the other whole.
        await fs.cp(ctx.workspace.teacherDir(source.id), ctx.workspace.teacherDir(id), { recursive: true });
        teacher = { ...teacher, ref: ctx.workspace.teacherDir(id) };
      }
      await fs.mkdir(ctx.workspace.projectDir(id), { recursive: true });
      return ctx.save({
        ...structuredClone(source),
        id,
        name: name ?? `${source.name} (copy)`.slice(0, 80),
        createdAt: now,
        teacher,
        runs: [],
      });
    },
    'projects.delete': async ({ projectId }) => {
      const project = ctx.project(projectId);
      if (project.runs.some((r) => ctx.runs.isRunning(projectId, r.id))) {
        throw new UserError(
          'PROJECT_BUSY',
          'This project has a run in progress',
          'Cancel the run first, then delete the project',
        );
      }
      ctx.projects.delete(projectId);
      await fs.rm(ctx.workspace.projectDir(projectId), { recursive: true, force: true });
      ctx.emit({ type: 'projects-changed' });
      return { deleted: true as const };
    },
    'projects.update': async ({ projectId, setup }) => {
      const project = ctx.project(projectId);
      const merged = ProjectSetupSchema.parse({ ...pickSetup(project), ...setup });
      // Settings belong to a method: another method without settings of its own starts from its
      // recommended ones for the pipeline (the previous method's may not exist in it).
      if (
        setup.method !== undefined &&
        setup.method !== project.method &&
        setup.methodSettings === undefined
      ) {
        const catalog = await ctx.catalog(
          project.teacher?.summary.inputShape ?? DEFAULT_SHAPE,
          project.teacher?.summary.numClasses ?? 10,
        );
        const next = catalog.methods.find((m) => m.name === setup.method);
        if (next)
          merged.methodSettings = startingMethodSettings(next, merged.rounds ? 'rounds' : 'two-stage');
      }
      await ctx.checkSetup(project, merged);
      return ctx.save({ ...project, ...merged });
    },
  };
}
