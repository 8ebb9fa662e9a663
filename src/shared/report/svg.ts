import { escapeHtml, shorten } from './text.js';

/**
 * Inline SVG charts for the HTML report: grouped bars and line charts with
 * axes, tick labels and a legend. They are strings with no scripts and no
 * external references, drawn in a fixed viewBox and scaled by the page, so
 * they work under a `default-src 'none'` CSP and print sharply. They are
 * meant for inline use in HTML, where no xmlns is needed (and the page has
 * no "http" text at all). All text is escaped here; callers pass plain strings.
 */

/** One named series of a chart; null or non-finite values are not drawn. */
export interface ChartSeries {
  /** Shown in the legend and tooltips; also written to `data-series` on each mark. */
  name: string;
  color: string;
  values: readonly (number | null)[];
}

/** What the two chart kinds share: size, axis titles and how values are written. */
export interface ChartOptions {
  /** Read by screen readers (aria-label). */
  title: string;
  xLabel: string;
  yLabel: string;
  /** Tick labels and tooltips on the value axis. */
  format: (value: number) => string;
  /** Bounds the value axis may not pass, e.g. [0, 1] for fractions. */
  clamp?: readonly [number, number];
  /** Start the value axis at zero even when every value is larger. */
  fromZero?: boolean;
  width?: number;
  height?: number;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';
const AXIS_COLOR = '#475569';
const GRID_COLOR = '#e2e8f0';

/** Rounds a coordinate to 0.1 so the markup stays short. */
const r = (v: number): string => String(Math.round(v * 10) / 10);

/**
 * Evenly spaced round tick values covering [min, max], about `target` of
 * them, with steps of 1, 2 or 5 times a power of ten.
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  let lo = min;
  let hi = max;
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const power = 10 ** Math.floor(Math.log10((hi - lo) / Math.max(1, target - 1)));
  // Of the round steps, the one whose tick count is closest to the target (the finer on a tie, which wastes less of the axis).
  const tickCount = (step: number): number => Math.ceil(hi / step - 1e-9) - Math.floor(lo / step + 1e-9) + 1;
  const step = [10, 5, 2, 1]
    .map((m) => m * power)
    .reduce((best, s) => (Math.abs(tickCount(s) - target) <= Math.abs(tickCount(best) - target) ? s : best));
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * (1 - 1e-9); v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** The value axis ticks for a set of values, widened to zero and clamped as asked. */
function valueTicks(values: readonly number[], options: ChartOptions): number[] {
  const lo = Math.min(...values, ...(options.fromZero ? [0] : []));
  const hi = Math.max(...values);
  let ticks = niceTicks(Number.isFinite(lo) ? lo : 0, Number.isFinite(hi) ? hi : 1);
  if (options.clamp) {
    const [cmin, cmax] = options.clamp;
    ticks = ticks.filter((t) => t >= cmin - 1e-9 && t <= cmax + 1e-9);
    if (ticks.length < 2) ticks = niceTicks(cmin, cmax);
  }
  return ticks;
}

function finiteValues(series: readonly ChartSeries[]): number[] {
  return series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
}

function yScale(ticks: readonly number[], frame: Frame): (v: number) => number {
  const lo = ticks[0] ?? 0;
  const hi = ticks[ticks.length - 1] ?? 1;
  const span = hi - lo || 1;
  return (v) => frame.height - frame.bottom - ((v - lo) / span) * (frame.height - frame.top - frame.bottom);
}

/** Horizontal grid lines with their labels, and the two axis titles. */
function axes(
  ticks: readonly number[],
  y: (v: number) => number,
  frame: Frame,
  options: ChartOptions,
): string {
  const x0 = frame.left;
  const x1 = frame.width - frame.right;
  const grid = ticks
    .map(
      (t) =>
        `<line x1="${r(x0)}" x2="${r(x1)}" y1="${r(y(t))}" y2="${r(y(t))}" stroke="${GRID_COLOR}"/>` +
        `<text x="${r(x0 - 6)}" y="${r(y(t) + 4)}" text-anchor="end" font-size="11" fill="${AXIS_COLOR}">${escapeHtml(options.format(t))}</text>`,
    )
    .join('');
  const base = frame.height - frame.bottom;
  const midY = (frame.top + base) / 2;
  return (
    grid +
    `<line x1="${r(x0)}" x2="${r(x1)}" y1="${r(base)}" y2="${r(base)}" stroke="${AXIS_COLOR}"/>` +
    `<line x1="${r(x0)}" x2="${r(x0)}" y1="${r(frame.top)}" y2="${r(base)}" stroke="${AXIS_COLOR}"/>` +
    `<text x="${r((x0 + x1) / 2)}" y="${r(frame.height - 6)}" text-anchor="middle" font-size="12" fill="${AXIS_COLOR}">${escapeHtml(options.xLabel)}</text>` +
    `<text transform="translate(14 ${r(midY)}) rotate(-90)" text-anchor="middle" font-size="12" fill="${AXIS_COLOR}">${escapeHtml(options.yLabel)}</text>`
  );
}

/** Colour swatches with names along the top right of the plot. */
function legend(series: readonly ChartSeries[], frame: Frame): string {
  if (series.length < 2) return '';
  let x = frame.width - frame.right;
  return series
    .slice()
    .reverse()
    .map((s) => {
      const textWidth = s.name.length * 7 + 8;
      x -= textWidth + 14;
      return (
        `<rect x="${r(x)}" y="4" width="10" height="10" fill="${s.color}"/>` +
        `<text x="${r(x + 14)}" y="13" font-size="12" fill="#0f172a">${escapeHtml(s.name)}</text>`
      );
    })
    .join('');
}

function svgOpen(frame: Frame, title: string, kind: string): string {
  return (
    `<svg class="chart" data-chart="${kind}" viewBox="0 0 ${frame.width} ${frame.height}" role="img" ` +
    `aria-label="${escapeHtml(title)}" ${FONT}>`
  );
}

/** Labels under the bar groups, turned slanted when they would not fit side by side. */
function categoryLabels(labels: readonly string[], groupWidth: number, frame: Frame): string {
  const longest = Math.max(...labels.map((l) => l.length), 1);
  const slanted = longest * 6.5 > groupWidth - 4;
  const y = frame.height - frame.bottom + 16;
  return labels
    .map((label, i) => {
      const x = frame.left + groupWidth * (i + 0.5);
      const text = escapeHtml(shorten(label, 16));
      return slanted
        ? `<text transform="translate(${r(x + 3)} ${r(y - 6)}) rotate(-35)" text-anchor="end" font-size="11" fill="#0f172a">${text}</text>`
        : `<text x="${r(x)}" y="${r(y)}" text-anchor="middle" font-size="11" fill="#0f172a">${text}</text>`;
    })
    .join('');
}

/**
 * Grouped vertical bars: one group per label, one bar per series in each
 * group. Each bar carries `data-series` and `data-index` and a tooltip; its
 * value is written above it when the bar is wide enough to hold the text.
 */
export function barChart(
  labels: readonly string[],
  series: readonly ChartSeries[],
  options: ChartOptions,
): string {
  const longest = Math.max(...labels.map((l) => Math.min(16, l.length)), 1);
  const frame: Frame = {
    width: options.width ?? 960,
    height: options.height ?? 300,
    left: 62,
    right: 12,
    top: 24,
    bottom: 40 + (labels.length > 12 || longest > 8 ? Math.min(16, longest) * 4 : 0),
  };
  const values = finiteValues(series);
  const ticks = valueTicks(values.length > 0 ? values : [0, 1], { ...options, fromZero: true });
  const y = yScale(ticks, frame);
  const groupWidth = (frame.width - frame.left - frame.right) / Math.max(1, labels.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, series.length);
  const base = frame.height - frame.bottom;
  const bars = labels.flatMap((label, i) =>
    series.map((s, j) => {
      const value = s.values[i];
      if (value === null || value === undefined || !Number.isFinite(value)) return '';
      const x = frame.left + groupWidth * i + groupWidth * 0.1 + barWidth * j;
      const top = Math.min(base, y(value));
      const tip = `${label}, ${s.name}: ${options.format(value)}`;
      const text =
        barWidth >= 26
          ? `<text x="${r(x + barWidth / 2)}" y="${r(top - 3)}" text-anchor="middle" font-size="9.5" fill="#334155">${escapeHtml(options.format(value))}</text>`
          : '';
      return (
        `<rect class="bar" data-series="${escapeHtml(s.name)}" data-index="${i}" x="${r(x)}" y="${r(top)}" ` +
        `width="${r(barWidth)}" height="${r(base - top)}" fill="${s.color}"><title>${escapeHtml(tip)}</title></rect>${text}`
      );
    }),
  );
  return (
    svgOpen(frame, options.title, 'bars') +
    axes(ticks, y, frame, options) +
    bars.join('') +
    categoryLabels(labels, groupWidth, frame) +
    legend(series, frame) +
    '</svg>'
  );
}

/** SVG path data through the finite points of a series, broken where values are missing. */
function linePath(
  values: readonly (number | null)[],
  x: (i: number) => number,
  y: (v: number) => number,
): string {
  let path = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    path += `${pen ? 'L' : 'M'}${r(x(i))} ${r(y(v))}`;
    pen = true;
  });
  return path;
}

