import { formatCount, formatDuration } from '../shared/format.js';

/** Where progress is drawn: the terminal (stderr) in practice, a buffer in tests. */
export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** What a long task reports at each update. */
export interface ProgressUpdate {
  done: number;
  total: number;
  /** Items per second. */
  rate?: number;
  /** Unit of `rate`, e.g. "img/s". */
  unit?: string;
  etaSeconds?: number;
  /** Short extra text, e.g. "loss 0.231". */
  detail?: string;
}

/**
 * A one-line progress bar with rate and ETA. On a terminal it redraws in
 * place (at most 10 times a second); elsewhere (CI logs, pipes) it prints a
 * plain line at every 10% so logs stay readable.
 */
export class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly sink: ProgressSink,
  ) {}

  update(update: ProgressUpdate): void {
    const fraction = update.total > 0 ? Math.min(1, update.done / update.total) : 0;
    if (this.sink.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && fraction < 1) return;
      this.lastDraw = now;
      this.sink.write(`\r${this.render(update, fraction)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile === this.lastDecile) return;
    this.lastDecile = decile;
    this.sink.write(`${this.render(update, fraction)}\n`);
  }

  /** Ends the bar's line so that later output starts on a fresh one. */
  finish(): void {
    if (this.sink.isTTY && this.drawn) this.sink.write('\n');
    this.drawn = false;
  }

  private render(update: ProgressUpdate, fraction: number): string {
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const parts = [
      this.label,
      bar,
      `${(fraction * 100).toFixed(0).padStart(3)}%`,
      `${update.done}/${update.total}`,
    ];
    if (update.rate !== undefined) parts.push(`${formatRate(update.rate)} ${update.unit ?? 'it/s'}`);
    if (update.etaSeconds !== undefined)
      parts.push(`ETA ${formatDuration(update.etaSeconds, { whole: true })}`);
    if (update.detail) parts.push(update.detail);
    return parts.join(' ');
  }
}

/** Items per second: "1,235" from 100 on, "12.3" below. */
function formatRate(rate: number): string {
  return rate >= 100 ? formatCount(rate) : rate.toFixed(1);
}
