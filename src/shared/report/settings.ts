import type { JobResult, RoundsSettings } from '../job.js';
import { lastRoundRateShare, scheduleSeconds } from '../learning-rate.js';
import { formatCount, formatDate, formatDuration, formatNumber, formatPercent } from '../format.js';
import { escapeHtml } from './text.js';
import { keyValueTable } from './sections.js';

/**
 * The settings section of the HTML report: everything needed to make the
 * same run again (method and its resolved settings, distillation settings,
 * seed, backend, app version; for the round pipeline its budget and round
 * settings) and to tell which models were used (folders and fingerprints).
 * Values are printed as the job recorded them.
 */

type Setting = string | number | boolean;

/** A setting as text: numbers without float noise, booleans as on/off. */
function settingText(value: Setting): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : formatNumber(value, 8);
  return value;
}

const code = (text: string): string => `<code>${escapeHtml(text)}</code>`;

/** The method's settings after defaults, marking the ones the user chose, and what they decided for this teacher. */
function methodSettingsTable(result: JobResult): string {
  const entries = Object.entries(result.resolvedMethodSettings);
  if (entries.length === 0) return '<p class="note">This method has no settings.</p>';
  const chosen = new Set(Object.keys(result.spec.methodSettings));
  const notes = (result.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('');
  return (
    notes +
    keyValueTable(
      entries.map(([key, value]) => [
        code(key),
        `${code(settingText(value))}${chosen.has(key) ? ' <span class="note">(set for this run)</span>' : ''}`,
      ]),
    )
  );
}

type Row = readonly [string, string];

/** The round pipeline's settings (an empty string for a two-stage run). */
function roundsTable(result: JobResult): string {
  const plan = result.spec.rounds;
  if (!plan) return '';
  const rows: Row[] = [
    ['Pipeline', 'rounds with a time budget'],
    ['Time budget', escapeHtml(formatDuration(plan.budgetSeconds))],
    ['Rounds at most', plan.maxRounds > 0 ? formatCount(plan.maxRounds) : 'as many as the budget allows'],
    ['Images per round', formatCount(plan.imagesPerRound)],
    ['Student steps per round', formatCount(plan.studentSteps)],
    ['Disagreement weight', plan.disagreement > 0 ? code(settingText(plan.disagreement)) : 'off'],
    ['Disagreement temperature', code(settingText(plan.disagreementTemperature))],
    ['Learning rate at the end', learningRateEnd(result, plan)],
    [
      'Student kept',
      (plan.averaging ?? 0) > 0
        ? `the average of its weights over its last steps (decay ${code(settingText(plan.averaging ?? 0))} per step)`
        : 'its last weights',
    ],
    [
      'Started from earlier images',
      (plan.restart ?? 0) > 0
        ? `${formatCount((plan.restart ?? 0) * 100)}% of each round`
        : 'none (all from noise)',
    ],
  ];
  return `<h3>Rounds</h3>${keyValueTable(rows)}`;
}

/** Where the student's learning rate was in the job's last round, and the cosine it was on. */
function learningRateEnd(result: JobResult, plan: RoundsSettings): string {
  const share = lastRoundRateShare(plan, result.rounds?.curve.map((point) => point.seconds) ?? []);
  const over =
    plan.maxRounds > 0
      ? `${formatCount(plan.maxRounds)} rounds`
      : escapeHtml(formatDuration(scheduleSeconds(plan)));
  return `about ${formatPercent(share, 0)} of its peak in the last round (a cosine toward ${formatPercent(plan.learningRateFloor, 0)} of it over ${over})`;
}

/** A share of each student batch that an augmentation rewrites: "25% of each batch", or off. */
const shareOfBatch = (fraction: number): string =>
  fraction > 0 ? `${formatCount(fraction * 100)}% of each batch` : 'off';

/** Synthesis, distillation, run and model settings, then the method's own settings. */
export function settingsSection(result: JobResult): string {
  const { spec } = result;
  const d = spec.distill;
  // The round pipeline makes its images round by round and trains in steps: no set size, shards or epochs.
  const twoStage = spec.rounds === undefined;
  const synthesis = keyValueTable([
    ['Method', code(spec.method)],
    ...(twoStage ? [['Images to distill on', formatCount(spec.samples)] as const] : []),
    ['Images held back to measure agreement', formatCount(spec.holdout)],
    ...(twoStage ? [['Images per shard', formatCount(spec.shardSize)] as const] : []),
    ['Parallel synthesis processes', formatCount(spec.workers)],
  ]);
  const distillation = keyValueTable([
    ...(twoStage ? [['Epochs', formatCount(d.epochs)] as const] : []),
    ['Batch size', formatCount(d.batchSize)],
    ['Learning rate', code(settingText(d.learningRate))],
    ['Temperature', code(settingText(d.temperature))],
    ['Random shifts (augmentation)', d.augment ? (d.relabel ? 'on, labelled by the teacher' : 'on') : 'off'],
    ['Blended images (teacher-labelled)', shareOfBatch(d.mixup)],
    ['Mirrored images (teacher-labelled)', shareOfBatch(d.flip)],
    ['Faded images (teacher-labelled)', shareOfBatch(d.fade)],
    ['Softened images (teacher-labelled)', shareOfBatch(d.soften)],
  ]);
  const run = keyValueTable([
    ['Seed', code(String(spec.seed))],
    ['Backend', code(result.backend)],
    ['App version', code(result.appVersion)],
    ['Started', escapeHtml(formatDate(result.startedAt))],
    ['Finished', escapeHtml(formatDate(result.finishedAt))],
    ['Distillation time', escapeHtml(formatDuration(result.distillation.seconds))],
    ['Labelled test set', spec.testData === undefined ? 'none' : code(spec.testData)],
    ['Run folder', code(spec.runDir)],
  ]);
  const models = keyValueTable([
    ['Teacher', code(spec.teacher)],
    ['Teacher folder', code(result.teacher.folder)],
    ['Teacher fingerprint', code(result.teacher.fingerprint)],
    ['Student preset', code(spec.student)],
    ['Student folder', code(result.student.folder)],
    ['Student fingerprint', code(result.student.fingerprint)],
  ]);
  return (
    '<section id="settings"><h2>Settings</h2>' +
    '<p class="note">Everything needed to make this run again: the same settings and seed give the same student on the same backend. ' +
    'The run folder also holds them as result.json.</p>' +
    '<div class="charts-2">' +
    `<div><h3>Synthesis</h3>${synthesis}${roundsTable(result)}<h3>Method settings</h3>${methodSettingsTable(result)}</div>` +
    `<div><h3>Distillation</h3>${distillation}<h3>Run</h3>${run}</div>` +
    '</div>' +
    `<h3>Models</h3>${models}</section>`
  );
}
