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
