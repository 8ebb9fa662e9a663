import type { JobResult } from '../job.js';
import {
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  formatPercent,
  formatRatio,
  NOT_AVAILABLE,
} from '../format.js';
import { escapeHtml } from './text.js';
import { roundsSection } from './rounds.js';
import { exportsSection, type ExportRecord } from './exports.js';
import { curvesSection, perClassSection, transferSetSection } from './sections.js';
import { settingsSection } from './settings.js';
import { REPORT_CSS } from './style.js';

/**
 * The content security policy of the report: nothing may load from
 * anywhere; only inline styles and data: images. The page has no scripts.
 */
export const REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** Files the report embeds, read by the caller (the renderer has no file system). */
export interface ReportAssets {
  /** The transfer set's sample grid (`result.transferSet.grid`) as base64 PNG bytes. */
  gridPngBase64?: string;
  /** Files the student was exported to for other apps (the run folder's exports.json). */
  exports?: readonly ExportRecord[];
}

/**
 * Renders a finished job as one self-contained HTML page for people: a
 * summary sentence, teacher vs student figures, per-class accuracy and
 * confusion matrices, distillation curves (for the round pipeline: the
 * student's measure against time and the time budget), the transfer set with
 * its sample images, and every setting needed to run it again. Nothing is loaded from
 * outside (inline CSS and SVG, the image as a data: URI, a strict CSP), all
 * text from the result is escaped, and the page prints to A4.
 */
export function renderReportHtml(result: JobResult, assets: ReportAssets): string {
  const title = `Distillation report: ${result.teacher.architecture} → ${result.student.architecture}`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head><body><main>',
    `<header><h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Finished ${escapeHtml(formatDate(result.finishedAt))} · Distill Studio ${escapeHtml(result.appVersion)} · ${escapeHtml(result.backend)} backend</p></header>`,
    `<p class="summary">${escapeHtml(summarySentence(result))}</p>`,
    keyFigures(result),
    warningsSection(result.warnings),
    comparisonSection(result),
    perClassSection(result),
    result.rounds ? roundsSection(result) : curvesSection(result),
    transferSetSection(result, assets.gridPngBase64),
    settingsSection(result),
    exportsSection(assets.exports ?? []),
    '</main></body></html>',
    '',
  ].join('\n');
}

/** "with 4x fewer parameters", "with 1.5x more parameters", or "with about as many parameters". */
function parametersPhrase(teacher: number, student: number): string {
  if (!(teacher > 0 && student > 0)) return 'with a parameter count that could not be compared';
  const ratio = teacher / student;
  if (ratio >= 1.05) return `with ${formatRatio(ratio)} fewer parameters`;
  if (ratio <= 1 / 1.05) return `with ${formatRatio(1 / ratio)} more parameters`;
  return 'with about as many parameters';
}

/**
 * The one-sentence verdict at the top of the report, in plain words: how
 * much of the teacher's accuracy the student keeps on the labelled test set
 * and how much smaller it is; without a test set, how often the student
 * agrees with the teacher on held-back synthesized images instead.
 */
export function summarySentence(result: JobResult): string {
  const size = parametersPhrase(result.teacher.parameters, result.student.parameters);
  const evaluation = result.evaluation;
  if (evaluation) {
    const t = evaluation.teacher.accuracy;
    const s = evaluation.student.accuracy;
    const on = `on ${formatCount(evaluation.count)} labelled test images`;
    if (!(t > 0))
      return `The student reaches ${formatPercent(s)} accuracy ${on}, where the teacher reaches ${formatPercent(t)}, ${size}.`;
    const kept = result.accuracyRatio ?? s / t;
    return `The student keeps ${formatPercent(kept, 1)} of the teacher's accuracy (${formatPercent(s)} against ${formatPercent(t)} ${on}) ${size}.`;
  }
  const agreement = result.holdoutAgreement;
  if (agreement !== null) {
    return (
      `No labelled test set was given, so the student was checked against the teacher instead: it gives the teacher's answer ` +
      `on ${formatPercent(agreement, 1)} of ${formatCount(result.spec.holdout)} held-back synthesized images, ${size}.`
    );
  }
  return `No labelled test set was given and no synthesized images were held back, so the student's accuracy was not measured; it was made ${size}.`;
}

/** "4x fewer", "2.1x more" and the like: how the student compares with the teacher, when both are known. */
function relative(
  teacher: number | undefined,
  student: number | undefined,
  less: string,
  more: string,
): string {
  if (teacher === undefined || student === undefined || !(teacher > 0 && student > 0)) return '';
  const ratio = teacher / student;
  if (Math.abs(ratio - 1) < 0.05) return 'about the same';
  return ratio > 1 ? `${formatRatio(ratio)} ${less}` : `${formatRatio(1 / ratio)} ${more}`;
}

