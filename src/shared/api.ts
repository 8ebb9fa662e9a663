import { z } from 'zod';
import { ImageShapeSchema } from './limits.js';
import type { ErrorInfo } from './errors.js';
import { ErrorInfoSchema, JobEventSchema, JobResultSchema } from './job.js';
import {
  ProjectIdSchema,
  ProjectNameSchema,
  ProjectSchema,
  ProjectSetupSchema,
  RunIdSchema,
  RunRecordSchema,
  RunStatusSchema,
  TeacherChoiceSchema,
} from './project.js';

/**
 * The one contract between the renderer and the app's services. The same
 * requests travel over Electron IPC (preload -> main) and, in browser mode,
 * over HTTP on 127.0.0.1; both ends parse every message with these schemas.
 * Each method: a params schema and a result schema. Replies are
 * { ok: true, result } or { ok: false, error } (ErrorInfo: what went wrong and what to do).
 */

const RunRef = z.object({ projectId: ProjectIdSchema, runId: RunIdSchema });
const ProjectRef = z.object({ projectId: ProjectIdSchema });

const SettingFieldSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('number'),
    default: z.number(),
    min: z.number(),
    max: z.number(),
    integer: z.boolean().optional(),
    description: z.string(),
    advanced: z.boolean().optional(),
  }),
  z.object({
    kind: z.literal('boolean'),
    default: z.boolean(),
    description: z.string(),
    advanced: z.boolean().optional(),
  }),
  z.object({
    kind: z.literal('choice'),
    default: z.string(),
    choices: z.array(z.string()),
    description: z.string(),
    advanced: z.boolean().optional(),
  }),
  z.object({
    kind: z.literal('text'),
    default: z.string(),
    description: z.string(),
    advanced: z.boolean().optional(),
  }),
]);

export const ArchitectureInfoSchema = z.object({
  name: z.string(),
  description: z.string(),
  inputShape: ImageShapeSchema,
  parameters: z.number().int(),
  flopsPerImage: z.number(),
  /** float32 weights plus model.json, as saved. */
  fileBytes: z.number().int(),
});
export type ArchitectureInfo = z.infer<typeof ArchitectureInfoSchema>;

export const CatalogSchema = z.object({
  /** Student (and teacher) architectures, measured at the shape and class count asked for. */
  architectures: z.array(ArchitectureInfoSchema),
  methods: z.array(
    z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      fields: z.record(z.string(), SettingFieldSchema),
      /** Settings the app starts this method with when they beat the paper's (measured in bench/). */
      recommended: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    }),
  ),
  builtinTeachers: z.array(z.object({ name: z.string(), description: z.string() })),
  /** Built-in labelled test sets and whether this machine has them. */
  datasets: z.array(z.object({ name: z.string(), description: z.string(), available: z.boolean() })),
});
export type Catalog = z.infer<typeof CatalogSchema>;

export const AppInfoSchema = z.object({
  version: z.string(),
  /** 'electron' in the desktop app, 'browser' when served to a browser. */
  shell: z.enum(['electron', 'browser']),
  /** The TensorFlow.js backend jobs will use, and why (e.g. "wasm: tfjs-node not installed"). */
  backend: z.string(),
  backendNote: z.string(),
  /** Native file dialogs (Electron); otherwise the UI asks for a path. */
  nativeDialogs: z.boolean(),
  /** How PDF export works here, or null when it cannot (the UI then says why). */
  pdf: z.string().nullable(),
  workspace: z.string(),
  cores: z.number().int(),
});
export type AppInfo = z.infer<typeof AppInfoSchema>;

/** Where an export was written; null when the user cancelled the save dialog. */
export const ExportResultSchema = z.object({
  path: z.string().nullable(),
  /** What was checked, e.g. how an .onnx file compared with the app in ONNX Runtime. */
  note: z.string().optional(),
});

