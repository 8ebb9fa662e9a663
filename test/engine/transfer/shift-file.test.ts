import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readShiftFile, shiftFileName, writeShiftFile } from '../../../src/engine/transfer/shift-file.js';
import { writeShardFile } from '../../../src/engine/transfer/shard-file.js';
import { TransferSetStore } from '../../../src/engine/transfer/store.js';
import { labelledBatch, tempFolder } from './helpers.js';

const { next, cleanup } = tempFolder('shifts');
afterAll(cleanup);

const shape = { count: 3, shifts: 9, numClasses: 4 };
const logits = Float32Array.from({ length: 3 * 9 * 4 }, (_, i) => i * 0.5 - 20.25);

describe('shift-label files', () => {
  it('give back exactly what was written, under the name of their shard', async () => {
    const dir = next();
    const written = await writeShiftFile(dir, 7, shape, logits);
    expect(written.file).toBe(shiftFileName(7));
    expect(written.file).toBe('shard-00007.shifts.bin');
    expect(await readShiftFile(dir, written.file, shape, written.sha256)).toEqual(logits);
  });

  it('are refused, as undefined, when missing, damaged, of another shape or outside the folder', async () => {
    const dir = next();
    const { file, sha256 } = await writeShiftFile(dir, 1, shape, logits);
    expect(await readShiftFile(dir, 'shard-00002.shifts.bin', shape, sha256)).toBeUndefined();
    expect(await readShiftFile(dir, file, { ...shape, shifts: 25 }, sha256)).toBeUndefined();
    expect(await readShiftFile(dir, file, shape, '0'.repeat(64))).toBeUndefined();
    expect(await readShiftFile(dir, `../${path.basename(dir)}/${file}`, shape, sha256)).toBeUndefined();
    const bytes = readFileSync(path.join(dir, file));
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(path.join(dir, file), bytes);
    expect(await readShiftFile(dir, file, shape, sha256)).toBeUndefined();
    await expect(writeShiftFile(dir, 2, shape, logits.subarray(1))).rejects.toThrow(/cannot be/);
  });

  it('are read through the store only for the shift they were made for', async () => {
    const dir = next();
    const store = await TransferSetStore.open(
      dir,
      {
        inputShape: [2, 2, 1],
        numClasses: 4,
        totalSamples: 6,
        shardSize: 3,
        method: 'soft-target',
        settings: {},
        seed: 1,
        teacherFingerprint: 'abc',
      },
      'cpu',
    );
    const planned = store.shardPlan()[0]!;
    const batch = labelledBatch(1, 3, 4, 4);
    const file = await writeShardFile(dir, 0, batch);
    const shifts = await writeShiftFile(dir, 0, shape, logits);
    const entry = { ...file, index: 0, count: 3, seed: planned.seed, seconds: 1, metrics: {} };
    await store.recordShard({ ...entry, shifts: { ...shifts, maxShift: 1 } });
    expect(await store.readShiftLabels(0, 1, 9)).toEqual(logits);
    expect(await store.readShiftLabels(0, 2, 25)).toBeUndefined();
    expect(await store.readShiftLabels(1, 1, 9)).toBeUndefined();
    await store.recordShard(entry);
    expect(await store.readShiftLabels(0, 1, 9)).toBeUndefined();
  });
});
