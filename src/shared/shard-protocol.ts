import { z } from 'zod';
import { ErrorInfoSchema } from './job.js';

/**
 * Messages between a job's coordinator and its synthesis worker processes.
 * Both sides parse what they receive with these schemas.
 */

export const ShardTaskSchema = z.object({
  index: z.number().int().min(0),
  count: z.number().int().min(1),
  seed: z.number().int(),
  /** A file of starting images (float32, NHWC) for evenly spread images of the shard; absent: all from the method's start. */
  starts: z.string().optional(),
});

export const ToShardWorkerSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('shard'),
    task: ShardTaskSchema,
    teacher: z.string(),
    method: z.string(),
    settings: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    transferDir: z.string(),
    backend: z.string(),
    /** Student-aware synthesis: the saved student and the weight and temperature of the disagreement term. */
    student: z
      .object({ folder: z.string(), weight: z.number().min(0), temperature: z.number().positive() })
      .optional(),
    /** Also label every shift of up to this many pixels of each image with the teacher (a file beside the shard). */
    shiftLabels: z.number().int().min(1).max(8).optional(),
  }),
  z.object({ type: z.literal('stop') }),
]);
export type ToShardWorker = z.infer<typeof ToShardWorkerSchema>;

export const ShardEntrySchema = z.object({
  index: z.number().int(),
  count: z.number().int(),
  file: z.string(),
  sha256: z.string(),
  seed: z.number().int(),
  seconds: z.number(),
  metrics: z.record(z.string(), z.number()),
  /** The teacher's logits on every shift of up to `maxShift` pixels of each image, where made. */
  shifts: z.object({ file: z.string(), sha256: z.string(), maxShift: z.number().int().min(1) }).optional(),
});

export const FromShardWorkerSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('progress'),
    index: z.number().int(),
    progress: z.object({
      done: z.number(),
      total: z.number(),
      batch: z.number(),
      iteration: z.number(),
      iterations: z.number(),
      losses: z.record(z.string(), z.number()),
    }),
  }),
  z.object({ type: z.literal('shard-done'), entry: ShardEntrySchema, backend: z.string() }),
  z.object({ type: z.literal('failed'), error: ErrorInfoSchema }),
]);
export type FromShardWorker = z.infer<typeof FromShardWorkerSchema>;