/** A few large numbers under the summary, so the verdict can be read at a glance. */
function keyFigures(result: JobResult): string {
  const e = result.evaluation;
  const figures: [string, string][] = e
    ? [
        ['Student accuracy', formatPercent(e.student.accuracy)],
        ['Teacher accuracy', formatPercent(e.teacher.accuracy)],
        ['Accuracy kept', formatPercent(result.accuracyRatio ?? e.student.accuracy / e.teacher.accuracy, 1)],
      ]
    : [['Agreement with the teacher', formatPercent(result.holdoutAgreement)]];
  figures.push(
    ['Parameter compression', formatRatio(result.teacher.parameters / result.student.parameters)],
    [
      'Size compression',
      result.teacher.fileBytes === undefined
        ? NOT_AVAILABLE
        : formatRatio(result.teacher.fileBytes / result.student.fileBytes),
    ],
  );
  const cards = figures.map(
    ([label, value]) =>
      `<div class="card"><div class="value">${escapeHtml(value)}</div><div class="label">${escapeHtml(label)}</div></div>`,
  );
  return `<div class="cards">${cards.join('')}</div>`;
}

/** The job's warnings, shown near the top so nobody misses them. */
function warningsSection(warnings: readonly string[]): string {
  if (warnings.length === 0) return '';
  const items = warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('');
  return `<section id="warnings" class="warning"><h2>Warnings</h2><ul>${items}</ul></section>`;
}

/** One row of the comparison table: a label, the teacher's and student's values, and how they compare. */
type Row = readonly [label: string, teacher: string, student: string, comparison: string];

function batchedLabel(batchSize: number | undefined): string {
  return batchSize === undefined
    ? 'Time per image, in batches'
    : `Time per image, in batches of ${batchSize}`;
}

function comparisonRows(result: JobResult): Row[] {
  const e = result.evaluation;
  const notMeasured = 'not measured';
  const rows: Row[] = [['Architecture', result.teacher.architecture, result.student.architecture, '']];
  if (e) {
    const kept = result.accuracyRatio ?? e.student.accuracy / e.teacher.accuracy;
    rows.push([
      'Accuracy on the test set',
      formatPercent(e.teacher.accuracy),
      formatPercent(e.student.accuracy),
      `keeps ${formatPercent(kept)}`,
    ]);
    if (e.student.agreementWithTeacher !== undefined) {
      rows.push([
        'Same answer as the teacher (test set)',
        'reference',
        formatPercent(e.student.agreementWithTeacher),
        '',
      ]);
    }
  } else {
    rows.push(['Accuracy', notMeasured, notMeasured, 'no labelled test set']);
  }
  if (result.holdoutAgreement !== null) {
    const label = `Same answer as the teacher (${formatCount(result.spec.holdout)} held-back synthesized images)`;
    rows.push([label, 'reference', formatPercent(result.holdoutAgreement), '']);
  }
  const t = result.teacher;
  const s = result.student;
  rows.push(
    [
      'Parameters',
      formatCount(t.parameters, { compact: true }),
      formatCount(s.parameters, { compact: true }),
      relative(t.parameters, s.parameters, 'fewer', 'more'),
    ],
    [
      'Operations (FLOPs) per image',
      formatCount(t.flopsPerImage, { compact: true }),
      formatCount(s.flopsPerImage, { compact: true }),
      relative(t.flopsPerImage, s.flopsPerImage, 'fewer', 'more'),
    ],
    [
      'File size',
      formatBytes(t.fileBytes),
      formatBytes(s.fileBytes),
      relative(t.fileBytes, s.fileBytes, 'smaller', 'larger'),
    ],
  );
  const tl = e?.teacher.latency;
  const sl = e?.student.latency;
  rows.push(
    [
      'Time per image, one at a time',
      tl ? formatDuration(tl.msPerImageBatch1 / 1000) : notMeasured,
      sl ? formatDuration(sl.msPerImageBatch1 / 1000) : notMeasured,
      relative(tl?.msPerImageBatch1, sl?.msPerImageBatch1, 'faster', 'slower'),
    ],
    [
      batchedLabel(sl?.batchSize ?? tl?.batchSize),
      tl ? formatDuration(tl.msPerImageBatched / 1000) : notMeasured,
      sl ? formatDuration(sl.msPerImageBatched / 1000) : notMeasured,
      relative(tl?.msPerImageBatched, sl?.msPerImageBatched, 'faster', 'slower'),
    ],
  );
  return rows;
}

/** Teacher vs student: quality, size, cost and speed in one table. */
function comparisonSection(result: JobResult): string {
  const body = comparisonRows(result)
    .map(
      ([label, t, s, c]) =>
        `<tr><th scope="row">${escapeHtml(label)}</th><td class="num">${escapeHtml(t)}</td><td class="num">${escapeHtml(s)}</td><td>${escapeHtml(c)}</td></tr>`,
    )
    .join('');
  const latencyNote = result.evaluation
    ? ` Times were measured on the ${escapeHtml(result.backend)} backend of this computer.`
    : ' Accuracy and speed are measured on a labelled test set, and none was given for this run.';
  return (
    '<section id="comparison"><h2>Teacher and student</h2>' +
    '<table class="data compare"><thead><tr><th></th><th class="num">Teacher</th><th class="num">Student</th><th>Student compared with teacher</th></tr></thead>' +
    `<tbody>${body}</tbody></table>` +
    `<p class="note">Compression is the teacher's number divided by the student's.${latencyNote}</p></section>`
  );
}
