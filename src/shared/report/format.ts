/**
 * Text helpers of the HTML report: escaping and numbers written for people.
 * Pure TypeScript (no Node, no DOM), so the app's renderer can use them too.
 * Every formatter returns "n/a" for a missing or non-finite number instead
 * of printing "NaN" or "Infinity" to a reader.
 */

/** What a reader sees where a number is missing or not finite. */
export const NOT_AVAILABLE = 'n/a';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for HTML element content and for double- or single-quoted
 * attribute values. Every string taken from a job result (paths, class
 * names, settings, warnings) goes through this before it reaches the page.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

function missing(value: number | null | undefined): value is null | undefined {
  return value === null || value === undefined || !Number.isFinite(value);
}

/** A fraction as a percentage: 0.98934 -> "98.93%". */
export function formatPercent(fraction: number | null | undefined, digits = 2): string {
  return missing(fraction) ? NOT_AVAILABLE : `${(fraction * 100).toFixed(digits)}%`;
}

/** An integer with thousands separators, independent of the reader's locale: 10000 -> "10,000". */
export function formatInteger(value: number | null | undefined): string {
  if (missing(value)) return NOT_AVAILABLE;
  const digits = Math.round(Math.abs(value)).toString();
  return (value < 0 ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const COMPACT_UNITS = [
  { size: 1e12, suffix: 'T' },
  { size: 1e9, suffix: 'G' },
  { size: 1e6, suffix: 'M' },
  { size: 1e3, suffix: 'k' },
] as const;

/** A large count with a metric suffix and 3 significant digits: 61706 -> "61.7k", 4.2e6 -> "4.2M". */
export function formatCompact(value: number | null | undefined): string {
  if (missing(value)) return NOT_AVAILABLE;
  const abs = Math.abs(value);
  for (const unit of COMPACT_UNITS) {
    // Round first, so 999,950 becomes "1M" and not "1000k".
    if (Number(abs.toPrecision(3)) >= unit.size)
      return `${trimZeros((value / unit.size).toPrecision(3))}${unit.suffix}`;
  }
  return Number.isInteger(value) ? String(value) : trimZeros(value.toPrecision(3));
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A file size in binary units: 1536 -> "1.5 KiB", 250 -> "250 B". */
export function formatBytes(bytes: number | null | undefined): string {
  if (missing(bytes)) return NOT_AVAILABLE;
  if (Math.abs(bytes) < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (Math.abs(value) >= 1023.95 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${BYTE_UNITS[unit] ?? 'B'}`;
}

/** A short time in milliseconds with about 3 significant digits: "0.412 ms", "3.21 ms", "1.25 s". */
export function formatMs(ms: number | null | undefined): string {
  if (missing(ms)) return NOT_AVAILABLE;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

/** A duration in words: 42.3 -> "42.3 s", 192 -> "3 min 12 s", 3900 -> "1 h 5 min". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (missing(seconds)) return NOT_AVAILABLE;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

/**
 * A time budget as people set it, without zero parts: 20 -> "20 s", 90 -> "1 min 30 s",
 * 300 -> "5 min", 3600 -> "1 h", 5400 -> "1 h 30 min" (seconds are dropped from an hour on).
 */
export function formatBudget(seconds: number | null | undefined): string {
  if (missing(seconds)) return NOT_AVAILABLE;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return s > 0 ? `${m} min ${s} s` : `${m} min`;
}

/** A plain number with at most `digits` decimals and no trailing zeros: 0.00100 -> "0.001". */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (missing(value)) return NOT_AVAILABLE;
  if (value !== 0 && Math.abs(value) < 10 ** -digits) return value.toExponential(2);
  return trimZeros(value.toFixed(digits));
}

/** A ratio such as a compression factor: 4.02 -> "4x", 3.46 -> "3.5x", 12.4 -> "12x". */
export function formatRatio(ratio: number | null | undefined): string {
  if (missing(ratio)) return NOT_AVAILABLE;
  return `${ratio >= 10 ? ratio.toFixed(0) : trimZeros(ratio.toFixed(1))}x`;
}

/**
 * An ISO timestamp as "2025-03-14 10:22 UTC": the same text on every
 * machine and in every locale, so a printed report can be compared.
 */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`
  );
}

/** The name of class `index`: the given name when there is one, else its number. */
export function classLabel(classNames: readonly string[] | undefined, index: number): string {
  return classNames?.[index] ?? String(index);
}

/** Shortens a label to `max` characters with an ellipsis (before escaping, so entities stay whole). */
export function shorten(label: string, max: number): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

function trimZeros(text: string): string {
  return text.includes('.') && !text.includes('e') ? text.replace(/\.?0+$/, '') : text;
}
