import { describe, expect, it } from 'vitest';
import { cosineShare, finalRateShare, scheduleSeconds } from '../../src/shared/learning-rate.js';
import { cosineRate } from '../../src/engine/train/schedule.js';

describe("the round pipeline's learning-rate schedule", () => {
  it('falls on a cosine from the peak to the floor, and stays within them outside 0..1', () => {
    expect(cosineShare(0, 0.05)).toBe(1);
    expect(cosineShare(0.5, 0.05)).toBeCloseTo(0.525, 12);
    expect(cosineShare(1, 0.05)).toBeCloseTo(0.05, 12);
    expect(cosineShare(-1, 0.05)).toBe(1);
    expect(cosineShare(2, 0.05)).toBeCloseTo(0.05, 12);
    // The engine's per-step rate is the same curve times the peak.
    expect(cosineRate(0.002, 3, 12, 0.05)).toBeCloseTo(0.002 * cosineShare(0.25, 0.05), 15);
  });

  it('runs over the budget, or over the span when that is longer', () => {
    expect(scheduleSeconds({ budgetSeconds: 300 })).toBe(300);
    expect(scheduleSeconds({ budgetSeconds: 300, learningRateSpanSeconds: 0 })).toBe(300);
    expect(scheduleSeconds({ budgetSeconds: 300, learningRateSpanSeconds: 600 })).toBe(600);
    expect(scheduleSeconds({ budgetSeconds: 900, learningRateSpanSeconds: 600 })).toBe(900);
  });

  it('ends a short job partway down the cosine and a long one at the floor', () => {
    const floor = 0.05;
    expect(
      finalRateShare({ budgetSeconds: 300, learningRateSpanSeconds: 600, learningRateFloor: floor }),
    ).toBeCloseTo(0.525, 12);
    expect(
      finalRateShare({ budgetSeconds: 90, learningRateSpanSeconds: 600, learningRateFloor: floor }),
    ).toBeGreaterThan(0.9);
    expect(
      finalRateShare({ budgetSeconds: 900, learningRateSpanSeconds: 600, learningRateFloor: floor }),
    ).toBeCloseTo(floor, 12);
    expect(finalRateShare({ budgetSeconds: 300, learningRateFloor: floor })).toBeCloseTo(floor, 12);
  });
});
