import { describe, expect, it } from 'vitest';
import {
  addEvent,
  emptySeries,
  roundChartPoints,
  roundClock,
} from '../../../src/renderer/src/lib/run-series.js';
import type { JobEvent, RoundPoint } from '../../../src/shared/job.js';

function progress(stage: 'synthesize' | 'distill', step: number, total: number, loss: number): JobEvent {
  return {
    type: 'progress',
    stage,
    step,
    total,
    losses: stage === 'distill' ? { distillation: loss } : { fit: loss },
    samplesPerSecond: 10,
    etaSeconds: null,
  };
}

function round(point: Partial<RoundPoint> & { round: number }): JobEvent {
  return {
    type: 'round',
    point: { seconds: point.round * 30, images: point.round * 40, metric: 0.5, loss: 1, ...point },
    metricName: 'test accuracy',
    budgetSeconds: 120,
  };
}

const roundsStage: JobEvent = { type: 'stage', stage: 'rounds', message: 'Rounds of 40 images' };

describe('run series of the round pipeline', () => {
  it('collects one point per round, in minutes, skipping rounds without a measure', () => {
    const series = emptySeries();
    for (const event of [
      roundsStage,
      round({ round: 1, seconds: 30, metric: 0.4 }),
      round({ round: 2, seconds: 66, metric: null }),
      round({ round: 3, seconds: 90, metric: 0.7 }),
    ])
      addEvent(series, event);
    expect(series.rounds?.metricName).toBe('test accuracy');
    expect(series.rounds?.budgetSeconds).toBe(120);
    expect(series.rounds?.points.map((p) => p.round)).toEqual([1, 2, 3]);
    expect(roundChartPoints(series.rounds!)).toEqual([
      { x: 0.5, y: 0.4 },
      { x: 1.5, y: 0.7 },
    ]);
    expect(series.log.at(-1)?.message).toBe('Round 3 done: 120 images, test accuracy 70.0%');
  });

  it('keeps one point per round when a resumed run reports a round again', () => {
    const series = emptySeries();
    for (const event of [
      round({ round: 1, metric: 0.4 }),
      round({ round: 2, metric: 0.5 }),
      round({ round: 2, metric: 0.55 }),
    ])
      addEvent(series, event);
    expect(series.rounds?.points.map((p) => p.metric)).toEqual([0.4, 0.55]);
  });

  it('continues the synthesis and training charts across rounds instead of starting each round at zero', () => {
    const series = emptySeries();
    // 20 held-back images first, then rounds of 40 images and 5 student steps.
    addEvent(series, progress('synthesize', 20, 20, 3));
    addEvent(series, roundsStage);
    addEvent(series, progress('synthesize', 40, 40, 2));
    addEvent(series, progress('distill', 5, 5, 1.5));
    addEvent(series, round({ round: 1, images: 40 }));
    addEvent(series, progress('synthesize', 10, 40, 1.8));
    addEvent(series, progress('distill', 2, 5, 1.2));
    expect(series.synthesis['fit']?.map((p) => p.x)).toEqual([20, 60, 70]);
    expect(series.distillation.map((p) => p.x)).toEqual([5, 7]);
  });

  it('leaves the two-stage charts as they were', () => {
    const series = emptySeries();
    addEvent(series, progress('synthesize', 40, 100, 2));
    addEvent(series, progress('distill', 7, 30, 1));
    expect(series.rounds).toBeNull();
    expect(series.synthesis['fit']?.map((p) => p.x)).toEqual([40]);
    expect(series.distillation.map((p) => p.x)).toEqual([7]);
    expect(roundClock(series, null, 60)).toBeNull();
  });

  it('runs the elapsed time on from the last live event and counts down the budget', () => {
    const series = emptySeries();
    const t0 = 1_000_000;
    addEvent(series, roundsStage, t0);
    expect(roundClock(series, { now: t0 + 10_000, sessionStart: t0 - 5_000 }, 120)).toEqual({
      elapsed: 10,
      remaining: 110,
      budget: 120,
    });
    addEvent(series, round({ round: 1, seconds: 31 }), t0 + 31_000);
    expect(roundClock(series, { now: t0 + 41_000, sessionStart: t0 }, 120)?.elapsed).toBe(41);
    // Past the budget the remaining time stays at zero; once finished, the last round's time.
    expect(roundClock(series, { now: t0 + 500_000, sessionStart: t0 }, 120)?.remaining).toBe(0);
    expect(roundClock(series, null)).toEqual({ elapsed: 31, remaining: 89, budget: 120 });
  });

  it('after a resume, starts the clock from the last round; replayed events fall back to the session time', () => {
    const replayed = emptySeries();
    for (const event of [roundsStage, round({ round: 1, seconds: 50 }), roundsStage])
      addEvent(replayed, event);
    const start = 2_000_000;
    // Replayed from disk: no live reading, so at least the last round's time or this session's.
    expect(roundClock(replayed, { now: start + 20_000, sessionStart: start }, 120)?.elapsed).toBe(50);
    expect(roundClock(replayed, { now: start + 70_000, sessionStart: start }, 120)?.elapsed).toBe(70);
    // Live: the resumed job's clock starts from the 50 s it had when it stopped.
    addEvent(replayed, roundsStage, start);
    expect(roundClock(replayed, { now: start + 20_000, sessionStart: start }, 120)?.elapsed).toBe(70);
  });
});
