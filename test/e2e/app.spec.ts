/// <reference lib="dom" />
import { expect, test, type Page } from '@playwright/test';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { advancedSettings, settingTestId } from '../../src/renderer/src/lib/job-form.js';
import { serveApp, type ServedApp } from './serve.js';

const SHOTS = 'test-results/e2e';
let app: ServedApp;

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = await serveApp();
});
test.afterAll(async () => {
  await app?.stop();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function points(page: Page, testid: string): Promise<number> {
  return Number(await page.getByTestId(testid).getAttribute('data-points'));
}

test('a user distills the example teacher and exports the results', async ({ page }) => {
  const problems: string[] = [];
  page.on('console', (m) => {
    // The report iframe is sandboxed without scripts; Chromium logs when the test driver's own
    // helper scripts are refused there. That is the sandbox working, not an app error.
    if (
      m.type() === 'error' &&
      !m.text().includes("in 'about:srcdoc' because the document's frame is sandboxed")
    ) {
      problems.push(m.text());
    }
  });
  page.on('pageerror', (e) => problems.push(e.message));

  await page.goto(app.url);
  await expect(page.getByTestId('backend')).toHaveText(/wasm|cpu|node/);
  expect(page.url()).not.toContain('token='); // the session key leaves the address bar
  await shot(page, '01-welcome');

  // Create a project.
  await page.getByTestId('new-project-name').fill('Digits, first try');
  await page.getByTestId('create-project').click();
  await expect(page.getByTestId('project-title')).toHaveText('Digits, first try');

  // Teacher: the built-in example; student: lenet5-half; a tiny budget; the built-in test set.
  await page.getByTestId('teacher-kind-builtin').check();
  await page.getByTestId('use-teacher').click();
  await expect(page.getByTestId('teacher-summary')).toContainText('32x32x1 images');
  await expect(page.getByTestId('student-picker')).toContainText('3.9x fewer parameters');
  await page.getByTestId('student-lenet5-half').check();
  // The paper's two stages: a set of images, then epochs over it (new projects start with rounds).
  await expect(page.getByTestId('pipeline-rounds')).toBeChecked();
  await page.getByTestId('pipeline-two-stage').check();
  await expect(page.getByTestId('budget')).toHaveCount(0);
  await page.getByTestId('samples').fill('160');
  await page.getByTestId('epochs').fill('3');
  await page.getByTestId('setting-iterations').fill('12');
  await page.getByTestId('test-kind-builtin').check();
  await page.getByTestId('test-builtin').selectOption('mnist-digits');
  await shot(page, '02-setup');

  // A bad value is refused with words, and nothing saved is lost.
  await page.getByTestId('samples').fill('3');
  await page.getByTestId('save-setup').click();
  await expect(page.getByTestId('error-banner')).toContainText('at least 10');
  await page.getByRole('button', { name: 'Dismiss this message' }).click();
  await page.getByTestId('samples').fill('160');
  await page.getByTestId('save-and-continue').click();

  // Run it and watch the charts grow: record every change of each chart's point count.
  await page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    (window as unknown as { chartUpdates: typeof seen }).chartUpdates = seen;
    new MutationObserver((records) => {
      for (const record of records) {
        const el = record.target as HTMLElement;
        const id = el.dataset['testid'] ?? '?';
        const value = el.getAttribute('data-points') ?? '';
        const list = (seen[id] ??= []);
        if (list.at(-1) !== value) list.push(value);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-points'] });
  });
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status').first()).toHaveText('Running');
  await expect(page.getByTestId('cancel-run')).toBeVisible();
  await expect(page.getByTestId('stop-run')).toHaveCount(0); // only runs with a time budget stop and keep
  await expect.poll(() => points(page, 'chart-synthesis'), { timeout: 120_000 }).toBeGreaterThan(0);
  await shot(page, '03-synthesizing');
  await expect(page.getByTestId('sample-grid')).toBeVisible({ timeout: 120_000 });
  await expect.poll(() => points(page, 'chart-distillation'), { timeout: 180_000 }).toBeGreaterThan(0);
  await shot(page, '04-distilling');
  await expect(page.getByTestId('run-status').first()).toHaveText('Finished', { timeout: 300_000 });
  const updates = await page.evaluate(
    () => (window as unknown as { chartUpdates: Record<string, string[]> }).chartUpdates,
  );
  // Each chart was redrawn several times while the job ran, not once at the end.
  expect(updates['chart-synthesis']?.length).toBeGreaterThan(1);
  expect(updates['chart-distillation']?.length).toBeGreaterThan(1);
  await expect(page.getByTestId('chart-metric')).toBeVisible();
  await expect(page.getByTestId('run-heading')).toHaveText('Finished');
  await shot(page, '05-finished');

  // The report (the one rendered page, in its sandboxed frame) and the three exports.
  await page.getByTestId('open-report').click();
  const report = page.frameLocator('[data-testid="report-frame"]');
  const comparison = report.locator('#comparison');
  await expect(comparison).toContainText('98.25%');
  const accuracyRow = comparison.locator('tr', { hasText: 'Accuracy on the test set' });
  const studentAccuracy = (await accuracyRow.locator('td').nth(1).textContent())!.trim();
  expect(studentAccuracy).toMatch(/^\d+\.\d\d%$/);
  await expect(report.locator('#per-class table.confusion').first()).toBeVisible();
  await expect(page.getByTestId('compare-table')).toHaveCount(0); // rendered once, not a second time outside
  await shot(page, '06-report');

  const exported = async (button: string, index: number): Promise<string> => {
    await page.getByTestId(button).click();
    const line = page.getByTestId('export-result').nth(index);
    await expect(line).toBeVisible({ timeout: 60_000 });
    return (await line.locator('code').textContent())!.trim();
  };
  const html = await exported('export-html', 0);
  expect(readFileSync(html, 'utf8')).toContain(studentAccuracy);
  const pdf = await exported('export-pdf', 1);
  expect(readFileSync(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  const model = await exported('export-model', 2);
  expect(existsSync(path.join(model, 'model.json'))).toBe(true);
  expect(model.startsWith(app.workspace)).toBe(true);
  await shot(page, '07-exported');

  expect(problems).toEqual([]);
});

test('a user runs rounds against a time budget, watches the student improve, stops early and keeps it', async ({
  page,
}) => {
  test.setTimeout(90_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(app.url);
  await page.getByTestId('new-project-name').fill('Digits in rounds');
  await page.getByTestId('create-project').click();
  await expect(page.getByTestId('project-title')).toHaveText('Digits in rounds');
  await page.getByTestId('teacher-kind-builtin').check();
  await page.getByTestId('use-teacher').click();
  await expect(page.getByTestId('teacher-summary')).toContainText('32x32x1 images');

  // Rounds with the recommended 15 minutes are the default; a custom budget of one minute instead,
  // and small rounds (under Advanced settings) so that several fit in it.
  await expect(page.getByTestId('pipeline-rounds')).toBeChecked();
  await expect(page.getByTestId('budget-standard')).toBeChecked();
  await expect(page.getByTestId('samples')).toHaveCount(0);
  await page.getByTestId('budget-custom').check();
  await page.getByTestId('budget-minutes').fill('1');
  await page.getByTestId('budget').scrollIntoViewIfNeeded();
  await shot(page, '09-rounds-budget');
  await page.getByTestId('setting-iterations').fill('5');
  await page.locator('summary', { hasText: 'Advanced settings' }).click();
  // Every job setting declared once in src/shared/job-settings.ts has its field, named by its flag.
  for (const setting of advancedSettings('rounds')) {
    await expect(page.getByTestId(settingTestId(setting)), setting.flag).toHaveCount(1);
  }
  await page.getByTestId('job-round-images').fill('24');
  await page.getByTestId('job-round-steps').fill('8');
  await page.getByTestId('test-kind-builtin').check();
  await page.getByTestId('test-builtin').selectOption('mnist-digits');
  await shot(page, '09-rounds-advanced');
  await page.getByTestId('save-and-continue').click();

  // The time chart spans the budget and gains a point per round while the run goes on.
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status').first()).toHaveText('Running');
  await expect(page.getByTestId('chart-rounds')).toHaveAttribute('data-x-max', '1');
  await expect(page.getByTestId('round-clock')).toContainText('elapsed of 1 min');
  await expect.poll(() => points(page, 'chart-rounds'), { timeout: 50_000 }).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('round-clock')).toContainText(/test accuracy \d+\.\d% after round \d/);
  await shot(page, '10-rounds-running');

  // Stop and keep: the run ends after its current step, evaluates the student and finishes.
  await page.getByTestId('stop-run').click();
  await expect(page.getByTestId('run-status').first()).toHaveText('Finished', { timeout: 40_000 });
  const measured = await points(page, 'chart-rounds');
  expect(measured).toBeGreaterThanOrEqual(2);

  // The report: rounds, budget, stopped early, and the curve with a point per round.
  await page.getByTestId('open-report').click();
  const summary = page.frameLocator('[data-testid="report-frame"]').locator('#rounds p.note');
  await expect(summary).toContainText(/\d+ rounds in .* of a 1 min budget\. The user stopped the run early/);
  const rounds = Number(/(\d+) rounds/.exec((await summary.textContent()) ?? '')?.[1]);
  expect(rounds).toBeGreaterThanOrEqual(measured);
  expect(await summary.getAttribute('data-rounds')).toBe(String(rounds));
  const html = (await page.getByTestId('report-frame').getAttribute('srcdoc')) ?? '';
  expect(html).toContain('<section id="rounds"');
  expect(html).toContain('The user stopped the run early');
  const curve = html.slice(html.indexOf('data-chart="measured-line"'));
  expect(curve.split('<circle data-series="test accuracy"').length - 1).toBe(rounds);
  await shot(page, '11-rounds-report');
  expect(problems).toEqual([]);
});

test('projects can be renamed, duplicated and deleted, with a confirmation', async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto(app.url);
  await page.getByTestId('new-project-name').fill('Scratch');
  await page.getByTestId('create-project').click();
  await expect(page.getByTestId('project-title')).toHaveText('Scratch');
  const item = page.getByTestId('project-item').filter({ hasText: 'Scratch' });
  await item.getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('New name').fill('Scratch renamed');
  await page.getByLabel('New name').press('Enter');
  await expect(page.getByTestId('project-item').filter({ hasText: 'Scratch renamed' })).toHaveCount(1);
  await page
    .getByTestId('project-item')
    .filter({ hasText: 'Scratch renamed' })
    .getByRole('button', { name: 'Duplicate' })
    .click();
  await expect(page.getByTestId('project-title')).toHaveText('Scratch renamed (copy)');
  const copy = page.getByTestId('project-item').filter({ hasText: 'Scratch renamed (copy)' });
  // Escape cancels the confirmation (focus moves to "Keep"), Delete asks again.
  await copy.getByRole('button', { name: 'Delete' }).click();
  await expect(copy.getByRole('button', { name: 'Keep' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(copy.getByRole('button', { name: 'Keep' })).toHaveCount(0);
  await copy.getByRole('button', { name: 'Delete' }).click();
  await shot(page, '08-confirm-delete');
  await copy.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('project-item').filter({ hasText: '(copy)' })).toHaveCount(0);
  await expect(page.getByTestId('project-item').filter({ hasText: 'Scratch renamed' })).toHaveCount(1);
});
