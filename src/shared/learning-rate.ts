import type { RoundsSettings } from './job.js';

/**
 * The student's learning rate in the round pipeline, as a share of its peak:
 * a cosine that falls to `learningRateFloor` over the budget, or over
 * `learningRateSpanSeconds` when that is longer, so that a short job stops
 * partway down the cosine with its rate still high. The engine steps by it;
 * the report says where a job's rate was in its last round.
 */

/** A cosine's share of its peak at t (0..1 of the way along), falling from 1 to `floor`. */
export function cosineShare(t: number, floor: number): number {
  const clamped = Math.min(1, Math.max(0, t));
  return floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * clamped));
}

type Schedule = Pick<RoundsSettings, 'budgetSeconds' | 'learningRateSpanSeconds'>;

/** Seconds over which the cosine falls: the budget, or the span when longer (absent: the budget). */
export function scheduleSeconds(plan: Schedule): number {
  return Math.max(plan.budgetSeconds, plan.learningRateSpanSeconds ?? 0);
}

/**
 * Where a student step sits on the cosine, 0..1: by rounds when their number is fixed
 * (reproducible), else by the time spent at the start of the round over scheduleSeconds.
 */
export function scheduleFraction(
  round: number,
  step: number,
  plan: Schedule & Pick<RoundsSettings, 'maxRounds' | 'studentSteps'>,
  startOfRound: number,
): number {
  if (plan.maxRounds > 0) return (round - 1 + step / plan.studentSteps) / plan.maxRounds;
  return Math.min(1, startOfRound / scheduleSeconds(plan));
}

/**
 * The share of its peak the learning rate had in a job's last round, from the times its rounds
 * ended (RoundPoint.seconds): the rate is set from the time a round starts, which is about when
 * the round before it ended. With a fixed number of rounds, at the last round's end.
 */
export function lastRoundRateShare(
  plan: Schedule & Pick<RoundsSettings, 'learningRateFloor' | 'maxRounds' | 'studentSteps'>,
  roundEnds: readonly number[],
): number {
  const fraction = scheduleFraction(roundEnds.length, plan.studentSteps, plan, roundEnds.at(-2) ?? 0);
  return cosineShare(fraction, plan.learningRateFloor);
}