export const API = {
  'app.info': { params: z.object({}), result: AppInfoSchema },
  /** Architectures measured for an input shape and class count (defaults: 32x32x1, 10). */
  'catalog.get': {
    params: z.object({
      inputShape: ImageShapeSchema.optional(),
      numClasses: z.number().int().min(2).max(100_000).optional(),
    }),
    result: CatalogSchema,
  },
  'projects.list': {
    params: z.object({}),
    result: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        updatedAt: z.string(),
        teacher: z.string().nullable(),
        student: z.string(),
        runs: z.number().int(),
        lastStatus: RunStatusSchema.nullable(),
      }),
    ),
  },
  'projects.create': { params: z.object({ name: ProjectNameSchema }), result: ProjectSchema },
  'projects.get': { params: ProjectRef, result: ProjectSchema },
  'projects.rename': { params: ProjectRef.extend({ name: ProjectNameSchema }), result: ProjectSchema },
  'projects.duplicate': {
    params: ProjectRef.extend({ name: ProjectNameSchema.optional() }),
    result: ProjectSchema,
  },
  'projects.delete': { params: ProjectRef, result: z.object({ deleted: z.literal(true) }) },
  /** Changes the setup; the whole setup is validated (method settings by the method's declaration). */
  'projects.update': {
    params: ProjectRef.extend({ setup: ProjectSetupSchema.partial() }),
    result: ProjectSchema,
  },
  /** Validates a teacher with the engine (in a worker), copies imported files into the project, and sets it. */
  'projects.setTeacher': {
    params: ProjectRef.extend({ teacher: TeacherChoiceSchema }),
    result: ProjectSchema,
  },
  'runs.start': { params: ProjectRef, result: RunRecordSchema },
  'runs.cancel': { params: RunRef, result: RunRecordSchema },
  /**
   * "Stop and keep": ends a run of the round pipeline after its current step; the student is
   * evaluated and saved as it is and the run finishes (done, its result marked stopped early).
   */
  'runs.stop': { params: RunRef, result: RunRecordSchema },
  'runs.resume': { params: RunRef, result: RunRecordSchema },
  'runs.delete': { params: RunRef, result: ProjectSchema },
  /** The events a run has emitted so far (for charts after reopening). */
  'runs.events': { params: RunRef, result: z.object({ events: z.array(JobEventSchema) }) },
  /** The latest sample grid of a run as a data: URL (null before the first shard). */
  'runs.samples': {
    params: RunRef,
    result: z.object({ dataUrl: z.string().nullable(), count: z.number().int() }),
  },
  /** The result of a finished run and its self-contained HTML report. */
  'runs.report': { params: RunRef, result: z.object({ result: JobResultSchema, html: z.string() }) },
  /**
   * Writes the report as HTML or PDF where the user picks in a save dialog
   * (desktop), else as a new file in the project's exports folder. No caller
   * names the destination: a page or a token holder cannot write elsewhere.
   */
  'export.report': {
    params: RunRef.extend({ format: z.enum(['html', 'pdf']) }).strict(),
    result: ExportResultSchema,
  },
  /** Copies the student model folder where the user picks (desktop), else to a new folder in the exports folder. */
  'export.student': {
    params: RunRef.strict(),
    result: ExportResultSchema,
  },
  /**
   * Writes the student as an .onnx file for other apps (ONNX Runtime, PyTorch users, C#, Java),
   * only after ONNX Runtime agreed with the app on the run's test set (or random images without
   * one), where the user picks (desktop), else as a new file in the exports folder. The note
   * says how they compared.
   */
  'export.onnx': {
    params: RunRef.strict(),
    result: ExportResultSchema,
  },
  /** Native open dialog (desktop only; null when cancelled or in browser mode). */
  'dialog.open': {
    params: z.object({ kind: z.enum(['model-folder', 'onnx-file', 'weights-file', 'dataset']) }),
    result: z.object({ path: z.string().nullable() }),
  },
} as const;

export type ApiMethod = keyof typeof API;
export type ApiParams<M extends ApiMethod> = z.input<(typeof API)[M]['params']>;
export type ApiResult<M extends ApiMethod> = z.infer<(typeof API)[M]['result']>;

export const API_METHODS = Object.keys(API) as ApiMethod[];

/** A request as it travels: method name and raw params. */
export const ApiRequestSchema = z.object({
  method: z.enum(API_METHODS as [ApiMethod, ...ApiMethod[]]),
  params: z.unknown(),
});
export type ApiRequest = z.infer<typeof ApiRequestSchema>;

export type ApiReply<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorInfo };

export const ApiReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorInfoSchema }),
]);

/** Pushed from the services to every open window. */
export const AppEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run-event'), projectId: z.string(), runId: z.string(), event: JobEventSchema }),
  z.object({ type: z.literal('run-updated'), projectId: z.string(), run: RunRecordSchema }),
  z.object({ type: z.literal('projects-changed') }),
]);
export type AppEvent = z.infer<typeof AppEventSchema>;

/** What the preload exposes as window.distillStudio, and what the browser client implements. */
export interface DistillStudioBridge {
  /** Sends one request; resolves with the reply (never rejects for a refused request). */
  request(request: ApiRequest): Promise<unknown>;
  /** Subscribes to app events; returns the unsubscribe function. */
  onEvent(listener: (event: unknown) => void): () => void;
}

/** A request refused before reaching a handler. */
export function invalidRequestError(problem: string): ErrorInfo {
  return {
    code: 'REQUEST_INVALID',
    message: `The app sent a request the services do not accept: ${problem}`,
    fix: 'Reload the window (Ctrl+R); if it happens again, report it with the details',
  };
}

/** Validates a reply's result with the method's schema (the client does this at its boundary). */
export function parseReply<M extends ApiMethod>(method: M, raw: unknown): ApiReply<ApiResult<M>> {
  const reply = ApiReplySchema.safeParse(raw);
  if (!reply.success) {
    return { ok: false, error: invalidRequestError(`malformed reply to ${method}`) };
  }
  if (!reply.data.ok) return { ok: false, error: reply.data.error };
  const result = API[method].result.safeParse(reply.data.result);
  if (!result.success) {
    return {
      ok: false,
      error: {
        code: 'REPLY_INVALID',
        message: `The services answered ${method} with data the app does not understand`,
        fix: 'Restart the app; if it happens again, report it with the details',
        details: result.error.message,
      },
    };
  }
  return { ok: true, result: result.data as ApiResult<M> };
}
