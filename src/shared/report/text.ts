/**
 * Text helpers of the HTML report: escaping and labels. Numbers are written
 * by src/shared/format.ts, the formatters the command line and the app use too.
 */

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

/** The name of class `index`: the given name when there is one, else its number. */
export function classLabel(classNames: readonly string[] | undefined, index: number): string {
  return classNames?.[index] ?? String(index);
}

/** Shortens a label to `max` characters with an ellipsis (before escaping, so entities stay whole). */
export function shorten(label: string, max: number): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}
