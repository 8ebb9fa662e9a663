import type { JobResult } from '../job.js';
import { formatCount, formatDuration, formatNumber, formatPercent } from '../format.js';
import { classLabel, escapeHtml, shorten } from './text.js';
import { barChart, lineChart } from './svg.js';

/**
 * The data sections of the HTML report: per-class accuracy and confusion
 * matrices, distillation curves, and the transfer set. Each function takes
 * the job result and returns one escaped `<section>`; html.ts puts
 * them on the page.
 */

/** Bar and line colours: the teacher in grey, the student in blue (both print well in black and white). */
export const COLORS = { teacher: '#94a3b8', student: '#2563eb', loss: '#dc2626', metric: '#2563eb' } as const;

/** A two-column table of already escaped HTML: a label and its value per row. */
export function keyValueTable(rows: readonly (readonly [string, string])[]): string {
  const body = rows.map(([key, value]) => `<tr><th scope="row">${key}</th><td>${value}</td></tr>`).join('');
  return `<table class="data kv"><tbody>${body}</tbody></table>`;
}

function classLabels(result: JobResult, count: number): string[] {
  return Array.from({ length: count }, (_, i) => classLabel(result.classNames, i));
}

/** Background colour of a confusion cell: blue for right answers, red for mistakes, stronger for a larger row share. */
function cellStyle(share: number, correct: boolean): string {
  const alpha = Math.round(Math.min(1, Math.max(0, share)) * 100) / 100;
  const rgb = correct ? '37,99,235' : '220,38,38';
  return `background:rgba(${rgb},${alpha});color:${alpha > 0.55 ? '#fff' : '#0f172a'}`;
}

/**
 * One confusion matrix as an HTML table: a row per true class, a column per
 * predicted class, each cell shaded by its share of the row.
 */