/** Tick marks and numbers along the epoch axis (1-based), at most about eight of them. */
function epochTicks(count: number, x: (i: number) => number, frame: Frame): string {
  const base = frame.height - frame.bottom;
  return niceTicks(1, Math.max(2, count), 8)
    .filter((t) => Number.isInteger(t) && t >= 1 && t <= Math.max(1, count))
    .map((t) => tickMark(x(t - 1), base, String(t)))
    .join('');
}

function tickMark(x: number, base: number, label: string): string {
  return (
    `<line x1="${r(x)}" x2="${r(x)}" y1="${r(base)}" y2="${r(base + 4)}" stroke="${AXIS_COLOR}"/>` +
    `<text x="${r(x)}" y="${r(base + 16)}" text-anchor="middle" font-size="11" fill="${AXIS_COLOR}">${escapeHtml(label)}</text>`
  );
}

/**
 * Where the values of a line chart sit along a measured axis (e.g. minutes)
 * instead of at epochs 1..n: a position per value, the axis end, and an
 * optional dashed mark such as a time budget.
 */
export interface MeasuredAxis {
  positions: readonly number[];
  max: number;
  format: (value: number) => string;
  mark?: { at: number; label: string };
}

/** Ticks of a measured axis from 0 to its end, and its dashed mark. */
function measuredTicks(axis: MeasuredAxis, x: (position: number) => number, frame: Frame): string {
  const base = frame.height - frame.bottom;
  const ticks = niceTicks(0, axis.max, 7).filter((t) => t >= 0 && t <= axis.max * (1 + 1e-9));
  const mark = axis.mark
    ? `<line class="mark" x1="${r(x(axis.mark.at))}" x2="${r(x(axis.mark.at))}" y1="${r(frame.top)}" y2="${r(base)}" stroke="${AXIS_COLOR}" stroke-dasharray="4 3"/>` +
      `<text x="${r(x(axis.mark.at) - 4)}" y="${r(frame.top + 10)}" text-anchor="end" font-size="11" fill="${AXIS_COLOR}">${escapeHtml(axis.mark.label)}</text>`
    : '';
  return ticks.map((t) => tickMark(x(t), base, axis.format(t))).join('') + mark;
}

