import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readShardFile, writeShardFile } from '../../../src/engine/transfer/shard-file.js';
import { expectUserError, tempFolder } from './helpers.js';

const { next, cleanup } = tempFolder('shard');
afterAll(cleanup);

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('shard files', () => {
  it('round-trips inputs and logits bit for bit, with the documented header', async () => {
    const dir = next();
    mkdirSync(dir);
    // Awkward values on purpose: -0, a denormal, extremes and NaN must all survive.
    const inputs = Float32Array.from([0, -0, 1e-40, -3.5, 3.4e38, NaN, 0.1, 1 / 3]);
    const logits = Float32Array.from([1, -1, Infinity, -Infinity, 7.25, -1e-7]);
    const written = await writeShardFile(dir, 3, { count: 2, inputs, logits, metrics: {} });

    expect(written.file).toBe('shard-00003.bin');
    const bytes = readFileSync(path.join(dir, written.file));
    expect(written.bytes).toBe(bytes.byteLength);
    expect(written.bytes).toBe(20 + 4 * (8 + 6));
    expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('DSTS');
    expect([4, 8, 12, 16].map((o) => bytes.readUInt32LE(o))).toEqual([1, 2, 4, 3]);
    expect(bytes.readFloatLE(20 + 4 * 3)).toBe(-3.5);

    const read = await readShardFile(path.join(dir, written.file), {
      count: 2,
      pixelsPerImage: 4,
      numClasses: 3,
      sha256: written.sha256,
    });
    expect(bits(read.inputs)).toEqual(bits(inputs));
    expect(bits(read.logits)).toEqual(bits(logits));
  });

  it('refuses a flipped byte, a truncated file, a wrong shape and a missing file', async () => {
    const dir = next();
    mkdirSync(dir);
    const batch = {
      count: 3,
      inputs: new Float32Array(12).fill(0.5),
      logits: new Float32Array(6).fill(2),
      metrics: {},
    };
    const { file, sha256 } = await writeShardFile(dir, 0, batch);
    const full = path.join(dir, file);
    const expected = { count: 3, pixelsPerImage: 4, numClasses: 2, sha256 };

    const bytes = readFileSync(full);
    bytes[30] = bytes[30]! ^ 0x01;
    writeFileSync(full, bytes);
    const flipped = await expectUserError(() => readShardFile(full, expected), 'TRANSFER_SHARD_DAMAGED');
    expect(flipped.message).toMatch(/checksum/);
    expect(flipped.fix).toMatch(/delete the file/i);

    await writeShardFile(dir, 0, batch);
    truncateSync(full, statSync(full).size - 4);
    const { sha256: _ignored, ...noChecksum } = expected;
    const truncated = await expectUserError(() => readShardFile(full, noChecksum), 'TRANSFER_SHARD_DAMAGED');
    expect(truncated.message).toMatch(/bytes long/);

    await writeShardFile(dir, 0, batch);
    const shape = await expectUserError(
      () => readShardFile(full, { ...noChecksum, numClasses: 3 }),
      'TRANSFER_SHARD_DAMAGED',
    );
    expect(shape.message).toMatch(/numClasses 2, expected 3/);

    await expectUserError(
      () => readShardFile(path.join(dir, 'shard-00009.bin'), expected),
      'TRANSFER_SHARD_MISSING',
    );
  });

  it('leaves no temporary file behind after a write', async () => {
    const dir = next();
    mkdirSync(dir);
    await writeShardFile(dir, 1, {
      count: 1,
      inputs: new Float32Array(2),
      logits: new Float32Array(2),
      metrics: {},
    });
    expect(readdirSync(dir)).toEqual(['shard-00001.bin']);
  });
});
