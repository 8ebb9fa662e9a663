import { promises as fs } from 'node:fs';
import path from 'node:path';
import { APP_VERSION } from '../app-info.js';
import { UserError } from '../../shared/errors.js';
import { writeFileAtomic } from '../util/atomic-fs.js';
import type { ShardEntry, TransferManifest, TransferPlan } from './manifest.js';
import { planDifferences, planOf, readTransferManifest } from './manifest.js';
import { readShardFile, shardProblem } from './shard-file.js';
import { readShiftFile } from './shift-file.js';

export type { ShardEntry, TransferPlan } from './manifest.js';

/** One shard of the plan: its place in the set, its size and its seed. */
export interface PlannedShard {
  index: number;
  count: number;
  seed: number;
}

/** The manifest's name inside a transfer-set folder. */
export const MANIFEST_FILE = 'manifest.json';

// writeFileAtomic's temporaries: ".<name>.tmp-<8 hex>" next to the target.
const TEMP_FILE = /^\..+\.tmp-[0-9a-f]{8}$/;

/**
 * Seed of shard `index`: a 32-bit hash (murmur3's finaliser) of the run seed
 * and the index, so shards are independent of each other and of the order
 * or process in which they are made. Always in 0..2^31-1.
 */
export function shardSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x7fffffff;
}

/**
 * A transfer set on disk: manifest.json plus one file per shard, made so a
 * job killed at any moment can be started again on the same folder. Shard
 * files are written by whoever synthesizes them (writeShardFile); this
 * object, in the coordinating process only, records them in the manifest.
 */
