import { z } from 'zod';
import { ImageShapeSchema } from './limits.js';

/** How raw pixels become model inputs (see engine data/types.ts). */
export const PreprocessingSchema = z.object({
  sourceShape: ImageShapeSchema,
  mean: z.array(z.number().finite()).min(1),
  std: z.array(z.number().finite().positive()).min(1),
});

/**
 * What a saved model says about itself: stored in its model.json under
 * `userDefinedMetadata.distillStudio`, so the folder stays a plain
 * TensorFlow.js LayersModel that other tools can still read.
 */
export const ModelCardSchema = z.object({
  format: z.literal('distill-studio/model'),
  version: z.literal(1),
  /** Preset architecture name, or 'imported' for a user's model. */
  architecture: z.string().min(1),
  inputShape: ImageShapeSchema,
  numClasses: z.number().int().min(2),
  classNames: z.array(z.string()).optional(),
  preprocessing: PreprocessingSchema,
  provenance: z.object({
    createdAt: z.string(),
    appVersion: z.string(),
    backend: z.string(),
    seed: z.number().int().optional(),
    /** What produced it, e.g. "train-teacher --data mnist-digits". */
    producedBy: z.string().optional(),
    /** Dataset source the model was trained on, if any. */
    trainedOn: z.string().optional(),
    /** Fingerprint (sha256 of architecture and weights) of the teacher it was distilled from. */
    teacherFingerprint: z.string().optional(),
  }),
  /** Free-form numbers measured when the model was made (e.g. test accuracy). */
  metrics: z.record(z.string(), z.number()).optional(),
});

export type ModelCard = z.infer<typeof ModelCardSchema>;
export type Preprocessing = z.infer<typeof PreprocessingSchema>;
