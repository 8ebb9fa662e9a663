/**
 * Numbers written for people: the one formatter each for durations, counts
 * and bytes (and percentages, ratios, plain numbers and dates), used by the
 * command line, the app and the report, so a figure reads the same in all
 * three. Pure TypeScript, independent of the reader's locale. Every
 * formatter returns "n/a" for a missing or non-finite number instead of
 * printing "NaN" or "Infinity" to a reader.
 */

/** What a reader sees where a number is missing or not finite. */
export const NOT_AVAILABLE = 'n/a';

function missing(value: number | null | undefined): value is null | undefined {
  return value === null || value === undefined || !Number.isFinite(value);
}

/** Drops the zeros after a decimal point: "1.50" -> "1.5", "3.00" -> "3". */
function trimZeros(text: string): string {
  return text.includes('.') && !text.includes('e') ? text.replace(/\.?0+$/, '') : text;
}

/** 3 significant digits, or the whole number when that is what they round to: 0.92 -> "0.920", 19.999 -> "20". */
function significant(value: number): string {
  const text = value.toPrecision(3);
  return Number.isInteger(Number(text)) ? String(Number(text)) : text;
}

/** How `formatDuration` writes a duration under a minute. */
export interface DurationOptions {
  /** Whole seconds ("12 s" rather than "12.3 s"), for clocks and estimates that tick. */
  whole?: boolean;
}

/**
 * A duration in seconds, in words: under a second in milliseconds with 3
 * significant digits ("0.412 ms", "3.20 ms", "412 ms"), under a minute in
 * seconds with 3 significant digits ("1.25 s", "42.3 s", "20 s"), then in
 * minutes and seconds ("3 min 12 s", "5 min") and from an hour on in hours
 * and minutes ("1 h 5 min", "2 h"); zero parts are left out. A negative
 * duration (an estimate that ran over) is written as 0.
 */
export function formatDuration(seconds: number | null | undefined, options: DurationOptions = {}): string {
  if (missing(seconds)) return NOT_AVAILABLE;
  const value = options.whole ? Math.round(Math.max(0, seconds)) : Math.max(0, seconds);
  // Each branch rounds first, so 0.99996 s is "1 s" (not "1000 ms") and 59.96 s is "1 min".
  // Three significant digits stay three ("0.920 ms" beside "1.84 ms" in a table), but a whole
  // number is written whole ("20 s", "100 ms"), and under a millisecond three decimals at most.
  if (value > 0 && Number(value.toPrecision(3)) < 1) {
    const ms = value * 1000;
    return `${ms < 1 ? ms.toFixed(3) : significant(ms)} ms`;
  }
  if (Number(value.toPrecision(3)) < 60) return `${significant(value)} s`;
  const whole = Math.round(value);
  if (whole < 3600) {
    const s = whole % 60;
    return s > 0 ? `${Math.floor(whole / 60)} min ${s} s` : `${whole / 60} min`;
  }
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  return m > 0 ? `${h} h ${m} min` : `${h} h`;
}

/** How `formatCount` writes a count. */
export interface CountOptions {
  /** 3 significant digits and a metric suffix ("61.7k", "4.2M"), for parameters and FLOPs. */
  compact?: boolean;
}

const COMPACT_UNITS = [
  { size: 1e12, suffix: 'T' },
  { size: 1e9, suffix: 'G' },
  { size: 1e6, suffix: 'M' },
  { size: 1e3, suffix: 'k' },
] as const;

/**
 * A count: exact, rounded to a whole number, with thousands separators
 * ("10,000"); or, with `compact`, in 3 significant digits with a k/M/G/T
 * suffix ("61.7k", "11.2M", "950").
 */
export function formatCount(value: number | null | undefined, options: CountOptions = {}): string {
  if (missing(value)) return NOT_AVAILABLE;
  if (!options.compact) {
    const digits = Math.round(Math.abs(value)).toString();
    return (value <= -0.5 ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  const abs = Math.abs(value);
  for (const unit of COMPACT_UNITS) {
    // Round first, so 999,950 becomes "1M" and not "1000k".
    if (Number(abs.toPrecision(3)) >= unit.size)
      return `${trimZeros((value / unit.size).toPrecision(3))}${unit.suffix}`;
  }
  return Number.isInteger(value) ? String(value) : trimZeros(value.toPrecision(3));
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * A size in bytes, in binary units with one decimal at most: 250 -> "250 B",
 * 1536 -> "1.5 KiB", 33554432 -> "32 MiB", 2^30 -> "1 GiB".
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (missing(bytes)) return NOT_AVAILABLE;
  if (Math.abs(bytes) < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (Math.abs(value) >= 1023.95 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${trimZeros(value.toFixed(1))} ${BYTE_UNITS[unit] ?? 'B'}`;
}

/** A fraction as a percentage: 0.98934 -> "98.93%". */
export function formatPercent(fraction: number | null | undefined, digits = 2): string {
  return missing(fraction) ? NOT_AVAILABLE : `${(fraction * 100).toFixed(digits)}%`;
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
