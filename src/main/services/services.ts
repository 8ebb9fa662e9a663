import { existsSync, promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import {
  API,
  ApiRequestSchema,
  invalidRequestError,
  type ApiMethod,
  type ApiReply,
  type ApiResult,
  type AppEvent,
  type AppInfo,
  type Catalog,
} from '../../shared/api.js';
import type { ErrorInfo } from '../../shared/errors.js';
import { DistillSettingsSchema, JobResultSchema, type JobSpec } from '../../shared/job.js';
import {
  ProjectSetupSchema,
  recommendedRounds,
  summarizeProject,
  type Project,
  type ProjectSetup,
  type RunRecord,
} from '../../shared/project.js';
import { groupDefaults } from '../../shared/job-settings.js';
import { RECOMMENDED_METHOD_SETTINGS, startingMethodSettings } from '../../shared/recommended.js';
import { resolveSettings, type SettingFields } from '../../shared/settings.js';
import type { FromTaskWorker, Task } from '../../shared/task-protocol.js';
import type { WorkerLauncher } from '../../engine/job/launcher.js';
import { ProjectStore, type KeyValueStore } from './project-store.js';
import { RunManager } from './runs.js';
import { ServiceError } from './service-error.js';
import { startTask } from './tasks.js';
import { newProjectId, newRunId, Workspace } from './workspace.js';

/** Native dialogs (the desktop app); browser mode has none and the UI asks for paths. */
export interface NativeDialogs {
  open(kind: 'model-folder' | 'onnx-file' | 'weights-file' | 'dataset'): Promise<string | null>;
  saveFile(defaultPath: string, filter: { name: string; extensions: string[] }): Promise<string | null>;
  chooseFolder(defaultPath: string): Promise<string | null>;
}

/** Turns a report HTML file into a PDF (Electron's printToPDF, or a headless Chromium). */
export interface PdfPrinter {
  /** Words for the UI, e.g. "Electron printToPDF". */
  name: string;
  print(htmlFile: string, pdfFile: string): Promise<void>;
}

export interface ServiceDeps {
  store: KeyValueStore;
  workspace: string;
  launch: WorkerLauncher;
  /** Path of the task worker entry (src/worker/task-worker.ts, or its build). */
  taskEntry: string;
  shell: 'electron' | 'browser';
  version: string;
  dialogs?: NativeDialogs;
  pdf?: PdfPrinter | null;
}

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

// The built-in example's input (LeNet-5 takes digits padded to 32x32).
const DEFAULT_SHAPE: [number, number, number] = [32, 32, 1];

type Handlers = { [M in ApiMethod]: (params: z_infer<M>) => Promise<ApiResult<M>> };
type z_infer<M extends ApiMethod> = ReturnType<(typeof API)[M]['params']['parse']>;

/**
 * The app's services: everything behind the renderer's API, free of Electron
 * so the same object serves the desktop app (over IPC) and browser mode (over
 * HTTP). Engine work (jobs, teacher imports, measuring architectures) runs in
 * task worker processes, never here.
 */
export class Services {
  readonly projects: ProjectStore;
  readonly runs: RunManager;
  private readonly workspace: Workspace;
  private readonly listeners = new Set<(event: AppEvent) => void>();
  private readonly catalogs = new Map<string, Promise<Catalog>>();
  private backend: { name: string; note: string } | undefined;

  constructor(private readonly deps: ServiceDeps) {
    this.projects = new ProjectStore(deps.store);
    this.workspace = new Workspace(deps.workspace);
    this.runs = new RunManager({
      projects: this.projects,
      launch: deps.launch,
      taskEntry: deps.taskEntry,
      emit: (event) => this.emit(event),
      onBackend: (name, note) => (this.backend = { name, note }),
    });
    this.runs.recoverInterrupted();
  }

  subscribe(listener: (event: AppEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Handles one raw request from a window: validates the envelope and the
   * params, runs the handler, and always answers with a reply; a malformed
   * request or a failing handler becomes { ok: false, error }, never a crash.
   */
  async handle(raw: unknown): Promise<ApiReply> {
    const request = ApiRequestSchema.safeParse(raw);
    if (!request.success)
      return { ok: false, error: invalidRequestError(request.error.issues[0]?.message ?? 'malformed') };
    const { method } = request.data;
    const params = API[method].params.safeParse(request.data.params ?? {});
    if (!params.success) {
      const issue = params.error.issues[0];
      return {
        ok: false,
        error: {
          code: 'INPUT_INVALID',
          message: `${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid input'}`,
          fix: 'Correct that value and try again',
        },
      };
    }
    try {
      const handler = this.handlers[method] as (p: unknown) => Promise<unknown>;
      return { ok: true, result: await handler(params.data) };
    } catch (error) {
      return { ok: false, error: toErrorInfo(error) };
    }
  }

  shutdown(): void {
    this.runs.shutdown();
  }

  private emit(event: AppEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private readonly handlers: Handlers = {
    'app.info': async () => this.appInfo(),
    'catalog.get': async ({ inputShape, numClasses }) =>
      this.catalog(inputShape ?? DEFAULT_SHAPE, numClasses ?? 10),
    'projects.list': async () => this.projects.list().map(summarizeProject),
    'projects.create': async ({ name }) => {
      const now = new Date().toISOString();
      const project = this.projects.put({
        ...structuredClone(DEFAULT_SETUP),
        id: newProjectId(),
        name,
        createdAt: now,
        updatedAt: now,
        teacher: null,
        runs: [],
      });
      await fs.mkdir(this.workspace.projectDir(project.id), { recursive: true });
      this.emit({ type: 'projects-changed' });
      return project;
    },
    'projects.get': async ({ projectId }) => this.project(projectId),
    'projects.rename': async ({ projectId, name }) => this.save({ ...this.project(projectId), name }),
    'projects.duplicate': async ({ projectId, name }) => {
      const source = this.project(projectId);
      const now = new Date().toISOString();
      const id = newProjectId();
      let teacher = source.teacher;
      if (teacher && !teacher.ref.startsWith('builtin:')) {
        // The copy gets its own teacher files, so deleting either project leaves the other whole.
        await fs.cp(this.workspace.teacherDir(source.id), this.workspace.teacherDir(id), { recursive: true });
        teacher = { ...teacher, ref: this.workspace.teacherDir(id) };
      }
      await fs.mkdir(this.workspace.projectDir(id), { recursive: true });
      return this.save({
        ...structuredClone(source),
        id,
        name: name ?? `${source.name} (copy)`.slice(0, 80),
        createdAt: now,
        teacher,
        runs: [],
      });
    },
    'projects.delete': async ({ projectId }) => {
      const project = this.project(projectId);
      if (project.runs.some((r) => this.runs.isRunning(projectId, r.id))) {
        throw new ServiceError(
          'PROJECT_BUSY',
          'This project has a run in progress',
          'Cancel the run first, then delete the project',
        );
      }
      this.projects.delete(projectId);
      await fs.rm(this.workspace.projectDir(projectId), { recursive: true, force: true });
      this.emit({ type: 'projects-changed' });
      return { deleted: true as const };
    },
    'projects.update': async ({ projectId, setup }) => {
      const project = this.project(projectId);
      const merged = ProjectSetupSchema.parse({ ...pickSetup(project), ...setup });
      // Settings belong to a method: another method without settings of its own starts from its
      // recommended ones for the pipeline (the previous method's may not exist in it).
      if (
        setup.method !== undefined &&
        setup.method !== project.method &&
        setup.methodSettings === undefined
      ) {
        const catalog = await this.catalog(
          project.teacher?.summary.inputShape ?? DEFAULT_SHAPE,
          project.teacher?.summary.numClasses ?? 10,
        );
        const next = catalog.methods.find((m) => m.name === setup.method);
        if (next)
          merged.methodSettings = startingMethodSettings(next, merged.rounds ? 'rounds' : 'two-stage');
      }
      await this.checkSetup(project, merged);
      return this.save({ ...project, ...merged });
    },
    'projects.setTeacher': async ({ projectId, teacher: choice }) => {
      this.project(projectId);
      const reply = await this.runTask<'teacher-imported'>(
        { type: 'import-teacher', choice, teacherDir: this.workspace.teacherDir(projectId) },
        'teacher-imported',
      );
      const project = this.project(projectId);
      const catalog = await this.catalog(reply.summary.inputShape, reply.summary.numClasses);
      // Keep the student if it fits the new teacher, else take the smallest that does.
      const student = catalog.architectures.some((a) => a.name === project.student)
        ? project.student
        : (catalog.architectures[0]?.name ?? project.student);
      return this.save({ ...project, student, teacher: { choice, ref: reply.ref, summary: reply.summary } });
    },
    'runs.start': async ({ projectId }) => {
      const project = this.project(projectId);
      if (!project.teacher) {
        throw new ServiceError(
          'TEACHER_MISSING',
          'This project has no teacher yet',
          'Choose a teacher model in the Setup tab first',
        );
      }
      await this.checkSetup(project, pickSetup(project));
      const runId = newRunId();
      const spec = specFor(project, this.workspace.runDir(project.id, runId), Math.max(1, cpus().length));
      return this.runs.start(project, runId, spec);
    },
    'runs.cancel': async ({ projectId, runId }) => {
      this.run(projectId, runId);
      this.runs.cancel(projectId, runId);
      return this.run(projectId, runId);
    },
    'runs.stop': async ({ projectId, runId }) => {
      this.run(projectId, runId);
      this.runs.stop(projectId, runId);
      return this.run(projectId, runId);
    },
    'runs.resume': async ({ projectId, runId }) => {
      const run = this.run(projectId, runId);
      if (run.status === 'running' || run.status === 'done') {
        throw new ServiceError(
          'RUN_NOT_RESUMABLE',
          `This run is ${run.status === 'done' ? 'finished' : 'already running'}`,
          'Start a new run to try other settings',
        );
      }
      return this.runs.start(this.project(projectId), runId, run.spec);
    },
    'runs.delete': async ({ projectId, runId }) => {
      const run = this.run(projectId, runId);
      if (this.runs.isRunning(projectId, runId)) {
        throw new ServiceError('RUN_BUSY', 'This run is in progress', 'Cancel it first, then delete it');
      }
      await fs.rm(run.spec.runDir, { recursive: true, force: true });
      const project = this.project(projectId);
      return this.save({ ...project, runs: project.runs.filter((r) => r.id !== runId) });
    },
    'runs.events': async ({ projectId, runId }) => ({
      events: await this.runs.events(this.run(projectId, runId).spec),
    }),
    'runs.samples': async ({ projectId, runId }) => {
      const run = this.run(projectId, runId);
      const file = path.join(run.spec.runDir, 'samples.png');
      if (!existsSync(file)) return { dataUrl: null, count: 0 };
      const events = await this.runs.events(run.spec);
      const count = events.reduce((n, e) => (e.type === 'samples' ? e.count : n), 0);
      return { dataUrl: `data:image/png;base64,${(await fs.readFile(file)).toString('base64')}`, count };
    },
    'runs.report': async ({ projectId, runId }) => {
      const { runDir } = this.finishedRun(projectId, runId).spec;
      const result = JobResultSchema.parse(
        JSON.parse(await fs.readFile(path.join(runDir, 'result.json'), 'utf8')),
      );
      return { result, html: await fs.readFile(path.join(runDir, 'report.html'), 'utf8') };
    },
    'export.report': async ({ projectId, runId, format }) => {
      const project = this.project(projectId);
      const run = this.finishedRun(projectId, runId);
      const html = path.join(run.spec.runDir, 'report.html');
      const pdf = format === 'pdf' ? this.deps.pdf : undefined;
      if (format === 'pdf' && !pdf) {
        throw new ServiceError(
          'PDF_UNAVAILABLE',
          'PDF export needs the desktop app or a Chromium browser installed on this computer',
          'Export the report as HTML and print it to PDF from your browser, or install Chromium',
        );
      }
      const target = await this.exportTarget(project, run, `report.${format}`, {
        name: format === 'pdf' ? 'PDF document' : 'Web page',
        extensions: [format],
      });
      if (!target) return { path: null };
      if (pdf) await pdf.print(html, target.path);
      // Into the exports folder: a new file, never over an existing one (a save dialog has asked).
      else await fs.copyFile(html, target.path, target.chosen ? 0 : fs.constants.COPYFILE_EXCL);
      return { path: target.path };
    },
    'export.onnx': async ({ projectId, runId }) => {
      const project = this.project(projectId);
      const run = this.finishedRun(projectId, runId);
      const file = await this.exportTarget(project, run, 'student.onnx', {
        name: 'ONNX model',
        extensions: ['onnx'],
      });
      if (!file) return { path: null };
      // Without a dialog the name is new (freshExportPath); the worker writes it only after the check.
      const reply = await this.runTask<'onnx-exported'>(
        {
          type: 'export-onnx',
          modelDir: path.join(run.spec.runDir, 'student'),
          target: file.path,
          testData: run.spec.testData ?? null,
          runDir: run.spec.runDir,
        },
        'onnx-exported',
      );
      return { path: reply.path, note: reply.note };
    },
    'export.student': async ({ projectId, runId }) => {
      const project = this.project(projectId);
      const run = this.finishedRun(projectId, runId);
      const target = await this.exportTarget(project, run, 'student', null);
      if (!target) return { path: null };
      if (existsSync(target.path) && (await fs.readdir(target.path)).length > 0) {
        throw new ServiceError(
          'EXPORT_TARGET_NOT_EMPTY',
          `The folder ${target.path} is not empty`,
          'Choose a new or empty folder for the model',
        );
      }
      await fs.cp(path.join(run.spec.runDir, 'student'), target.path, {
        recursive: true,
        errorOnExist: true,
        force: false,
      });
      return { path: target.path };
    },
    'dialog.open': async ({ kind }) => ({
      path: this.deps.dialogs ? await this.deps.dialogs.open(kind) : null,
    }),
  };

  private async appInfo(): Promise<AppInfo> {
    if (!this.backend) await this.catalog(DEFAULT_SHAPE, 10); // learns the backend from a worker
    return {
      version: this.deps.version,
      shell: this.deps.shell,
      backend: this.backend?.name ?? 'unknown',
      backendNote: this.backend?.note ?? '',
      nativeDialogs: Boolean(this.deps.dialogs),
      pdf: this.deps.pdf?.name ?? null,
      workspace: this.workspace.root,
      cores: cpus().length,
    };
  }

  private catalog(inputShape: [number, number, number], numClasses: number): Promise<Catalog> {
    const key = `${inputShape.join('x')}/${numClasses}`;
    let found = this.catalogs.get(key);
    if (!found) {
      found = this.runTask<'catalog'>({ type: 'catalog', inputShape, numClasses }, 'catalog').then(
        (r) => r.catalog,
      );
      found.catch(() => this.catalogs.delete(key));
      this.catalogs.set(key, found);
    }
    return found;
  }

  /** Runs a short task in a worker and returns its one reply of type `kind`. */
  private async runTask<K extends FromTaskWorker['type']>(
    task: Task,
    kind: K,
  ): Promise<Extract<FromTaskWorker, { type: K }>> {
    let reply: Extract<FromTaskWorker, { type: K }> | undefined;
    const running = startTask(this.deps.launch, this.deps.taskEntry, task, (message) => {
      if (message.type === kind) reply = message as Extract<FromTaskWorker, { type: K }>;
    });
    const outcome = await running.outcome;
    if (outcome.kind === 'failed') throw new ReportedError(outcome.error);
    this.backend = { name: outcome.backend, note: outcome.backendNote };
    if (!reply) throw new Error(`worker finished ${task.type} without a ${kind} reply`);
    return reply;
  }

  /** Checks the parts of a setup only the catalog knows: student fits the teacher, method and its settings. */
  private async checkSetup(project: Project, setup: ProjectSetup): Promise<void> {
    const shape = project.teacher?.summary.inputShape ?? DEFAULT_SHAPE;
    const classes = project.teacher?.summary.numClasses ?? 10;
    const catalog = await this.catalog(shape, classes);
    if (!catalog.architectures.some((a) => a.name === setup.student)) {
      throw new ServiceError(
        'STUDENT_INVALID',
        `The student architecture "${setup.student}" cannot take ${shape.join('x')} images`,
        `Choose one of: ${catalog.architectures.map((a) => a.name).join(', ')}`,
      );
    }
    const method = catalog.methods.find((m) => m.name === setup.method);
    if (!method) {
      throw new ServiceError(
        'METHOD_INVALID',
        `There is no method "${setup.method}"`,
        `Choose one of: ${catalog.methods.map((m) => m.name).join(', ')}`,
      );
    }
    const { problems } = resolveSettings(method.fields as SettingFields, setup.methodSettings);
    if (problems[0]) {
      throw new ServiceError(
        'SETTINGS_INVALID',
        `Setting ${problems[0].name}: ${problems[0].message}`,
        'Correct that setting (each one says its allowed range)',
      );
    }
    const dataset = setup.testData && catalog.datasets.find((d) => d.name === setup.testData);
    if (dataset && !dataset.available) {
      throw new ServiceError(
        'DATASET_UNAVAILABLE',
        `The test set ${dataset.name} is not installed`,
        dataset.description,
      );
    }
  }

  /**
   * Where an export goes: the path the user picked in a save dialog
   * (`chosen`; null if cancelled), or, without dialogs (browser mode), a new
   * name in the project's exports folder. Callers never name it.
   */
  private async exportTarget(
    project: Project,
    run: RunRecord,
    what: string,
    filter: { name: string; extensions: string[] } | null,
  ): Promise<{ path: string; chosen: boolean } | null> {
    const number = project.runs.findIndex((r) => r.id === run.id) + 1;
    const base = `${project.name}-run-${number}-${what}`;
    if (this.deps.dialogs) {
      const suggested = path.join(
        this.workspace.exportsDir(project.id),
        base.replace(/[^a-zA-Z0-9._-]+/g, '-'),
      );
      const picked = filter
        ? await this.deps.dialogs.saveFile(suggested, filter)
        : await this.deps.dialogs.chooseFolder(suggested);
      return picked ? { path: picked, chosen: true } : null;
    }
    const extension = filter ? `.${filter.extensions[0]}` : '';
    const fresh = await this.workspace.freshExportPath(project.id, base.replace(/\.[a-z]+$/, ''), extension);
    return { path: fresh, chosen: false };
  }

  private project(projectId: string): Project {
    const project = this.projects.get(projectId);
    if (!project) {
      throw new ServiceError(
        'PROJECT_NOT_FOUND',
        'This project does not exist any more',
        'Pick a project from the list',
      );
    }
    return project;
  }

  private run(projectId: string, runId: string): RunRecord {
    const run = this.project(projectId).runs.find((r) => r.id === runId);
    if (!run)
      throw new ServiceError(
        'RUN_NOT_FOUND',
        'This run does not exist any more',
        "Pick a run from the project's history",
      );
    return run;
  }

  private finishedRun(projectId: string, runId: string): RunRecord {
    const run = this.run(projectId, runId);
    if (run.status !== 'done') {
      throw new ServiceError(
        'RUN_NOT_FINISHED',
        'This run has no report yet: it has not finished',
        'Wait for it to finish, or resume it',
      );
    }
    return run;
  }

  private save(project: Project): Project {
    const saved = this.projects.put({ ...project, updatedAt: new Date().toISOString() });
    this.emit({ type: 'projects-changed' });
    return saved;
  }
}

function pickSetup(project: Project): ProjectSetup {
  const { student, method, methodSettings, samples, distill, rounds, testData, holdout, seed } = project;
  return { student, method, methodSettings, samples, distill, rounds, testData, holdout, seed };
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

/** An ErrorInfo a worker already worded for the user, passed on as it is. */
class ReportedError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof ServiceError) return error.toInfo();
  if (error instanceof ReportedError) return error.info;
  if (error && typeof error === 'object' && 'issues' in error) {
    return {
      code: 'INPUT_INVALID',
      message: String((error as unknown as Error).message),
      fix: 'Correct that value and try again',
    };
  }
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    code: 'INTERNAL',
    message: 'Something went wrong inside Distill Studio',
    fix: 'Try again; if it happens again, report it with the details',
    details: err.stack ?? err.message,
  };
}
