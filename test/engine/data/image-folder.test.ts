import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { jpegComponents, resizeBilinear } from '../../../src/engine/data/image-decode.js';
import { loadImageFolder } from '../../../src/engine/data/image-folder.js';
import { expectUserError, tempFolder } from './helpers.js';

const { dir, cleanup } = tempFolder('images');
afterAll(cleanup);

let folders = 0;
/** A new dataset folder for one test, so no test depends on another's files. */
function dataset(): string {
  const folder = path.join(dir, `set${folders++}`);
  mkdirSync(folder);
  return folder;
}

/** Writes a PNG of colour type 0 (gray, 1 byte/pixel), 2 (RGB, 3) or 6 (RGBA, 4). */
function writePng(file: string, width: number, height: number, data: number[], colorType: 0 | 2 | 6): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const png = new PNG({ width, height });
  png.data = Buffer.from(data);
  writeFileSync(
    file,
    PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: colorType === 6 }),
  );
}

function writeJpeg(file: string, width: number, height: number, rgb: [number, number, number]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...rgb, 255], 4 * p);
  writeFileSync(file, jpeg.encode({ width, height, data }, 100).data);
}

const gray = (seed: number, n = 12): number[] =>
  Array.from({ length: n }, (_, i) => (seed * 40 + i * 7) % 256);
const luma = (r: number, g: number, b: number): number => Math.round(0.299 * r + 0.587 * g + 0.114 * b);

