import { z } from 'zod';
import { ImageShapeSchema } from './limits.js';
import {
  DistillSettingsSchema,
  ErrorInfoSchema,
  JobSpecSchema,
  RoundsSettingsSchema,
  type RoundsSettings,
} from './job.js';
import { groupDefaults } from './job-settings.js';

/**
 * A project as the app keeps it: what the user chose (teacher, student,
 * method, settings, test set) and the history of its runs. The project list
 * lives in the settings store (electron-store); every artifact (imported
 * teacher, transfer sets, checkpoints, students, reports) lives in the
 * project's folder on disk, never in the store.
 */

export const ProjectIdSchema = z.string().regex(/^[a-z0-9-]{6,64}$/, 'not a project id');
export const RunIdSchema = z.string().regex(/^[a-zA-Z0-9-]{6,64}$/, 'not a run id');

export const ProjectNameSchema = z
  .string()
  .trim()
  .min(1, 'A project needs a name')
  .max(80, 'Project names are at most 80 characters');

/** What the engine measured of a teacher when it was chosen. */
export const TeacherSummarySchema = z.object({
  /** Words shown to the user, e.g. "Built-in example: LeNet-5 on MNIST digits". */
  label: z.string(),
  architecture: z.string(),
  inputShape: ImageShapeSchema,
  numClasses: z.number().int(),
  parameters: z.number().int(),
  flopsPerImage: z.number(),
  fileBytes: z.number().int(),
  warnings: z.array(z.string()),
});
export type TeacherSummary = z.infer<typeof TeacherSummarySchema>;

/** How the user chooses a teacher (a request; the engine validates it in a worker). */
export const TeacherChoiceSchema = z.discriminatedUnion('kind', [
  /** One of the examples shipped with the app. */
  z.object({ kind: z.literal('builtin'), name: z.string().min(1) }),
  /** A TensorFlow.js Layers model folder (model.json + .bin files); copied into the project. */
  z.object({ kind: z.literal('folder'), path: z.string().min(1, 'Choose the model folder') }),
  /**
   * An .onnx image classifier (PyTorch, Keras via tf2onnx, ...): converted, checked against ONNX
   * Runtime and saved into the project as a model folder whose card records how pixels are
   * normalised: scaled to 0..1, then (x - mean) / std per channel when given.
   */
  z.object({
    kind: z.literal('onnx'),
    path: z.string().min(1, 'Choose the .onnx file'),
    mean: z.array(z.number().finite()).min(1).max(4).optional(),
    std: z.array(z.number().finite().positive('Each std value must be above 0')).min(1).max(4).optional(),
  }),
  /** A preset architecture with weights from a raw float32 file in the preset's weight order. */
  z.object({
    kind: z.literal('preset'),
    preset: z.string().min(1),
    weights: z.string().min(1, 'Choose the weights file'),
    numClasses: z.number().int().min(2).max(100_000),
    /** Height, width, channels the weights were trained for; default: the preset's own. */
    inputShape: ImageShapeSchema.optional(),
  }),
]);
export type TeacherChoice = z.infer<typeof TeacherChoiceSchema>;

/** The teacher a project uses: a built-in reference, or the copy inside the project folder. */
export const ProjectTeacherSchema = z.object({
  choice: TeacherChoiceSchema,
  /** Model reference the engine loads: builtin:NAME or an absolute folder (the project's copy). */
  ref: z.string().min(1),
  summary: TeacherSummarySchema,
});
export type ProjectTeacher = z.infer<typeof ProjectTeacherSchema>;

export const RunStatusSchema = z.enum(['running', 'done', 'failed', 'cancelled', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const RunRecordSchema = z.object({
  id: RunIdSchema,
  status: RunStatusSchema,
  startedAt: z.string(),
  /** Last time the run started or resumed. */
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  spec: JobSpecSchema,
  error: ErrorInfoSchema.nullable(),
  /** Headline numbers of a finished run. */
  summary: z
    .object({
      studentAccuracy: z.number().nullable(),
      teacherAccuracy: z.number().nullable(),
      agreement: z.number().nullable(),
      backend: z.string(),
    })
    .nullable(),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

const SettingValueSchema = z.union([z.number(), z.string(), z.boolean()]);

/** What a user edits in a project (everything but identity and history). */
export const ProjectSetupSchema = z.object({
  student: z.string().min(1),
  method: z.string().min(1),
  methodSettings: z.record(z.string(), SettingValueSchema),
  samples: JobSpecSchema.shape.samples,
  distill: DistillSettingsSchema,
  /**
   * The round pipeline with its time budget; null = the paper's two stages
   * (`samples` images, then `distill.epochs` epochs). Projects saved before
   * rounds existed load as null (project-store.ts migration to format 3).
   */
  rounds: RoundsSettingsSchema.nullable(),
  /** Labelled test set: a built-in dataset name or a path; null = agreement on held-back samples. */
  testData: z.string().min(1).nullable(),
  holdout: JobSpecSchema.shape.holdout,
  seed: JobSpecSchema.shape.seed,
});
export type ProjectSetup = z.infer<typeof ProjectSetupSchema>;

/** The round pipeline's settings at their declared defaults (src/shared/job-settings.ts). */
export function recommendedRounds(): RoundsSettings {
  return RoundsSettingsSchema.parse(groupDefaults('rounds', 'rounds'));
}

export const ProjectSchema = ProjectSetupSchema.extend({
  id: ProjectIdSchema,
  name: ProjectNameSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  teacher: ProjectTeacherSchema.nullable(),
  runs: z.array(RunRecordSchema),
});
export type Project = z.infer<typeof ProjectSchema>;

/** A row of the project list. */
export interface ProjectSummary {
  id: string;
  name: string;
  updatedAt: string;
  teacher: string | null;
  student: string;
  runs: number;
  lastStatus: RunStatus | null;
}

export function summarizeProject(project: Project): ProjectSummary {
  const last = project.runs.at(-1);
  return {
    id: project.id,
    name: project.name,
    updatedAt: project.updatedAt,
    teacher: project.teacher?.summary.label ?? null,
    student: project.student,
    runs: project.runs.length,
    lastStatus: last?.status ?? null,
  };
}
