/**
 * Durations as people write them: "90s", "15m", "1h", "1h30m", "2.5m", or a
 * plain number of seconds. Returns seconds, or null when the text is not a
 * duration (callers say what is expected).
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const parts = /^(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)s)?$/.exec(
    trimmed,
  );
  if (!parts || trimmed === '' || (parts[1] ?? parts[2] ?? parts[3]) === undefined) return null;
  return Number(parts[1] ?? 0) * 3600 + Number(parts[2] ?? 0) * 60 + Number(parts[3] ?? 0);
}

/**
 * Seconds as the shortest flag value parseDuration reads back: 900 -> "15m", 5400 -> "1h30m",
 * 90 -> "90s" (for the command line's options and their help; durations for people are written
 * by formatDuration in format.ts).
 */
export function formatDurationFlag(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole !== seconds || whole < 60 || whole % 60 !== 0) return `${seconds}s`;
  const h = Math.floor(whole / 3600);
  const m = (whole % 3600) / 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}`;
}
