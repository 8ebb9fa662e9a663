import { existsSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeShardFile } from '../../../src/engine/transfer/shard-file.js';
import type { ShardEntry, TransferPlan } from '../../../src/engine/transfer/store.js';
import { MANIFEST_FILE, shardSeed, TransferSetStore } from '../../../src/engine/transfer/store.js';
import { expectUserError, labelledBatch, tempFolder } from './helpers.js';

const { next, cleanup } = tempFolder('store');
afterAll(cleanup);

// 10 images of 2x2x1 with 3 classes, in shards of 4: sizes 4, 4, 2.
const PIXELS = 4;
const K = 3;
function plan(overrides: Partial<TransferPlan> = {}): TransferPlan {
  return {
    inputShape: [2, 2, 1],
    numClasses: K,
    totalSamples: 10,
    shardSize: 4,
    method: 'soft-target',
    settings: { sigma: 1.5, iterations: 20, init: 'uniform' },
    seed: 7,
    teacherFingerprint: 'abc123',
    ...overrides,
  };
}

/** Writes shard `index` as a worker would and returns the entry the coordinator records. */
async function makeShard(store: TransferSetStore, index: number): Promise<ShardEntry> {
  const planned = store.shardPlan()[index]!;
  const batch = labelledBatch(index + 1, planned.count, PIXELS, K);
  const file = await writeShardFile(store.dir, index, batch);
  return {
    index,
    count: planned.count,
    seed: planned.seed,
    file: file.file,
    sha256: file.sha256,
    seconds: 0.5,
    metrics: batch.metrics,
  };
}

async function complete(store: TransferSetStore): Promise<void> {
  for (const shard of await store.pendingShards())
    await store.recordShard(await makeShard(store, shard.index));
}

const onDisk = (dir: string): { shards: ShardEntry[]; backend: string } =>
  JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as {
    shards: ShardEntry[];
    backend: string;
  };

