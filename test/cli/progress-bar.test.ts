import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/cli/progress-bar.js';

describe('ProgressBar', () => {
  it('prints one plain line per 10% when not on a terminal, with rate and ETA', () => {
    const lines: string[] = [];
    const bar = new ProgressBar('train', { isTTY: false, write: (t) => lines.push(t) });
    for (let done = 0; done <= 100; done++)
      bar.update({
        done,
        total: 100,
        rate: 1234.5,
        unit: 'img/s',
        etaSeconds: 100 - done,
        detail: 'loss 0.5',
      });
    bar.finish();
    expect(lines).toHaveLength(11);
    expect(lines[5]).toBe('train [############------------]  50% 50/100 1,235 img/s ETA 50 s loss 0.5\n');
    expect(lines[10]).toContain('100% 100/100');
  });
});
