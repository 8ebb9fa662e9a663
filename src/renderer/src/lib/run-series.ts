import type { JobEvent } from '../../../shared/job.js';

/** Chart data of one run, built from its progress events (live or replayed from disk). */
export interface RunSeries {
  synthesis: Record<string, { x: number; y: number }[]>;
  distillation: { x: number; y: number }[];
  metric: { name: string; points: { x: number; y: number }[] } | null;
  stage: string | null;
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
    stage: null,
    step: 0,
    total: 0,
    samplesPerSecond: 0,
    etaSeconds: null,
    log: [],
  };
}

const MAX_LOG = 200;

/** Adds one event to the series (mutates and returns it). */
export function addEvent(series: RunSeries, event: JobEvent): RunSeries {
  switch (event.type) {
    case 'progress': {
      series.stage = event.stage;
      series.step = event.step;
      series.total = event.total;
      series.samplesPerSecond = event.samplesPerSecond;
      series.etaSeconds = event.etaSeconds;
      if (event.stage === 'synthesize') {
        for (const [name, value] of Object.entries(event.losses)) {
          if (!Number.isFinite(value)) continue;
          (series.synthesis[name] ??= []).push({ x: event.step, y: value });
        }
      } else if (event.stage === 'distill') {
        const { distillation, ...metrics } = event.losses;
        if (distillation !== undefined && Number.isFinite(distillation)) {
          series.distillation.push({ x: event.step, y: distillation });
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
      break;
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
      series.log.push({ level: 'info', message: 'Finished: the report is ready' });
      break;
    case 'samples':
      break;
  }
  if (series.log.length > MAX_LOG) series.log.splice(0, series.log.length - MAX_LOG);
  return series;
}
