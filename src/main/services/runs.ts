import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { AppEvent } from '../../shared/api.js';
import { JobEventSchema, JobResultSchema, type JobEvent, type JobSpec } from '../../shared/job.js';
import type { Project, RunRecord } from '../../shared/project.js';
import { UserError } from '../../shared/errors.js';
import type { ProjectStore } from './project-store.js';
import { startTask, type RunningTask, type TaskOutcome } from './tasks.js';
import type { WorkerLauncher } from '../../engine/job/launcher.js';

/** Files the services add to a run folder (the engine writes the rest). */
export const EVENTS_FILE = 'events.jsonl';
const RESULT_FILE = 'result.json';

export interface RunManagerDeps {
  projects: ProjectStore;
  launch: WorkerLauncher;
  taskEntry: string;
  emit: (event: AppEvent) => void;
  /** Called with the backend a finished task reports. */
  onBackend?: (backend: string, note: string) => void;
}

/**
 * Starts, follows, cancels and resumes runs. One run at a time (the machine's
 * cores go to it); each run is one task worker whose events are forwarded to
 * the windows and appended to the run folder's events.jsonl, so charts can be
 * rebuilt after a restart. Whatever happens to the worker, the run record
 * ends in a state the user can act on: done, failed (with the reason),
 * cancelled or interrupted, the last three resumable from disk.
 */
export class RunManager {
  private active: { projectId: string; runId: string; spec: JobSpec; task: RunningTask } | undefined;
  /** The saving of the last run's outcome (its record), awaited by idle(). */
  private finishing: Promise<void> | undefined;

  constructor(private readonly deps: RunManagerDeps) {}

  /** Runs left 'running' by an app that closed or crashed are marked interrupted. */
  recoverInterrupted(): void {
    for (const project of this.deps.projects.list()) {
      if (project.runs.some((r) => r.status === 'running')) {
        this.deps.projects.put({
          ...project,
          runs: project.runs.map((r) =>
            r.status === 'running'
              ? {
                  ...r,
                  status: 'interrupted',
                  error: {
                    code: 'INTERRUPTED',
                    message: 'The app closed while this run was in progress',
                    fix: 'Press Resume: it continues from the last saved shard and checkpoint',
                  },
                }
              : r,
          ),
        });
      }
    }
  }

  isRunning(projectId: string, runId: string): boolean {
    return this.active?.projectId === projectId && this.active.runId === runId;
  }

  /** Starts `spec` as run `runId` of the project (a new run, or a resumed one). */
  start(project: Project, runId: string, spec: JobSpec): RunRecord {
    if (this.active) {
      const other = this.deps.projects.get(this.active.projectId);
      throw new UserError(
        'RUN_BUSY',
        `Another run is in progress${other ? ` in project "${other.name}"` : ''}; runs take all the processor's cores, so one runs at a time`,
        'Wait for it to finish, or cancel it, then start this one',
      );
    }
    const now = new Date().toISOString();
    const existing = project.runs.find((r) => r.id === runId);
    const record: RunRecord = existing
      ? { ...existing, status: 'running', updatedAt: now, finishedAt: null, error: null }
      : {
          id: runId,
          status: 'running',
          startedAt: now,
          updatedAt: now,
          finishedAt: null,
          spec,
          error: null,
          summary: null,
        };
    this.saveRun(project.id, record);
    const eventsFile = path.join(spec.runDir, EVENTS_FILE);
    let writing: Promise<unknown> = fs.mkdir(spec.runDir, { recursive: true });
    const task = startTask(this.deps.launch, this.deps.taskEntry, { type: 'run-job', spec }, (message) => {
      if (message.type !== 'job-event') return;
      const event = message.event;
      this.deps.emit({ type: 'run-event', projectId: project.id, runId, event });
      if (event.type !== 'done' && event.type !== 'failed') {
        const line = `${JSON.stringify(event)}\n`;
        writing = writing.then(() => fs.appendFile(eventsFile, line)).catch(() => undefined);
      }
    });
    this.active = { projectId: project.id, runId, spec, task };
    this.finishing = task.outcome.then(async (outcome) => {
      await writing;
      this.active = undefined;
      await this.finish(project.id, runId, spec, outcome);
    });
    return record;
  }

