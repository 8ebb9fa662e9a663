import type { SettingValues, SettingFields } from '../../shared/settings.js';
import type { Classifier } from '../models/classifier.js';
import type {
  StudentAwareness,
  SynthesisMethod,
  SynthesisProgress,
  SynthesizeOptions,
} from '../synthesis/method.js';
import { loadModel } from '../models/io.js';
import type { tf } from '../tf.js';
import { writeShardFile } from '../transfer/shard-file.js';
import { shiftLabelling, writeShardShifts, type ShiftLabelling } from './shift-labelling.js';
import { readStartImages } from './start-images.js';
import type { ShardEntry } from '../transfer/store.js';

/** One shard to synthesize: its place in the set, size and seed, and its starting images if any. */
export interface ShardTask {
  index: number;
  count: number;
  seed: number;
  /** File of starting images for some of its images (start-images.ts). */
  starts?: string;
}

/** Callbacks of a shard runner; `onShard` records a finished shard (the coordinator's job). */
export interface ShardCallbacks {
  onProgress(index: number, progress: SynthesisProgress): void;
  onShard(entry: ShardEntry): Promise<void>;
  signal?: AbortSignal;
}

/**
 * The student that student-aware synthesis pushes new images away from: a
 * saved model folder (the round pipeline's checkpoint), so worker processes
 * read the very weights this process has.
 */
export interface StudentRef {
  folder: string;
  /** Weight of the teacher-student disagreement term. */
  weight: number;
  temperature: number;
}

/** What a runner is asked beside the shards themselves. */
export interface ShardRunOptions {
  student?: StudentRef;
  /** Also label every shift of up to this many pixels of each image (shift-labelling.ts). */
  shiftLabels?: number;
}

/**
 * Runs shard tasks somewhere: in this process (ShardsInProcess) or in a pool
 * of worker processes (worker-pool.ts). Both write shard files themselves and
 * hand the entries back, so the manifest has a single writer.
 */
export interface ShardRunner {
  run(tasks: ShardTask[], callbacks: ShardCallbacks, options?: ShardRunOptions): Promise<void>;
  /** Releases what the runner holds between runs (worker processes). */
  close?(): void;
  /** True when runs go on beside this process's own work (worker processes). */
  readonly parallel?: boolean;
}

/** Loads a StudentRef's model as a StudentAwareness; dispose() frees it. */
export async function loadStudent(ref: StudentRef): Promise<StudentAwareness & { dispose(): void }> {
  const { model } = await loadModel(ref.folder);
  return {
    logits: (x) => model.apply(x, { training: false }) as tf.Tensor2D,
    weight: ref.weight,
    temperature: ref.temperature,
    dispose: () => model.dispose(),
  };
}

/**
 * Synthesizes one shard and writes its file (and, with `labelling`, the teacher's answers on
 * every shift of its images beside it); shared by both runners.
 */
export async function synthesizeShard(
  method: SynthesisMethod,
  teacher: Classifier,
  settings: SettingValues<SettingFields>,
  dir: string,
  task: ShardTask,
  options: SynthesizeOptions,
  labelling?: ShiftLabelling,
): Promise<ShardEntry> {
  const started = performance.now();
  const synthesizer = method.create(teacher, settings);
  const pixels = teacher.inputShape.reduce((a, b) => a * b, 1);
  const starts = task.starts ? await readStartImages(task.starts, pixels, task.count) : undefined;
  const batch = await synthesizer.synthesize(
    task.count,
    task.seed,
    starts ? { ...options, starts } : options,
  );
  const file = await writeShardFile(dir, task.index, batch);
  const shifts = labelling ? await writeShardShifts(dir, task.index, batch, labelling) : undefined;
  return {
    index: task.index,
    count: task.count,
    seed: task.seed,
    file: file.file,
    sha256: file.sha256,
    seconds: (performance.now() - started) / 1000,
    metrics: batch.metrics,
    ...(shifts ? { shifts } : {}),
  };
}

/** Runs shards one after another in this process (workers = 1, tests, the Electron worker itself). */
export class ShardsInProcess implements ShardRunner {
  constructor(
    private readonly method: SynthesisMethod,
    private readonly teacher: Classifier,
    private readonly settings: SettingValues<SettingFields>,
    private readonly dir: string,
  ) {}

  async run(tasks: ShardTask[], callbacks: ShardCallbacks, options: ShardRunOptions = {}): Promise<void> {
    const student = options.student ? await loadStudent(options.student) : undefined;
    const labelling = options.shiftLabels ? shiftLabelling(this.teacher, options.shiftLabels) : undefined;
    try {
      for (const task of tasks) {
        const synthesis = {
          onProgress: (p: SynthesisProgress) => callbacks.onProgress(task.index, p),
          ...(callbacks.signal ? { signal: callbacks.signal } : {}),
          ...(student ? { student } : {}),
        };
        const entry = await synthesizeShard(
          this.method,
          this.teacher,
          this.settings,
          this.dir,
          task,
          synthesis,
          labelling,
        );
        await callbacks.onShard(entry);
      }
    } finally {
      student?.dispose();
    }
  }
}
