/**
 * Left only for SetupPanel.svelte until it is split into its parts (issue 12): the app's
 * numbers are written by src/shared/format.ts, and its words live in words.ts.
 */
import { formatCount } from '../../../shared/format.js';

export { formatBytes } from '../../../shared/format.js';

/** Parameters and FLOPs, compact: 61706 -> "61.7k". */
export function formatCompact(value: number | null | undefined): string {
  return formatCount(value, { compact: true });
}
