import { describe, expect, it } from 'vitest';
import {
  cosineShare,
  lastRoundRateShare,
  scheduleFraction,
  scheduleSeconds,
} from '../../src/shared/learning-rate.js';
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

  it("places the student's steps on the learning-rate cosine by time over the budget or the longer span, or by rounds", () => {
    const plan = { maxRounds: 0, studentSteps: 600, budgetSeconds: 300, learningRateSpanSeconds: 0 };
    expect(scheduleFraction(5, 0, plan, 150)).toBe(0.5);
    expect(scheduleFraction(9, 0, plan, 310)).toBe(1);
    // Over a 10-minute span a 5-minute job gets halfway down the cosine; a 15-minute one all the way.
    expect(scheduleFraction(9, 0, { ...plan, learningRateSpanSeconds: 600 }, 300)).toBe(0.5);
    expect(scheduleFraction(9, 0, { ...plan, budgetSeconds: 900, learningRateSpanSeconds: 600 }, 900)).toBe(
      1,
    );
    // A fixed number of rounds: by rounds and steps, whatever the clock says.
    expect(scheduleFraction(2, 300, { ...plan, maxRounds: 4, learningRateSpanSeconds: 600 }, 999)).toBe(
      1.5 / 4,
    );
  });

  it("gives the last round's rate from when it started: partway down for a short job, at the floor for a long one", () => {
    const plan = {
      budgetSeconds: 300,
      learningRateSpanSeconds: 600,
      learningRateFloor: 0.05,
      maxRounds: 0,
      studentSteps: 600,
    };
    // Rounds ended at 100, 200 and 300 s: the last one started at 200 s, a third of the 10-minute cosine.
    expect(lastRoundRateShare(plan, [100, 200, 300])).toBeCloseTo(cosineShare(1 / 3, 0.05), 12);
    expect(lastRoundRateShare(plan, [100, 200, 300])).toBeCloseTo(0.7625, 12);
    // The same job with the cosine over its budget: two thirds of the way down.
    expect(lastRoundRateShare({ ...plan, learningRateSpanSeconds: 0 }, [100, 200, 300])).toBeCloseTo(
      cosineShare(2 / 3, 0.05),
      12,
    );
    // A 15-minute job whose last round started at 898 s is at the floor (to within a hundredth of it).
    expect(lastRoundRateShare({ ...plan, budgetSeconds: 900 }, [450, 898, 905])).toBeCloseTo(0.05, 4);
    // One round: it started at the peak.
    expect(lastRoundRateShare(plan, [40])).toBe(1);
    // A fixed number of rounds: by rounds, 3 of 4 done.
    expect(lastRoundRateShare({ ...plan, maxRounds: 4 }, [1, 2, 3])).toBeCloseTo(cosineShare(0.75, 0.05), 12);
  });
});
