import { describe, expect, it } from 'vitest';
import {
  exportsSection,
  ExportRecordsSchema,
  type ExportRecord,
} from '../../../src/shared/report/exports.js';

const record: ExportRecord = {
  file: '/home/me/<student>.onnx',
  format: 'onnx',
  opset: 13,
  at: '2026-12-01T08:00:00.000Z',
  checkedOn: 'fashion-mnist (test)',
  images: 10000,
  sameTopClass: 9999,
  maxAbsDifference: 1.7e-5,
  runtime: 'ONNX Runtime 1.30.0',
  accuracy: { app: 0.9164, other: 0.9163 },
};

describe('exportsSection', () => {
  it('is absent when nothing was exported', () => {
    expect(exportsSection([])).toBe('');
  });

  it('names each file, escaped, with how it compared with the app', () => {
    const html = exportsSection([
      record,
      { ...record, checkedOn: 'random images', images: 16, sameTopClass: 16, accuracy: undefined },
    ]);
    expect(html).toContain('<section id="exports"><h2>Exported for other apps</h2>');
    expect(html).toContain('<code>/home/me/&lt;student&gt;.onnx</code>');
    expect(html).not.toContain('<student>');
    expect(html).toContain(
      'checked in ONNX Runtime 1.30.0 on 10000 test images of fashion-mnist (test), the same predicted class as the app for 9999 (99.99%), largest output difference 1.7e-5; accuracy 91.63% there, 91.64% in the app',
    );
    expect(html).toContain('on 16 random images, the same predicted class as the app for 16 (100.00%)');
  });

  it('reads back what is written to exports.json', () => {
    expect(ExportRecordsSchema.parse(JSON.parse(JSON.stringify([record])))).toEqual([record]);
    expect(ExportRecordsSchema.safeParse([{ ...record, format: 'tflite' }]).success).toBe(false);
  });
});
