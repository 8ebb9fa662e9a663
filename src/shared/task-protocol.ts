import { z } from 'zod';
import { ImageShapeSchema } from './limits.js';
import { CatalogSchema } from './api.js';
import { ErrorInfoSchema, JobEventSchema, JobSpecSchema } from './job.js';
import { TeacherChoiceSchema, TeacherSummarySchema } from './project.js';

/**
 * Messages between the app's services and a task worker process (Electron
 * utilityProcess in the app, child_process in browser mode and tests). One
 * worker runs one task: a job, a teacher import or a catalog measurement,
 * so engine work never runs on the main process. Both sides parse with these.
 */

export const TaskSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run-job'), spec: JobSpecSchema }),
  z.object({ type: z.literal('import-teacher'), choice: TeacherChoiceSchema, teacherDir: z.string().min(1) }),
  z.object({ type: z.literal('catalog'), inputShape: ImageShapeSchema, numClasses: z.number().int().min(2) }),
  /** Writes a model folder as an .onnx file, checked in ONNX Runtime on the test set (or random images). */
  z.object({
    type: z.literal('export-onnx'),
    modelDir: z.string().min(1),
    target: z.string().min(1),
    testData: z.string().min(1).nullable(),
    /** The run the model is the student of: the export is recorded in its report. */
    runDir: z.string().min(1).optional(),
  }),
]);
export type Task = z.infer<typeof TaskSchema>;

export const ToTaskWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), task: TaskSchema }),
  /** Stop the job at the next safe point (what is on disk stays resumable). */
  z.object({ type: z.literal('cancel') }),
  /** End a round-pipeline job early and keep its student: it is evaluated and saved, and the task finishes. */
  z.object({ type: z.literal('stop') }),
]);
export type ToTaskWorker = z.infer<typeof ToTaskWorkerSchema>;

export const FromTaskWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job-event'), event: JobEventSchema }),
  z.object({
    type: z.literal('teacher-imported'),
    ref: z.string(),
    summary: TeacherSummarySchema,
  }),
  z.object({ type: z.literal('catalog'), catalog: CatalogSchema }),
  /** The .onnx file is written; `note` says how it compared with the app in ONNX Runtime. */
  z.object({ type: z.literal('onnx-exported'), path: z.string(), note: z.string() }),
  /** The task finished (after its last event or result). */
  z.object({ type: z.literal('finished'), backend: z.string(), backendNote: z.string() }),
  z.object({ type: z.literal('failed'), error: ErrorInfoSchema, cancelled: z.boolean() }),
]);
export type FromTaskWorker = z.infer<typeof FromTaskWorkerSchema>;