/**
 * A line chart over epochs 1..n, or along a measured axis (`axis`, e.g. time):
 * one line per series, a dot per value (with a tooltip) when there are few
 * enough values to tell them apart.
 */
export function lineChart(
  series: readonly ChartSeries[],
  options: ChartOptions & {
    axis?: MeasuredAxis;
    /** Names value i in its tooltip (default "Epoch i+1"). */
    pointName?: (index: number) => string;
  },
): string {
  const frame: Frame = {
    width: options.width ?? 560,
    height: options.height ?? 280,
    left: 62,
    right: 16,
    top: 24,
    bottom: 44,
  };
  const count = Math.max(0, ...series.map((s) => s.values.length));
  const values = finiteValues(series);
  const ticks = valueTicks(values.length > 0 ? values : [0, 1], options);
  const y = yScale(ticks, frame);
  const plotWidth = frame.width - frame.left - frame.right;
  const { axis } = options;
  const along = (position: number): number => frame.left + (position / (axis?.max || 1)) * plotWidth;
  const x = axis
    ? (i: number): number => along(axis.positions[i] ?? 0)
    : (i: number): number => frame.left + (count > 1 ? (i / (count - 1)) * plotWidth : plotWidth / 2);
  const pointName = options.pointName ?? ((i: number): string => `Epoch ${i + 1}`);
  const lines = series.map((s) => {
    const dots =
      count <= 60
        ? s.values
            .map((v, i) =>
              v === null || !Number.isFinite(v)
                ? ''
                : `<circle data-series="${escapeHtml(s.name)}" cx="${r(x(i))}" cy="${r(y(v))}" r="3" fill="${s.color}">` +
                  `<title>${escapeHtml(`${pointName(i)}, ${s.name}: ${options.format(v)}`)}</title></circle>`,
            )
            .join('')
        : '';
    return `<path d="${linePath(s.values, x, y)}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
  });
  return (
    svgOpen(frame, options.title, axis ? 'measured-line' : 'line') +
    axes(ticks, y, frame, options) +
    (axis ? measuredTicks(axis, along, frame) : epochTicks(count, x, frame)) +
    lines.join('') +
    legend(series, frame) +
    '</svg>'
  );
}
