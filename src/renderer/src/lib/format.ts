/** Formatting for the UI; the report's formatters are reused so numbers read the same everywhere. */
export {
  formatBudget,
  formatBytes,
  formatCompact,
  formatPercent,
  formatSeconds,
  formatMs,
  formatRatio,
  formatDate,
} from '../../../shared/report/format.js';

/** "12 s", "3 min 20 s", "1 h 5 min" for an ETA; "—" when unknown. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export const STAGE_WORDS: Record<string, string> = {
  prepare: 'Preparing',
  synthesize: 'Synthesizing the transfer set',
  distill: 'Training the student',
  rounds: 'Making images and training the student in rounds',
  evaluate: 'Evaluating',
  report: 'Writing the report',
};

export const STATUS_WORDS: Record<string, string> = {
  running: 'Running',
  done: 'Finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
};
