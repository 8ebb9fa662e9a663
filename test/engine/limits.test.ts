import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../src/shared/api.js';
import { ImageShapeSchema, LIMITS } from '../../src/shared/limits.js';
import { initBackend } from '../../src/engine/backend/select.js';
import { gunzipIfNeeded, readDataFile } from '../../src/engine/data/files.js';
import { decodeImage, imageSize } from '../../src/engine/data/image-decode.js';
import { loadImageFolder } from '../../src/engine/data/image-folder.js';
import { loadModel, saveModel } from '../../src/engine/models/io.js';
import { expectUserError, tempFolder } from './data/helpers.js';
import { editModelJson, firstGroup, makeCard, sequentialCnn } from './models/fixtures.js';

/**
 * Every oversized input is refused with a message naming it and a fix, from
 * its size on disk or its header, before the memory for it is taken. Files
 * are sparse or header-only, so the tests themselves stay small.
 */
const { dir, cleanup } = tempFolder('limits');
afterAll(cleanup);
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/** A PNG signature and IHDR header claiming `width` x `height`, then nothing (never decoded). */
function pngHeader(width: number, height: number): Buffer {
  const bytes = Buffer.alloc(33);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.set([8, 0, 0, 0, 0], 24);
  return bytes;
}

/** A JPEG start, then a baseline start-of-frame segment claiming `width` x `height`. */
function jpegHeader(width: number, height: number): Buffer {
  const sof = [0xff, 0xc0, 0, 11, 8, height >> 8, height & 255, width >> 8, width & 255, 1, 1, 0x11, 0];
  return Buffer.from([0xff, 0xd8, ...sof, 0, 0, 0]);
}

describe('input limits', () => {
  it('a model.json larger than a topology can be, before reading it', async () => {
    const folder = path.join(dir, 'huge-json');
    await saveModel(sequentialCnn(), folder, makeCard());
    truncateSync(path.join(folder, 'model.json'), LIMITS.modelJsonBytes + 1); // sparse: no disk used
    await expectUserError(
      () => loadModel(folder),
      'MODEL_TOO_LARGE',
      /model\.json is 32 MiB/,
      /at most 32 MiB/,
    );
  });

  it('weights beyond the limit, from the manifest, before reading any .bin', async () => {
    const folder = path.join(dir, 'huge-weights');
    await saveModel(sequentialCnn(), folder, makeCard());
    await editModelJson(folder, (json) => {
      firstGroup(json).weights[0]!.shape = [LIMITS.weightBytes / 4 + 1];
    });
    await expectUserError(() => loadModel(folder), 'MODEL_TOO_LARGE', /describes 512 MiB of weights/);
  });

  it('a data file larger than the limit, from its size', async () => {
    const file = path.join(dir, 'huge.idx');
    writeFileSync(file, '');
    truncateSync(file, LIMITS.dataFileBytes + 1);
    await expectUserError(() => readDataFile(file, 'IDX image file'), 'DATA_TOO_LARGE', /huge\.idx is 1 GiB/);
  });

  it('a gzip that unpacks beyond the limit stops at the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(4 << 20), { level: 9 });
    expect(bomb.byteLength).toBeLessThan(10_000);
    await expectUserError(
      () => gunzipIfNeeded(bomb, 'bomb.gz', 1 << 20),
      'DATA_TOO_LARGE',
      /bomb\.gz unpacks/,
    );
    expect((await gunzipIfNeeded(bomb, 'bomb.gz', 4 << 20)).byteLength).toBe(4 << 20);
  });

  it('an image of too many pixels, from its header, PNG or JPEG, before decoding', () => {
    expect(imageSize(pngHeader(20_000, 30_000), 'png')).toEqual({ width: 20_000, height: 30_000 });
    expect(imageSize(jpegHeader(20_000, 3_000), 'jpeg')).toEqual({ width: 20_000, height: 3_000 });
    for (const bytes of [pngHeader(20_000, 20_000), jpegHeader(20_000, 20_000)]) {
      let error: unknown;
      try {
        decodeImage(bytes, 'big');
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string }).code).toBe('IMAGE_TOO_LARGE');
      expect((error as Error).message).toMatch(/big is 20000x20000 pixels/);
    }
  });

  it('an image folder whose first image is larger than any model input', async () => {
    const root = path.join(dir, 'big-images');
    mkdirSync(path.join(root, 'a'), { recursive: true });
    const side = LIMITS.inputSide + 1;
    const png = new PNG({ width: side, height: side });
    writeFileSync(path.join(root, 'a', '1.png'), PNG.sync.write(png));
    await expectUserError(
      () => loadImageFolder(root),
      'IMAGE_TOO_LARGE',
      /257x257 pixels, larger than any model input/,
    );
  });

  it("a damaged image says so in plain words, not the decoder's", async () => {
    const root = path.join(dir, 'damaged');
    mkdirSync(path.join(root, 'a'), { recursive: true });
    writeFileSync(path.join(root, 'a', '1.png'), pngHeader(4, 4));
    const error = await expectUserError(
      () => loadImageFolder(root),
      'IMAGE_INVALID',
      /damaged PNG image: it could not be decoded/,
    );
    expect(error.message).not.toMatch(/\(.*[a-z]+Error|unexpected|invalid/i);
  });

  it('model input shapes beyond the limit in every request that carries one', () => {
    expect(ImageShapeSchema.safeParse([256, 256, 3]).success).toBe(true);
    for (const shape of [
      [1024, 1024, 1],
      [32, 257, 1],
      [32, 32, 5],
      [0, 32, 1],
    ]) {
      expect(ImageShapeSchema.safeParse(shape).success, String(shape)).toBe(false);
      expect(API['catalog.get'].params.safeParse({ inputShape: shape }).success).toBe(false);
    }
  });
});