export class TransferSetStore {
  private current: TransferManifest;
  // Manifest writes run one after another, so concurrent recordShard calls never lose an entry.
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    manifest: TransferManifest,
  ) {
    this.current = manifest;
  }

  /**
   * Opens the transfer set in `dir`, creating the folder and its manifest if
   * needed. An existing manifest must have been made with the same plan:
   * otherwise UserError RUN_SETTINGS_CHANGED names every differing field.
   */
  static async open(dir: string, plan: TransferPlan, backend: string): Promise<TransferSetStore> {
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, MANIFEST_FILE);
    const existing = await readTransferManifest(file);
    if (existing === null) {
      const manifest: TransferManifest = {
        format: 'distill-studio/transfer-set',
        version: 1,
        backend,
        appVersion: APP_VERSION,
        ...planOf(plan),
        shards: [],
      };
      await writeFileAtomic(file, JSON.stringify(manifest, null, 2) + '\n');
      return new TransferSetStore(dir, manifest);
    }
    const differences = planDifferences(existing, plan);
    if (differences.length > 0) {
      throw new UserError(
        'RUN_SETTINGS_CHANGED',
        `The transfer set in ${dir} was made with other settings: ${differences.join(', ')}`,
        'Use a new run folder, or start the job with the same settings as before to resume it',
      );
    }
    const backends = existing.backend.split(', ').filter((b) => b.length > 0);
    if (!backends.includes(backend)) {
      // Shards made on another backend differ in the last bits; the manifest says which ones took part.
      existing.backend = [...backends, backend].join(', ');
      await writeFileAtomic(file, JSON.stringify(existing, null, 2) + '\n');
    }
    return new TransferSetStore(dir, existing);
  }

  /** A copy of the manifest as last recorded. */
  manifest(): TransferManifest {
    return structuredClone(this.current);
  }

  /** Every shard of the set in index order; the last one may be smaller. */
  shardPlan(): PlannedShard[] {
    const shards: PlannedShard[] = [];
    for (let shard = this.plannedShard(0); shard; shard = this.plannedShard(shard.index + 1))
      shards.push(shard);
    return shards;
  }

  /**
   * The shards still to make: not recorded, or recorded but whose file is
   * missing, damaged or not what the plan says. Those records are dropped
   * from the manifest, and temporaries of writes that were killed are
   * deleted. Call it only while no shard is being written into the folder.
   */
  /**
   * Indices of planned shards not recorded yet. Unlike pendingShards it
   * touches nothing on disk, so it is safe while workers are writing shards.
   */
  unrecordedIndices(): number[] {
    const recorded = this.recordedByIndex();
    return this.shardPlan()
      .map((s) => s.index)
      .filter((i) => !recorded.has(i));
  }

  async pendingShards(): Promise<PlannedShard[]> {
    await this.removeTemporaries();
    const recorded = this.recordedByIndex();
    const pending: PlannedShard[] = [];
    const damaged = new Set<number>();
    for (const shard of this.shardPlan()) {
      const entry = recorded.get(shard.index);
      if (entry === undefined || !(await this.isIntact(entry, shard))) {
        if (entry !== undefined) damaged.add(shard.index);
        pending.push(shard);
      }
    }
    const planned = this.shardPlan().length;
    const stray = this.current.shards.some((s) => s.index >= planned);
    if (damaged.size > 0 || stray) {
      await this.update((shards) => shards.filter((s) => s.index < planned && !damaged.has(s.index)));
    }
    return pending;
  }

  /**
   * Records a finished shard (replacing any earlier record of the same
   * index) and rewrites the manifest atomically. Calls are serialised, so
   * any number may run concurrently.
   */
  async recordShard(entry: ShardEntry): Promise<void> {
    const planned = this.plannedShard(entry.index);
    if (planned === undefined || planned.count !== entry.count) {
      throw new Error(
        `Shard ${entry.index} of ${entry.count} images is not part of this transfer set's plan`,
      );
    }
    const copy = structuredClone(entry);
    await this.update((shards) => [...shards.filter((s) => s.index !== entry.index), copy]);
  }

  /** Planned shard `index` (undefined past the end of the plan). */
  plannedShard(index: number): PlannedShard | undefined {
    const { totalSamples, shardSize, seed } = this.current;
    if (!Number.isInteger(index) || index < 0 || index * shardSize >= totalSamples) return undefined;
    return {
      index,
      count: Math.min(shardSize, totalSamples - index * shardSize),
      seed: shardSeed(seed, index),
    };
  }

  /** True when every planned shard is recorded (files are checked by pendingShards and readAll). */
  isComplete(): boolean {
    const recorded = this.recordedByIndex();
    return this.shardPlan().every((s) => recorded.get(s.index)?.count === s.count);
  }

  /**
   * Reads the whole set into memory, shards in index order, checking every
   * file against its recorded checksum. `exclude` leaves out shards by index
   * (e.g. ones kept for another purpose). Throws if a shard is not recorded.
   */
  async readAll(
    options: { exclude?: Iterable<number> } = {},
  ): Promise<{ count: number; inputs: Float32Array; logits: Float32Array }> {
    const excluded = new Set(options.exclude ?? []);
    return this.readShards(this.shardPlan().filter((s) => !excluded.has(s.index)));
  }

  /**
   * Reads the given planned shards into memory, in the order given, checking
   * every file against its recorded checksum. Throws if one is not recorded.
   */
  async readShards(
    shards: readonly PlannedShard[],
  ): Promise<{ count: number; inputs: Float32Array; logits: Float32Array }> {
    const recorded = this.recordedByIndex();
    const [h, w, c] = this.current.inputShape;
    const pixelsPerImage = h * w * c;
    const k = this.current.numClasses;
    const count = shards.reduce((n, s) => n + s.count, 0);
    const inputs = new Float32Array(count * pixelsPerImage);
    const logits = new Float32Array(count * k);
    let offset = 0;
    for (const shard of shards) {
      const entry = recorded.get(shard.index);
      if (entry === undefined) {
        throw new Error(`Shard ${shard.index} of the transfer set in ${this.dir} has not been made yet`);
      }
      const data = await readShardFile(path.join(this.dir, entry.file), {
        count: shard.count,
        pixelsPerImage,
        numClasses: k,
        sha256: entry.sha256,
      });
      inputs.set(data.inputs, offset * pixelsPerImage);
      logits.set(data.logits, offset * k);
      offset += shard.count;
    }
    return { count, inputs, logits };
  }

  /**
   * The teacher's logits on every shift of up to `maxShift` pixels of shard `index`'s images, as
   * written beside it by the process that made it (transfer/shift-file.ts), or undefined where
   * none were recorded for that shift or the file is missing or damaged.
   */
  async readShiftLabels(index: number, maxShift: number, shifts: number): Promise<Float32Array | undefined> {
    const entry = this.recordedByIndex().get(index);
    if (entry?.shifts === undefined || entry.shifts.maxShift !== maxShift) return undefined;
    const shape = { count: entry.count, shifts, numClasses: this.current.numClasses };
    return readShiftFile(this.dir, entry.shifts.file, shape, entry.shifts.sha256);
  }

  private recordedByIndex(): Map<number, ShardEntry> {
    return new Map(this.current.shards.map((s) => [s.index, s]));
  }

  private async isIntact(entry: ShardEntry, shard: PlannedShard): Promise<boolean> {
    if (entry.count !== shard.count || entry.seed !== shard.seed) return false;
    // A recorded name is joined to the folder; refuse ones that would point outside it.
    if (path.basename(entry.file) !== entry.file) return false;
    const [h, w, c] = this.current.inputShape;
    try {
      const bytes = await fs.readFile(path.join(this.dir, entry.file));
      const expected = { count: shard.count, pixelsPerImage: h * w * c, numClasses: this.current.numClasses };
      return shardProblem(bytes, { ...expected, sha256: entry.sha256 }) === null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  private async removeTemporaries(): Promise<void> {
    for (const name of await fs.readdir(this.dir)) {
      if (TEMP_FILE.test(name)) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }

  /** Applies `change` to the recorded shards and saves the manifest, after any earlier update. */
  private update(change: (shards: ShardEntry[]) => ShardEntry[]): Promise<void> {
    const run = async (): Promise<void> => {
      const next = { ...this.current, shards: change(this.current.shards).sort((a, b) => a.index - b.index) };
      await writeFileAtomic(path.join(this.dir, MANIFEST_FILE), JSON.stringify(next, null, 2) + '\n');
      this.current = next;
    };
    // A failed write must not block the ones queued after it; its caller still sees the error.
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
