import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeReport } from '../../../src/engine/report/write-report.js';
import { makeResult } from '../../shared/report/fixture.js';

let runDir: string;
beforeEach(async () => {
  runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'report-test-'));
});
afterEach(async () => {
  await fs.rm(runDir, { recursive: true, force: true });
});

/** A real 4x3 RGB PNG, as the transfer set's grid would be. */
function tinyPng(): Buffer {
  const png = new PNG({ width: 4, height: 3 });
  for (let i = 0; i < png.data.length; i += 4) {
    png.data[i] = (i * 7) % 256;
    png.data[i + 1] = 128;
    png.data[i + 2] = 255 - ((i * 3) % 256);
    png.data[i + 3] = 255;
  }
  return PNG.sync.write(png);
}

describe('writeReport', () => {
  it('embeds the grid PNG and writes report.html atomically', async () => {
    const png = tinyPng();
    await fs.writeFile(path.join(runDir, 'samples.png'), png);
    const file = await writeReport(runDir, makeResult());
    expect(file).toBe(path.join(runDir, 'report.html'));
    const html = await fs.readFile(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
    expect((await fs.readdir(runDir)).sort()).toEqual(['report.html', 'samples.png']);
  });

  it('replaces an existing report', async () => {
    await fs.writeFile(path.join(runDir, 'report.html'), 'old');
    await writeReport(runDir, makeResult());
    expect(await fs.readFile(path.join(runDir, 'report.html'), 'utf8')).toContain('Distillation report');
    expect(await fs.readdir(runDir)).toEqual(['report.html']);
  });

  it('writes the report without the image when the grid is missing or not a PNG', async () => {
    const missing = await fs.readFile(await writeReport(runDir, makeResult()), 'utf8');
    expect(missing).not.toContain('<img');
    expect(missing).toContain('samples.png) was not found');
    await fs.writeFile(path.join(runDir, 'samples.png'), 'not a png');
    expect(await fs.readFile(await writeReport(runDir, makeResult()), 'utf8')).not.toContain('<img');
  });

  it('does not embed files from outside the run folder', async () => {
    const inner = path.join(runDir, 'run');
    await fs.mkdir(inner);
    await fs.writeFile(path.join(runDir, 'secret.png'), tinyPng());
    const result = makeResult();
    const html = await fs.readFile(
      await writeReport(inner, { ...result, transferSet: { ...result.transferSet, grid: '../secret.png' } }),
      'utf8',
    );
    expect(html).not.toContain('<img');
  });
});
