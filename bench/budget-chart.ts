/**
 * Draws the accuracy-versus-time curves of bench/results/budget-<dataset>.json
 * as an SVG for the README: one line per run, x = minutes, y = the student's
 * test accuracy after each round, the teacher's accuracy as a dashed line.
 *
 *   node --import tsx bench/budget-chart.ts --dataset mnist [--run KEY --run KEY ...]
 *
 * --label TEXT (once per --run, in the same order) names a run in the legend instead of its
 * settings, and --out FILE writes elsewhere than bench/results/budget-<dataset>.svg.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { escapeHtml } from '../src/shared/report/text.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mnist' },
    run: { type: 'string', multiple: true },
    label: { type: 'string', multiple: true },
    out: { type: 'string' },
  },
});
interface Run {
  key: string;
  settings: string;
  workers: number;
  budgetSeconds: number;
  finalAccuracy: number;
  curve: { seconds: number; accuracy: number | null }[];
}
/** A run's settings, shorter: the prototype's synthesis (no priors, normal start) named as such. */
const label = (settings: string): string =>
  settings.replace('tv=0,l2=0,jitter=0,init=normal', 'no priors').replace(/,/g, ', ');
const file = `bench/results/budget-${values.dataset}.json`;
const data = JSON.parse(readFileSync(file, 'utf8')) as { teacherAccuracy: number; runs: Run[] };
// Keys contain commas, so each run is its own --run option.
// In the order of --run when given (the legend's order), else the file's.
const runs = values.run?.length
  ? values.run.flatMap((key) => data.runs.filter((r) => r.key === key))
  : data.runs;
if (values.label && values.label.length !== (values.run?.length ?? 0)) {
  throw new Error(
    `--label is given ${values.label.length} times for ${values.run?.length ?? 0} --run: give one per run`,
  );
}
const missing = values.run?.filter((key) => !runs.some((r) => r.key === key)) ?? [];
if (missing.length > 0) throw new Error(`no run with key ${missing.join(', ')} in ${file}`);
/** The legend's name of a run: its --label, else its settings. */
const nameOf = (run: Run): string => {
  const at = values.run?.indexOf(run.key) ?? -1;
  return at >= 0 && values.label
    ? values.label[at]!
    : `${label(run.settings)}${run.workers > 1 ? '' : ', 1 core'}`;
};

const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];
const width = 760;
const height = 420;
const frame = { left: 56, right: 16, top: 16, bottom: 44 };
const legendRow = 18;
const plotHeight = height - frame.top - frame.bottom;
const plotWidth = width - frame.left - frame.right;
const maxMinutes = Math.max(...runs.map((r) => r.budgetSeconds / 60), 1);
const x = (seconds: number): number => frame.left + (seconds / 60 / maxMinutes) * plotWidth;
const y = (accuracy: number): number => frame.top + (1 - accuracy) * plotHeight;
const f = (v: number): string => v.toFixed(1);

const parts: string[] = [];
for (let a = 0; a <= 10; a += 2) {
  const yy = y(a / 10);
  parts.push(
    `<line x1="${frame.left}" x2="${width - frame.right}" y1="${f(yy)}" y2="${f(yy)}" stroke="#ddd"/>`,
  );
  parts.push(
    `<text x="${frame.left - 6}" y="${f(yy + 4)}" text-anchor="end" font-size="11">${a * 10}%</text>`,
  );
}
for (let m = 0; m <= maxMinutes; m += maxMinutes > 20 ? 5 : maxMinutes > 6 ? 3 : 1) {
  parts.push(
    `<text x="${f(x(m * 60))}" y="${height - frame.bottom + 16}" text-anchor="middle" font-size="11">${m}</text>`,
  );
}
parts.push(
  `<text x="${frame.left + plotWidth / 2}" y="${height - 6}" text-anchor="middle" font-size="12">minutes (wall time)</text>`,
);
parts.push(
  `<line x1="${frame.left}" x2="${width - frame.right}" y1="${f(y(data.teacherAccuracy))}" y2="${f(y(data.teacherAccuracy))}" stroke="#000" stroke-dasharray="5 4"/>`,
  `<text x="${frame.left + 4}" y="${f(y(data.teacherAccuracy) - 4)}" font-size="11">teacher ${(data.teacherAccuracy * 100).toFixed(2)}%</text>`,
);
// The curves, then the legend on a white ground over them (a curve passing under it does not
// cross its text).
const legend = [
  `<rect x="${f(frame.left + plotWidth * 0.3 - 6)}" y="${f(frame.top + plotHeight - runs.length * legendRow - 10)}" width="${f(plotWidth * 0.7)}" height="${runs.length * legendRow + 4}" fill="#fff" fill-opacity="0.85"/>`,
];
runs.forEach((run, i) => {
  const color = COLORS[i % COLORS.length]!;
  const points = run.curve
    .filter((p) => p.accuracy !== null)
    .map((p) => `${f(x(p.seconds))},${f(y(p.accuracy!))}`)
    .join(' ');
  parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`);
  const ly = frame.top + plotHeight - (runs.length - i) * legendRow;
  legend.push(
    `<line x1="${frame.left + plotWidth * 0.3}" x2="${frame.left + plotWidth * 0.3 + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
    `<text x="${frame.left + plotWidth * 0.3 + 24}" y="${ly + 4}" font-size="11">${escapeHtml(
      `${nameOf(run)}: ${(run.finalAccuracy * 100).toFixed(2)}%`,
    )}</text>`,
  );
});
parts.push(...legend);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
const out = values.out ?? `bench/results/budget-${values.dataset}.svg`;
await writeFileAtomic(out, svg);
console.log(`${out}: ${runs.length} runs`);