  cancel(projectId: string, runId: string): void {
    if (!this.isRunning(projectId, runId)) {
      throw new UserError('RUN_NOT_RUNNING', 'This run is not running', 'Refresh the run list');
    }
    const task = this.active!.task;
    task.cancel();
    // A worker that does not stop at its next safe point is killed; the run stays resumable.
    setTimeout(() => task.kill(), 15_000).unref();
  }

  /**
   * "Stop and keep": a run of the round pipeline ends after its current step, and its student
   * is evaluated and saved as it is; the run then finishes as done. Two-stage runs cannot:
   * their student is not finished until the last epoch.
   */
  stop(projectId: string, runId: string): void {
    if (!this.isRunning(projectId, runId)) {
      throw new UserError('RUN_NOT_RUNNING', 'This run is not running', 'Refresh the run list');
    }
    if (!this.active!.spec.rounds) {
      throw new UserError(
        'RUN_NOT_STOPPABLE',
        "Only a run with a time budget can stop early and keep its student; this one uses the paper's two stages",
        'Cancel it instead (it can be resumed later), or let it finish',
      );
    }
    this.active!.task.stop();
  }

  /** Stops every worker (app quit); their runs become interrupted on the next start. */
  shutdown(): void {
    this.active?.task.kill();
  }

  /** Waits until no run is active (tests). */
  async idle(): Promise<void> {
    // Until the last run's record is saved, not only until its worker ended.
    while (this.active || this.finishing) {
      const finishing = this.finishing;
      await finishing?.catch(() => undefined);
      if (this.finishing === finishing && !this.active) this.finishing = undefined;
    }
  }

  async events(spec: JobSpec): Promise<JobEvent[]> {
    const file = path.join(spec.runDir, EVENTS_FILE);
    if (!existsSync(file)) return [];
    const events: JobEvent[] = [];
    for (const line of (await fs.readFile(file, 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      try {
        const parsed = JobEventSchema.safeParse(JSON.parse(line));
        if (parsed.success) events.push(parsed.data);
      } catch {
        // A line cut short by a crash is skipped; every complete line before it is kept.
      }
    }
    return events;
  }

  private async finish(projectId: string, runId: string, spec: JobSpec, outcome: TaskOutcome): Promise<void> {
    const project = this.deps.projects.get(projectId);
    const record = project?.runs.find((r) => r.id === runId);
    if (!project || !record) return; // deleted meanwhile
    const now = new Date().toISOString();
    let next: RunRecord;
    if (outcome.kind === 'finished') {
      this.deps.onBackend?.(outcome.backend, outcome.backendNote);
      next = { ...record, status: 'done', finishedAt: now, error: null, summary: await readSummary(spec) };
    } else {
      next = { ...record, status: outcome.cancelled ? 'cancelled' : 'failed', error: outcome.error };
    }
    this.saveRun(projectId, next);
  }

  private saveRun(projectId: string, record: RunRecord): void {
    const project = this.deps.projects.get(projectId);
    if (!project) return;
    const runs = project.runs.some((r) => r.id === record.id)
      ? project.runs.map((r) => (r.id === record.id ? record : r))
      : [...project.runs, record];
    this.deps.projects.put({ ...project, runs });
    this.deps.emit({ type: 'run-updated', projectId, run: record });
    this.deps.emit({ type: 'projects-changed' });
  }
}

async function readSummary(spec: JobSpec): Promise<RunRecord['summary']> {
  try {
    const result = JobResultSchema.parse(
      JSON.parse(await fs.readFile(path.join(spec.runDir, RESULT_FILE), 'utf8')),
    );
    return {
      studentAccuracy: result.evaluation?.student.accuracy ?? null,
      teacherAccuracy: result.evaluation?.teacher.accuracy ?? null,
      agreement: result.evaluation?.student.agreementWithTeacher ?? result.holdoutAgreement,
      backend: result.backend,
    };
  } catch {
    return null;
  }
}
