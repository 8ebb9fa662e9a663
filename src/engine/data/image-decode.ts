import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { LIMITS } from '../../shared/limits.js';
import { UserError } from '../../shared/errors.js';

/** A decoded image: RGBA bytes plus the channels its file really has. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 for a grayscale file, 3 for a colour one (alpha is not counted: it is dropped). */
  channels: 1 | 3;
  /** width * height * 4 bytes, RGBA, row major. */
  rgba: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

/** The image format of a file, by its magic bytes (names and extensions are often wrong). */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | undefined {
  return startsWith(bytes, PNG_MAGIC) ? 'png' : startsWith(bytes, JPEG_MAGIC) ? 'jpeg' : undefined;
}

/**
 * Number of colour components in a JPEG, read from its start-of-frame
 * header: jpeg-js always returns RGBA, so this is the only way to tell a
 * grayscale JPEG from a colour one.
 */
export function jpegComponents(bytes: Uint8Array): number | undefined {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1] ?? 0;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15, except DHT (c4), JPG (c8) and DAC (cc) which share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return bytes[i + 9];
    i += 2 + (((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0));
  }
  return undefined;
}

/**
 * Width and height from the file's header, without decoding it: a PNG's
 * IHDR chunk, a JPEG's start-of-frame segment. Undefined if not found.
 */
export function imageSize(
  bytes: Uint8Array,
  format: 'png' | 'jpeg',
): { width: number; height: number } | undefined {
  const u16 = (i: number): number => ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  const u32 = (i: number): number => u16(i) * 65_536 + u16(i + 2);
  if (format === 'png') {
    // Signature (8), chunk length (4), "IHDR" (4), then width and height.
    const ihdr = bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52;
    return ihdr && bytes.length >= 24 ? { width: u32(16), height: u32(20) } : undefined;
  }
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1] ?? 0;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: u16(i + 5), width: u16(i + 7) };
    i += 2 + u16(i + 2);
  }
  return undefined;
}

/** Decodes a PNG or JPEG file's bytes; anything else is a UserError naming the file. */
export function decodeImage(bytes: Buffer, file: string): DecodedImage {
  const format = imageFormat(bytes);
  if (format === undefined) {
    throw new UserError(
      'IMAGE_INVALID',
      `${file} is not a PNG or JPEG image`,
      'Convert it to PNG or JPEG, or move it out of the dataset folder',
    );
  }
  const size = imageSize(bytes, format);
  if (size && size.width * size.height > LIMITS.imagePixels) {
    const side = Math.sqrt(LIMITS.imagePixels);
    throw new UserError(
      'IMAGE_TOO_LARGE',
      `${file} is ${size.width}x${size.height} pixels; images may have at most ${side}x${side} pixels (${LIMITS.imagePixels / 1e6} million)`,
      'Shrink the images to about the size the model takes before adding them, or remove this one',
    );
  }
  try {
    if (format === 'png') {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, channels: png.color ? 3 : 1, rgba: png.data };
    }
    const image = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: LIMITS.imagePixels / 1e6,
      maxMemoryUsageInMB: 256,
    });
    return {
      width: image.width,
      height: image.height,
      channels: jpegComponents(bytes) === 1 ? 1 : 3,
      rgba: image.data,
    };
  } catch (error) {
    throw new UserError(
      'IMAGE_INVALID',
      `${file} is a damaged ${format.toUpperCase()} image: it could not be decoded (the file may be cut short or not really a ${format.toUpperCase()})`,
      'Open it in an image viewer to check it, then replace it with a good copy or remove it from the folder',
      { cause: error },
    );
  }
}

/**
 * Converts RGBA to 1 or 3 channels. Alpha is dropped (not blended); colour
 * becomes gray with the ITU-R BT.601 luma weights (what PIL's "L" mode
 * uses), and gray files decode with R=G=B so they convert both ways exactly.
 */
export function rgbaToChannels(rgba: Uint8Array, pixelCount: number, channels: 1 | 3): Uint8Array {
  const out = new Uint8Array(pixelCount * channels);
  for (let p = 0; p < pixelCount; p++) {
    const r = rgba[4 * p] ?? 0;
    const g = rgba[4 * p + 1] ?? 0;
    const b = rgba[4 * p + 2] ?? 0;
    if (channels === 1) {
      out[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      out[3 * p] = r;
      out[3 * p + 1] = g;
      out[3 * p + 2] = b;
    }
  }
  return out;
}

/**
 * Bilinear resize of one HWC uint8 image with half-pixel centres (the
 * convention of PIL, OpenCV and tf.image.resizeBilinear(halfPixelCenters)),
 * so a same-size resize is the identity. It does not low-pass first, so
 * strong shrinking aliases: it is meant to even out small size differences.
 */
export function resizeBilinear(
  src: Uint8Array,
  from: [number, number],
  to: [number, number],
  channels: number,
): Uint8Array {
  const [inH, inW] = from;
  const [outH, outW] = to;
  const out = new Uint8Array(outH * outW * channels);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * inH) / outH - 0.5, 0), inH - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, inH - 1);
    const fy = sy - y0;
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * inW) / outW - 0.5, 0), inW - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, inW - 1);
      const fx = sx - x0;
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number): number => src[(yy * inW + xx) * channels + c] ?? 0;
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        out[(y * outW + x) * channels + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}
