import type { JobEvent } from '../../shared/job.js';

/**
 * Passes job events on, holding progress events back to about ten a second
 * (the latest wins); any other event first flushes a held progress event so
 * the order stays true.
 */
export class EventThrottle {
  private held: JobEvent | undefined;
  private lastSent = 0;

  constructor(
    private readonly send: (event: JobEvent) => void,
    private readonly intervalMs = 100,
  ) {}

  emit(event: JobEvent): void {
    if (event.type !== 'progress') {
      this.flush();
      this.send(event);
      return;
    }
    const now = Date.now();
    if (now - this.lastSent >= this.intervalMs || event.step >= event.total) {
      this.held = undefined;
      this.lastSent = now;
      this.send(event);
    } else {
      this.held = event;
    }
  }

  flush(): void {
    if (!this.held) return;
    const event = this.held;
    this.held = undefined;
    this.lastSent = Date.now();
    this.send(event);
  }
}
