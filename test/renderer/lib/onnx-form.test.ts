import { describe, expect, it } from 'vitest';
import { TeacherChoiceSchema } from '../../../src/shared/project.js';
import { IMAGENET, onnxTeacherChoice } from '../../../src/renderer/src/lib/onnx-form.js';

describe('onnxTeacherChoice', () => {
  it('asks for nothing more by default: pixels in 0..1', () => {
    expect(onnxTeacherChoice(' /m/model.onnx ', 'unit', '9', '9')).toEqual({
      kind: 'onnx',
      path: '/m/model.onnx',
    });
  });

  it('feeds raw pixels 0..255 to models that rescale them inside', () => {
    expect(onnxTeacherChoice('/m/keras.onnx', 'raw', '', '')).toEqual({
      kind: 'onnx',
      path: '/m/keras.onnx',
      std: [1 / 255],
    });
  });

  it('fills in the ImageNet statistics', () => {
    const choice = onnxTeacherChoice('/m/resnet.onnx', 'imagenet', '', '');
    expect(choice).toEqual({
      kind: 'onnx',
      path: '/m/resnet.onnx',
      mean: [...IMAGENET.mean],
      std: [...IMAGENET.std],
    });
    expect(TeacherChoiceSchema.safeParse(choice).success).toBe(true);
  });

  it('reads the numbers the user typed, separated by commas or spaces', () => {
    expect(onnxTeacherChoice('/m.onnx', 'custom', '0.5, 0.4 0.3', '0.2')).toEqual({
      kind: 'onnx',
      path: '/m.onnx',
      mean: [0.5, 0.4, 0.3],
      std: [0.2],
    });
  });

  it('leaves refusing bad numbers to the schema the services parse with', () => {
    const zero = onnxTeacherChoice('/m.onnx', 'custom', '0.5', '0');
    expect(TeacherChoiceSchema.safeParse(zero).success).toBe(false);
    const words = onnxTeacherChoice('/m.onnx', 'custom', 'half', '');
    expect(TeacherChoiceSchema.safeParse(words).success).toBe(false);
  });
});
