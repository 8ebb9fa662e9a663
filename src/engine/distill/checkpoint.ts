import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RoundPointSchema } from '../../shared/job.js';
import type { ModelCard } from '../../shared/model-card.js';
import { UserError } from '../../shared/errors.js';
import { loadModel, saveModel } from '../models/io.js';
import { tf, type tfl } from '../tf.js';
import type { ScheduledAdam } from '../train/schedule.js';
import type { WeightAverage } from '../train/weight-average.js';
import { recoverDir, replaceDirAtomic } from '../util/atomic-fs.js';

const StateSchema = z.object({
  epoch: z.number().int().min(0),
  lossPerEpoch: z.array(z.number()),
  metricPerEpoch: z.array(z.number().nullable()),
  optimizer: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()) })),
  betaPowers: z.tuple([z.number(), z.number()]),
  /** The round pipeline's course so far (`epoch` then counts rounds). */
  curve: z.array(RoundPointSchema).optional(),
  /** The student's weight average (average.bin), where the job keeps one. */
  average: z.object({ steps: z.number().int().min(0), sizes: z.array(z.number().int().min(0)) }).optional(),
});

/** Where distillation stands after an epoch. */
export type DistillState = Omit<z.infer<typeof StateSchema>, 'optimizer' | 'betaPowers' | 'average'>;

/**
 * Saves the student, the optimizer's state, the weight average (if given)
 * and the epoch counter together: the whole checkpoint folder is built aside
 * and swapped in, so a kill at any moment leaves either the previous
 * checkpoint or the new one.
 */
export async function saveCheckpoint(
  dir: string,
  student: tfl.LayersModel,
  card: ModelCard,
  optimizer: ScheduledAdam,
  state: DistillState,
  average?: WeightAverage,
): Promise<void> {
  const named = await optimizer.getWeights();
  const betaPowers = await optimizer.betaPowers();
  const values = await Promise.all(named.map((w) => w.tensor.data()));
  // getWeights hands back the optimizer's own moment variables (only the
  // iteration count is a fresh tensor): dispose just what is not a variable.
  tf.dispose(named.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
  const packed = packFloats(values as Float32Array[]);
  const averaged = average ? await average.values() : undefined;
  await replaceDirAtomic(dir, async (tmp) => {
    await saveModel(student, path.join(tmp, 'student'), card);
    await fs.writeFile(path.join(tmp, 'optimizer.bin'), new Uint8Array(packed.buffer));
    if (averaged)
      await fs.writeFile(path.join(tmp, 'average.bin'), new Uint8Array(packFloats(averaged).buffer));
    const full = {
      ...state,
      optimizer: named.map((w) => ({ name: w.name, shape: w.tensor.shape })),
      betaPowers,
      ...(average ? { average: { steps: average.steps, sizes: average.sizes() } } : {}),
    };
    await fs.writeFile(path.join(tmp, 'state.json'), JSON.stringify(full, null, 2));
  });
}

/**
 * Restores a checkpoint into an existing student and optimizer (same
 * architecture), and into `average` where the job keeps one: weights are
 * copied in, so the caller's variables keep their order, which the
 * optimizer's moments are matched by. Returns undefined when there is no
 * checkpoint yet.
 */
export async function restoreCheckpoint(
  dir: string,
  student: tfl.LayersModel,
  optimizer: ScheduledAdam,
  average?: WeightAverage,
): Promise<DistillState | undefined> {
  await recoverDir(dir);
  if (!existsSync(path.join(dir, 'state.json'))) return undefined;
  let state: z.infer<typeof StateSchema>;
  try {
    state = StateSchema.parse(JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')));
  } catch (error) {
    throw new UserError(
      'CHECKPOINT_DAMAGED',
      `The distillation checkpoint in ${dir} is damaged`,
      'Delete that checkpoint folder; the job will restart distillation from the transfer set',
      { cause: error },
    );
  }
  const saved = await loadModel(path.join(dir, 'student'));
  try {
    student.setWeights(saved.model.getWeights());
  } finally {
    saved.model.dispose();
  }
  const bytes = await fs.readFile(path.join(dir, 'optimizer.bin'));
  const packed = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let offset = 0;
  const named = state.optimizer.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(packed.subarray(offset, offset + size), w.shape);
    offset += size;
    return { name: w.name, tensor };
  });
  if (offset !== packed.length) {
    tf.dispose(named.map((w) => w.tensor));
    throw new UserError(
      'CHECKPOINT_DAMAGED',
      `The optimizer state in ${dir} has the wrong size`,
      'Delete that checkpoint folder and start the job again',
    );
  }
  await optimizer.setWeights(named);
  optimizer.restoreBetaPowers(state.betaPowers);
  tf.dispose(named.map((w) => w.tensor));
  if (average) await restoreAverage(dir, state.average, average);
  return {
    epoch: state.epoch,
    lossPerEpoch: state.lossPerEpoch,
    metricPerEpoch: state.metricPerEpoch,
    ...(state.curve ? { curve: state.curve } : {}),
  };
}

/** The arrays one after another in one Float32Array. */
function packFloats(values: readonly Float32Array[]): Float32Array {
  const packed = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let offset = 0;
  for (const v of values) {
    packed.set(v, offset);
    offset += v.length;
  }
  return packed;
}

/** Reads average.bin back into `average`, checking it holds the sizes the state lists. */
async function restoreAverage(
  dir: string,
  saved: { steps: number; sizes: number[] } | undefined,
  average: WeightAverage,
): Promise<void> {
  const damaged = (what: string): UserError =>
    new UserError(
      'CHECKPOINT_DAMAGED',
      `The student's weight average in ${dir} ${what}`,
      'Delete that checkpoint folder and start the job again',
    );
  if (!saved || !existsSync(path.join(dir, 'average.bin'))) throw damaged('is missing');
  const expected = average.sizes();
  if (saved.sizes.length !== expected.length || saved.sizes.some((n, i) => n !== expected[i])) {
    throw damaged('does not fit the student');
  }
  const bytes = await fs.readFile(path.join(dir, 'average.bin'));
  const packed = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (packed.length !== expected.reduce((a, b) => a + b, 0)) throw damaged('has the wrong size');
  let offset = 0;
  const values = expected.map((n) => {
    const part = packed.subarray(offset, offset + n);
    offset += n;
    return part;
  });
  average.restore(values, saved.steps);
}