describe('TransferSetStore', () => {
  it('plans shards of shardSize with a smaller last one and deterministic, distinct seeds', async () => {
    const store = await TransferSetStore.open(next(), plan(), 'cpu');
    const shards = store.shardPlan();
    expect(shards.map((s) => [s.index, s.count])).toEqual([
      [0, 4],
      [1, 4],
      [2, 2],
    ]);
    expect(shards.map((s) => s.seed)).toEqual([0, 1, 2].map((i) => shardSeed(7, i)));
    expect(new Set(shards.map((s) => s.seed)).size).toBe(3);
    for (const s of shards) expect(s.seed).toBeGreaterThanOrEqual(0);
    expect(shardSeed(8, 0)).not.toBe(shardSeed(7, 0));
    expect(await store.pendingShards()).toEqual(shards);
    expect(store.isComplete()).toBe(false);
    const manifest = onDisk(store.dir);
    expect(manifest).toMatchObject({
      format: 'distill-studio/transfer-set',
      version: 1,
      backend: 'cpu',
      totalSamples: 10,
      shards: [],
    });
  });

  it('keeps recorded shards when reopened and reads them back in index order', async () => {
    const dir = next();
    const first = await TransferSetStore.open(dir, plan(), 'cpu');
    // Record out of order, as parallel workers would finish.
    for (const index of [2, 0]) await first.recordShard(await makeShard(first, index));

    const again = await TransferSetStore.open(
      dir,
      plan({ settings: { init: 'uniform', iterations: 20, sigma: 1.5 } }),
      'cpu',
    );
    expect(again.manifest().shards.map((s) => s.index)).toEqual([0, 2]);
    expect((await again.pendingShards()).map((s) => s.index)).toEqual([1]);
    await again.recordShard(await makeShard(again, 1));
    expect(again.isComplete()).toBe(true);
    expect(await again.pendingShards()).toEqual([]);

    const set = await again.readAll();
    expect(set.count).toBe(10);
    const expected = [0, 1, 2].map((i) => labelledBatch(i + 1, again.shardPlan()[i]!.count, PIXELS, K));
    expect(Array.from(set.inputs)).toEqual(expected.flatMap((b) => Array.from(b.inputs)));
    expect(Array.from(set.logits)).toEqual(expected.flatMap((b) => Array.from(b.logits)));

    const withoutMiddle = await again.readAll({ exclude: [1] });
    expect(withoutMiddle.count).toBe(6);
    expect(Array.from(withoutMiddle.logits)).toEqual(
      [expected[0]!, expected[2]!].flatMap((b) => Array.from(b.logits)),
    );
  });

  it('lists unrecorded shards without touching files other workers are still writing', async () => {
    const dir = next();
    const store = await TransferSetStore.open(dir, plan(), 'cpu');
    const inFlight = path.join(dir, '.shard-00001.bin.tmp-912bb0d5');
    writeFileSync(inFlight, 'half a shard');
    expect(store.unrecordedIndices()).toEqual([0, 1, 2]);
    expect(existsSync(inFlight)).toBe(true);
    // pendingShards is for (re)starting a job: it clears such leftovers.
    await store.pendingShards();
    expect(existsSync(inFlight)).toBe(false);
  });

  it('re-lists a shard whose file has a flipped byte, was truncated or is gone, and drops its record', async () => {
    const dir = next();
    const store = await TransferSetStore.open(dir, plan(), 'cpu');
    await complete(store);
    const file = (i: number): string => path.join(dir, `shard-0000${i}.bin`);
    const bytes = readFileSync(file(0));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x80;
    writeFileSync(file(0), bytes);
    truncateSync(file(1), 30);

    const reopened = await TransferSetStore.open(dir, plan(), 'cpu');
    await expectUserError(() => reopened.readAll(), 'TRANSFER_SHARD_DAMAGED');
    expect((await reopened.pendingShards()).map((s) => s.index)).toEqual([0, 1]);
    expect(onDisk(dir).shards.map((s) => s.index)).toEqual([2]);
    expect(reopened.isComplete()).toBe(false);

    await complete(reopened);
    unlinkSync(file(2));
    expect((await reopened.pendingShards()).map((s) => s.index)).toEqual([2]);
    await complete(reopened);
    expect((await reopened.readAll()).count).toBe(10);
  });

  it('refuses a run folder made with other settings, naming each changed field', async () => {
    const dir = next();
    await TransferSetStore.open(dir, plan(), 'cpu');
    const error = await expectUserError(
      () =>
        TransferSetStore.open(
          dir,
          plan({ shardSize: 5, settings: { sigma: 2, iterations: 20, init: 'uniform' } }),
          'cpu',
        ),
      'RUN_SETTINGS_CHANGED',
    );
    expect(error.message).toContain('shardSize (was 4, now 5)');
    expect(error.message).toContain('settings.sigma (was 1.5, now 2)');
    expect(error.message).not.toContain('iterations');
    expect(error.fix).toMatch(/new run folder/);
    await expectUserError(
      () => TransferSetStore.open(dir, plan({ teacherFingerprint: 'other' }), 'cpu'),
      'RUN_SETTINGS_CHANGED',
    );
    await expectUserError(
      () => TransferSetStore.open(dir, plan({ inputShape: [2, 2, 3] }), 'cpu'),
      'RUN_SETTINGS_CHANGED',
    );
  });

  it('refuses a manifest that is not JSON or not a transfer-set manifest', async () => {
    const dir = next();
    await TransferSetStore.open(dir, plan(), 'cpu');
    writeFileSync(path.join(dir, MANIFEST_FILE), '{ "format": "distill-studio/transfer-set", ');
    const broken = await expectUserError(
      () => TransferSetStore.open(dir, plan(), 'cpu'),
      'TRANSFER_MANIFEST_INVALID',
    );
    expect(broken.fix).toContain(dir);
    writeFileSync(
      path.join(dir, MANIFEST_FILE),
      JSON.stringify({ format: 'distill-studio/transfer-set', version: 2 }),
    );
    await expectUserError(() => TransferSetStore.open(dir, plan(), 'cpu'), 'TRANSFER_MANIFEST_INVALID');
  });

  it('keeps every entry of 20 concurrent recordShard calls', async () => {
    const dir = next();
    const store = await TransferSetStore.open(dir, plan({ totalSamples: 40, shardSize: 2 }), 'cpu');
    const entries = await Promise.all(store.shardPlan().map((s) => makeShard(store, s.index)));
    expect(entries).toHaveLength(20);
    await Promise.all(entries.reverse().map((e) => store.recordShard(e)));
    const indices = Array.from({ length: 20 }, (_, i) => i);
    expect(store.manifest().shards.map((s) => s.index)).toEqual(indices);
    expect(onDisk(dir).shards.map((s) => s.index)).toEqual(indices);
    expect(store.isComplete()).toBe(true);
    const reopened = await TransferSetStore.open(dir, plan({ totalSamples: 40, shardSize: 2 }), 'cpu');
    expect(await reopened.pendingShards()).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('ignores and removes temporaries of writes that were killed, and redoes unrecorded shards', async () => {
    const dir = next();
    const store = await TransferSetStore.open(dir, plan(), 'cpu');
    await store.recordShard(await makeShard(store, 0));
    // Killed mid-write (a temporary, never renamed) and killed between write and record (a shard file, no entry).
    writeFileSync(path.join(dir, '.shard-00001.bin.tmp-0123abcd'), Buffer.from('DSTS partial'));
    writeFileSync(path.join(dir, '.manifest.json.tmp-deadbeef'), '{"half":');
    await makeShard(store, 2);

    const reopened = await TransferSetStore.open(dir, plan(), 'cpu');
    expect((await reopened.pendingShards()).map((s) => s.index)).toEqual([1, 2]);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'shard-00000.bin', 'shard-00002.bin']);
    await complete(reopened);
    expect((await reopened.readAll()).count).toBe(10);
  });

  it('notes every backend that wrote to the set and refuses entries outside the plan', async () => {
    const dir = next();
    const store = await TransferSetStore.open(dir, plan(), 'cpu');
    await TransferSetStore.open(dir, plan(), 'tensorflow');
    expect(onDisk(dir).backend).toBe('cpu, tensorflow');
    const entry = await makeShard(store, 2);
    await expect(store.recordShard({ ...entry, index: 3 })).rejects.toThrow(/not part of/);
    await expect(store.recordShard({ ...entry, count: 4 })).rejects.toThrow(/not part of/);
    expect(existsSync(path.join(dir, 'shard-00002.bin'))).toBe(true);
  });
});
