import type { JobEvent, RoundPoint, Stage } from '../../../shared/job.js';

/** The round pipeline's course so far, from its 'rounds' stage and 'round' events. */
export interface RoundSeries {
  /** Test accuracy or hold-out agreement; null until the first round reports. */
  metricName: string | null;
  budgetSeconds: number | null;
  /** One point per finished round, in order. */
  points: RoundPoint[];
  /** Images synthesized before the rounds began (the held-back set): where round 1's images start on the synthesis chart. */
  imagesBefore: number;
  /**
   * The job's clock as last seen live: its elapsed seconds at local time `at` (ms). Null for
   * events replayed from disk, whose arrival times are not known.
   */
  clock: { seconds: number; at: number } | null;
}

/** Chart data of one run, built from its progress events (live or replayed from disk). */
export interface RunSeries {
  synthesis: Record<string, { x: number; y: number }[]>;
  distillation: { x: number; y: number }[];
  metric: { name: string; points: { x: number; y: number }[] } | null;
  /** Present once the run is in the round pipeline. */
  rounds: RoundSeries | null;
  stage: Stage | null;
  step: number;
  total: number;
  samplesPerSecond: number;
  etaSeconds: number | null;
  log: { level: string; message: string }[];
}

export function emptySeries(): RunSeries {
  return {
    synthesis: {},
    distillation: [],
    metric: null,
    rounds: null,
    stage: null,
    step: 0,
    total: 0,
    samplesPerSecond: 0,
    etaSeconds: null,
    log: [],
  };
}

const MAX_LOG = 200;

/**
 * Adds one event to the series (mutates and returns it). `receivedAt` (ms,
 * local clock) is given for live events, so the round pipeline's elapsed
 * time can run on between its events.
 */
export function addEvent(series: RunSeries, event: JobEvent, receivedAt?: number): RunSeries {
  switch (event.type) {
    case 'progress': {
      series.stage = event.stage;
      series.step = event.step;
      series.total = event.total;
      series.samplesPerSecond = event.samplesPerSecond;
      series.etaSeconds = event.etaSeconds;
      // In rounds each round counts its images and steps from zero: the charts continue from the rounds before.
      const rounds = series.rounds;
      const done = rounds?.points.at(-1);
      if (event.stage === 'synthesize') {
        const x = rounds ? rounds.imagesBefore + (done?.images ?? 0) + event.step : event.step;
        for (const [name, value] of Object.entries(event.losses)) {
          if (!Number.isFinite(value)) continue;
          (series.synthesis[name] ??= []).push({ x, y: value });
        }
      } else if (event.stage === 'distill') {
        const x = rounds ? (done?.round ?? 0) * event.total + event.step : event.step;
        const { distillation, ...metrics } = event.losses;
        if (distillation !== undefined && Number.isFinite(distillation)) {
          series.distillation.push({ x, y: distillation });
        }
        for (const [name, value] of Object.entries(metrics)) {
          series.metric ??= { name, points: [] };
          const last = series.metric.points.at(-1);
          if (!last || last.y !== value || last.x !== event.step)
            series.metric.points.push({ x: event.step, y: value });
        }
      }
      break;
    }
    case 'stage':
      series.stage = event.stage;
      series.log.push({ level: 'info', message: event.message });
      if (event.stage === 'rounds') {
        const rounds = enterRounds(series);
        // The job's round clock starts (again, after a resume) from the last round's time.
        if (receivedAt !== undefined)
          rounds.clock = { seconds: rounds.points.at(-1)?.seconds ?? 0, at: receivedAt };
      }
      break;
    case 'round': {
      const rounds = enterRounds(series);
      rounds.metricName = event.metricName;
      rounds.budgetSeconds = event.budgetSeconds;
      // A round reported again (a resumed run redoing it) replaces the earlier report.
      rounds.points = [...rounds.points.filter((p) => p.round < event.point.round), event.point];
      if (receivedAt !== undefined) rounds.clock = { seconds: event.point.seconds, at: receivedAt };
      const metric =
        event.point.metric === null ? '' : `, ${event.metricName} ${(event.point.metric * 100).toFixed(1)}%`;
      series.log.push({
        level: 'info',
        message: `Round ${event.point.round} done: ${event.point.images} images${metric}`,
      });
      break;
    }
    case 'log':
      series.log.push({ level: event.level, message: event.message });
      break;
    case 'checkpoint':
      series.log.push({ level: 'info', message: event.message });
      break;
    case 'failed':
      series.log.push({ level: 'warn', message: `${event.error.message}. ${event.error.fix}.` });
      break;
    case 'done':
      series.stage = 'report';
      if (series.rounds) series.rounds.clock = null;
      series.log.push({ level: 'info', message: 'Finished: the report is ready' });
      break;
    case 'samples':
      break;
  }
  if (series.log.length > MAX_LOG) series.log.splice(0, series.log.length - MAX_LOG);
  return series;
}

/** The round series, started the first time the run enters the round pipeline. */
function enterRounds(series: RunSeries): RoundSeries {
  if (!series.rounds) {
    // Whatever was synthesized before the first round is the held-back set.
    const imagesBefore = Math.max(
      0,
      ...Object.values(series.synthesis).flatMap((points) => points.map((p) => p.x)),
    );
    series.rounds = { metricName: null, budgetSeconds: null, points: [], imagesBefore, clock: null };
  }
  return series.rounds;
}

/** The student's measure against time for a chart: minutes on x, one point per measured round. */
export function roundChartPoints(rounds: RoundSeries): { x: number; y: number }[] {
  return rounds.points.flatMap((p) => (p.metric === null ? [] : [{ x: p.seconds / 60, y: p.metric }]));
}

/**
 * Elapsed and remaining time of a round run. While it runs (`now` given), the
 * job's clock runs on from its last live reading; with no live reading yet
 * (events replayed after reopening) it is at least the last round's time and
 * the time since this session started (`sessionStart`, ms). Finished: the last
 * round's time. Null before the run knows its budget.
 */
export function roundClock(
  series: RunSeries,
  live: { now: number; sessionStart: number } | null,
  budgetSeconds: number | null = series.rounds?.budgetSeconds ?? null,
): { elapsed: number; remaining: number; budget: number } | null {
  const rounds = series.rounds;
  if (!rounds || budgetSeconds === null) return null;
  const last = rounds.points.at(-1)?.seconds ?? 0;
  let elapsed = last;
  if (live) {
    elapsed = rounds.clock
      ? rounds.clock.seconds + (live.now - rounds.clock.at) / 1000
      : Math.max(last, (live.now - live.sessionStart) / 1000);
  }
  return { elapsed, remaining: Math.max(0, budgetSeconds - elapsed), budget: budgetSeconds };
}