export function confusionTable(
  confusion: readonly (readonly number[])[],
  labels: readonly string[],
  who: string,
): string {
  const head = labels.map((l) => `<th scope="col">${escapeHtml(l)}</th>`).join('');
  const rows = confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    const trueLabel = labels[t] ?? String(t);
    const cells = row.map((count, p) => {
      const share = total > 0 ? count / total : 0;
      const tip = `true ${trueLabel}, predicted ${labels[p] ?? String(p)}: ${count} of ${total} (${formatPercent(share, 1)})`;
      return `<td${count === 0 ? ' class="zero"' : ''} style="${cellStyle(share, p === t)}" title="${escapeHtml(tip)}">${count}</td>`;
    });
    return `<tr><th scope="row">${escapeHtml(trueLabel)}</th>${cells.join('')}<td class="total">${formatCount(total)}</td></tr>`;
  });
  return (
    `<table class="confusion" data-model="${escapeHtml(who)}">` +
    `<thead><tr><th class="corner">true \\ predicted</th>${head}<th class="total">images</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

/** Per-class accuracy of both models as grouped bars, then their confusion matrices side by side. */
export function perClassSection(result: JobResult): string {
  const evaluation = result.evaluation;
  const heading = '<h2>Accuracy per class</h2>';
  if (!evaluation) {
    return `<section id="per-class">${heading}<p class="note">Accuracy per class and confusion matrices need a labelled test set, and none was given for this run.</p></section>`;
  }
  const k = Math.max(evaluation.teacher.perClassAccuracy.length, evaluation.student.perClassAccuracy.length);
  const labels = classLabels(result, k);
  const chart = barChart(
    labels,
    [
      { name: 'teacher', color: COLORS.teacher, values: evaluation.teacher.perClassAccuracy },
      { name: 'student', color: COLORS.student, values: evaluation.student.perClassAccuracy },
    ],
    {
      title: 'Accuracy per class, teacher and student',
      xLabel: 'Class',
      yLabel: 'Accuracy',
      format: (v) => formatPercent(v, 1),
      clamp: [0, 1],
    },
  );
  return (
    // A heading and its first figure stay on one printed page (class "keep").
    `<section id="per-class"><div class="keep">${heading}` +
    `<p class="note">Share of the test images of each class that each model labels correctly (${formatCount(evaluation.count)} images from ${escapeHtml(evaluation.dataset)}).</p>` +
    `<figure>${chart}</figure></div>` +
    '<h3>Confusion matrices</h3>' +
    '<p class="note">Each row is the true class and each column the class the model chose. Blue cells are right answers, red cells mistakes; the stronger the colour, the larger the share of that row.</p>' +
    '<div class="matrices">' +
    `<figure><figcaption>Teacher</figcaption>${confusionTable(evaluation.teacher.confusion, labels, 'teacher')}</figure>` +
    `<figure><figcaption>Student</figcaption>${confusionTable(evaluation.student.confusion, labels, 'student')}</figure>` +
    '</div></section>'
  );
}

/** The distillation loss and the tracked metric per epoch, as two line charts. */
export function curvesSection(result: JobResult): string {
  const d = result.distillation;
  const loss = lineChart([{ name: 'loss', color: COLORS.loss, values: d.lossPerEpoch }], {
    title: 'Distillation loss per epoch',
    xLabel: 'Epoch',
    yLabel: 'Distillation loss',
    format: (v) => formatNumber(v, 3),
    fromZero: true,
  });
  const metric = lineChart([{ name: d.metricName, color: COLORS.metric, values: d.metricPerEpoch }], {
    title: `${d.metricName} per epoch`,
    xLabel: 'Epoch',
    yLabel: d.metricName,
    format: (v) => formatPercent(v, 0),
    clamp: [0, 1],
  });
  const resumed =
    d.resumedFromEpoch > 0
      ? ` The job was stopped and resumed after epoch ${d.resumedFromEpoch}; earlier epochs were kept.`
      : '';
  return (
    '<section id="curves" class="keep"><h2>Distillation</h2>' +
    `<p class="note">${formatCount(d.lossPerEpoch.length)} epochs in ${escapeHtml(formatDuration(d.seconds))}. ` +
    `The loss measures how far the student's answers are from the teacher's on the transfer set (lower is better); ` +
    `the ${escapeHtml(d.metricName)} is measured after each epoch (higher is better).${resumed}</p>` +
    `<div class="charts-2"><figure><figcaption>Loss per epoch</figcaption>${loss}</figure>` +
    `<figure><figcaption>${escapeHtml(d.metricName)} per epoch</figcaption>${metric}</figure></div></section>`
  );
}

/** True when `text` can go into a data: URI as base64 without escaping anything. */
function isBase64(text: string): boolean {
  return text.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}

/** The sample grid as an embedded PNG, each row labelled with its class; a note when there is no image. */
function sampleGrid(result: JobResult, gridPngBase64: string | undefined): string {
  const t = result.transferSet;
  if (gridPngBase64 === undefined || !isBase64(gridPngBase64)) {
    return `<p class="note">The sample image (${escapeHtml(t.grid)}) was not found in the run folder.</p>`;
  }
  const labels = classLabels(result, t.classHistogram.length)
    .map((l) => `<span title="${escapeHtml(l)}"><span>${escapeHtml(shorten(l, 22))}</span></span>`)
    .join('');
  return (
    '<figure class="samples"><figcaption>Sample images: one row per class, as the teacher labels them (dark grey cells: the class had fewer images)</figcaption>' +
    `<div class="grid-figure"><div class="grid-labels">${labels}</div>` +
    `<img alt="Sample images of the transfer set, one row per class" src="data:image/png;base64,${gridPngBase64}"></div></figure>`
  );
}

/** What the synthesized transfer set looks like to the teacher: size, classes, confidence, samples. */
export function transferSetSection(result: JobResult, gridPngBase64: string | undefined): string {
  const t = result.transferSet;
  const labels = classLabels(result, t.classHistogram.length);
  const dominant = `${escapeHtml(classLabel(result.classNames, t.dominantClass))} (${formatPercent(t.dominantFraction, 1)} of the images)`;
  const collapse = t.collapsed
    ? `<p class="warning"><strong>The transfer set collapsed:</strong> ${formatPercent(t.dominantFraction, 1)} of the images are class ` +
      `${escapeHtml(classLabel(result.classNames, t.dominantClass))} to the teacher, so the student saw few examples of the other classes.</p>`
    : '';
  const stats = keyValueTable([
    ['Images synthesized', formatCount(t.count)],
    ['Mean confidence of the teacher (top-1 probability)', formatPercent(t.meanTop1)],
    ['Most frequent class', dominant],
    // In rounds, synthesis runs beside training: its time is summed over the shards made.
    [
      result.rounds ? 'Synthesis time (summed over shards, beside training)' : 'Synthesis time',
      escapeHtml(formatDuration(t.synthesisSeconds)),
    ],
    ['Speed', `${formatNumber(t.samplesPerSecond, 1)} images/s${result.rounds ? ' over the whole run' : ''}`],
  ]);
  const metrics = Object.entries(t.metrics);
  const metricTable =
    metrics.length > 0
      ? `<h3>Method metrics (mean over batches)</h3>${keyValueTable(metrics.map(([k, v]) => [escapeHtml(k), formatNumber(v)]))}`
      : '';
  const histogram = barChart(labels, [{ name: 'images', color: COLORS.student, values: t.classHistogram }], {
    title: 'Images per class in the transfer set',
    xLabel: 'Class the teacher assigns',
    yLabel: 'Images',
    format: (v) => formatCount(v),
    // The same size as the line charts: it sits in half the page width too.
    width: 560,
    height: 280,
  });
  return (
    '<section id="transfer-set"><div class="keep"><h2>Transfer set</h2>' +
    '<p class="note">The images the student learned from, synthesized from the teacher alone (no training data).</p>' +
    collapse +
    `<div class="charts-2"><div>${stats}${metricTable}</div><figure><figcaption>Images per class</figcaption>${histogram}</figure></div></div>` +
    sampleGrid(result, gridPngBase64) +
    '</section>'
  );
}
