import { PNG } from 'pngjs';
import type { ImageShape, Preprocessing } from '../data/types.js';

/** An 8-bit image, row major, 1 (grey) or 3 (RGB) interleaved channels. */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

/** Width in pixels of the lines between and around grid cells. */
export const GRID_SEPARATOR = 2;
/** Grey level of the separators: mid grey stands out against both dark and light images. */
export const GRID_SEPARATOR_LEVEL = 128;
/** Grey level of a cell with no image (a class with fewer images than columns). */
export const GRID_EMPTY_LEVEL = 48;

/**
 * Encodes an image as PNG bytes (greyscale or RGB, 8 bits). The HTML report
 * embeds these bytes as base64, so this is the one place PNGs are made.
 */
export function encodePng(image: RasterImage): Uint8Array {
  const { width, height, channels, pixels } = image;
  if (pixels.length !== width * height * channels) {
    throw new Error(
      `A ${width}x${height}x${channels} image needs ${width * height * channels} bytes, not ${pixels.length}`,
    );
  }
  const colorType = channels === 1 ? 0 : 2;
  // Hand pngjs the pixels in their own colour type: it then packs them as they are, with no RGBA copy.
  const png = new PNG({ width, height, colorType, inputColorType: colorType, inputHasAlpha: false });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false });
}

/** Top-left pixel of grid cell (row, col), for an image shape and upscaling factor. */
export function gridCellOrigin(
  row: number,
  col: number,
  shape: ImageShape,
  scale: number,
): { x: number; y: number } {
  const [h, w] = shape;
  return {
    x: GRID_SEPARATOR + col * (w * scale + GRID_SEPARATOR),
    y: GRID_SEPARATOR + row * (h * scale + GRID_SEPARATOR),
  };
}

/** Turns one model input back into a pixel value: clamp(round((x * std + mean) * 255)). */
export function toPixel(x: number, mean: number, std: number): number {
  const value = Math.round((x * std + mean) * 255);
  return Number.isNaN(value) ? 0 : Math.min(255, Math.max(0, value));
}

/**
 * Draws model inputs as a grid: `cells[row][col]` is an image index into
 * `inputs` (NHWC, normalised with `preprocessing`) or null for an empty
 * cell. Images are de-normalised to pixels and upscaled `scale` times by
 * nearest neighbour. One-channel inputs give a grey image, three-channel
 * ones RGB; other channel counts show their first channel in grey.
 */
export function drawImageGrid(
  inputs: Float32Array,
  shape: ImageShape,
  preprocessing: Pick<Preprocessing, 'mean' | 'std'>,
  cells: readonly (readonly (number | null)[])[],
  scale: number,
): RasterImage {
  const [h, w, c] = shape;
  const channels: 1 | 3 = c === 3 ? 3 : 1;
  const rows = cells.length;
  const cols = Math.max(0, ...cells.map((r) => r.length));
  const width = GRID_SEPARATOR + cols * (w * scale + GRID_SEPARATOR);
  const height = GRID_SEPARATOR + rows * (h * scale + GRID_SEPARATOR);
  const pixels = new Uint8Array(width * height * channels).fill(GRID_SEPARATOR_LEVEL);
  const mean = (ch: number): number => preprocessing.mean[ch] ?? preprocessing.mean[0] ?? 0;
  const std = (ch: number): number => preprocessing.std[ch] ?? preprocessing.std[0] ?? 1;

  // One de-normalised image at native size, reused for every cell.
  const tile = new Uint8Array(h * w * channels);
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const image = cells[row]?.[col] ?? null;
      if (image === null) {
        tile.fill(GRID_EMPTY_LEVEL);
      } else {
        const base = image * h * w * c;
        for (let p = 0; p < h * w; p++) {
          for (let ch = 0; ch < channels; ch++) {
            tile[p * channels + ch] = toPixel(inputs[base + p * c + ch] ?? 0, mean(ch), std(ch));
          }
        }
      }
      const origin = gridCellOrigin(row, col, shape, scale);
      for (let y = 0; y < h * scale; y++) {
        const src = Math.floor(y / scale) * w;
        const dst = ((origin.y + y) * width + origin.x) * channels;
        for (let x = 0; x < w * scale; x++) {
          const from = (src + Math.floor(x / scale)) * channels;
          for (let ch = 0; ch < channels; ch++) pixels[dst + x * channels + ch] = tile[from + ch]!;
        }
      }
    }
  }
  return { width, height, channels, pixels };
}
