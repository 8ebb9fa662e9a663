import { describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../../src/shared/report/html.js';
import { count, makeResult, ROUND_CURVE, section } from './fixture.js';

/** The row of a settings table with this label, as rendered. */
function row(html: string, label: string): string {
  const match = new RegExp(`<tr><th scope="row">${label}</th><td>(.*?)</td></tr>`).exec(html);
  return match?.[1] ?? '(missing)';
}

// The time chart's frame (src/shared/report/svg.ts lineChart): 560 wide, plot from x=62 to x=544.
const PLOT_LEFT = 62;
const PLOT_WIDTH = 560 - 62 - 16;

describe('report of a round-pipeline run', () => {
  const html = renderReportHtml(makeResult({ rounds: { stoppedEarly: false } }), {});
  const rounds = section(html, 'rounds');

  it('draws the accuracy against time, a point per measured round, with the budget marked', () => {
    expect(count(rounds, 'data-chart="measured-line"')).toBe(1);
    // Six rounds; round 4 was not measured, so five dots and a gap in the line.
    expect(count(rounds, '<circle data-series="test accuracy"')).toBe(5);
    expect(rounds).toMatch(/d="M[^"]*L[^"]*M[^"]*L/);
    // Round 6 ended at 275 s of a 300 s budget: 275/300 of the way along the time axis.
    const last = /<circle data-series="test accuracy" cx="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g;
    const dots = [...rounds.matchAll(last)];
    expect(Number(dots.at(-1)?.[1])).toBeCloseTo(PLOT_LEFT + (275 / 300) * PLOT_WIDTH, 1);
    expect(dots.at(-1)?.[2]).toBe('Round 6 at 4 min 35 s, 2,400 images, test accuracy: 86%');
    const mark = /<line class="mark" x1="([\d.]+)"/.exec(rounds);
    expect(Number(mark?.[1])).toBeCloseTo(PLOT_LEFT + PLOT_WIDTH, 1);
    expect(rounds).toContain('>budget</text>');
    expect(rounds).toContain('>Minutes since the rounds began<');
    // Minute ticks along the axis, up to the 5-minute budget.
    for (const minute of ['0', '1', '2', '3', '4', '5']) expect(rounds).toContain(`>${minute}</text>`);
  });

  it('draws the loss of every round', () => {
    expect(count(rounds, '<circle data-series="loss"')).toBe(ROUND_CURVE.length);
    expect(rounds).toContain('<title>Round 3, loss: 1.1</title>');
  });

  it('says how many rounds ran in how much of the budget, and why they ended', () => {
    expect(rounds).toContain('6 rounds in 4 min 35 s of a 5 min budget.');
    expect(rounds).toContain('The run ended when its time budget was spent.');
    expect(rounds).toContain('Each round made 400 images and then trained the student for 150 steps');
    expect(rounds).toContain('data-stopped-early="false"');
    expect(rounds).not.toContain('stopped the run early');
  });

  it('replaces the per-epoch curves', () => {
    expect(html).not.toContain('<section id="curves"');
    expect(html).not.toContain('per epoch');
  });

  it('lists the round settings, and leaves out the two-stage ones it did not use', () => {
    const settings = section(html, 'settings');
    expect(settings).toContain('<h3>Rounds</h3>');
    expect(row(settings, 'Pipeline')).toBe('rounds with a time budget');
    expect(row(settings, 'Time budget')).toBe('5 min');
    expect(row(settings, 'Rounds at most')).toBe('as many as the budget allows');
    expect(row(settings, 'Images per round')).toBe('400');
    expect(row(settings, 'Student steps per round')).toBe('150');
    expect(row(settings, 'Disagreement weight')).toBe('<code>30</code>');
    expect(row(settings, 'Disagreement temperature')).toBe('<code>1</code>');
    // Round 6 started when round 5 ended, at 228.4 s of the cosine over the 5-minute budget.
    expect(row(settings, 'Learning rate at the end')).toBe(
      'about 18% of its peak in the last round (a cosine toward 5% of it over 5 min)',
    );
    // Over a 10-minute span the same rounds end higher: 228.4 s of 600.
    const longer = makeResult({ rounds: { stoppedEarly: false } });
    longer.spec.rounds = { ...longer.spec.rounds!, learningRateSpanSeconds: 600 };
    expect(row(section(renderReportHtml(longer, {}), 'settings'), 'Learning rate at the end')).toBe(
      'about 70% of its peak in the last round (a cosine toward 5% of it over 10 min)',
    );
    // A span no longer than the budget changes nothing.
    longer.spec.rounds = { ...longer.spec.rounds, learningRateSpanSeconds: 300 };
    expect(row(section(renderReportHtml(longer, {}), 'settings'), 'Learning rate at the end')).toBe(
      'about 18% of its peak in the last round (a cosine toward 5% of it over 5 min)',
    );
    expect(row(settings, 'Started from earlier images')).toBe('none (all from noise)');
    const restarted = makeResult({ rounds: { stoppedEarly: false } });
    restarted.spec.rounds = { ...restarted.spec.rounds!, restart: 0.5 };
    expect(row(section(renderReportHtml(restarted, {}), 'settings'), 'Started from earlier images')).toBe(
      '50% of each round',
    );
    expect(settings).not.toContain('>Epochs<');
    expect(settings).not.toContain('>Images to distill on<');
    expect(settings).not.toContain('>Images per shard<');
    expect(row(settings, 'Batch size')).toBe('64');
  });
});

describe('report of a round-pipeline run the user stopped early', () => {
  it('says the user stopped it and kept the student', () => {
    const rounds = section(renderReportHtml(makeResult({ rounds: { stoppedEarly: true } }), {}), 'rounds');
    expect(rounds).toContain(
      'The user stopped the run early, after round 6, and kept the student as it was then.',
    );
    expect(rounds).toContain('data-stopped-early="true"');
    expect(rounds).not.toContain('budget was spent');
  });

  it('measures agreement instead when there was no test set', () => {
    const html = renderReportHtml(makeResult({ withEvaluation: false, rounds: { stoppedEarly: true } }), {});
    expect(count(section(html, 'rounds'), '<circle data-series="hold-out agreement"')).toBe(5);
  });
});

describe('report of a two-stage run', () => {
  const html = renderReportHtml(makeResult(), {});

  it('renders as before: per-epoch curves, no rounds section, the two-stage settings', () => {
    expect(html).not.toContain('<section id="rounds"');
    expect(html).not.toContain('data-chart="measured-line"');
    const curves = section(html, 'curves');
    expect(curves).toContain('12 epochs in 17 min 20 s.');
    expect(count(curves, '<circle data-series="test accuracy"')).toBe(12);
    expect(curves).toContain('<title>Epoch 12, test accuracy: 98%</title>');
    const settings = section(html, 'settings');
    expect(settings).not.toContain('<h3>Rounds</h3>');
    expect(row(settings, 'Epochs')).toBe('12');
    expect(row(settings, 'Images to distill on')).toBe('6,000');
    expect(row(settings, 'Images per shard')).toBe('500');
  });
});
