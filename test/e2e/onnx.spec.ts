/// <reference lib="dom" />
import { expect, test } from '@playwright/test';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attr, OnnxBuilder } from '../engine/models/onnx/builder.js';
import { serveApp, type ServedApp } from './serve.js';

/**
 * A user imports a teacher from an .onnx file in browser mode: the path typed
 * in (no native dialogs here), the pixel question answered in plain words,
 * the teacher checked and summarised; then an operator the app cannot convert,
 * refused naming its node; then a tiny distillation from it and the student
 * exported for other apps. Screenshots go to test-results/e2e/.
 */

const SHOTS = 'test-results/e2e';
let app: ServedApp;
const files = mkdtempSync(path.join(tmpdir(), 'ds-e2e-onnx-'));

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  app = await serveApp();
});
test.afterAll(async () => {
  await app?.stop();
  rmSync(files, { recursive: true, force: true });
});

/** A PyTorch-style grayscale classifier (batch fixed to 1, softmax at the end); `extra` may add a node before it. */
async function writeTeacher(name: string, extra?: (b: OnnxBuilder, out: string) => string): Promise<string> {
  const b = new OnnxBuilder({ input: [1, 1, 32, 32], seed: 31 });
  const conv = b.node('Relu', [
    b.node('Conv', ['x', b.random('w', [4, 1, 5, 5]), b.random('b', [4])], {
      kernel_shape: attr.ints([5, 5]),
      strides: attr.ints([4, 4]),
    }),
  ]);
  const logits = b.node('Gemm', [
    b.node('Flatten', [conv]),
    b.random('fc', [4 * 7 * 7, 10]),
    b.random('fb', [10]),
  ]);
  return b.write(files, b.node('Softmax', [extra ? extra(b, logits) : logits]), name);
}

test('a user imports a model file (.onnx) as the teacher', async ({ page }) => {
  const good = await writeTeacher('teacher.onnx');
  const bad = await writeTeacher('unsupported.onnx', (b, out) =>
    b.node('Erf', [out], {}, { name: '/head/erf' }),
  );
  await page.goto(app.url);
  await page.getByTestId('new-project-name').fill('From PyTorch');
  await page.getByTestId('create-project').click();
  await expect(page.getByTestId('project-title')).toHaveText('From PyTorch');

  await page.getByTestId('teacher-kind-onnx').check();
  await page.getByTestId('teacher-onnx').fill(bad);
  await page.getByTestId('use-teacher').click();
  await expect(page.getByRole('alert')).toContainText('node "/head/erf" (Erf)');
  await page.screenshot({ path: path.join(SHOTS, 'onnx-01-refused.png'), fullPage: true });
  await page.getByRole('button', { name: 'Dismiss this message' }).click();

  await page.getByTestId('teacher-onnx').fill(good);
  await expect(page.getByTestId('onnx-scaling-unit')).toBeChecked();
  await page.getByTestId('onnx-scaling-custom').check();
  await page.getByTestId('onnx-mean').fill('0.1307');
  await page.getByTestId('onnx-std').fill('0.3081');
  await page.screenshot({ path: path.join(SHOTS, 'onnx-02-questions.png'), fullPage: true });
  await page.getByTestId('use-teacher').click();
  await expect(page.getByTestId('teacher-summary')).toContainText('ONNX model from');
  await expect(page.getByTestId('teacher-summary')).toContainText('checked against ONNX Runtime');
  await expect(page.getByTestId('teacher-summary')).toContainText('32x32x1 images');
  await page.screenshot({ path: path.join(SHOTS, 'onnx-03-imported.png'), fullPage: true });

  // A tiny distillation from it (no test set: the teacher takes 32x32 images), then the student
  // exported for other apps, checked in ONNX Runtime.
  await page.getByTestId('student-lenet5-half').check();
  await page.getByTestId('pipeline-two-stage').check();
  await page.getByTestId('samples').fill('40');
  await page.getByTestId('epochs').fill('1');
  await page.getByTestId('setting-iterations').fill('3');
  await page.getByTestId('save-and-continue').click();
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status').first()).toHaveText('Finished', { timeout: 300_000 });
  await page.getByTestId('open-report').click();
  await page.getByTestId('export-onnx').click();
  const line = page.getByTestId('export-result').first();
  await expect(line).toContainText('Student for other apps (.onnx) saved to', { timeout: 120_000 });
  const file = (await line.locator('code').textContent())!.trim();
  expect(file.endsWith('.onnx') && existsSync(file)).toBe(true);
  await expect(page.getByTestId('export-note')).toContainText(
    /the same predicted class as the app for 16 of 16/,
  );
  // The report now says where the student went.
  const reportExports = page.frameLocator('[data-testid="report-frame"]').locator('#exports');
  await expect(reportExports).toContainText(path.basename(file));
  await page.screenshot({ path: path.join(SHOTS, 'onnx-04-exported.png'), fullPage: true });
});
