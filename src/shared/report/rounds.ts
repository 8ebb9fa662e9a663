import type { JobResult } from '../job.js';
import { formatCount, formatDuration, formatNumber, formatPercent } from '../format.js';
import { escapeHtml } from './text.js';
import { COLORS } from './sections.js';
import { lineChart } from './svg.js';

/**
 * The report's section on the round pipeline: the student's measure against
 * time with the budget marked, its loss per round, and how the run ended
 * (budget spent, its number of rounds done, or stopped early by the user).
 * It replaces the per-epoch curves of the two-stage pipeline.
 */

type RoundsResult = NonNullable<JobResult['rounds']>;

/** Why the rounds ended, in words. */
function ending(rounds: RoundsResult, maxRounds: number): string {
  if (rounds.stoppedEarly) {
    return `The user stopped the run early, after round ${formatCount(rounds.count)}, and kept the student as it was then.`;
  }
  if (maxRounds > 0 && rounds.count >= maxRounds) {
    return `The run ended after the ${formatCount(maxRounds)} rounds asked for.`;
  }
  return 'The run ended when its time budget was spent.';
}

/** Minutes on the time axis: whole where they can be, else with up to two decimals. */
function minutes(value: number): string {
  return formatNumber(value, 2);
}

/** The round pipeline's course: its measure against time and its loss per round ('' for a two-stage run). */
export function roundsSection(result: JobResult): string {
  const rounds = result.rounds;
  const plan = result.spec.rounds;
  if (!rounds) return '';
  const { curve, metricName } = rounds;
  const budgetMinutes = rounds.budgetSeconds / 60;
  const lastMinutes = (curve.at(-1)?.seconds ?? 0) / 60;
  const timeChart = lineChart(
    [{ name: metricName, color: COLORS.metric, values: curve.map((p) => p.metric) }],
    {
      title: `${metricName} against time`,
      xLabel: 'Minutes since the rounds began',
      yLabel: metricName,
      format: (v) => formatPercent(v, 0),
      clamp: [0, 1],
      axis: {
        positions: curve.map((p) => p.seconds / 60),
        max: Math.max(budgetMinutes, lastMinutes),
        format: minutes,
        mark: { at: budgetMinutes, label: 'budget' },
      },
      pointName: (i) =>
        `Round ${curve[i]?.round ?? i + 1} at ${formatDuration(curve[i]?.seconds)}, ${formatCount(curve[i]?.images)} images`,
    },
  );
  const loss = lineChart([{ name: 'loss', color: COLORS.loss, values: curve.map((p) => p.loss) }], {
    title: 'Student loss per round',
    xLabel: 'Round',
    yLabel: 'Distillation loss',
    format: (v) => formatNumber(v, 3),
    fromZero: true,
    pointName: (i) => `Round ${curve[i]?.round ?? i + 1}`,
  });
  const resumed =
    result.distillation.resumedFromEpoch > 0
      ? ` The job was stopped and resumed after round ${formatCount(result.distillation.resumedFromEpoch)}; earlier rounds were kept.`
      : '';
  const perRound = plan
    ? ` Each round made ${formatCount(plan.imagesPerRound)} images and then trained the student for ${formatCount(plan.studentSteps)} steps on images drawn from everything made so far.`
    : '';
  return (
    '<section id="rounds" class="keep"><h2>Rounds</h2>' +
    `<p class="note" data-rounds="${rounds.count}" data-stopped-early="${rounds.stoppedEarly}">` +
    `${formatCount(rounds.count)} rounds in ${escapeHtml(formatDuration(rounds.seconds))} of a ${escapeHtml(formatDuration(rounds.budgetSeconds))} budget. ` +
    `${escapeHtml(ending(rounds, plan?.maxRounds ?? 0))}${perRound} ` +
    `The ${escapeHtml(metricName)} was measured after every round (higher is better); the loss measures how far the student's answers are from the teacher's (lower is better).${resumed}</p>` +
    `<div class="charts-2"><figure><figcaption>${escapeHtml(metricName)} against time</figcaption>${timeChart}</figure>` +
    `<figure><figcaption>Loss per round</figcaption>${loss}</figure></div></section>`
  );
}
