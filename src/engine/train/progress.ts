/**
 * Tracks rate and time left of a long loop, so every stage reports
 * progress the same way (the command line's bar, the app's charts).
 */
export class RateMeter {
  private readonly startedAt = performance.now();

  constructor(private readonly total: number) {}

  /** Items per second since the start. */
  rate(done: number): number {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return seconds > 0 ? done / seconds : 0;
  }

  /** Seconds left at the average rate so far (Infinity before any progress). */
  etaSeconds(done: number): number {
    const rate = this.rate(done);
    return rate > 0 ? Math.max(0, (this.total - done) / rate) : Infinity;
  }

  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
}
