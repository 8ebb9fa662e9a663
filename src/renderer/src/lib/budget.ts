import { RECOMMENDED_ROUNDS } from '../../../shared/recommended.js';

/** The time budgets offered up front; "Standard" is the recommended one. */
export const BUDGET_PRESETS = [
  { id: 'quick', label: 'Quick', seconds: 5 * 60 },
  { id: 'standard', label: 'Standard', seconds: RECOMMENDED_ROUNDS.budgetSeconds },
  { id: 'thorough', label: 'Thorough', seconds: 60 * 60 },
] as const;

export type BudgetChoice = (typeof BUDGET_PRESETS)[number]['id'] | 'custom';

/** The longest budget the engine accepts (RoundsSettingsSchema). */
export const MAX_BUDGET_SECONDS = 30 * 24 * 3600;

/** Which choice a saved budget is: one of the presets, else custom. */
export function budgetChoice(seconds: number): BudgetChoice {
  return BUDGET_PRESETS.find((p) => p.seconds === seconds)?.id ?? 'custom';
}

/** A custom budget typed in minutes as seconds, or null when it is not a usable budget. */
export function customBudgetSeconds(minutes: number): number | null {
  if (!Number.isFinite(minutes) || minutes <= 0) return null;
  const seconds = Math.round(minutes * 60 * 1000) / 1000;
  return seconds > 0 && seconds <= MAX_BUDGET_SECONDS ? seconds : null;
}
