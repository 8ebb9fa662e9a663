import { z } from 'zod';
import { formatDate, formatPercent } from '../format.js';
import { escapeHtml } from './text.js';
import { keyValueTable } from './sections.js';

/**
 * The files a run's student was exported to for other apps, and how each
 * compared with the app when it was written (an .onnx file is run in ONNX
 * Runtime on the test images first). Kept in the run folder as exports.json
 * and shown in the report, so the report says what left the app and how
 * faithful it is.
 */

export const ExportRecordSchema = z.object({
  /** Absolute path of the written file. */
  file: z.string().min(1),
  format: z.literal('onnx'),
  opset: z.number().int(),
  /** When it was written (ISO 8601). */
  at: z.string(),
  /** 'random images' or the test set's source. */
  checkedOn: z.string(),
  images: z.number().int().min(0),
  /** Images where the file, in ONNX Runtime, predicts the class the app predicts. */
  sameTopClass: z.number().int().min(0),
  maxAbsDifference: z.number(),
  /** e.g. "ONNX Runtime 1.30.0". */
  runtime: z.string(),
  /** With a labelled test set: accuracy in the app and in the other runtime. */
  accuracy: z.object({ app: z.number(), other: z.number() }).optional(),
});
export type ExportRecord = z.infer<typeof ExportRecordSchema>;

/** The contents of exports.json: every export of the run, oldest first. */
export const ExportRecordsSchema = z.array(ExportRecordSchema);

/** The report's section on exported files; empty when the student was not exported for other apps. */
export function exportsSection(records: readonly ExportRecord[]): string {
  if (records.length === 0) return '';
  const rows = records.map((r): readonly [string, string] => {
    const agreement = r.images > 0 ? r.sameTopClass / r.images : 0;
    const accuracy = r.accuracy
      ? `; accuracy ${formatPercent(r.accuracy.other)} there, ${formatPercent(r.accuracy.app)} in the app`
      : '';
    return [
      `<code>${escapeHtml(r.file)}</code>`,
      escapeHtml(
        `ONNX (opset ${r.opset}), ${formatDate(r.at)}: checked in ${r.runtime} on ${r.images} ${r.checkedOn === 'random images' ? 'random images' : `test images of ${r.checkedOn}`}, the same predicted class as the app for ${r.sameTopClass} (${formatPercent(agreement)}), largest output difference ${r.maxAbsDifference.toExponential(1)}${accuracy}`,
      ),
    ];
  });
  return `<section id="exports"><h2>Exported for other apps</h2>${keyValueTable(rows)}</section>`;
}
