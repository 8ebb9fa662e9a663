import { existsSync, promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { JobResultSchema, type JobSpec } from '../../shared/job.js';
import type { Project } from '../../shared/project.js';
import { pickSetup, type Handlers, type ServiceContext } from './context.js';
import { UserError } from '../../shared/errors.js';
import { newRunId } from './workspace.js';

type RunMethod =
  | 'runs.start'
  | 'runs.cancel'
  | 'runs.stop'
  | 'runs.resume'
  | 'runs.delete'
  | 'runs.events'
  | 'runs.samples'
  | 'runs.report';

/** The run requests: start, cancel, stop and keep, resume, delete, and read a run's events, samples and report. */
export function runHandlers(ctx: ServiceContext): Handlers<RunMethod> {
  return {
    'runs.start': async ({ projectId }) => {
      const project = ctx.project(projectId);
      if (!project.teacher) {
        throw new UserError(
          'TEACHER_MISSING',
          'This project has no teacher yet',
          'Choose a teacher model in the Setup tab first',
        );
      }
      await ctx.checkSetup(project, pickSetup(project));
      const runId = newRunId();
      const spec = specFor(project, ctx.workspace.runDir(project.id, runId), Math.max(1, cpus().length));
      return ctx.runs.start(project, runId, spec);
    },
    'runs.cancel': async ({ projectId, runId }) => {
      ctx.run(projectId, runId);
      ctx.runs.cancel(projectId, runId);
      return ctx.run(projectId, runId);
    },
    'runs.stop': async ({ projectId, runId }) => {
      ctx.run(projectId, runId);
      ctx.runs.stop(projectId, runId);
      return ctx.run(projectId, runId);
    },
    'runs.resume': async ({ projectId, runId }) => {
      const run = ctx.run(projectId, runId);
      if (run.status === 'running' || run.status === 'done') {
        throw new UserError(
          'RUN_NOT_RESUMABLE',
          `This run is ${run.status === 'done' ? 'finished' : 'already running'}`,
          'Start a new run to try other settings',
        );
      }
      return ctx.runs.start(ctx.project(projectId), runId, run.spec);
    },
    'runs.delete': async ({ projectId, runId }) => {
      const run = ctx.run(projectId, runId);
      if (ctx.runs.isRunning(projectId, runId)) {
        throw new UserError('RUN_BUSY', 'This run is in progress', 'Cancel it first, then delete it');
      }
      await fs.rm(run.spec.runDir, { recursive: true, force: true });
      const project = ctx.project(projectId);
      return ctx.save({ ...project, runs: project.runs.filter((r) => r.id !== runId) });
    },
    'runs.events': async ({ projectId, runId }) => ({
      events: await ctx.runs.events(ctx.run(projectId, runId).spec),
    }),
    'runs.samples': async ({ projectId, runId }) => {
      const run = ctx.run(projectId, runId);
      const file = path.join(run.spec.runDir, 'samples.png');
      if (!existsSync(file)) return { dataUrl: null, count: 0 };
      const events = await ctx.runs.events(run.spec);
      const count = events.reduce((n, e) => (e.type === 'samples' ? e.count : n), 0);
      return { dataUrl: `data:image/png;base64,${(await fs.readFile(file)).toString('base64')}`, count };
    },
    'runs.report': async ({ projectId, runId }) => {
      const { runDir } = ctx.finishedRun(projectId, runId).spec;
      const result = JobResultSchema.parse(
        JSON.parse(await fs.readFile(path.join(runDir, 'result.json'), 'utf8')),
      );
      return { result, html: await fs.readFile(path.join(runDir, 'report.html'), 'utf8') };
    },
  };
}

/**
 * The job a run of `project` performs, written to `runDir` with `workers`
 * synthesis processes: the round pipeline when the project has a time budget
 * (`rounds`), else the paper's two stages.
 */
export function specFor(project: Project, runDir: string, workers: number): JobSpec {
  if (!project.teacher) throw new Error('specFor needs a project with a teacher');
  const total = project.samples + project.holdout;
  return {
    teacher: project.teacher.ref,
    student: project.student,
    method: project.method,
    methodSettings: project.methodSettings,
    samples: project.samples,
    shardSize: Math.min(1000, Math.max(50, Math.ceil(total / 8))),
    distill: project.distill,
    ...(project.testData ? { testData: project.testData } : {}),
    holdout: project.holdout,
    seed: project.seed,
    workers,
    runDir,
    ...(project.rounds ? { rounds: project.rounds } : {}),
  };
}
