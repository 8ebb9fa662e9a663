import { describe, expect, it } from 'vitest';
import { StageDisplay } from '../../src/cli/commands/distill.js';
import type { CommandContext } from '../../src/cli/command.js';
import { ProgressBar } from '../../src/cli/progress-bar.js';

/** A display writing to lines, as on a log (not a terminal). */
function display(): { show: StageDisplay; lines: string[] } {
  const lines: string[] = [];
  const sink = { isTTY: false, write: (t: string) => lines.push(t.trimEnd()) };
  const context = {
    progress: (label: string) => new ProgressBar(label, sink),
    log: (line: string) => lines.push(line),
  } as unknown as CommandContext;
  return { show: new StageDisplay(context), lines };
}

describe('StageDisplay', () => {
  it("shows a round's student steps without a rate or an end time it does not have", () => {
    const { show, lines } = display();
    show.show({ type: 'stage', stage: 'rounds', message: 'Rounds' });
    show.show({
      type: 'progress',
      stage: 'synthesize',
      step: 400,
      total: 800,
      losses: { kl: 500.25 },
      samplesPerSecond: 114.2,
      etaSeconds: null,
    });
    show.show({
      type: 'progress',
      stage: 'distill',
      step: 420,
      total: 600,
      losses: { distillation: 0.38 },
      samplesPerSecond: 0,
      etaSeconds: null,
    });
    expect(lines).toEqual([
      '== Rounds',
      'rounds [############------------]  50% 400/800 114 img/s kl 500.3',
      'rounds [#################-------]  70% 420/600 distillation 0.3800',
    ]);
  });

  it('shows the rate and the end time where the job knows them', () => {
    const { show, lines } = display();
    show.show({ type: 'stage', stage: 'distill', message: 'Distilling' });
    show.show({
      type: 'progress',
      stage: 'distill',
      step: 10,
      total: 20,
      losses: {},
      samplesPerSecond: 2500,
      etaSeconds: 4,
    });
    expect(lines.at(-1)).toBe('distill [############------------]  50% 10/20 2,500 img/s ETA 4 s');
  });
});
