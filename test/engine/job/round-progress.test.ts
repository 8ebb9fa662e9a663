import { describe, expect, it } from 'vitest';
import { RoundProgress } from '../../../src/engine/job/round-progress.js';

describe('RoundProgress', () => {
  it("shows the newest round's images alone, from 0 to its size, while the rate counts every image made", () => {
    // Rounds of two shards of 400 images: shards 0-1 are round 1, shards 2-3 round 2.
    const made = new RoundProgress(2);
    made.progress(0, 100);
    made.progress(1, 150.5);
    expect(made.roundImages).toBe(250.5);
    made.finished(0, 400);
    made.progress(1, 300);
    expect(made.roundImages).toBe(700);
    expect(made.totalImages).toBe(700);
    made.finished(1, 400);
    expect(made.roundImages).toBe(800);
    // Pipelined: round 2 starts while round 1's student trains; the bar starts again at 0.
    made.progress(2, 40);
    expect(made.roundImages).toBe(40);
    expect(made.totalImages).toBe(840);
    // A late report of a shard of round 1 changes nothing; neither does one of a finished shard.
    made.progress(1, 10);
    made.progress(3, 60);
    made.finished(2, 400);
    made.progress(2, 5);
    expect(made.roundImages).toBe(460);
    expect(made.totalImages).toBe(1260);
    expect(made.finishedImages).toBe(1200);
  });
});
