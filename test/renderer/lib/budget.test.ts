import { describe, expect, it } from 'vitest';
import { budgetChoice, BUDGET_PRESETS, customBudgetSeconds } from '../../../src/renderer/src/lib/budget.js';
import { recommendedRounds } from '../../../src/shared/project.js';

describe('budget choices', () => {
  it('offers 5 minutes, 15 minutes (the recommended budget) and an hour', () => {
    expect(BUDGET_PRESETS.map((p) => [p.id, p.seconds])).toEqual([
      ['quick', 300],
      ['standard', 900],
      ['thorough', 3600],
    ]);
    expect(budgetChoice(recommendedRounds().budgetSeconds)).toBe('standard');
  });

  it('reads any other saved budget as custom', () => {
    expect(budgetChoice(300)).toBe('quick');
    expect(budgetChoice(3600)).toBe('thorough');
    expect(budgetChoice(6)).toBe('custom');
    expect(budgetChoice(901)).toBe('custom');
  });

  it('turns custom minutes into seconds and refuses what is not a budget', () => {
    expect(customBudgetSeconds(0.1)).toBe(6);
    expect(customBudgetSeconds(20)).toBe(1200);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 60 * 24 * 31]) {
      expect(customBudgetSeconds(bad), String(bad)).toBeNull();
    }
  });
});