describe('image folders', () => {
  it('reads one sub-folder per class (sorted names), interleaving classes, with exact gray pixels', async () => {
    const root = dataset();
    writePng(path.join(root, 'b_cat', '1.png'), 4, 3, gray(1), 0);
    writePng(path.join(root, 'b_cat', '2.png'), 4, 3, gray(2), 0);
    writePng(path.join(root, 'a_ant', 'x.png'), 4, 3, gray(3), 0);
    writeFileSync(path.join(root, 'b_cat', '.DS_Store'), 'not an image, but hidden');
    const data = await loadImageFolder(root);
    expect(data.classNames).toEqual(['a_ant', 'b_cat']);
    expect(data.shape).toEqual([3, 4, 1]);
    expect(data.numClasses).toBe(2);
    expect(Array.from(data.labels)).toEqual([0, 1, 1]);
    expect(Array.from(data.pixels)).toEqual([...gray(3), ...gray(1), ...gray(2)]);
  });

  it('converts channels: RGB to gray by luminance, gray to RGB by copying, alpha dropped', async () => {
    const root = dataset();
    const rgba = [10, 200, 30, 0, 250, 0, 5, 128];
    writePng(path.join(root, 'a', 'rgba.png'), 2, 1, rgba, 6);
    writePng(path.join(root, 'b', 'gray.png'), 2, 1, [17, 240], 0);
    // Detected by content: a PNG named .jpg is still a PNG.
    writePng(path.join(root, 'b', 'rgb.jpg'), 2, 1, [1, 2, 3, 4, 5, 6], 2);

    const asFirst = await loadImageFolder(root);
    expect(asFirst.shape).toEqual([1, 2, 3]);
    expect(Array.from(asFirst.pixels)).toEqual([
      10, 200, 30, 250, 0, 5, 17, 17, 17, 240, 240, 240, 1, 2, 3, 4, 5, 6,
    ]);

    const asGray = await loadImageFolder(root, { channels: 1 });
    expect(asGray.shape).toEqual([1, 2, 1]);
    expect(Array.from(asGray.pixels)).toEqual([
      luma(10, 200, 30),
      luma(250, 0, 5),
      17,
      240,
      luma(1, 2, 3),
      luma(4, 5, 6),
    ]);
    expect(asGray.pixels[0]).toBe(124); // by hand: 0.299*10 + 0.587*200 + 0.114*30 = 2.99 + 117.4 + 3.42 = 123.81
  });

  it('decodes JPEG files (colour detected from the frame header)', async () => {
    const root = dataset();
    writeJpeg(path.join(root, 'red', 'a.jpeg'), 8, 8, [200, 30, 40]);
    writeJpeg(path.join(root, 'teal', 'b.jpg'), 8, 8, [20, 160, 150]);
    const data = await loadImageFolder(root);
    expect(data.shape).toEqual([8, 8, 3]);
    const first = Array.from(data.pixels.subarray(0, 3));
    const second = Array.from(data.pixels.subarray(192, 195));
    // JPEG is lossy: a flat colour comes back within a few levels.
    [200, 30, 40].forEach((v, i) => expect(Math.abs((first[i] ?? 0) - v)).toBeLessThanOrEqual(3));
    [20, 160, 150].forEach((v, i) => expect(Math.abs((second[i] ?? 0) - v)).toBeLessThanOrEqual(3));
    expect(jpegComponents(jpeg.encode({ width: 1, height: 1, data: Buffer.from([1, 2, 3, 255]) }).data)).toBe(
      3,
    );
  });

  it('refuses mixed sizes, naming the odd file and both sizes, unless asked to resize', async () => {
    const root = dataset();
    writePng(path.join(root, 'a', '1.png'), 2, 2, [0, 100, 200, 40], 0);
    writePng(path.join(root, 'b', '1.png'), 5, 3, gray(4, 15), 0);
    const odd = path.join(root, 'b', '1.png');
    const error = await expectUserError(
      () => loadImageFolder(root),
      'IMAGE_SIZE_MISMATCH',
      odd,
      /5x3 pixels/,
      /is 2x2/,
    );
    expect(error.fix).toMatch(/resizeTo/);

    const resized = await loadImageFolder(root, { resizeTo: [4, 4] });
    expect(resized.shape).toEqual([4, 4, 1]);
    // Bilinear with half-pixel centres of [[0, 100], [200, 40]], by hand: rows weigh 0, .25, .75, 1 (same for columns).
    expect(Array.from(resized.pixels.subarray(0, 16))).toEqual([
      0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40,
    ]);
    await expectUserError(() => loadImageFolder(root, { resizeTo: [0, 4] }), 'IMAGE_FOLDER_INVALID', /0x4/);
  });

  it('resizes to the same size as the identity', () => {
    const src = Uint8Array.from(gray(5, 24));
    expect(resizeBilinear(src, [4, 2], [4, 2], 3)).toEqual(src);
  });

  it('reads train/ and test/ sub-folders with the same class indices on both sides', async () => {
    const root = dataset();
    writePng(path.join(root, 'train', 'a', '1.png'), 2, 1, [1, 2], 0);
    writePng(path.join(root, 'train', 'c', '1.png'), 2, 1, [3, 4], 0);
    writePng(path.join(root, 'test', 'b', '1.png'), 2, 1, [5, 6], 0);
    writePng(path.join(root, 'test', 'c', '1.png'), 2, 1, [7, 8], 0);
    const train = await loadImageFolder(root, { split: 'train' });
    const test = await loadImageFolder(root, { split: 'test' });
    expect(train.classNames).toEqual(['a', 'b', 'c']);
    expect(test.classNames).toEqual(['a', 'b', 'c']);
    expect(Array.from(train.labels)).toEqual([0, 2]);
    expect(Array.from(test.labels)).toEqual([1, 2]);
  });

  describe('refuses bad input with a UserError naming the problem and the fix', () => {
    it('a non-image file in a class folder, or a damaged image', async () => {
      const root = dataset();
      writePng(path.join(root, 'a', '1.png'), 2, 1, [1, 2], 0);
      const notes = path.join(root, 'a', 'notes.txt');
      writeFileSync(notes, 'hello');
      await expectUserError(() => loadImageFolder(root), 'IMAGE_INVALID', notes, /not a PNG or JPEG/);
      writeFileSync(notes, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]));
      await expectUserError(() => loadImageFolder(root), 'IMAGE_INVALID', notes, /damaged PNG/);
    });

    it('an empty folder, a folder without class folders, an empty class folder, a nested folder', async () => {
      const empty = dataset();
      await expectUserError(() => loadImageFolder(empty), 'DATASET_EMPTY', /no class folders/);
      writePng(path.join(empty, 'loose.png'), 2, 1, [1, 2], 0);
      await expectUserError(() => loadImageFolder(empty), 'DATASET_EMPTY', empty);
      const root = dataset();
      writePng(path.join(root, 'a', '1.png'), 2, 1, [1, 2], 0);
      mkdirSync(path.join(root, 'b'));
      await expectUserError(() => loadImageFolder(root), 'DATASET_EMPTY', path.join(root, 'b'), /no images/);
      mkdirSync(path.join(root, 'b', 'deeper'));
      await expectUserError(() => loadImageFolder(root), 'IMAGE_FOLDER_INVALID', /deeper/);
      await expectUserError(
        () => loadImageFolder(path.join(root, 'missing')),
        'DATA_NOT_FOUND',
        /does not exist/,
      );
    });

    it('a split that the folder does not have', async () => {
      const root = dataset();
      writePng(path.join(root, 'train', 'a', '1.png'), 2, 1, [1, 2], 0);
      await expectUserError(
        () => loadImageFolder(root, { split: 'test' }),
        'IMAGE_FOLDER_INVALID',
        /no test\/ folder/,
      );
    });
  });
});
