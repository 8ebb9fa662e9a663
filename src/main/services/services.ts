import { cpus } from 'node:os';
import {
  API,
  ApiRequestSchema,
  invalidRequestError,
  type ApiReply,
  type AppEvent,
  type AppInfo,
} from '../../shared/api.js';
import { toErrorInfo, UserError, type ErrorInfo } from '../../shared/errors.js';
import { DEFAULT_SHAPE } from './catalog-cache.js';
import { ServiceContext, type Handlers } from './context.js';
import type { ServiceDeps } from './deps.js';
import { exportHandlers } from './exports.js';
import { ProjectStore } from './project-store.js';
import { projectHandlers } from './projects.js';
import { runHandlers } from './run-requests.js';
import { RunManager } from './runs.js';
import { teacherHandlers } from './teachers.js';
import { Workspace } from './workspace.js';

/**
 * The app's services: everything behind the renderer's API, free of Electron
 * so the same object serves the desktop app (over IPC) and browser mode (over
 * HTTP). This file only validates and dispatches; each group of requests has
 * its own module (projects.ts, teachers.ts, run-requests.ts, exports.ts, the
 * catalog in catalog-cache.ts). Engine work (jobs, teacher imports, measuring
 * architectures) runs in task worker processes, never here.
 */
export class Services {
  readonly projects: ProjectStore;
  readonly runs: RunManager;
  private readonly context: ServiceContext;
  private readonly listeners = new Set<(event: AppEvent) => void>();
  private readonly handlers: Handlers;

  constructor(private readonly deps: ServiceDeps) {
    this.projects = new ProjectStore(deps.store);
    const workspace = new Workspace(deps.workspace);
    this.runs = new RunManager({
      projects: this.projects,
      launch: deps.launch,
      taskEntry: deps.taskEntry,
      emit: (event) => this.emit(event),
      onBackend: (name, note) => (this.context.backend = { name, note }),
    });
    this.context = new ServiceContext(deps, this.projects, workspace, this.runs, (event) => this.emit(event));
    const ctx = this.context;
    this.handlers = {
      'app.info': async () => this.appInfo(),
      'catalog.get': async ({ inputShape, numClasses }) =>
        ctx.catalog(inputShape ?? DEFAULT_SHAPE, numClasses ?? 10),
      ...projectHandlers(ctx),
      ...teacherHandlers(ctx),
      ...runHandlers(ctx),
      ...exportHandlers(ctx),
      'dialog.open': async ({ kind }) => ({
        path: deps.dialogs ? await deps.dialogs.open(kind) : null,
      }),
    };
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
      return { ok: false, error: replyError(error) };
    }
  }

  shutdown(): void {
    this.runs.shutdown();
  }

  private emit(event: AppEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private async appInfo(): Promise<AppInfo> {
    const ctx = this.context;
    if (!ctx.backend) await ctx.catalog(DEFAULT_SHAPE, 10); // learns the backend from a worker
    return {
      version: this.deps.version,
      shell: this.deps.shell,
      backend: ctx.backend?.name ?? 'unknown',
      backendNote: ctx.backend?.note ?? '',
      nativeDialogs: Boolean(this.deps.dialogs),
      pdf: this.deps.pdf?.name ?? null,
      workspace: ctx.workspace.root,
      cores: cpus().length,
    };
  }
}

/**
 * The error reply for a failed request: a UserError as it is, a schema failure
 * as invalid input, anything else as a bug worded for a window (no --verbose).
 */
function replyError(error: unknown): ErrorInfo {
  if (error && typeof error === 'object' && !(error instanceof UserError) && 'issues' in error) {
    return {
      code: 'INPUT_INVALID',
      message: String((error as unknown as Error).message),
      fix: 'Correct that value and try again',
    };
  }
  return toErrorInfo(error, (err) => ({
    code: 'INTERNAL',
    message: 'Something went wrong inside Distill Studio',
    fix: 'Try again; if it happens again, report it with the details',
    details: err.stack ?? err.message,
  }));
}
