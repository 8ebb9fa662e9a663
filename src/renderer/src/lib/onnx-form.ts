import type { TeacherChoice } from '../../../shared/project.js';

/**
 * The import dialog's questions about an .onnx teacher, in plain words, and
 * the teacher choice they make. Pixels are always scaled to 0..1 first; the
 * question is what the model subtracts and divides by after that.
 */

/** How the model expects its pixels, as the dialog offers it. */
export type PixelScaling = 'unit' | 'raw' | 'imagenet' | 'custom';

export const PIXEL_SCALINGS: readonly { value: PixelScaling; label: string }[] = [
  { value: 'unit', label: 'Scaled to 0..1, nothing else (most models; the default)' },
  {
    value: 'raw',
    label: 'Raw pixel values 0..255 (Keras models that rescale inside, with a Rescaling layer)',
  },
  {
    value: 'imagenet',
    label: 'Normalised with the ImageNet mean and standard deviation (torchvision and most colour models)',
  },
  { value: 'custom', label: 'Normalised with a mean and standard deviation I know' },
];

/** ImageNet's per-channel mean and standard deviation, as torchvision's transforms use them. */
export const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** "0.5, 0.4 0.3" -> [0.5, 0.4, 0.3]; undefined for empty text; NaN entries stay (the schema refuses them). */
function numbers(text: string): number[] | undefined {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  return parts.length > 0 ? parts.map(Number) : undefined;
}

/** The teacher choice for an .onnx file at `path` with the answers given. */
export function onnxTeacherChoice(
  path: string,
  scaling: PixelScaling,
  meanText: string,
  stdText: string,
): TeacherChoice {
  const file = path.trim();
  // Pixels reach the model as (p / 255 - mean) / std: std 1/255 gives p itself.
  if (scaling === 'raw') return { kind: 'onnx', path: file, std: [1 / 255] };
  if (scaling === 'imagenet')
    return { kind: 'onnx', path: file, mean: [...IMAGENET.mean], std: [...IMAGENET.std] };
  if (scaling === 'custom') {
    const mean = numbers(meanText);
    const std = numbers(stdText);
    return { kind: 'onnx', path: file, ...(mean ? { mean } : {}), ...(std ? { std } : {}) };
  }
  return { kind: 'onnx', path: file };
}
